//! Customer satisfaction (CSAT) surveys (API-workflow.md "CSAT"): the survey record, its
//! token, the checks of an answer, the public page and the report's arithmetic. The
//! operations are in `ops/csat.rs`; a survey is made in the operation that resolves
//! its ticket ([`crate::event::Effects::surveys`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// The settings of CSAT surveys (`--csat`, `--csat-ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsatConfig {
    /// Whether resolving a customer's ticket makes a survey (default on).
    pub enabled: bool,
    /// How long a survey's token may be answered (default 14 days).
    pub ttl: std::time::Duration,
}

impl Default for CsatConfig {
    fn default() -> Self {
        CsatConfig {
            enabled: true,
            ttl: std::time::Duration::from_secs(14 * 86_400),
        }
    }
}

/// One survey: made when a customer's ticket enters `resolved`, one per resolution
/// cycle, crediting the assignee and group of that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    /// Id.
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Which resolution of the ticket it asks about (1 for the first,
    /// [`crate::ticket::Ticket::resolved_count`] when it was made).
    pub cycle: u32,
    /// The assignee credited (the ticket's when it was resolved).
    pub assignee_id: Option<Uuid>,
    /// The group credited (the ticket's when it was resolved).
    pub group_id: Uuid,
    /// The answer, 1..=5, once answered.
    pub rating: Option<u8>,
    /// The answer's comment.
    pub comment: Option<String>,
    /// Made.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// The token answers no more from this instant on.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub expires_at: DateTime<Utc>,
    /// The last answer.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub responded_at: Option<DateTime<Utc>>,
    /// The SHA-256 (hex) of the token: the token itself is only in the requester's
    /// notification.
    pub token_hash: String,
}

impl Survey {
    /// A new survey for a ticket's cycle with a fresh token: the survey, and the token
    /// (for the requester's notification only).
    pub fn new(
        ticket: &crate::ticket::Ticket,
        at: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> (Survey, String) {
        let token = new_token();
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let survey = Survey {
            id: crate::clock::new_id(),
            ticket_id: ticket.id,
            cycle: ticket.resolved_count,
            assignee_id: ticket.assignee_id,
            group_id: ticket.group_id,
            rating: None,
            comment: None,
            created_at: at,
            expires_at: at
                .checked_add_signed(ttl)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            responded_at: None,
            token_hash: token_hash(&token),
        };
        (survey, token)
    }

    /// Whether the token answers no more at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// A random URL-safe token of 256 bits.
fn new_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The stored form of a token (SHA-256, hex), as API keys and sessions keep theirs.
pub fn token_hash(token: &str) -> String {
    crate::auth::sha256_hex(token.as_bytes())
}

/// An answer, checked: `rating` 1..=5, `comment` at most [`MAX_COMMENT_CHARS`]
/// characters, without control characters (an empty one is none).
pub fn check_answer(rating: i64, comment: Option<&str>) -> Result<(u8, Option<String>)> {
    let rating = u8::try_from(rating)
        .ok()
        .filter(|r| (1..=5).contains(r))
        .ok_or_else(|| Error::invalid("rating", "must be a whole number from 1 to 5"))?;
    let comment = match comment {
        None => None,
        Some(c) => {
            crate::text::check("comment", c)?;
            if c.chars().count() > MAX_COMMENT_CHARS {
                return Err(Error::invalid(
                    "comment",
                    format!("must be at most {MAX_COMMENT_CHARS} characters"),
                ));
            }
            Some(c.to_string()).filter(|c| !c.trim().is_empty())
        }
    };
    Ok((rating, comment))
}

/// What the survey's page shows (`GET /api/csat/{token}`), to anyone with the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyPage {
    /// The survey.
    pub survey: Survey,
    /// The ticket's number.
    pub ticket_number: i64,
    /// The ticket's subject.
    pub ticket_subject: String,
    /// The credited assignee's name, if any (and still a user).
    pub agent_name: Option<String>,
    /// Whether the token answers no more.
    pub expired: bool,
}

/// The API shape of a survey page.
pub fn survey_page_json(p: &SurveyPage) -> serde_json::Value {
    serde_json::json!({
        "ticket_number": p.ticket_number,
        "ticket_subject": p.ticket_subject,
        "agent_name": p.agent_name,
        "rating": p.survey.rating,
        "comment": p.survey.comment,
        "expires_at": crate::wire::format_ts(p.survey.expires_at),
        "responded_at": p.survey.responded_at.map(crate::wire::format_ts),
        "expired": p.expired,
    })
}

/// The API shape of a survey (never its token).
pub fn survey_json(s: &Survey) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "ticket_id": s.ticket_id,
        "cycle": s.cycle,
        "assignee_id": s.assignee_id,
        "group_id": s.group_id,
        "rating": s.rating,
        "comment": s.comment,
        "created_at": crate::wire::format_ts(s.created_at),
        "expires_at": crate::wire::format_ts(s.expires_at),
        "responded_at": s.responded_at.map(crate::wire::format_ts),
    })
}

/// Which surveys a report counts: `created_at` in `[from, to)`, optionally of one
/// credited assignee and one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurveyQuery {
    /// Made at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Made before this.
    pub to: Option<DateTime<Utc>>,
    /// Crediting this assignee.
    pub assignee_id: Option<Uuid>,
    /// Crediting this group.
    pub group_id: Option<Uuid>,
}

impl SurveyQuery {
    /// Whether `s` is one of the surveys asked for.
    pub fn matches(&self, s: &Survey) -> bool {
        self.from.is_none_or(|f| s.created_at >= f)
            && self.to.is_none_or(|t| s.created_at < t)
            && self.assignee_id.is_none_or(|a| s.assignee_id == Some(a))
            && self.group_id.is_none_or(|g| s.group_id == g)
    }
}

/// One row of a report's `by_agent` or `by_group`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportRow {
    /// The assignee or group (`None`: surveys crediting no assignee).
    pub id: Option<Uuid>,
    /// Answered surveys.
    pub count: u64,
    /// Their average rating, to 2 decimals (`None` when none is answered).
    pub average: Option<f64>,
}

/// A CSAT report (`GET /api/csat`).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Surveys made.
    pub sent: u64,
    /// Surveys answered.
    pub count: u64,
    /// The average rating, to 2 decimals (`None` when none is answered).
    pub average: Option<f64>,
    /// Answered surveys per rating, 1..=5.
    pub distribution: [u64; 5],
    /// `count / sent`, to 2 decimals (`None` when none was sent).
    pub response_rate: Option<f64>,
    /// Per credited assignee, by id, surveys crediting nobody last.
    pub by_agent: Vec<ReportRow>,
    /// Per credited group, by id.
    pub by_group: Vec<ReportRow>,
}

/// Rounded to 2 decimals.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `sum / n` to 2 decimals, `None` when `n` is 0.
fn ratio(sum: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| round2(sum as f64 / n as f64))
}

/// The rows of one grouping: by id, `None` last (`Option`'s order puts it first).
fn rows(groups: BTreeMap<Option<Uuid>, (u64, u64)>) -> Vec<ReportRow> {
    let (none, some): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(k, _)| k.is_none());
    some.into_iter()
        .chain(none)
        .map(|(id, (count, sum))| ReportRow {
            id,
            count,
            average: ratio(sum, count),
        })
        .collect()
}

impl Report {
    /// The report of these surveys (those the query matched).
    pub fn of(surveys: &[Survey]) -> Report {
        let mut distribution = [0u64; 5];
        let mut agents: BTreeMap<Option<Uuid>, (u64, u64)> = BTreeMap::new();
        let mut groups: BTreeMap<Option<Uuid>, (u64, u64)> = BTreeMap::new();
        let (mut count, mut sum) = (0u64, 0u64);
        for s in surveys {
            let agent = agents.entry(s.assignee_id).or_default();
            let group = groups.entry(Some(s.group_id)).or_default();
            let Some(r) = s.rating.filter(|r| (1..=5).contains(r)) else {
                continue;
            };
            distribution[usize::from(r - 1)] += 1;
            count += 1;
            sum += u64::from(r);
            for (n, total) in [agent, group] {
                *n += 1;
                *total += u64::from(r);
            }
        }
        let sent = surveys.len() as u64;
        Report {
            sent,
            count,
            average: ratio(sum, count),
            distribution,
            response_rate: ratio(count, sent),
            by_agent: rows(agents),
            by_group: rows(groups),
        }
    }
}

/// The API shape of a report.
pub fn report_json(r: &Report) -> serde_json::Value {
    let distribution: serde_json::Map<String, serde_json::Value> = r
        .distribution
        .iter()
        .enumerate()
        .map(|(i, n)| ((i + 1).to_string(), (*n).into()))
        .collect();
    let rows = |rows: &[ReportRow], key: &str| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|row| serde_json::json!({key: row.id, "count": row.count, "average": row.average}))
            .collect()
    };
    serde_json::json!({
        "sent": r.sent,
        "count": r.count,
        "average": r.average,
        "distribution": distribution,
        "response_rate": r.response_rate,
        "by_agent": rows(&r.by_agent, "assignee_id"),
        "by_group": rows(&r.by_group, "group_id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(assignee: Option<Uuid>, group: Uuid, rating: Option<u8>) -> Survey {
        Survey {
            id: crate::clock::new_id(),
            ticket_id: crate::clock::new_id(),
            cycle: 1,
            assignee_id: assignee,
            group_id: group,
            rating,
            comment: None,
            created_at: Utc::now(),
            expires_at: Utc::now(),
            responded_at: None,
            token_hash: String::new(),
        }
    }

    #[test]
    fn report_rounds_and_orders_nobody_last() {
        let (a, g) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let surveys = [
            answered(None, g, Some(5)),
            answered(Some(a), g, Some(4)),
            answered(Some(a), g, Some(4)),
            answered(Some(a), g, Some(5)),
            answered(Some(a), g, None),
            answered(Some(a), g, None),
        ];
        let r = Report::of(&surveys);
        assert_eq!((r.sent, r.count), (6, 4));
        assert_eq!(r.average, Some(4.5));
        assert_eq!(r.response_rate, Some(0.67));
        assert_eq!(r.distribution, [0, 0, 0, 2, 2]);
        assert_eq!(r.by_agent[0].id, Some(a));
        assert_eq!(r.by_agent[0].average, Some(4.33));
        assert_eq!(r.by_agent[1].id, None);
        let empty = Report::of(&[]);
        assert_eq!((empty.average, empty.response_rate), (None, None));
    }

    #[test]
    fn answers_are_checked_at_their_fields() {
        let field = |e: Error| match e {
            Error::Validation(f) => f[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(check_answer(0, None).unwrap_err()), "rating");
        assert_eq!(field(check_answer(6, None).unwrap_err()), "rating");
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(field(check_answer(3, Some(&long)).unwrap_err()), "comment");
        assert_eq!(check_answer(5, Some("ok")).unwrap(), (5, Some("ok".into())));
    }
}
