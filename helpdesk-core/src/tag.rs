//! Tags: lowercase labels on tickets and knowledge-base articles.

use crate::error::{Error, Result};

/// Lowercases, trims, sorts and dedups tags; each 1..=50 characters of letters, digits,
/// `-`, `_` or spaces, at most 20.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = t.trim().to_lowercase();
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
