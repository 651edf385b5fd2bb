//! Placeholders in texts the system fills in for a ticket (`{{ticket.number}}`,
//! `{{ticket.subject}}`, `{{requester.name}}`, `{{agent.name}}`): the check a text passes
//! when it is saved and the plain-text rendering. Canned replies and the action language's
//! internal notes share them.
//!
//! A placeholder is `{{`, optional spaces, one of the four names, optional spaces, `}}`.
//! Any other `{{...}}` is refused; a `{{` with no `}}` after it is plain text. Rendering
//! scans the text once, so a value that itself looks like a placeholder (a subject
//! holding `{{agent.name}}`) is inserted as it is, never expanded.

/// One of the placeholders a text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `{{ticket.number}}`: the ticket's number.
    TicketNumber,
    /// `{{ticket.subject}}`: its subject.
    TicketSubject,
    /// `{{requester.name}}`: its requester's name.
    RequesterName,
    /// `{{agent.name}}`: the acting staff user's name (for rules and other system
    /// messages: the assignee's, `""` if none).
    AgentName,
}

impl Placeholder {
    /// Every placeholder.
    pub const ALL: [Placeholder; 4] = [
        Placeholder::TicketNumber,
        Placeholder::TicketSubject,
        Placeholder::RequesterName,
        Placeholder::AgentName,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::TicketNumber => "ticket.number",
            Placeholder::TicketSubject => "ticket.subject",
            Placeholder::RequesterName => "requester.name",
            Placeholder::AgentName => "agent.name",
        }
    }

    /// The placeholder named `name` (without braces or spaces).
    pub fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What the placeholders of a text stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderValues {
    /// `{{ticket.number}}`.
    pub ticket_number: i64,
    /// `{{ticket.subject}}`.
    pub ticket_subject: String,
    /// `{{requester.name}}`.
    pub requester_name: String,
    /// `{{agent.name}}`.
    pub agent_name: String,
}

impl PlaceholderValues {
    fn value(&self, p: Placeholder) -> std::borrow::Cow<'_, str> {
        match p {
            Placeholder::TicketNumber => self.ticket_number.to_string().into(),
            Placeholder::TicketSubject => self.ticket_subject.as_str().into(),
            Placeholder::RequesterName => self.requester_name.as_str().into(),
            Placeholder::AgentName => self.agent_name.as_str().into(),
        }
    }
}

/// A piece of a text: plain text, or a `{{...}}` with what it names.
enum Piece<'a> {
    Text(&'a str),
    /// The whole `{{...}}` as written, and the placeholder if it names one.
    Braces(&'a str, Option<Placeholder>),
}

/// Splits `text` into plain text and `{{...}}` pieces, in order.
fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find("{{") else {
            return Some(Piece::Text(std::mem::take(&mut rest)));
        };
        if open > 0 {
            let (before, after) = rest.split_at(open);
            rest = after;
            return Some(Piece::Text(before));
        }
        let Some(close) = rest[2..].find("}}") else {
            // No `}}` follows: the rest is plain text.
            return Some(Piece::Text(std::mem::take(&mut rest)));
        };
        let (whole, after) = rest.split_at(2 + close + 2);
        rest = after;
        let inner = whole[2..whole.len() - 2].trim_matches(' ');
        Some(Piece::Braces(whole, Placeholder::from_name(inner)))
    })
}

/// The placeholders `text` holds, in order, or the first `{{...}}` that is none of them
/// (as written, braces included).
pub fn check_placeholders(text: &str) -> Result<Vec<Placeholder>, String> {
    let mut found = Vec::new();
    for piece in pieces(text) {
        match piece {
            Piece::Text(_) => {}
            Piece::Braces(_, Some(p)) => found.push(p),
            Piece::Braces(whole, None) => return Err(whole.to_string()),
        }
    }
    Ok(found)
}

/// The message a text with an unknown placeholder gets (for a `FieldError`).
pub fn unknown_placeholder_message(written: &str) -> String {
    format!(
        "`{written}` is not a placeholder (use {{{{ticket.number}}}}, {{{{ticket.subject}}}}, \
         {{{{requester.name}}}} or {{{{agent.name}}}})"
    )
}

/// `text` with each placeholder replaced by its value, as plain text (nothing escaped).
/// A `{{...}}` that is no placeholder stays as written; texts are checked with
/// [`check_placeholders`] when saved, so a saved text has none.
pub fn render_placeholders(text: &str, values: &PlaceholderValues) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) | Piece::Braces(t, None) => out.push_str(t),
            Piece::Braces(_, Some(p)) => out.push_str(&values.value(p)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> PlaceholderValues {
        PlaceholderValues {
            ticket_number: 42,
            ticket_subject: "Printer {{agent.name}} on fire".into(),
            requester_name: "Alice".into(),
            agent_name: "Bob".into(),
        }
    }

    #[test]
    fn the_four_placeholders_with_or_without_inner_spaces() {
        let text =
            "#{{ticket.number}} {{ ticket.subject }} for {{requester.name  }}, {{  agent.name}}";
        assert_eq!(
            check_placeholders(text),
            Ok(vec![
                Placeholder::TicketNumber,
                Placeholder::TicketSubject,
                Placeholder::RequesterName,
                Placeholder::AgentName,
            ])
        );
        // The subject's own braces are inserted as they are, not expanded again.
        assert_eq!(
            render_placeholders(text, &values()),
            "#42 Printer {{agent.name}} on fire for Alice, Bob"
        );
    }

    #[test]
    fn any_other_braces_are_refused() {
        for (text, bad) in [
            ("Hi {{requester.email}}", "{{requester.email}}"),
            ("{{}}", "{{}}"),
            ("{{ticket.Number}}", "{{ticket.Number}}"),
            ("{{\tticket.number}}", "{{\tticket.number}}"),
            ("{{{ticket.number}}}", "{{{ticket.number}}"),
            ("ok {{agent.name}} then {{x}}", "{{x}}"),
        ] {
            assert_eq!(check_placeholders(text), Err(bad.to_string()), "{text}");
        }
        let m = unknown_placeholder_message("{{x}}");
        assert!(m.starts_with("`{{x}}` is not a placeholder"), "{m}");
        assert!(m.contains("{{ticket.number}}"), "{m}");
    }

    #[test]
    fn plain_text_stays_plain() {
        for text in [
            "",
            "no braces",
            "one { brace }",
            "{{ never closed",
            "}} {{",
            "a }} b",
        ] {
            assert_eq!(check_placeholders(text), Ok(vec![]), "{text}");
            assert_eq!(render_placeholders(text, &values()), text);
        }
        assert_eq!(
            render_placeholders("<b>{{agent.name}}</b> {{ x", &values()),
            "<b>Bob</b> {{ x"
        );
        assert_eq!(
            render_placeholders("é{{ticket.number}}ü", &values()),
            "é42ü"
        );
    }
}
