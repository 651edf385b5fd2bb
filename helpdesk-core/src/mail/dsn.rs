//! Delivery status notifications (RFC 3464): a bounce's original Message-ID and what
//! happened to each recipient.

use std::fmt;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::thread::normalize_message_id;

/// A parsed `multipart/report; report-type=delivery-status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The Message-ID of the mail it reports on (without `<>`, lower-cased), from the
    /// attached `message/rfc822` or `text/rfc822-headers`.
    pub original_message_id: Option<String>,
    /// One entry per reported recipient.
    pub recipients: Vec<RecipientReport>,
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientReport {
    /// `Original-Recipient`, else `Final-Recipient`, lower-cased, without the type.
    pub address: String,
    /// `Action`.
    pub action: DeliveryAction,
    /// `Status`, when readable.
    pub status: Option<DsnStatus>,
    /// `Diagnostic-Code` without its type (`550 5.1.1 user unknown`), if any.
    pub diagnostic: Option<String>,
}

impl RecipientReport {
    /// Whether this recipient failed for good: `Action: failed` with a `5.x.x` status.
    pub fn is_permanent_failure(&self) -> bool {
        self.action == DeliveryAction::Failed && self.status.is_some_and(|s| s.permanent())
    }

    /// The bounce note on the ticket: `Delivery to <address> failed: <status> <diagnostic>`.
    pub fn note(&self) -> String {
        let mut note = format!("Delivery to {} failed:", self.address);
        if let Some(status) = self.status {
            note.push_str(&format!(" {status}"));
        }
        if let Some(diag) = &self.diagnostic {
            note.push_str(&format!(" {diag}"));
        }
        note
    }
}

/// The `Action` field of a recipient's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryAction {
    /// Could not be delivered.
    Failed,
    /// Not delivered yet; still trying.
    Delayed,
    /// Delivered.
    Delivered,
    /// Passed to a system that does not report.
    Relayed,
    /// Delivered and forwarded to more recipients.
    Expanded,
}

impl DeliveryAction {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "failed" => Self::Failed,
            "delayed" => Self::Delayed,
            "delivered" => Self::Delivered,
            "relayed" => Self::Relayed,
            "expanded" => Self::Expanded,
            _ => return None,
        })
    }

    /// The lower-case name, as in the report (`failed`, `delayed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Delayed => "delayed",
            Self::Delivered => "delivered",
            Self::Relayed => "relayed",
            Self::Expanded => "expanded",
        }
    }
}

/// An enhanced status code (RFC 3463), `class.subject.detail`, e.g. `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DsnStatus {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// The subject (1 addressing, 2 mailbox, …).
    pub subject: u16,
    /// The detail.
    pub detail: u16,
}

impl DsnStatus {
    /// Reads `5.1.1` (trailing text such as a comment ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let code = s.split_whitespace().next()?;
        let mut it = code.split('.');
        let class: u8 = it.next()?.parse().ok()?;
        let subject: u16 = it.next()?.parse().ok()?;
        let detail: u16 = it.next()?.parse().ok()?;
        if it.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Self {
            class,
            subject,
            detail,
        })
    }

    /// A permanent failure (`5.x.x`).
    pub fn permanent(self) -> bool {
        self.class == 5
    }
}

impl fmt::Display for DsnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// The report of a `multipart/report; report-type=delivery-status` mail, else `None`.
pub(super) fn delivery_report(message: &Message<'_>) -> Option<DeliveryReport> {
    let root = message.parts.first()?;
    let ct = root.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut recipients = Vec::new();
    let mut original_message_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let ty = ct.ctype().to_ascii_lowercase();
        match (ty.as_str(), sub.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                let text = String::from_utf8_lossy(part.contents());
                recipients.extend(parse_status_fields(&text));
            }
            ("message", "rfc822" | "global") if original_message_id.is_none() => {
                original_message_id = match &part.body {
                    PartType::Message(nested) => nested.message_id().map(normalize_message_id),
                    _ => headers_message_id(part.contents()),
                };
            }
            ("text" | "message", "rfc822-headers" | "global-headers")
                if original_message_id.is_none() =>
            {
                original_message_id = headers_message_id(part.contents());
            }
            _ => {}
        }
    }
    Some(DeliveryReport {
        original_message_id: original_message_id.filter(|id| !id.is_empty()),
        recipients,
    })
}

fn headers_message_id(bytes: &[u8]) -> Option<String> {
    MessageParser::new()
        .parse_headers(bytes)
        .and_then(|m| m.message_id().map(normalize_message_id))
}

/// The per-recipient blocks of a `message/delivery-status` body (the first block is
/// per-message and has no recipient).
fn parse_status_fields(text: &str) -> Vec<RecipientReport> {
    let text = text.replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let fields = unfold_fields(block);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let address = get("Original-Recipient")
            .or_else(|| get("Final-Recipient"))
            .map(|v| typed_value(v).trim_matches(['<', '>']).to_lowercase())
            .filter(|a| !a.is_empty());
        let action = get("Action").and_then(DeliveryAction::parse);
        let (Some(address), Some(action)) = (address, action) else {
            continue;
        };
        out.push(RecipientReport {
            address,
            action,
            status: get("Status").and_then(DsnStatus::parse),
            diagnostic: get("Diagnostic-Code")
                .map(|v| typed_value(v).to_string())
                .filter(|v| !v.is_empty()),
        });
    }
    out
}

/// `rfc822; a@b` → `a@b` (the value after the address or diagnostic type).
fn typed_value(v: &str) -> &str {
    v.split_once(';').map_or(v, |(_, rest)| rest).trim()
}

fn unfold_fields(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = fields.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parses_and_knows_permanence() {
        let s = DsnStatus::parse("5.1.1 (bad mailbox)").unwrap();
        assert_eq!(s.to_string(), "5.1.1");
        assert!(s.permanent());
        assert!(!DsnStatus::parse("4.4.7").unwrap().permanent());
        for bad in ["", "5.1", "x.1.1", "7.1.1", "5.1.1.1"] {
            assert_eq!(DsnStatus::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_per_recipient_with_folding() {
        let body = "Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; Bob@Example.com\n\
                    Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <bob@example.com>:\n \
                    Recipient address rejected\n\nFinal-Recipient: rfc822;carol@example.com\n\
                    Action: delayed\nStatus: 4.4.1\n";
        let r = parse_status_fields(body);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].address, "bob@example.com");
        assert!(r[0].is_permanent_failure());
        assert_eq!(
            r[0].note(),
            "Delivery to bob@example.com failed: 5.1.1 550 5.1.1 <bob@example.com>: Recipient address rejected"
        );
        assert_eq!(r[1].action, DeliveryAction::Delayed);
        assert!(!r[1].is_permanent_failure());
        assert_eq!(r[1].diagnostic, None);
    }
}
