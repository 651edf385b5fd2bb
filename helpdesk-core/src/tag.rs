//! Tags: lowercase labels on tickets and knowledge-base articles.

use crate::error::{Error, Result};

/// A tag as it is kept and compared: trimmed, each character lowercased where its
/// lowercase is one character (simple case mapping: `İ` stays `İ` rather than becoming
/// `i` and a combining dot, which is not a letter).
pub fn fold_tag(tag: &str) -> String {
    tag.trim()
        .chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// Folds ([`fold_tag`]), sorts and dedups tags; each 1..=50 characters of letters, digits,
/// `-`, `_` or spaces, at most 20.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = fold_tag(t);
        let ok = !t.is_empty()
            && t.chars().count() <= 50
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.'));
        if !ok {
            return Err(Error::invalid(
                "tags",
                "each tag must be 1 to 50 letters, digits, '-', '_', '.' or spaces",
            ));
        }
        out.push(t);
    }
    out.sort();
    out.dedup();
    if out.len() > 20 {
        return Err(Error::invalid("tags", "at most 20 tags"));
    }
    Ok(out)
}
