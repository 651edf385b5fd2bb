//! Placeholders in reply text: `{{ticket.number}}`, `{{ticket.subject}}`,
//! `{{requester.name}}` and `{{agent.name}}`, spaces allowed inside the braces
//! (`{{ ticket.number }}`). [`check`] refuses any other `{{...}}` when a text is saved;
//! [`render`] fills them in as plain text.
//!
//! A `{{...}}` is a `{{`, the text up to the nearest `}}`, and that `}}`; of several
//! `{{` before one `}}` the last one opens it (`{{{{ticket.number}}` is `{{` and a
//! placeholder). A `{{` without a `}}` after it, and a `}}` without a `{{` before it,
//! are plain text. Values are inserted once: a value that holds braces is not read
//! again.

/// A placeholder a text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// `ticket.number`: the ticket's number.
    TicketNumber,
    /// `ticket.subject`: the ticket's subject.
    TicketSubject,
    /// `requester.name`: the name of the ticket's requester.
    RequesterName,
    /// `agent.name`: the name of the staff user the text is rendered for.
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

    /// Its name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::TicketNumber => "ticket.number",
            Placeholder::TicketSubject => "ticket.subject",
            Placeholder::RequesterName => "requester.name",
            Placeholder::AgentName => "agent.name",
        }
    }

    /// The placeholder the text between the braces names, spaces around it ignored.
    pub fn parse(inner: &str) -> Option<Placeholder> {
        let name = inner.trim_matches(' ');
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// What the placeholders stand for in one rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Values<'a> {
    /// `{{ticket.number}}`.
    pub ticket_number: i64,
    /// `{{ticket.subject}}`.
    pub ticket_subject: &'a str,
    /// `{{requester.name}}`.
    pub requester_name: &'a str,
    /// `{{agent.name}}`.
    pub agent_name: &'a str,
}

/// A `{{...}}` that names no placeholder: the text between the braces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{{{{{0}}}}}` is not a placeholder: use {{{{ticket.number}}}}, {{{{ticket.subject}}}}, \
     {{{{requester.name}}}} or {{{{agent.name}}}}"
)]
pub struct UnknownPlaceholder(pub String);

/// A piece of a text: plain text, or the inside of a `{{...}}`.
enum Piece<'t> {
    Text(&'t str),
    Braced(&'t str),
}

/// Cuts `text` into its pieces, in order.
fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    let mut pending: Option<Piece<'_>> = None;
    std::iter::from_fn(move || {
        if let Some(p) = pending.take() {
            return Some(p);
        }
        if rest.is_empty() {
            return None;
        }
        let Some(close) = rest.find("}}") else {
            return Some(Piece::Text(std::mem::take(&mut rest)));
        };
        let head = &rest[..close];
        let piece = match head.rfind("{{") {
            Some(open) => {
                pending = Some(Piece::Braced(&head[open + 2..]));
                Piece::Text(&head[..open])
            }
            None => Piece::Text(&rest[..close + 2]),
        };
        rest = &rest[close + 2..];
        Some(piece)
    })
}

/// Fails on the first `{{...}}` of `text` that names no placeholder.
pub fn check(text: &str) -> Result<(), UnknownPlaceholder> {
    for piece in pieces(text) {
        if let Piece::Braced(inner) = piece
            && Placeholder::parse(inner).is_none()
        {
            return Err(UnknownPlaceholder(inner.to_string()));
        }
    }
    Ok(())
}

/// `text` with its placeholders filled in from `values`, as plain text. A `{{...}}` that
/// names no placeholder (a text [`check`] would refuse) stays as it is.
pub fn render(text: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Braced(inner) => match Placeholder::parse(inner) {
                Some(Placeholder::TicketNumber) => out.push_str(&values.ticket_number.to_string()),
                Some(Placeholder::TicketSubject) => out.push_str(values.ticket_subject),
                Some(Placeholder::RequesterName) => out.push_str(values.requester_name),
                Some(Placeholder::AgentName) => out.push_str(values.agent_name),
                None => {
                    out.push_str("{{");
                    out.push_str(inner);
                    out.push_str("}}");
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: Values<'static> = Values {
        ticket_number: 42,
        ticket_subject: "Printer {{on}} fire",
        requester_name: "Carol",
        agent_name: "Agent Smith",
    };

    #[test]
    fn known_placeholders_render_with_spaces_inside() {
        let text = "Hi {{requester.name}}, #{{ ticket.number }} ({{ticket.subject  }}) — \
                    {{  agent.name}}";
        assert!(check(text).is_ok());
        assert_eq!(
            render(text, &VALUES),
            "Hi Carol, #42 (Printer {{on}} fire) — Agent Smith"
        );
    }

    #[test]
    fn other_braces_are_refused_and_plain_ones_kept() {
        for bad in [
            "{{ticket.id}}",
            "{{}}",
            "{{ }}",
            "x {{Ticket.Number}}",
            "{{ticket.number}} {{agent}}",
            "{{\tticket.number}}",
            "{{ {ticket.number} }}",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        let e = check("a {{ nope }} b").unwrap_err();
        assert_eq!(e, UnknownPlaceholder(" nope ".into()));
        assert!(e.to_string().contains("{{ nope }}"), "{e}");
        assert!(e.to_string().contains("{{ticket.number}}"), "{e}");
        for plain in [
            "",
            "no braces",
            "{ticket.number}",
            "{{ticket.number",
            "ticket.number}}",
            "}} {{",
            "{{{{ticket.number}}",
            "{{{ticket.number}}}",
        ] {
            assert!(check(plain).is_ok(), "{plain}");
        }
        assert_eq!(render("}} {{", &VALUES), "}} {{");
        assert_eq!(render("{{{{ticket.number}}", &VALUES), "{{42");
        assert_eq!(render("{{{ticket.number}}}", &VALUES), "{42}");
        // Unchecked text keeps what names no placeholder.
        assert_eq!(render("{{x}}{{agent.name}}", &VALUES), "{{x}}Agent Smith");
    }

    #[test]
    fn names_round_trip() {
        for p in Placeholder::ALL {
            assert_eq!(Placeholder::parse(p.name()), Some(p));
        }
    }
}
