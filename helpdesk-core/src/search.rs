//! Knowledge-base search: English stemming, ranking (title hits above body hits) and
//! HTML-escaped snippets with `<mark>` around the hits. Stores without a search engine of
//! their own rank with [`rank`]; the sled store keeps an index of [`terms`].

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

/// Scores one article for the query terms: every term must occur in the title, the body
/// or the tags (AND semantics); title hits weigh more. `None` when it does not match.
pub fn score(article: &Article, query_terms: &[String]) -> Option<f64> {
    if query_terms.is_empty() {
        return None;
    }
    let title = terms(&article.title);
    let body = terms(&article.body);
    let tags: Vec<String> = article.tags.iter().flat_map(|t| terms(t)).collect();
    let mut total = 0.0;
    for qt in query_terms {
        let in_title = title.iter().filter(|t| *t == qt).count() as f64;
        let in_body = body.iter().filter(|t| *t == qt).count() as f64;
        let in_tags = tags.iter().filter(|t| *t == qt).count() as f64;
        if in_title + in_body + in_tags == 0.0 {
            return None;
        }
        // Diminishing returns on repeats, normalised a little by length.
        total += TITLE_WEIGHT * (1.0 + in_title).ln()
            + (1.0 + in_body).ln() / (1.0 + (body.len() as f64 / 200.0))
            + (1.0 + in_tags).ln();
    }
    Some((total * 1000.0).round() / 1000.0)
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

/// A snippet of `text` around the first word whose stem is a query term: the text is
/// HTML-escaped and only the hits are wrapped in `<mark>`.
pub fn snippet(text: &str, query_terms: &[String]) -> String {
    let stemmer = stemmer();
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
    let is_hit = |(s, e): (usize, usize)| {
        let w = text[s..e].to_lowercase();
        query_terms.iter().any(|q| *q == stemmer.stem(&w))
    };
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

/// The snippet of an article: from the body when it has a hit, else from the title.
pub fn article_snippet(article: &Article, query_terms: &[String]) -> String {
    let body_terms = terms(&article.body);
    if body_terms.iter().any(|t| query_terms.contains(t)) {
        snippet(&article.body, query_terms)
    } else {
        snippet(&article.title, query_terms)
    }
}

/// Ranks `articles` for a query: filters by tag and status, scores, sorts by score
/// (then newest first), cuts to the limit and makes snippets.
pub fn rank(articles: Vec<Article>, query: &SearchQuery) -> Vec<SearchHit> {
    let qt = query_terms(&query.q);
    let mut hits: Vec<(f64, Article)> = articles
        .into_iter()
        .filter(|a| query.include_drafts || a.status == crate::kb::ArticleStatus::Published)
        .filter(|a| query.tag.as_ref().is_none_or(|t| a.tags.contains(t)))
        .filter_map(|a| score(&a, &qt).map(|s| (s, a)))
        .collect();
    hits.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.created_at.cmp(&a.1.created_at))
            .then(b.1.id.cmp(&a.1.id))
    });
    hits.truncate(query.limit);
    hits.into_iter()
        .map(|(score, article)| SearchHit {
            snippet: article_snippet(&article, &qt),
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

    #[test]
    fn snippet_escapes_and_marks_only_hits() {
        let s = snippet(
            "Use <b>reset</b> & resetting passwords",
            &query_terms("reset"),
        );
        assert_eq!(
            s,
            "Use &lt;b&gt;<mark>reset</mark>&lt;/b&gt; &amp; <mark>resetting</mark> passwords"
        );
    }
}
