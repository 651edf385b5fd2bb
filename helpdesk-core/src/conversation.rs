//! Conversations: direct, group and ticket conversations and their membership.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Two users, one conversation per pair.
    Direct,
    /// A titled group.
    Group,
    /// A ticket's discussion.
    Ticket,
}

impl ConversationKind {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Ticket => "ticket",
        }
    }
}

impl std::str::FromStr for ConversationKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "direct" => Ok(ConversationKind::Direct),
            "group" => Ok(ConversationKind::Group),
            "ticket" => Ok(ConversationKind::Ticket),
            _ => Err(crate::Error::invalid(
                "kind",
                "must be direct, group or ticket",
            )),
        }
    }
}

/// A member of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// When they joined.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub joined_at: DateTime<Utc>,
}

/// A conversation with its members and its message counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: ConversationKind,
    /// Title (groups; tickets use the subject).
    pub title: Option<String>,
    /// The ticket, for kind `ticket`.
    pub ticket_id: Option<Uuid>,
    /// Members, in joining order.
    pub members: Vec<Member>,
    /// Who started it.
    pub created_by: Uuid,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// The newest message's time.
    #[serde(default, deserialize_with = "crate::wire::de_opt_ts")]
    pub last_message_at: Option<DateTime<Utc>>,
    /// The newest message's seq (0: none yet).
    pub last_seq: u64,
    /// The newest non-internal message's seq (0: none).
    pub last_public_seq: u64,
    /// How many non-internal messages there are.
    pub public_count: u64,
    /// For direct conversations: the two user ids, sorted, joined by `:`; unique
    /// (a second insert fails with `Conflict::Direct`).
    pub direct_key: Option<String>,
}

impl Conversation {
    /// The latest activity: the newest message's time, else the creation time. Lists of
    /// conversations order by this, newest first.
    pub fn activity_at(&self) -> DateTime<Utc> {
        self.last_message_at.unwrap_or(self.created_at)
    }
    /// Its place in its members' lists, which run from the highest down: its activity in
    /// microseconds and its id (a list cursor's key and id).
    pub fn list_position(&self) -> (i64, Uuid) {
        (self.activity_at().timestamp_micros(), self.id)
    }
    /// True when `user` is a member.
    pub fn is_member(&self, user: Uuid) -> bool {
        self.members.iter().any(|m| m.user_id == user)
    }
    /// The direct key of a pair.
    pub fn direct_key_of(a: Uuid, b: Uuid) -> String {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        format!("{x}:{y}")
    }
}

use crate::error::{Error, Result};
use crate::wire::{Each, Ts, opt_ts};

/// Input for starting a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConversation {
    /// `direct` or `group`.
    pub kind: ConversationKind,
    /// Group title.
    pub title: Option<String>,
    /// The other members.
    pub member_ids: Vec<Uuid>,
}

/// The API rendering of a conversation without the per-caller fields (events; the
/// base of [`crate::inbox::ConversationViewJson`]).
#[derive(Serialize)]
pub struct ConversationJson<'a> {
    id: Uuid,
    kind: ConversationKind,
    title: Option<&'a str>,
    ticket_id: Option<Uuid>,
    members: Each<'a, Member, fn(&'a Member) -> MemberJson>,
    created_by: Uuid,
    created_at: Ts,
    last_message_at: Option<Ts>,
}

/// A member as the API renders it.
#[derive(Serialize)]
pub struct MemberJson {
    user_id: Uuid,
    joined_at: Ts,
}

/// The API rendering of a conversation without the per-caller fields.
pub fn conversation_json(c: &Conversation) -> ConversationJson<'_> {
    ConversationJson {
        id: c.id,
        kind: c.kind,
        title: c.title.as_deref(),
        ticket_id: c.ticket_id,
        members: Each(&c.members, |m| MemberJson {
            user_id: m.user_id,
            joined_at: Ts(m.joined_at),
        }),
        created_by: c.created_by,
        created_at: Ts(c.created_at),
        last_message_at: opt_ts(c.last_message_at),
    }
}

pub(crate) fn validate_title(title: Option<&str>) -> Result<String> {
    let title = title.unwrap_or("");
    crate::text::check("title", title)?;
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(Error::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(t.to_string())
}

/// Which of the caller's conversations [`crate::Helpdesk::list_conversations`] lists,
/// latest activity first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only this kind.
    pub kind: Option<ConversationKind>,
    /// Continue after this position.
    pub cursor: Option<crate::page::Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}
