//! Threading helpers: subject cleaning, the `[#<number>]` subject token, and the order in
//! which a mail's Message-ID headers are tried.

/// The longest subject a ticket takes from a mail, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// A new ticket's subject when the mail has none left after cleaning.
pub const NO_SUBJECT: &str = "(no subject)";

/// Reply and forward prefixes, as mail clients in several languages write them.
const PREFIXES: [&str; 6] = ["re", "fwd", "fw", "aw", "wg", "sv"];

/// The subject a new ticket takes: leading `Re:`/`Fwd:`/`Fw:`/`AW:`/`WG:`/`SV:` (any case,
/// repeated, also `Re[2]:`) and `[#<number>]` tokens removed, whitespace collapsed,
/// at most 200 characters, `(no subject)` when nothing is left.
pub fn clean_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let before = rest;
        rest = strip_prefix(rest).trim_start();
        rest = strip_ticket_tag(rest).trim_start();
        if rest.len() == before.len() {
            break;
        }
    }
    let collapsed: String = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| crate::text::is_allowed(*c))
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let collapsed = collapsed.trim();
    if collapsed.is_empty() {
        NO_SUBJECT.to_string()
    } else {
        collapsed.to_string()
    }
}

fn strip_prefix(s: &str) -> &str {
    for prefix in PREFIXES {
        let Some(head) = s.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let mut tail = &s[prefix.len()..];
        // `Re[2]:` and `Re(2):` as some clients count replies.
        if let Some(t) = tail.strip_prefix('[').or_else(|| tail.strip_prefix('(')) {
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && matches!(t.as_bytes().get(digits), Some(b']' | b')')) {
                tail = &t[digits + 1..];
            }
        }
        let tail = tail.trim_start_matches(' ');
        if let Some(t) = tail.strip_prefix(':').or_else(|| tail.strip_prefix('：')) {
            return t;
        }
    }
    s
}

fn strip_ticket_tag(s: &str) -> &str {
    match parse_ticket_tag(s) {
        Some((_, len)) => &s[len..],
        None => s,
    }
}

/// `[#<digits>]` at the start of `s`: the number and the tag's length in bytes.
fn parse_ticket_tag(s: &str) -> Option<(u64, usize)> {
    let t = s.strip_prefix("[#")?;
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 19 || t.as_bytes().get(digits) != Some(&b']') {
        return None;
    }
    Some((t[..digits].parse().ok()?, 2 + digits + 1))
}

/// The ticket number of the first `[#<number>]` anywhere in the subject.
pub fn subject_ticket_number(subject: &str) -> Option<u64> {
    subject
        .match_indices("[#")
        .find_map(|(i, _)| parse_ticket_tag(&subject[i..]).map(|(n, _)| n))
}

/// The subject of a mail sent on a ticket: `[#<number>] <subject>`, with `Re: ` in front
/// when `reply` (the ticket came from, or has had, inbound mail).
pub fn outgoing_subject(number: u64, subject: &str, reply: bool) -> String {
    let subject = subject.trim();
    if reply {
        format!("Re: [#{number}] {subject}")
    } else {
        format!("[#{number}] {subject}")
    }
}

/// Message-IDs to look up for header threading, first match wins: In-Reply-To, then
/// References newest (last) first, without repeats. Ids are compared lower-cased.
pub fn thread_candidates(in_reply_to: &[String], references: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in in_reply_to.iter().chain(references.iter().rev()) {
        let id = normalize_message_id(id);
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// A Message-ID as stored and compared: without `<>` and surrounding space, lower-cased.
pub fn normalize_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase()
}

/// The References of a reply to a mail with `references` (else its `in_reply_to`) and
/// Message-ID `message_id`: those ids plus `message_id`, at most 10 (the first and the
/// last nine).
pub fn reply_references(
    references: &[String],
    in_reply_to: &[String],
    message_id: Option<&str>,
) -> Vec<String> {
    let mut ids: Vec<String> = if references.is_empty() {
        in_reply_to.to_vec()
    } else {
        references.to_vec()
    };
    if let Some(id) = message_id {
        ids.push(id.to_string());
    }
    if ids.len() > 10 {
        let tail = ids.split_off(ids.len() - 9);
        ids.truncate(1);
        ids.extend(tail);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_subject_strips_prefixes_and_tags() {
        let cases = [
            ("Re: Printer on fire", "Printer on fire"),
            ("RE: Fwd: AW: WG: SV: fw: hello", "hello"),
            ("Re: [#42] Printer on fire", "Printer on fire"),
            ("[#42] Re: [#43]   Printer   on fire ", "Printer on fire"),
            ("Re[2]: status", "status"),
            ("Re:", NO_SUBJECT),
            ("   ", NO_SUBJECT),
            ("Reply needed", "Reply needed"),
            ("Regarding: x", "Regarding: x"),
            ("Invoice [#12] copy", "Invoice [#12] copy"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_subject(input), want, "{input:?}");
        }
        assert_eq!(clean_subject(&"é".repeat(300)).chars().count(), 200);
        assert_eq!(clean_subject("a\u{0}b\tc"), "ab c");
    }

    #[test]
    fn subject_number_is_found_anywhere() {
        assert_eq!(subject_ticket_number("Re: [#42] x"), Some(42));
        assert_eq!(subject_ticket_number("Invoice [#7]"), Some(7));
        assert_eq!(subject_ticket_number("[#x] [#9]"), Some(9));
        assert_eq!(subject_ticket_number("#42"), None);
        assert_eq!(subject_ticket_number("[#99999999999999999999]"), None);
    }

    #[test]
    fn outgoing_subject_has_re_only_for_replies() {
        assert_eq!(outgoing_subject(5, "Help", true), "Re: [#5] Help");
        assert_eq!(outgoing_subject(5, "Help", false), "[#5] Help");
    }

    #[test]
    fn candidates_are_in_reply_to_then_references_newest_first() {
        let irt = vec!["<C@x>".to_string()];
        let refs = vec!["a@x".to_string(), "B@x".to_string(), "c@x".to_string()];
        assert_eq!(thread_candidates(&irt, &refs), ["c@x", "b@x", "a@x"]);
    }

    #[test]
    fn reply_references_keep_first_and_last_nine() {
        let refs: Vec<String> = (0..15).map(|i| format!("{i}@x")).collect();
        let out = reply_references(&refs, &[], Some("new@x"));
        assert_eq!(out.len(), 10);
        assert_eq!(out[0], "0@x");
        assert_eq!(out[1], "7@x");
        assert_eq!(out[9], "new@x");
        let out = reply_references(&[], &["p@x".to_string()], Some("m@x"));
        assert_eq!(out, ["p@x", "m@x"]);
        assert!(reply_references(&[], &[], None).is_empty());
    }
}
