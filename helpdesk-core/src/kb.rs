//! The knowledge base: articles with unique slugs, drafts, tags and search.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// Search answers an instance keeps while the KB stamp stands
/// ([`crate::store::KbStore::kb_stamp`]): the distinct requests (words, tag, drafts,
/// limit) answered since the last article write, up to this many.
pub(crate) const SEARCHES_KEPT: usize = 256;

/// How long an instance answers searches at the KB stamp it read last without reading
/// it again: an article written through another instance shows in this one's searches
/// within this (one written through this instance, at once). An unpublished or deleted
/// article leaves them within the same bound as a revocation (API.md: 1 s).
pub const KB_STAMP_TRUSTED: std::time::Duration = crate::access_cache::TTL;

/// A search request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

use crate::error::{Error, Result};

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

/// The hits of one search with their API rendering, made on first use and then shared:
/// a search answer the instance keeps is served to every later request without being
/// rendered again (see [`crate::Helpdesk::search_answer`]).
#[derive(Debug)]
pub struct SearchAnswer {
    hits: Vec<SearchHit>,
    json: std::sync::OnceLock<bytes::Bytes>,
}

impl SearchAnswer {
    pub(crate) fn new(hits: Vec<SearchHit>) -> Self {
        SearchAnswer {
            hits,
            json: std::sync::OnceLock::new(),
        }
    }

    /// The hits, best first.
    pub fn hits(&self) -> &[SearchHit] {
        &self.hits
    }

    /// The answer of `GET /api/kb/search`: `{"items": [{article, score, snippet}]}`,
    /// rendered once.
    pub fn json(&self) -> serde_json::Result<bytes::Bytes> {
        if let Some(json) = self.json.get() {
            return Ok(json.clone());
        }
        #[derive(Serialize)]
        struct Items<'a> {
            items: Vec<SearchHitJson<'a>>,
        }
        let items = self.hits.iter().map(search_hit_json).collect();
        let json = bytes::Bytes::from(serde_json::to_vec(&Items { items })?);
        Ok(self.json.get_or_init(|| json).clone())
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

pub(crate) fn validate_slug(slug: &str) -> Result<()> {
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

pub(crate) fn validate_article_title(title: &str) -> Result<String> {
    crate::text::check("title", title)?;
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(Error::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(t.to_string())
}

pub(crate) fn validate_body(body: &str) -> Result<()> {
    crate::text::check("body", body)?;
    if body.len() > 1024 * 1024 {
        return Err(Error::invalid("body", "must be at most 1 MiB"));
    }
    Ok(())
}

/// Which articles [`crate::Helpdesk::list_articles`] lists, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// Only this status (drafts: staff only; customers get an empty page).
    pub status: Option<ArticleStatus>,
    /// Continue after this position.
    pub cursor: Option<Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

/// What [`crate::Helpdesk::search_articles`] looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleSearch {
    /// The words (at least one).
    pub q: String,
    /// Only articles with this tag.
    pub tag: Option<String>,
    /// At most this many hits (default 20, 1..=200).
    pub limit: Option<usize>,
}

impl ArticleSearch {
    /// A search for `q` over every tag.
    pub fn new(q: impl Into<String>) -> Self {
        ArticleSearch {
            q: q.into(),
            ..Default::default()
        }
    }
}
