//! The knowledge base: articles with unique slugs, drafts, tags and search.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Conflict;
use crate::page::Cursor;
use crate::wire::{Ts, opt_ts};

/// An article's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Staff only.
    Draft,
    /// Public, also without a token.
    Published,
}

impl ArticleStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
        }
    }
}

impl std::str::FromStr for ArticleStatus {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "draft" => Ok(ArticleStatus::Draft),
            "published" => Ok(ArticleStatus::Published),
            _ => Err(crate::Error::invalid(
                "status",
                "must be draft or published",
            )),
        }
    }
}

/// A knowledge-base article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    /// Id.
    pub id: Uuid,
    /// Unique; never shaped like a UUID.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Lowercase tags, sorted, unique.
    pub tags: Vec<String>,
    /// Status.
    pub status: ArticleStatus,
    /// Author.
    pub author_id: Uuid,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
    /// First published.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub published_at: Option<DateTime<Utc>>,
}

/// An article list query, newest first by `(created_at, id)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleQuery {
    /// Carrying this tag.
    pub tag: Option<String>,
    /// Only this status.
    pub status: Option<ArticleStatus>,
    /// Continue after this position (key: `created_at` in microseconds; descending).
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: usize,
}

impl ArticleQuery {
    /// True when `a` passes the filters and lies after the cursor.
    pub fn matches(&self, a: &Article) -> bool {
        self.tag.as_ref().is_none_or(|t| a.tags.contains(t))
            && self.status.is_none_or(|s| s == a.status)
            && self
                .cursor
                .is_none_or(|c| c.is_before_desc(a.created_at.timestamp_micros(), a.id))
    }
}

/// A tag and how many articles carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    /// The tag.
    pub tag: String,
    /// Articles carrying it.
    pub count: u64,
}

/// A search request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words.
    pub q: String,
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Drafts too (staff).
    pub include_drafts: bool,
    /// At most this many hits.
    pub limit: usize,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The article.
    pub article: Article,
    /// Higher is better.
    pub score: f64,
    /// HTML-escaped text with the hits wrapped in `<mark>`.
    pub snippet: String,
}

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::event::Effects;
use crate::page::{Page, limit};
use crate::principal::Principal;

/// Input for writing an article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewArticle {
    /// Title (1..=200 characters).
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Explicit slug (taken: `SlugTaken`); derived from the title when `None`.
    pub slug: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Status (default draft).
    pub status: Option<ArticleStatus>,
}

/// A change to an article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticlePatch {
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub body: Option<String>,
    /// Slug (taken: `SlugTaken`).
    pub slug: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Status.
    pub status: Option<ArticleStatus>,
}

/// The API rendering of an article.
#[derive(Serialize)]
pub struct ArticleJson<'a> {
    id: Uuid,
    slug: &'a str,
    title: &'a str,
    body: &'a str,
    tags: &'a [String],
    status: ArticleStatus,
    author_id: Uuid,
    created_at: Ts,
    updated_at: Ts,
    published_at: Option<Ts>,
}

/// The API rendering of an article.
pub fn article_json(a: &Article) -> ArticleJson<'_> {
    ArticleJson {
        id: a.id,
        slug: &a.slug,
        title: &a.title,
        body: &a.body,
        tags: &a.tags,
        status: a.status,
        author_id: a.author_id,
        created_at: Ts(a.created_at),
        updated_at: Ts(a.updated_at),
        published_at: opt_ts(a.published_at),
    }
}

/// The API rendering of a search hit: `{article, score, snippet}`.
#[derive(Serialize)]
pub struct SearchHitJson<'a> {
    article: ArticleJson<'a>,
    score: f64,
    snippet: &'a str,
}

/// The API rendering of a search hit.
pub fn search_hit_json(h: &SearchHit) -> SearchHitJson<'_> {
    SearchHitJson {
        article: article_json(&h.article),
        score: h.score,
        snippet: &h.snippet,
    }
}

/// A URL slug from a title: lowercase ASCII letters and digits joined by `-`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(80).collect();
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() || Uuid::try_parse(&slug).is_ok() {
        "article".to_string()
    } else {
        slug
    }
}

fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && Uuid::try_parse(slug).is_err();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "slug",
            "must be lowercase letters, digits and inner dashes, and not look like an id",
        ))
    }
}

fn validate_article_title(title: &str) -> Result<String> {
    crate::text::check("title", title)?;
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(Error::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(t.to_string())
}

fn validate_body(body: &str) -> Result<()> {
    crate::text::check("body", body)?;
    if body.len() > 1024 * 1024 {
        return Err(Error::invalid("body", "must be at most 1 MiB"));
    }
    Ok(())
}

fn is_staff(viewer: Option<&Principal>) -> bool {
    viewer.is_some_and(|p| p.is_staff())
}

impl Helpdesk {
    /// Writes an article (staff).
    pub async fn create_article(&self, p: &Principal, input: NewArticle) -> Result<Article> {
        p.require_staff()?;
        let title = validate_article_title(&input.title)?;
        validate_body(&input.body)?;
        let tags = crate::ticket::normalize_tags(&input.tags)?;
        if let Some(s) = &input.slug {
            validate_slug(s)?;
        }
        let now = self.now();
        let status = input.status.unwrap_or(ArticleStatus::Draft);
        let mut article = Article {
            id: crate::clock::new_id(),
            slug: input.slug.clone().unwrap_or_else(|| slugify(&title)),
            title,
            body: input.body,
            tags,
            status,
            author_id: p.user_id,
            created_at: now,
            updated_at: now,
            published_at: (status == ArticleStatus::Published).then_some(now),
        };
        let base = article.slug.clone();
        for n in 2.. {
            match self.st().insert_article(&article, &Effects::none()).await {
                Ok(()) => return Ok(article),
                Err(e) if e.is_conflict(Conflict::Slug) && input.slug.is_none() && n < 1000 => {
                    article.slug = format!("{base}-{n}");
                }
                Err(e) if e.is_conflict(Conflict::Slug) => return Err(Error::SlugTaken),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::SlugTaken)
    }

    /// An article by id or slug: published ones for anyone, drafts for staff.
    pub async fn get_article(&self, viewer: Option<&Principal>, key: &str) -> Result<Article> {
        let found = match Uuid::try_parse(key) {
            Ok(id) => self.st().get_article(id).await?,
            Err(_) => self.st().get_article_by_slug(key).await?,
        };
        match found {
            Some(a) if a.status == ArticleStatus::Published || is_staff(viewer) => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// Articles, newest first; drafts only for staff.
    pub async fn list_articles(
        &self,
        viewer: Option<&Principal>,
        tag: Option<String>,
        status: Option<ArticleStatus>,
        cursor: Option<Cursor>,
        page_size: Option<usize>,
    ) -> Result<Page<Article>> {
        let limit = limit(page_size)?;
        crate::text::check("tag", tag.as_deref().unwrap_or(""))?;
        let status = if is_staff(viewer) {
            status
        } else if status == Some(ArticleStatus::Draft) {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        } else {
            Some(ArticleStatus::Published)
        };
        let query = ArticleQuery {
            tag: tag.map(|t| t.trim().to_lowercase()),
            status,
            cursor,
            limit,
        };
        let items = self.st().list_articles(&query).await?;
        Ok(Page::from_overfetch(items, limit, |a| {
            Cursor::new(a.created_at.timestamp_micros(), a.id)
        }))
    }

    /// Changes an article (staff).
    pub async fn update_article(
        &self,
        p: &Principal,
        id: Uuid,
        patch: ArticlePatch,
    ) -> Result<Article> {
        p.require_staff()?;
        let mut a = self.st().get_article(id).await?.ok_or(Error::NotFound)?;
        if let Some(t) = &patch.title {
            a.title = validate_article_title(t)?;
        }
        if let Some(b) = patch.body {
            validate_body(&b)?;
            a.body = b;
        }
        if let Some(s) = patch.slug {
            validate_slug(&s)?;
            a.slug = s;
        }
        if let Some(t) = &patch.tags {
            a.tags = crate::ticket::normalize_tags(t)?;
        }
        let now = self.now();
        if let Some(s) = patch.status {
            if s == ArticleStatus::Published && a.published_at.is_none() {
                a.published_at = Some(now);
            }
            a.status = s;
        }
        a.updated_at = now;
        match self.st().update_article(&a, &Effects::none()).await {
            Err(e) if e.is_conflict(Conflict::Slug) => Err(Error::SlugTaken),
            other => other.map(|_| a).map_err(Into::into),
        }
    }

    /// Deletes an article (staff).
    pub async fn delete_article(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require_staff()?;
        match self.st().delete_article(id, &Effects::none()).await {
            Err(crate::StoreError::NotFound) => Err(Error::NotFound),
            other => Ok(other?),
        }
    }

    /// Ranked search: word forms match, title hits rank above body hits; drafts only for
    /// staff.
    pub async fn search_articles(
        &self,
        viewer: Option<&Principal>,
        q: &str,
        tag: Option<String>,
        page_size: Option<usize>,
    ) -> Result<Vec<SearchHit>> {
        crate::text::check("q", q)?;
        crate::text::check("tag", tag.as_deref().unwrap_or(""))?;
        if crate::search::query_terms(q).is_empty() {
            return Err(Error::invalid("q", "must contain a word"));
        }
        let query = SearchQuery {
            q: q.to_string(),
            tag: tag.map(|t| t.trim().to_lowercase()),
            include_drafts: is_staff(viewer),
            limit: limit(page_size.or(Some(20)))?,
        };
        Ok(self.st().search_articles(&query).await?)
    }

    /// Tags with counts (published articles only, except for staff).
    pub async fn kb_tags(&self, viewer: Option<&Principal>) -> Result<Vec<TagCount>> {
        Ok(self.st().tag_counts(!is_staff(viewer)).await?)
    }
}
