//! Knowledge-base articles: creating with slugs, editing, publishing, listing, tag
//! counts and ranked search.

use std::sync::Arc;

use crate::Helpdesk;
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::event::Effects;
use crate::kb::*;
use crate::page::Cursor;
use crate::page::{Page, limit};
use crate::principal::Principal;
use uuid::Uuid;

fn is_staff(viewer: Option<&Principal>) -> bool {
    viewer.is_some_and(|p| p.is_staff())
}

impl Helpdesk {
    /// Writes an article (staff).
    pub async fn create_article(&self, p: &Principal, input: NewArticle) -> Result<Article> {
        p.require_staff()?;
        let title = validate_article_title(&input.title)?;
        validate_body(&input.body)?;
        let tags = crate::tag::normalize_tags(&input.tags)?;
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
            match self
                .article_write(self.st().insert_article(&article, &Effects::none()))
                .await
            {
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
        filter: ArticleFilter,
    ) -> Result<Page<Article>> {
        let ArticleFilter {
            tag,
            status,
            cursor,
            limit: requested,
        } = filter;
        let limit = limit(requested)?;
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
            tag: tag.map(|t| crate::tag::fold_tag(&t)),
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
            a.tags = crate::tag::normalize_tags(t)?;
        }
        let now = self.now();
        if let Some(s) = patch.status {
            if s == ArticleStatus::Published && a.published_at.is_none() {
                a.published_at = Some(now);
            }
            a.status = s;
        }
        a.updated_at = now;
        match self
            .article_write(self.st().update_article(&a, &Effects::none()))
            .await
        {
            Err(e) if e.is_conflict(Conflict::Slug) => Err(Error::SlugTaken),
            other => other.map(|_| a).map_err(Into::into),
        }
    }

    /// Deletes an article (staff).
    pub async fn delete_article(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require_staff()?;
        match self
            .article_write(self.st().delete_article(id, &Effects::none()))
            .await
        {
            Err(crate::StoreError::NotFound) => Err(Error::NotFound),
            other => Ok(other?),
        }
    }

    /// Runs an article write, then forgets the KB stamp this instance trusts, so that the
    /// write shows in its searches at once (in other instances' within
    /// [`KB_STAMP_TRUSTED`]).
    async fn article_write<T>(
        &self,
        write: impl std::future::Future<Output = crate::store::StoreResult<T>>,
    ) -> crate::store::StoreResult<T> {
        let written = write.await;
        self.inner.searches.forget();
        written
    }

    /// Ranked search: word forms match, title hits rank above body hits; drafts only for
    /// staff.
    pub async fn search_articles(
        &self,
        viewer: Option<&Principal>,
        search: ArticleSearch,
    ) -> Result<Vec<SearchHit>> {
        Ok(self.search_answer(viewer, search).await?.hits().to_vec())
    }

    /// [`Helpdesk::search_articles`] as the instance keeps it: shared with every request
    /// that asks the same while no article changes, with its API rendering made once
    /// ([`SearchAnswer::json`]).
    pub async fn search_answer(
        &self,
        viewer: Option<&Principal>,
        search: ArticleSearch,
    ) -> Result<Arc<SearchAnswer>> {
        let ArticleSearch {
            q,
            tag,
            limit: requested,
        } = search;
        crate::text::check("q", &q)?;
        crate::text::check("tag", tag.as_deref().unwrap_or(""))?;
        if crate::search::query_terms(&q).is_empty() {
            return Err(Error::invalid("q", "must contain a word"));
        }
        let query = SearchQuery {
            q,
            tag: tag.map(|t| crate::tag::fold_tag(&t)),
            include_drafts: is_staff(viewer),
            limit: limit(requested.or(Some(20)))?,
        };
        let stamp = self.inner.searches.stamp(|| self.st().kb_stamp()).await?;
        if let Some(answer) = self.inner.searches.get(stamp, &query) {
            return Ok(answer);
        }
        let answer = Arc::new(SearchAnswer::new(self.st().search_articles(&query).await?));
        self.inner.searches.put(stamp, query, answer.clone());
        Ok(answer)
    }

    /// Tags with counts (published articles only, except for staff).
    pub async fn kb_tags(&self, viewer: Option<&Principal>) -> Result<Vec<TagCount>> {
        Ok(self.st().tag_counts(!is_staff(viewer)).await?)
    }
}
