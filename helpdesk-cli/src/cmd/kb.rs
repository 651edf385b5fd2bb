//! `helpdesk kb import DIR` and `kb export DIR`: knowledge-base articles as Markdown
//! files with a front matter, one file per article named `<slug>.md`:
//!
//! ```text
//! ---
//! title: Resetting your password
//! slug: resetting-your-password
//! tags: [account, howto]
//! status: published
//! ---
//! The body, verbatim, to the end of the file.
//! ```
//!
//! `slug` defaults to the file name, `tags` to none, `status` to draft; a value may be a
//! JSON string (`title: "  spaced"`) and `tags` a JSON array. Import creates or updates
//! by slug and leaves equal articles alone; export writes the same shape, so export →
//! import → export gives the same files.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use helpdesk_core::kb::{ArticlePatch, ArticleStatus, NewArticle};
use serde_json::json;

use super::admin::Admin;
use super::error::{CliError, CliResult};
use super::output;

/// Import or export the knowledge base as Markdown files.
#[derive(Subcommand, Debug)]
pub enum KbCommand {
    /// Create or update articles from the `*.md` files of a directory (by slug).
    /// Every file is checked before anything is written.
    #[command(after_help = "Example:
  helpdesk kb import ./kb

A file:
  ---
  title: Resetting your password
  slug: resetting-your-password
  tags: [account, howto]
  status: published
  ---
  Open **Settings** and choose *Reset password*.")]
    Import {
        /// The directory.
        dir: PathBuf,
    },
    /// Write every article (drafts included) to `<slug>.md` files in a directory
    /// (created if missing; files of the same name are replaced).
    #[command(after_help = "Example:
  helpdesk kb export ./kb && git -C ./kb diff --stat")]
    Export {
        /// The directory.
        dir: PathBuf,
    },
}

/// One article as a file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleFile {
    /// Title.
    pub title: String,
    /// Slug.
    pub slug: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `draft` or `published`.
    pub status: String,
    /// The Markdown body.
    pub body: String,
}

/// Runs a `kb` command.
pub async fn run(admin: &dyn Admin, cmd: KbCommand, json_out: bool) -> CliResult {
    match cmd {
        KbCommand::Import { dir } => {
            let files = read_dir(&dir)?;
            let (mut created, mut updated, mut unchanged) = (0u64, 0u64, 0u64);
            for f in &files {
                match upsert(admin, f).await? {
                    Outcome::Created => created += 1,
                    Outcome::Updated => updated += 1,
                    Outcome::Unchanged => unchanged += 1,
                }
            }
            if json_out {
                output::json(
                    &json!({"created": created, "updated": updated, "unchanged": unchanged}),
                );
            } else {
                eprintln!("{created} created, {updated} updated, {unchanged} unchanged");
            }
            Ok(())
        }
        KbCommand::Export { dir } => {
            let articles = admin.articles().await?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::failure(format!("cannot create {}: {e}", dir.display())))?;
            for a in &articles {
                let f = ArticleFile {
                    title: a.title.clone(),
                    slug: a.slug.clone(),
                    tags: a.tags.clone(),
                    status: a.status.as_str().into(),
                    body: a.body.clone(),
                };
                let path = dir.join(format!("{}.md", f.slug));
                std::fs::write(&path, render(&f)).map_err(|e| {
                    CliError::failure(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            if json_out {
                output::json(&json!({"exported": articles.len()}));
            } else {
                eprintln!("{} articles written to {}", articles.len(), dir.display());
            }
            Ok(())
        }
    }
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

fn status_of(s: &str) -> ArticleStatus {
    if s == "published" {
        ArticleStatus::Published
    } else {
        ArticleStatus::Draft
    }
}

/// Creates the article of a file, or updates the one with its slug if it differs.
async fn upsert(admin: &dyn Admin, f: &ArticleFile) -> CliResult<Outcome> {
    let in_file = |e: CliError| e.context(format_args!("{}.md", f.slug));
    let Some(existing) = admin.article(&f.slug).await? else {
        let new = NewArticle {
            title: f.title.clone(),
            body: f.body.clone(),
            slug: Some(f.slug.clone()),
            tags: f.tags.clone(),
            status: Some(status_of(&f.status)),
        };
        admin.create_article(new).await.map_err(in_file)?;
        return Ok(Outcome::Created);
    };
    let same = existing.title == f.title
        && existing.body == f.body
        && existing.tags == f.tags
        && existing.status.as_str() == f.status;
    if same {
        return Ok(Outcome::Unchanged);
    }
    let patch = ArticlePatch {
        title: Some(f.title.clone()),
        body: Some(f.body.clone()),
        slug: None,
        tags: Some(f.tags.clone()),
        status: Some(status_of(&f.status)),
    };
    admin
        .update_article(existing.id, patch)
        .await
        .map_err(in_file)?;
    Ok(Outcome::Updated)
}

/// Reads and checks every `*.md` file of a directory, in name order.
pub fn read_dir(dir: &Path) -> CliResult<Vec<ArticleFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        CliError::invalid(format!("cannot read the directory {}: {e}", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CliError::invalid(format!(
            "{} holds no .md files",
            dir.display()
        )));
    }
    let mut out: Vec<ArticleFile> = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p)
            .map_err(|e| CliError::invalid(format!("{}: {e}", p.display())))?;
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let f =
            parse(&text, &stem).map_err(|e| CliError::invalid(format!("{}: {e}", p.display())))?;
        if let Some(other) = out.iter().find(|o| o.slug == f.slug) {
            return Err(CliError::invalid(format!(
                "{}: slug `{}` is also the slug of \"{}\"",
                p.display(),
                f.slug,
                other.title
            )));
        }
        out.push(f);
    }
    Ok(out)
}

/// Parses one file; `stem` is the slug when the front matter names none.
pub fn parse(text: &str, stem: &str) -> Result<ArticleFile, String> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("does not start with a `---` front matter line")?;
    let mut title = None;
    let mut slug = None;
    let mut tags = Vec::new();
    let mut status = "draft".to_string();
    let mut offset = 0;
    let mut closed = false;
    for (n, raw) in rest.split_inclusive('\n').enumerate() {
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_no = n + 2;
        if line == "---" {
            closed = true;
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or(format!("line {line_no}: expected `key: value`"))?;
        let value = value.trim();
        match key.trim() {
            "title" => title = Some(scalar(value).map_err(|e| format!("line {line_no}: {e}"))?),
            "slug" => slug = Some(scalar(value).map_err(|e| format!("line {line_no}: {e}"))?),
            "tags" => tags = list(value).map_err(|e| format!("line {line_no}: {e}"))?,
            "status" => {
                let s = scalar(value).map_err(|e| format!("line {line_no}: {e}"))?;
                if s != "draft" && s != "published" {
                    return Err(format!(
                        "line {line_no}: status must be draft or published, not `{s}`"
                    ));
                }
                status = s;
            }
            other => {
                return Err(format!(
                    "line {line_no}: unknown key `{other}` (title, slug, tags, status)"
                ));
            }
        }
    }
    if !closed {
        return Err("the front matter has no closing `---` line".into());
    }
    let title = title.ok_or("the front matter has no `title:`")?;
    Ok(ArticleFile {
        title,
        slug: slug.unwrap_or_else(|| stem.to_string()),
        tags,
        status,
        body: rest[offset..].to_string(),
    })
}

fn scalar(v: &str) -> Result<String, String> {
    if v.starts_with('"') {
        serde_json::from_str(v).map_err(|e| format!("bad quoted value: {e}"))
    } else {
        Ok(v.to_string())
    }
}

fn list(v: &str) -> Result<Vec<String>, String> {
    if let Ok(items) = serde_json::from_str::<Vec<String>>(v) {
        return Ok(items);
    }
    let inner = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or("tags must be a list like [a, b]")?;
    Ok(inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect())
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.trim() != s || s.starts_with(['"', '[']) || s.contains(['\n', '\r'])
}

/// The file text of an article.
pub fn render(f: &ArticleFile) -> String {
    let scalar = |s: &str| {
        if needs_quotes(s) {
            json!(s).to_string()
        } else {
            s.to_string()
        }
    };
    let tags = if f
        .tags
        .iter()
        .any(|t| needs_quotes(t) || t.contains([',', ']']))
    {
        json!(f.tags).to_string()
    } else {
        format!("[{}]", f.tags.join(", "))
    };
    format!(
        "---\ntitle: {}\nslug: {}\ntags: {}\nstatus: {}\n---\n{}",
        scalar(&f.title),
        scalar(&f.slug),
        tags,
        f.status,
        f.body
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_round_trips() {
        let f = ArticleFile {
            title: "  Spaced: \"quoted\" title".into(),
            slug: "spaced".into(),
            tags: vec!["a".into(), "b c".into()],
            status: "published".into(),
            body: "Line one\n\n---\nnot front matter\n".into(),
        };
        assert_eq!(parse(&render(&f), "ignored"), Ok(f));
    }

    #[test]
    fn defaults_and_errors() {
        let f = parse("---\ntitle: Hi\n---\nBody", "from-name").unwrap();
        assert_eq!(f.slug, "from-name");
        assert_eq!(f.status, "draft");
        assert!(f.tags.is_empty());
        assert_eq!(f.body, "Body");
        assert!(
            parse("no front matter", "x")
                .unwrap_err()
                .contains("front matter")
        );
        assert!(
            parse("---\ntitle: x\n", "x")
                .unwrap_err()
                .contains("closing")
        );
        assert!(
            parse("---\ncolour: red\n---\n", "x")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            parse("---\ntitle: x\nstatus: live\n---\n", "x")
                .unwrap_err()
                .contains("draft or published")
        );
        assert!(
            parse("---\nslug: x\n---\n", "x")
                .unwrap_err()
                .contains("title")
        );
    }
}
