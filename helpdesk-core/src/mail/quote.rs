//! Quote stripping for follow-ups: where the new text of a reply ends and the quoted
//! conversation begins. HTML quotes are removed before the HTML is turned into text
//! (see `html`); this works on the text.

/// The line every mail we send starts with; a reply is cut where it appears (also quoted).
pub const REPLY_MARKER: &str = "##- Please type your reply above this line -##";

/// The new text of a reply: `text` cut at the first of our marker (also quoted with `>`),
/// `On … wrote:` (on one or two lines), `-----Original Message-----`, a line of ≥ 20 `_`
/// followed by `From:`, a `From:` line with `Sent:` within the next 3 lines, or a trailing
/// block of `>` lines; trimmed. When nothing is left, the whole text, trimmed.
pub fn strip_quotes(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let cut = quote_start(&lines).unwrap_or(lines.len());
    let kept = lines[..cut].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        text.trim().to_string()
    } else {
        kept.to_string()
    }
}

fn quote_start(lines: &[&str]) -> Option<usize> {
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        let unquoted = line.trim_start_matches(['>', ' ']);
        if unquoted.contains(REPLY_MARKER) {
            return Some(i);
        }
        if is_on_wrote(line) {
            return Some(i);
        }
        if line.starts_with("On ")
            && let Some(next) = lines.get(i + 1)
            && next.trim_end().ends_with("wrote:")
            && line.len() + next.len() < 300
        {
            return Some(i);
        }
        if line.contains("-----Original Message-----") {
            return Some(i);
        }
        if line.len() >= 20
            && line.bytes().all(|b| b == b'_')
            && lines
                .iter()
                .skip(i + 1)
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| starts_with_ci(l.trim(), "from:"))
        {
            return Some(i);
        }
        if starts_with_ci(line, "from:")
            && lines
                .iter()
                .skip(i + 1)
                .take(3)
                .any(|l| starts_with_ci(l.trim(), "sent:"))
        {
            return Some(i);
        }
    }
    trailing_quote_block(lines)
}

fn is_on_wrote(line: &str) -> bool {
    line.starts_with("On ") && line.ends_with("wrote:") && line.len() < 300
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// The start of a block of `>` lines (blank lines allowed inside) that runs to the end.
fn trailing_quote_block(lines: &[&str]) -> Option<usize> {
    let mut start = None;
    for (i, line) in lines.iter().enumerate().rev() {
        let line = line.trim();
        if line.starts_with('>') {
            start = Some(i);
        } else if !line.is_empty() {
            break;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_each_kind_of_quote_header() {
        let cases = [
            "Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Help <h@x.org> wrote:\n> old",
            "Thanks!\n\nOn Mon, 1 Jan 2024 at 10:00, Help Desk\n<h@x.org> wrote:\n> old",
            "Thanks!\n-----Original Message-----\nFrom: a\nold",
            "Thanks!\n________________________________\nFrom: Help <h@x.org>\nSent: Monday\nold",
            "Thanks!\n\nFrom: Help <h@x.org>\nSent: Monday, 1 January\nTo: me\nSubject: x\nold",
            "Thanks!\n\n> old line\n>\n> older line\n",
            "Thanks!\n> ##- Please type your reply above this line -##\n> old",
            "Thanks!\n##- Please type your reply above this line -##\nold",
        ];
        for text in cases {
            assert_eq!(strip_quotes(text), "Thanks!", "{text:?}");
        }
    }

    #[test]
    fn keeps_text_without_quotes_and_inline_answers() {
        let text = "Line one\nFrom: is a word here\nno sent line\n\nbye";
        assert_eq!(strip_quotes(text), text);
        let inline = "> question?\nanswer\n> question 2?\nanswer 2";
        assert_eq!(strip_quotes(inline), inline);
    }

    #[test]
    fn all_quote_keeps_whole_text() {
        let text = "> only quoted\n> text";
        assert_eq!(strip_quotes(text), text);
        let marker_first = "##- Please type your reply above this line -##\n\nHello";
        assert_eq!(strip_quotes(marker_first), marker_first);
    }
}
