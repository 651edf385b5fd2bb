//! [`KbStore`]: articles with a unique slug index, list indexes (all, by status, by tag,
//! by status and tag; newest first by reverse scans), tag counters, and the inverted
//! search index (`term|0|article`) kept in the same transaction as the article.

use std::collections::{BTreeSet, HashSet};

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::event::Effects;
use helpdesk_core::kb::{Article, ArticleQuery, ArticleStatus, SearchHit, SearchQuery, TagCount};
use helpdesk_core::search;
use helpdesk_core::store::{KbStore, StoreResult};

use crate::effects::write_effects;
use crate::keys::{Key, trailing_id, tree};
use crate::{SledStore, Tx, TxResult, abort, sled_error};

fn status_byte(s: ArticleStatus) -> u8 {
    match s {
        ArticleStatus::Draft => b'd',
        ArticleStatus::Published => b'p',
    }
}

fn list_prefix(tag: Option<&str>, status: Option<ArticleStatus>) -> Key {
    match (tag, status) {
        (None, None) => Key::new().tag(b'a'),
        (None, Some(s)) => Key::new().tag(b's').tag(status_byte(s)),
        (Some(t), None) => Key::new().tag(b't').str(t),
        (Some(t), Some(s)) => Key::new().tag(b'T').tag(status_byte(s)).str(t),
    }
}

fn index_keys(a: &Article) -> Vec<Key> {
    let mut prefixes = vec![list_prefix(None, None), list_prefix(None, Some(a.status))];
    for t in &a.tags {
        prefixes.push(list_prefix(Some(t), None));
        prefixes.push(list_prefix(Some(t), Some(a.status)));
    }
    prefixes
        .into_iter()
        .map(|p| p.micros(a.created_at).id(a.id))
        .collect()
}

/// Every term an article can match on: its title, body and tags.
fn article_terms(a: &Article) -> BTreeSet<String> {
    let mut t: BTreeSet<String> = search::terms(&a.title).into_iter().collect();
    t.extend(search::terms(&a.body));
    for tag in &a.tags {
        t.extend(search::terms(tag));
    }
    t
}

fn posting_prefix(term: &str) -> Key {
    Key::new().raw(term.as_bytes()).tag(0)
}

fn adjust_tags(tx: &Tx<'_>, a: &Article, delta: i64) -> TxResult<()> {
    for tag in &a.tags {
        let (mut all, mut published) = match tx.get(tree::ARTICLE_TAGS, tag.as_bytes())? {
            Some(v) if v.len() == 16 => (
                crate::keys::u64_value(&v[..8]).unwrap_or(0),
                crate::keys::u64_value(&v[8..]).unwrap_or(0),
            ),
            Some(_) => return abort(StoreError::Corrupt("bad tag counter".into())),
            None => (0, 0),
        };
        all = all.saturating_add_signed(delta);
        if a.status == ArticleStatus::Published {
            published = published.saturating_add_signed(delta);
        }
        if all == 0 {
            tx.del(tree::ARTICLE_TAGS, tag.as_bytes())?;
        } else {
            let mut v = all.to_be_bytes().to_vec();
            v.extend_from_slice(&published.to_be_bytes());
            tx.put(tree::ARTICLE_TAGS, tag.as_bytes(), v)?;
        }
    }
    Ok(())
}

fn unindex(tx: &Tx<'_>, a: &Article) -> TxResult<()> {
    tx.del(tree::ARTICLE_SLUGS, a.slug.as_bytes())?;
    for k in index_keys(a) {
        tx.del(tree::ARTICLE_IDX, k)?;
    }
    for term in article_terms(a) {
        tx.del(tree::SEARCH, posting_prefix(&term).id(a.id))?;
    }
    adjust_tags(tx, a, -1)
}

pub(crate) fn put_article(tx: &Tx<'_>, a: &Article, old: Option<&Article>) -> TxResult<()> {
    if let Some(old) = old {
        unindex(tx, old)?;
    }
    tx.put_json(tree::ARTICLES, a.id.as_bytes(), a)?;
    tx.put(tree::ARTICLE_SLUGS, a.slug.as_bytes(), a.id.as_bytes())?;
    for k in index_keys(a) {
        tx.put(tree::ARTICLE_IDX, k, &[][..])?;
    }
    for term in article_terms(a) {
        tx.put(tree::SEARCH, posting_prefix(&term).id(a.id), &[][..])?;
    }
    adjust_tags(tx, a, 1)
}

fn slug_owner(tx: &Tx<'_>, slug: &str) -> TxResult<Option<Uuid>> {
    Ok(tx
        .get(tree::ARTICLE_SLUGS, slug.as_bytes())?
        .and_then(|v| Uuid::from_slice(&v).ok()))
}

impl SledStore {
    fn articles_by_ids(&self, ids: impl IntoIterator<Item = Uuid>) -> StoreResult<Vec<Article>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.get_json::<Article>(tree::ARTICLES, id.as_bytes())?);
        }
        Ok(out)
    }
}

#[async_trait]
impl KbStore for SledStore {
    async fn insert_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            if slug_owner(tx, &article.slug)?.is_some() {
                return abort(StoreError::Conflict("slug".into()));
            }
            let old: Option<Article> = tx.get_json(tree::ARTICLES, article.id.as_bytes())?;
            put_article(tx, article, old.as_ref())?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn update_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Article>(tree::ARTICLES, article.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if slug_owner(tx, &article.slug)?.is_some_and(|o| o != article.id) {
                return abort(StoreError::Conflict("slug".into()));
            }
            put_article(tx, article, Some(&old))?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn delete_article(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Article>(tree::ARTICLES, id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            unindex(tx, &old)?;
            tx.del(tree::ARTICLES, id.as_bytes())?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn get_article(&self, id: Uuid) -> StoreResult<Option<Article>> {
        self.get_json(tree::ARTICLES, id.as_bytes())
    }

    async fn get_article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        let Some(id) = self
            .tree(tree::ARTICLE_SLUGS)
            .get(slug.as_bytes())
            .map_err(sled_error)?
        else {
            return Ok(None);
        };
        let id = Uuid::from_slice(&id).map_err(|_| StoreError::Corrupt("bad slug index".into()))?;
        Ok(self
            .get_json::<Article>(tree::ARTICLES, id.as_bytes())?
            .filter(|a| a.slug == slug))
    }

    async fn list_articles(&self, q: &ArticleQuery) -> StoreResult<Vec<Article>> {
        let prefix = list_prefix(q.tag.as_deref(), q.status);
        let after = q.cursor.map(|c| prefix.clone().i64(c.key).id(c.id));
        let mut out = Vec::new();
        for item in self.scan(
            tree::ARTICLE_IDX,
            prefix.bytes(),
            after.as_ref().map(Key::bytes),
            true,
        ) {
            if out.len() > q.limit {
                break;
            }
            let (k, _) = item?;
            let Some(id) = trailing_id(&k) else { continue };
            if let Some(a) = self.get_json::<Article>(tree::ARTICLES, id.as_bytes())?
                && prefix.clone().micros(a.created_at).id(a.id).bytes() == &k[..]
                && q.matches(&a)
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    async fn all_articles(&self, published_only: bool) -> StoreResult<Vec<Article>> {
        if published_only {
            let prefix = list_prefix(None, Some(ArticleStatus::Published));
            let ids: Vec<Uuid> = self
                .keys_with_prefix(tree::ARTICLE_IDX, prefix.bytes())?
                .iter()
                .filter_map(|k| trailing_id(k))
                .collect();
            Ok(self
                .articles_by_ids(ids)?
                .into_iter()
                .filter(|a| a.status == ArticleStatus::Published)
                .collect())
        } else {
            self.tree(tree::ARTICLES)
                .iter()
                .values()
                .map(|v| crate::decode(&v.map_err(sled_error)?, "articles"))
                .collect()
        }
    }

    async fn tag_counts(&self, published_only: bool) -> StoreResult<Vec<TagCount>> {
        let mut out = Vec::new();
        for item in self.tree(tree::ARTICLE_TAGS).iter() {
            let (k, v) = item.map_err(sled_error)?;
            let bad = || StoreError::Corrupt("bad tag counter".into());
            if v.len() != 16 {
                return Err(bad());
            }
            let n = if published_only { &v[8..] } else { &v[..8] };
            let count = crate::keys::u64_value(n).ok_or_else(bad)?;
            if count > 0 {
                let tag = String::from_utf8(k.to_vec()).map_err(|_| bad())?;
                out.push(TagCount { tag, count });
            }
        }
        Ok(out)
    }

    async fn search_articles(&self, query: &SearchQuery) -> StoreResult<Vec<SearchHit>> {
        let terms = search::query_terms(&query.q);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        // Every term must match (AND), so the candidates are the intersection of the
        // postings; `search::rank` then filters, scores, orders and cuts them exactly as
        // it would the whole knowledge base.
        let mut candidates: Option<HashSet<Uuid>> = None;
        for term in &terms {
            let ids: HashSet<Uuid> = self
                .keys_with_prefix(tree::SEARCH, posting_prefix(term).bytes())?
                .iter()
                .filter_map(|k| trailing_id(k))
                .filter(|id| candidates.as_ref().is_none_or(|c| c.contains(id)))
                .collect();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            candidates = Some(ids);
        }
        let articles = self.articles_by_ids(candidates.unwrap_or_default())?;
        Ok(search::rank(articles, query))
    }
}
