//! What text the system accepts: every Unicode scalar value except the C0 control
//! characters other than tab, newline and carriage return. One rule for every store:
//! PostgreSQL cannot hold U+0000 in `text`, and a helpdesk has no use for the others.

use crate::error::{Error, Result};

/// Whether `c` may stand in text the system stores or searches for.
pub fn is_allowed(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{1f}') || matches!(c, '\t' | '\n' | '\r')
}

/// The first character of `text` that the rule refuses, if any.
pub fn first_refused(text: &str) -> Option<char> {
    text.chars().find(|c| !is_allowed(*c))
}

/// 422 naming `field` when `text` holds a refused control character.
pub fn check(field: &str, text: &str) -> Result<()> {
    match first_refused(text) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(field, refusal(c))),
    }
}

/// Why a character is refused, for error messages.
pub fn refusal(c: char) -> String {
    format!(
        "must not contain control characters other than tab, newline and carriage return \
         (found U+{:04X})",
        c as u32
    )
}

/// `s` cut to `max` characters.
pub(crate) fn limit_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// A name or a label: checked as text, trimmed, 1..=`max` characters (422 at `field`).
pub(crate) fn label(field: &str, s: &str, max: usize) -> Result<String> {
    check(field, s)?;
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c0_controls_are_refused_except_tab_newline_and_return() {
        for c in (0u32..0x20).filter_map(char::from_u32) {
            assert_eq!(is_allowed(c), matches!(c, '\t' | '\n' | '\r'), "{c:?}");
        }
        for c in [' ', 'a', '\u{7f}', '\u{85}', '\u{2028}', '\u{fffd}', '😀'] {
            assert!(is_allowed(c), "{c:?}");
        }
        assert!(check("subject", "a\tb\r\nc").is_ok());
        let e = check("subject", "a\u{0}b").unwrap_err();
        assert!(e.to_string().contains("subject"), "{e}");
        assert!(e.to_string().contains("U+0000"), "{e}");
        assert_eq!(first_refused("ok\u{1b}[31m"), Some('\u{1b}'));
    }
}
