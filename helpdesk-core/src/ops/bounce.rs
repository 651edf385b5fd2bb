//! Mail that did not reach a recipient (API-email.md "bounces"): a delivery report
//! about our mail, or a 5xx to our `RCPT`. Either way each recipient adds an
//! `email.bounced` event, and the mail's ticket gets an internal note from no one
//! (`sender_id: null`) naming them; the suppressions differ (`bounce`, `rejected`) and
//! stay with their callers (ops/ingest.rs, ops/outbox.rs).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::email::{OutboundMail, Rejected};
use crate::event::{Audience, EventKind, NewEvent};
use crate::mail::RecipientReport;
use crate::message::NewMessage;
use crate::status::StatusCategory;
use crate::ticket::Ticket;

/// One recipient our mail did not reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Undelivered {
    address: String,
    /// A DSN's `Status` (`5.1.1`), or the SMTP reply code (`550`).
    status: Option<String>,
    action: &'static str,
    permanent: bool,
    /// `Delivery to <address> failed: <status> <diagnostic>`.
    note: String,
}

impl Undelivered {
    /// A recipient of a delivery report.
    pub(crate) fn reported(r: &RecipientReport) -> Self {
        Undelivered {
            address: r.address.clone(),
            status: r.status.map(|s| s.to_string()),
            action: r.action.as_str(),
            permanent: r.is_permanent_failure(),
            note: r.note(),
        }
    }

    /// A recipient our SMTP server refused at `RCPT` with a 5xx: failed for good.
    pub(crate) fn rejected(r: &Rejected) -> Self {
        let address = r.address.to_lowercase();
        let mut note = format!("Delivery to {address} failed: {}", r.code);
        let text = r.text.trim();
        if !text.is_empty() {
            note.push(' ');
            note.push_str(text);
        }
        Undelivered {
            address,
            status: Some(r.code.to_string()),
            action: "failed",
            permanent: true,
            note,
        }
    }

    /// Whether it failed for good.
    pub(crate) fn permanent(&self) -> bool {
        self.permanent
    }

    /// Its line of the bounce note.
    pub(crate) fn note(&self) -> &str {
        &self.note
    }

    /// Its `email.bounced` event, to staff: about `sent`, reported by the inbound mail
    /// `inbound_id` (`None`: refused at `RCPT`).
    pub(crate) fn event(
        &self,
        inbound_id: Option<Uuid>,
        sent: &OutboundMail,
        at: DateTime<Utc>,
    ) -> NewEvent {
        NewEvent::new(
            EventKind::EmailBounced,
            at,
            Audience::staff(),
            serde_json::json!({
                "inbound_id": inbound_id,
                "outbound_id": sent.id,
                "ticket_id": sent.ticket_id,
                "recipient": self.address,
                "status": self.status,
                "action": self.action,
                "permanent": self.permanent,
            }),
        )
    }
}

/// The internal note naming `undelivered` on the mail's ticket `t`: none on a closed
/// ticket (it takes no messages), or with no one to name.
pub(crate) fn bounce_note(t: &Ticket, undelivered: &[Undelivered]) -> Option<NewMessage> {
    if undelivered.is_empty() || t.status_category == StatusCategory::Closed {
        return None;
    }
    let lines: Vec<&str> = undelivered.iter().map(Undelivered::note).collect();
    Some(NewMessage {
        content: crate::text::limit_chars(&lines.join("\n"), crate::message::MAX_CONTENT_CHARS),
        parent_id: None,
        attachment_ids: Vec::new(),
        internal: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_at_rcpt_reads_like_a_bounce() {
        let u = Undelivered::rejected(&Rejected {
            address: "Nobody@Example.net".into(),
            code: 550,
            text: "5.1.1 recipient refused".into(),
        });
        assert!(u.permanent());
        assert_eq!(
            u.note(),
            "Delivery to nobody@example.net failed: 550 5.1.1 recipient refused"
        );
        assert_eq!(u.address, "nobody@example.net");
        assert_eq!(u.status.as_deref(), Some("550"));
        assert_eq!(u.action, "failed");
    }
}
