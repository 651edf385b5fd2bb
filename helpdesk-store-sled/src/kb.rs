//! [`KbStore`]: articles with a unique slug index, list indexes (all, by status, by tag,
//! by status and tag; newest first by reverse scans), tag counters, and the inverted
//! search index (`term|0|article` → the term's counts in the article) kept in the same
//! transaction as the article.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::Conflict;
use helpdesk_core::StoreError;
use helpdesk_core::event::Effects;
use helpdesk_core::kb::{Article, ArticleQuery, ArticleStatus, SearchHit, SearchQuery, TagCount};
use helpdesk_core::store::support::search::{self, TermCounts};
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

/// The value of a posting `term|0|article`: the term's [`TermCounts`] in the article and
/// the article's creation time (seconds, nanoseconds), so a search scores and orders the
/// candidates from the postings alone and reads only the articles it returns. Postings
/// written before these values existed are empty; a search that meets one ranks the
/// articles themselves, as it did then.
const POSTING_LEN: usize = 28;

fn posting_value(c: TermCounts, a: &Article) -> Vec<u8> {
    let mut v = Vec::with_capacity(POSTING_LEN);
    for n in [c.in_title, c.in_body, c.in_tags, c.body_words] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(&a.created_at.timestamp().to_be_bytes());
    v.extend_from_slice(&a.created_at.timestamp_subsec_nanos().to_be_bytes());
    v
}

/// A posting's counts and creation time; `None` for an empty (older) posting.
fn read_posting(v: &[u8]) -> StoreResult<Option<(TermCounts, DateTime<Utc>)>> {
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || StoreError::Corrupt("bad search posting".into());
    if v.len() != POSTING_LEN {
        return Err(bad());
    }
    let u = |i: usize| u32::from_be_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
    let secs = i64::from_be_bytes(v[16..24].try_into().map_err(|_| bad())?);
    let at = DateTime::from_timestamp(secs, u(24)).ok_or_else(bad)?;
    Ok(Some((
        TermCounts {
            in_title: u(0),
            in_body: u(4),
            in_tags: u(8),
            body_words: u(12),
        },
        at,
    )))
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
    for term in search::article_term_counts(a).keys() {
        tx.del(tree::SEARCH, posting_prefix(term).id(a.id))?;
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
    for (term, counts) in search::article_term_counts(a) {
        tx.put(
            tree::SEARCH,
            posting_prefix(&term).id(a.id),
            posting_value(counts, a),
        )?;
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
    async fn kb_stamp(&self) -> StoreResult<u64> {
        Ok(self.inner.kb_stamp.load(Ordering::Acquire))
    }

    async fn insert_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        self.write_kb(|tx| {
            if slug_owner(tx, &article.slug)?.is_some() {
                return abort(StoreError::Conflict(Conflict::Slug));
            }
            let old: Option<Article> = tx.get_json(tree::ARTICLES, article.id.as_bytes())?;
            put_article(tx, article, old.as_ref())?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn update_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        self.write_kb(|tx| {
            let Some(old) = tx.get_json::<Article>(tree::ARTICLES, article.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            if slug_owner(tx, &article.slug)?.is_some_and(|o| o != article.id) {
                return abort(StoreError::Conflict(Conflict::Slug));
            }
            put_article(tx, article, Some(&old))?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn delete_article(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        self.write_kb(|tx| {
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
        self.records_by_index(
            self.scan(
                tree::ARTICLE_IDX,
                prefix.bytes(),
                after.as_ref().map(Key::bytes),
                true,
            ),
            tree::ARTICLES,
            q.limit.saturating_add(1),
            |k, _| trailing_id(k),
            |k, a: &Article| {
                prefix.clone().micros(a.created_at).id(a.id).bytes() == k && q.matches(a)
            },
        )
    }

    async fn all_articles(&self, published_only: bool) -> StoreResult<Vec<Article>> {
        if published_only {
            let prefix = list_prefix(None, Some(ArticleStatus::Published));
            self.records_by_index(
                self.scan(tree::ARTICLE_IDX, prefix.bytes(), None, false),
                tree::ARTICLES,
                usize::MAX,
                |k, _| trailing_id(k),
                |_, a: &Article| a.status == ArticleStatus::Published,
            )
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
        // Every term must match (AND): the candidates are the intersection of the
        // postings, each with its counts per query term and its creation time.
        let mut candidates: HashMap<Uuid, (Vec<TermCounts>, DateTime<Utc>)> = HashMap::new();
        let mut legacy = false;
        for (i, term) in terms.iter().enumerate() {
            let mut next = HashMap::new();
            for item in self
                .tree(tree::SEARCH)
                .scan_prefix(posting_prefix(term).bytes())
            {
                let (k, v) = item.map_err(sled_error)?;
                let Some(id) = trailing_id(&k) else { continue };
                let Some((counts, at)) = read_posting(&v)? else {
                    legacy = true;
                    continue;
                };
                if i == 0 {
                    next.insert(id, (vec![counts], at));
                } else if let Some((mut seen, at)) = candidates.remove(&id) {
                    seen.push(counts);
                    next.insert(id, (seen, at));
                }
            }
            candidates = next;
            if legacy {
                break;
            }
            if candidates.is_empty() {
                return Ok(Vec::new());
            }
        }
        if legacy {
            return self.search_by_reading(&terms, query);
        }
        // Ordered as `search::rank` orders its hits; then the articles are read in that
        // order, filtered as it filters, until the page is full.
        let mut scored: Vec<(f64, DateTime<Utc>, Uuid)> = candidates
            .into_iter()
            .filter_map(|(id, (counts, at))| search::score_counts(&counts).map(|s| (s, at, id)))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
        let mut hits = Vec::new();
        let mut snippets = search::Snippets::new(&terms);
        for (score, _, id) in scored {
            if hits.len() >= query.limit {
                break;
            }
            let Some(article) = self.get_json::<Article>(tree::ARTICLES, id.as_bytes())? else {
                continue;
            };
            if !(query.include_drafts || article.status == ArticleStatus::Published)
                || query
                    .tag
                    .as_ref()
                    .is_some_and(|t| !article.tags.contains(t))
            {
                continue;
            }
            hits.push(SearchHit {
                snippet: snippets.article(&article),
                article,
                score,
            });
        }
        Ok(hits)
    }
}

impl SledStore {
    /// Search over postings written before they kept counts: the candidates' articles
    /// are read and ranked whole.
    fn search_by_reading(
        &self,
        terms: &[String],
        query: &SearchQuery,
    ) -> StoreResult<Vec<SearchHit>> {
        let mut candidates: Option<HashSet<Uuid>> = None;
        for term in terms {
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
