//! The knowledge base: [`KbStore`], with search on PostgreSQL full-text search.
//!
//! Each article stores a weighted `tsvector` (title 'A', body 'B', tags 'C', english
//! stemming) under a GIN index. Search ranks with `ts_rank` and makes snippets with
//! `ts_headline` over an HTML-escaped copy of the text, so only the `<mark>` tags it
//! adds are markup.

use async_trait::async_trait;
use helpdesk_core::StoreError;
use helpdesk_core::event::Effects;
use helpdesk_core::kb::{Article, ArticleQuery, SearchHit, SearchQuery, TagCount};
use helpdesk_core::store::{KbStore, StoreResult};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::write_effects;
use crate::error::SqlxResultExt;
use crate::rows::{ArticleRow, fetch_all_as, fetch_optional_as, i, micros, prefixed, u};

/// Rank weights for {D, C, B, A}: a title hit outweighs several body hits.
const RANK_WEIGHTS: &str = "'{0.05, 0.1, 0.2, 1.0}'::float4[]";

/// `ts_headline` options: the core's `<mark>` and about 24 words around the hits.
const HEADLINE_OPTIONS: &str =
    "StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=12, ShortWord=0";
/// For short texts: all of it (a fragment would start at the first hit).
const HEADLINE_ALL: &str = "StartSel=<mark>, StopSel=</mark>, HighlightAll=true";
/// Texts up to this many characters are shown whole.
const SHORT_TEXT: i32 = 160;

pub(crate) async fn write_article(
    conn: &mut PgConnection,
    a: &Article,
    insert: bool,
) -> StoreResult<u64> {
    let sql = if insert {
        "INSERT INTO articles (id, slug, title, body, tags, status, author_id, created_at, \
         updated_at, published_at, search) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         helpdesk_article_search($3, $4, $5))"
    } else {
        "UPDATE articles SET slug = $2, title = $3, body = $4, tags = $5, status = $6, \
         author_id = $7, created_at = $8, updated_at = $9, published_at = $10, \
         search = helpdesk_article_search($3, $4, $5) WHERE id = $1"
    };
    let done = sqlx::query(sql)
        .bind(a.id)
        .bind(&a.slug)
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.tags)
        .bind(a.status.as_str())
        .bind(a.author_id)
        .bind(a.created_at)
        .bind(a.updated_at)
        .bind(a.published_at)
        .execute(&mut *conn)
        .await
        .store()?;
    Ok(done.rows_affected())
}

/// A search hit as `search_articles` selects it: the article's columns, its score and
/// its snippet.
#[derive(sqlx::FromRow)]
struct HitRow {
    #[sqlx(flatten)]
    article: ArticleRow,
    score: f64,
    snippet: String,
}

impl TryFrom<HitRow> for SearchHit {
    type Error = StoreError;
    fn try_from(r: HitRow) -> StoreResult<SearchHit> {
        Ok(SearchHit {
            article: r.article.try_into()?,
            score: (r.score * 1e6).round() / 1e6,
            snippet: r.snippet,
        })
    }
}

#[async_trait]
impl KbStore for PostgresStore {
    async fn kb_stamp(&self) -> StoreResult<u64> {
        self.stamp("kb").await
    }

    async fn insert_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        write_article(&mut tx, article, true).await?;
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn update_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if write_article(&mut tx, article, false).await? == 0 {
            return Err(StoreError::NotFound);
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn delete_article(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM articles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .store()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let wrote = write_effects(&mut tx, fx).await?;
        self.commit(tx, wrote).await
    }

    async fn get_article(&self, id: Uuid) -> StoreResult<Option<Article>> {
        let sql = format!("SELECT {} FROM articles WHERE id = $1", ArticleRow::COLS);
        fetch_optional_as::<ArticleRow, _>(sqlx::query(&sql).bind(id), self.pool_ref()).await
    }

    async fn get_article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        let sql = format!("SELECT {} FROM articles WHERE slug = $1", ArticleRow::COLS);
        fetch_optional_as::<ArticleRow, _>(sqlx::query(&sql).bind(slug), self.pool_ref()).await
    }

    async fn list_articles(&self, query: &ArticleQuery) -> StoreResult<Vec<Article>> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {} FROM articles WHERE true",
            ArticleRow::COLS
        ));
        if let Some(tag) = &query.tag {
            q.push(" AND tags @> ARRAY[")
                .push_bind(tag.clone())
                .push("]::text[]");
        }
        if let Some(status) = query.status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(c) = query.cursor {
            q.push(" AND (created_at, id) < (")
                .push_bind(micros(c.key))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i(query.limit as u64 + 1));
        fetch_all_as::<ArticleRow, _>(q.build(), self.pool_ref()).await
    }

    async fn all_articles(&self, published_only: bool) -> StoreResult<Vec<Article>> {
        let sql = format!(
            "SELECT {} FROM articles WHERE (NOT $1 OR status = 'published') \
             ORDER BY created_at DESC, id DESC",
            ArticleRow::COLS
        );
        fetch_all_as::<ArticleRow, _>(sqlx::query(&sql).bind(published_only), self.pool_ref()).await
    }

    async fn tag_counts(&self, published_only: bool) -> StoreResult<Vec<TagCount>> {
        let found: Vec<(String, i64)> = sqlx::query_as(
            "SELECT t.tag, count(*) AS n FROM articles a, unnest(a.tags) AS t(tag) \
             WHERE (NOT $1 OR a.status = 'published') \
             GROUP BY t.tag ORDER BY t.tag COLLATE \"C\"",
        )
        .bind(published_only)
        .fetch_all(self.pool_ref())
        .await
        .store()?;
        Ok(found
            .into_iter()
            .map(|(tag, n)| TagCount { tag, count: u(n) })
            .collect())
    }

    async fn search_articles(&self, query: &SearchQuery) -> StoreResult<Vec<SearchHit>> {
        // `every` requires all words (AND, as the core ranks); `any` decides whether the
        // body has a hit to show, else the snippet comes from the title. The snippet
        // (a `to_tsvector` of the body and a `ts_headline`) is made only for the hits
        // kept after the LIMIT, not for every match.
        let sql = format!(
            "WITH q AS ( \
               SELECT plainto_tsquery('english', $1) AS every, \
                      replace(plainto_tsquery('english', $1)::text, '&', '|')::tsquery AS any \
             ), \
             top AS ( \
               SELECT {cols}, ts_rank({RANK_WEIGHTS}, a.search, q.every)::float8 AS score \
               FROM articles a CROSS JOIN q \
               WHERE a.search @@ q.every \
                 AND ($2 OR a.status = 'published') \
                 AND ($3::text IS NULL OR a.tags @> ARRAY[$3::text]) \
               ORDER BY score DESC, a.created_at DESC, a.id DESC LIMIT $5 \
             ) \
             SELECT {cols}, a.score, \
               ts_headline('english', helpdesk_escape_html(s.text), q.any, \
                 CASE WHEN length(s.text) <= $7 THEN $6 ELSE $4 END) AS snippet \
             FROM top a CROSS JOIN q \
             CROSS JOIN LATERAL (SELECT CASE WHEN to_tsvector('english', a.body) @@ q.any \
               THEN a.body ELSE a.title END AS text) s \
             ORDER BY a.score DESC, a.created_at DESC, a.id DESC",
            cols = prefixed(ArticleRow::COLS, "a"),
        );
        let query = sqlx::query(&sql)
            .bind(&query.q)
            .bind(query.include_drafts)
            .bind(&query.tag)
            .bind(HEADLINE_OPTIONS)
            .bind(i(query.limit as u64))
            .bind(HEADLINE_ALL)
            .bind(SHORT_TEXT);
        fetch_all_as::<HitRow, _>(query, self.pool_ref()).await
    }
}
