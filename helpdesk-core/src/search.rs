//! Knowledge-base search: English stemming, ranking (title hits above body hits) and
//! HTML-escaped snippets with `<mark>` around the hits. Stores without a search engine of
//! their own rank with [`rank`]; the sled store keeps an index of [`terms`].

use std::collections::{BTreeMap, HashMap};

use rust_stemmers::{Algorithm, Stemmer};

use crate::kb::{Article, SearchHit, SearchQuery};

/// How much a title hit weighs against a body hit.
const TITLE_WEIGHT: f64 = 4.0;
/// Words around the first hit in a snippet.
const SNIPPET_WORDS: usize = 24;

fn stemmer() -> Stemmer {
    Stemmer::create(Algorithm::English)
}

/// Splits text into lowercase words (letters and digits).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The stemmed, lowercase terms of a text, in order (with repeats).
pub fn terms(text: &str) -> Vec<String> {
    let stemmer = stemmer();
    words(text)
        .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
        .collect()
}

/// The distinct terms of a query.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut t = terms(q);
    t.sort();
    t.dedup();
    t
}

/// How often one term occurs in an article's title, body and tags, with the length of
/// the body in words: all that [`score`] needs of the text, so an index that keeps it
/// per (term, article) ranks without reading or stemming the articles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TermCounts {
    /// Occurrences in the title.
    pub in_title: u32,
    /// Occurrences in the body.
    pub in_body: u32,
    /// Occurrences in the tags.
    pub in_tags: u32,
    /// Words in the body.
    pub body_words: u32,
}

/// Every term of an article (title, body, tags) with its [`TermCounts`].
pub fn article_term_counts(article: &Article) -> BTreeMap<String, TermCounts> {
    let mut out: BTreeMap<String, TermCounts> = BTreeMap::new();
    let body = terms(&article.body);
    let body_words = body.len() as u32;
    for t in terms(&article.title) {
        out.entry(t).or_default().in_title += 1;
    }
    for t in body {
        out.entry(t).or_default().in_body += 1;
    }
    for tag in &article.tags {
        for t in terms(tag) {
            out.entry(t).or_default().in_tags += 1;
        }
    }
    for c in out.values_mut() {
        c.body_words = body_words;
    }
    out
}

/// The score of an article from the counts of each query term in it (AND semantics:
/// `None` when a term does not occur). Title hits weigh more.
pub fn score_counts(per_query_term: &[TermCounts]) -> Option<f64> {
    if per_query_term.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for c in per_query_term {
        let (t, b, g) = (
            f64::from(c.in_title),
            f64::from(c.in_body),
            f64::from(c.in_tags),
        );
        if t + b + g == 0.0 {
            return None;
        }
        // Diminishing returns on repeats, normalised a little by length.
        total += TITLE_WEIGHT * (1.0 + t).ln()
            + (1.0 + b).ln() / (1.0 + (f64::from(c.body_words) / 200.0))
            + (1.0 + g).ln();
    }
    Some((total * 1000.0).round() / 1000.0)
}

/// Scores one article for the query terms: every term must occur in the title, the body
/// or the tags (AND semantics); title hits weigh more. `None` when it does not match.
pub fn score(article: &Article, query_terms: &[String]) -> Option<f64> {
    TermMatcher::new(query_terms).score(article)
}

/// Tells which query term a word stems to, remembering the answer for each distinct
/// word: ranking stems every word of every candidate, and the articles of one
/// knowledge base share most of their words.
struct TermMatcher<'q> {
    stemmer: Stemmer,
    query_terms: &'q [String],
    seen: HashMap<String, Option<usize>>,
    lower: String,
}

impl<'q> TermMatcher<'q> {
    fn new(query_terms: &'q [String]) -> Self {
        TermMatcher {
            stemmer: stemmer(),
            query_terms,
            seen: HashMap::new(),
            lower: String::new(),
        }
    }

    /// The index of the query term `word` stems to, as [`terms`] stems it.
    fn term_of(&mut self, word: &str) -> Option<usize> {
        self.lower.clear();
        if word.is_ascii() {
            self.lower.push_str(word);
            self.lower.make_ascii_lowercase();
        } else {
            self.lower.push_str(&word.to_lowercase());
        }
        if let Some(&hit) = self.seen.get(self.lower.as_str()) {
            return hit;
        }
        let stem = self.stemmer.stem(&self.lower);
        let hit = self.query_terms.iter().position(|q| *q == stem);
        self.seen.insert(self.lower.clone(), hit);
        hit
    }

    /// The number of words of `text`, and the index of the query term of each word
    /// that is one.
    fn count(&mut self, text: &str) -> (usize, Vec<usize>) {
        let mut n = 0;
        let mut found = Vec::new();
        for w in words(text) {
            n += 1;
            if let Some(i) = self.term_of(w) {
                found.push(i);
            }
        }
        (n, found)
    }

    fn score(&mut self, article: &Article) -> Option<f64> {
        let mut counts = vec![TermCounts::default(); self.query_terms.len()];
        let (_, hits) = self.count(&article.title);
        for i in hits {
            counts[i].in_title += 1;
        }
        let (body_words, hits) = self.count(&article.body);
        for i in hits {
            counts[i].in_body += 1;
        }
        for tag in &article.tags {
            let (_, hits) = self.count(tag);
            for i in hits {
                counts[i].in_tags += 1;
            }
        }
        for c in &mut counts {
            c.body_words = body_words as u32;
        }
        score_counts(&counts)
    }
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The snippets of one search's hits. Each distinct word is stemmed once for all of them
/// (stemming every word of every hit's body took half of a search's time).
pub struct Snippets<'q> {
    matcher: TermMatcher<'q>,
}

impl<'q> Snippets<'q> {
    /// Snippets for the query's terms ([`query_terms`]).
    pub fn new(query_terms: &'q [String]) -> Self {
        Snippets {
            matcher: TermMatcher::new(query_terms),
        }
    }

    /// The snippet of an article: from the body when it has a hit, else from the title.
    pub fn article(&mut self, article: &Article) -> String {
        let body_hit = words(&article.body).any(|w| self.matcher.term_of(w).is_some());
        self.of(if body_hit {
            &article.body
        } else {
            &article.title
        })
    }

    /// A snippet of `text` around the first word whose stem is a query term: the text
    /// is HTML-escaped and only the hits are wrapped in `<mark>`.
    pub fn of(&mut self, text: &str) -> String {
        // Tokens with their byte spans, so the snippet keeps the original punctuation.
        let mut spans = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if c.is_alphanumeric() {
                start.get_or_insert(i);
            } else if let Some(s) = start.take() {
                spans.push((s, i));
            }
        }
        if let Some(s) = start {
            spans.push((s, text.len()));
        }
        let mut is_hit = |(s, e): (usize, usize)| self.matcher.term_of(&text[s..e]).is_some();
        let first = spans.iter().position(|sp| is_hit(*sp)).unwrap_or(0);
        let from = first.saturating_sub(SNIPPET_WORDS / 3);
        let to = (from + SNIPPET_WORDS).min(spans.len());
        if spans.is_empty() {
            return String::new();
        }
        let (begin, end) = (spans[from].0, spans[to - 1].1);
        debug_assert!(begin <= end);
        let mut out = String::new();
        if from > 0 {
            out.push('…');
        }
        let mut cursor = begin;
        for sp in &spans[from..to] {
            out.push_str(&escape_html(&text[cursor..sp.0]));
            let word = escape_html(&text[sp.0..sp.1]);
            if is_hit(*sp) {
                out.push_str("<mark>");
                out.push_str(&word);
                out.push_str("</mark>");
            } else {
                out.push_str(&word);
            }
            cursor = sp.1;
        }
        if to < spans.len() {
            out.push('…');
        } else {
            out.push_str(&escape_html(&text[end..]));
        }
        out
    }
}

/// Ranks `articles` for a query: filters by tag and status, scores, sorts by score
/// (then newest first), cuts to the limit and makes snippets.
pub fn rank(articles: Vec<Article>, query: &SearchQuery) -> Vec<SearchHit> {
    let qt = query_terms(&query.q);
    let mut matcher = TermMatcher::new(&qt);
    let mut hits: Vec<(f64, Article)> = articles
        .into_iter()
        .filter(|a| query.include_drafts || a.status == crate::kb::ArticleStatus::Published)
        .filter(|a| query.tag.as_ref().is_none_or(|t| a.tags.contains(t)))
        .filter_map(|a| matcher.score(&a).map(|s| (s, a)))
        .collect();
    hits.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.created_at.cmp(&a.1.created_at))
            .then(b.1.id.cmp(&a.1.id))
    });
    hits.truncate(query.limit);
    let mut snippets = Snippets::new(&qt);
    hits.into_iter()
        .map(|(score, article)| SearchHit {
            snippet: snippets.article(&article),
            article,
            score,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_share_a_stem() {
        assert_eq!(query_terms("passwords"), query_terms("password"));
        assert_eq!(query_terms("Resetting"), query_terms("reset"));
    }

    /// The scoring of `score`, spelled out over [`terms`] (what the remembered stems
    /// must agree with).
    fn naive_score(a: &Article, qt: &[String]) -> Option<f64> {
        let (title, body) = (terms(&a.title), terms(&a.body));
        let tags: Vec<String> = a.tags.iter().flat_map(|t| terms(t)).collect();
        let count = |ts: &[String], q: &String| ts.iter().filter(|t| *t == q).count() as f64;
        let mut total = 0.0;
        for q in qt {
            let (t, b, g) = (count(&title, q), count(&body, q), count(&tags, q));
            if t + b + g == 0.0 {
                return None;
            }
            total += TITLE_WEIGHT * (1.0 + t).ln()
                + (1.0 + b).ln() / (1.0 + (body.len() as f64 / 200.0))
                + (1.0 + g).ln();
        }
        Some((total * 1000.0).round() / 1000.0)
    }

    #[test]
    fn scores_agree_with_the_stemmed_terms() {
        let now = chrono::Utc::now();
        let article = Article {
            id: uuid::Uuid::now_v7(),
            slug: "reset".into(),
            title: "Resetting PASSWORDS, Passwort ΣΊΣΥΦΟΣ".into(),
            body: "Reset your password. Passwords reset; resets: ÉCOLE école σίσυφος \
                   password password reset-reset"
                .into(),
            tags: vec!["password".into(), "reset".into()],
            status: crate::kb::ArticleStatus::Published,
            author_id: uuid::Uuid::now_v7(),
            created_at: now,
            updated_at: now,
            published_at: Some(now),
        };
        for q in [
            "password",
            "reset passwords",
            "école",
            "σίσυφος",
            "missing",
            "reset missing",
        ] {
            let qt = query_terms(q);
            assert_eq!(score(&article, &qt), naive_score(&article, &qt), "{q}");
        }
        assert!(score(&article, &query_terms("reset")).is_some());
    }

    #[test]
    fn snippet_escapes_and_marks_only_hits() {
        let s = Snippets::new(&query_terms("reset")).of("Use <b>reset</b> & resetting passwords");
        assert_eq!(
            s,
            "Use &lt;b&gt;<mark>reset</mark>&lt;/b&gt; &amp; <mark>resetting</mark> passwords"
        );
    }
}
