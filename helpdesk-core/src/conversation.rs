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

use serde_json::json;

use crate::Helpdesk;
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, NewEvent};
use crate::message::{MessageJson, MessageView, message_json};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
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

/// A conversation as one caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: Conversation,
    /// The newest message the caller may see.
    pub last_message: Option<MessageView>,
    /// The caller's unread count.
    pub unread_count: u64,
}

/// The API rendering of a conversation without the per-caller fields (events; the
/// base of [`ConversationViewJson`]).
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

/// The API rendering of a conversation as one caller sees it: with its
/// `last_message` and `unread_count`.
#[derive(Serialize)]
pub struct ConversationViewJson<'a> {
    #[serde(flatten)]
    conversation: ConversationJson<'a>,
    last_message: Option<MessageJson<'a>>,
    unread_count: u64,
}

/// The API rendering of a conversation as one caller sees it.
pub fn conversation_view_json(v: &ConversationView) -> ConversationViewJson<'_> {
    ConversationViewJson {
        conversation: conversation_json(&v.conversation),
        last_message: v.last_message.as_ref().map(message_json),
        unread_count: v.unread_count,
    }
}

fn validate_title(title: Option<&str>) -> Result<String> {
    let t = title.map(str::trim).unwrap_or("");
    crate::text::check("title", t)?;
    if t.is_empty() || t.chars().count() > 200 {
        return Err(Error::invalid("title", "must be 1 to 200 characters"));
    }
    Ok(t.to_string())
}

impl Helpdesk {
    /// Whether `p` may read conversation `c`: members; staff also ticket conversations;
    /// admins all.
    pub(crate) fn can_read_conversation(p: &Principal, c: &Conversation) -> bool {
        c.is_member(p.user_id)
            || p.is_admin()
            || (p.is_staff() && c.kind == ConversationKind::Ticket)
    }

    /// `NotFound` unless the caller may read the conversation: the check of
    /// [`Helpdesk::get_conversation`] without building its view.
    pub async fn check_readable(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.readable_conversation(p, id).await.map(|_| ())
    }

    /// A conversation the caller may read, else `NotFound`.
    pub(crate) async fn readable_conversation(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<Conversation> {
        match self.st().get_conversation(id).await? {
            Some(c) if Self::can_read_conversation(p, &c) => Ok(c),
            _ => Err(Error::NotFound),
        }
    }

    /// Adds a user to a conversation if they are not in it (the assignee of a ticket).
    pub(crate) async fn join_conversation(&self, id: Uuid, user_id: Uuid) -> Result<bool> {
        let now = self.now();
        let fx = Effects::event(NewEvent::new(
            "conversation.member_added",
            now,
            Audience {
                users: vec![user_id],
                conversation: Some(id),
                ..Default::default()
            },
            json!({"conversation_id": id, "user_id": user_id}),
        ));
        let added = self
            .st()
            .add_member(
                id,
                Member {
                    user_id,
                    joined_at: now,
                },
                &fx,
            )
            .await?;
        self.wake();
        Ok(added)
    }

    /// Customers may only talk with staff: every other member must be staff.
    async fn check_counterparts(
        &self,
        p: &Principal,
        others: &[Uuid],
    ) -> Result<Vec<crate::user::User>> {
        let mut users = Vec::with_capacity(others.len());
        for id in others {
            match self.st().get_user(*id).await? {
                Some(u) if u.is_active => users.push(u),
                _ => return Err(Error::invalid("member_ids", "must all be active users")),
            }
        }
        if !p.is_staff() && users.iter().any(|u| !u.role.is_staff()) {
            return Err(Error::forbidden(
                "customers can only start conversations with staff",
            ));
        }
        Ok(users)
    }

    /// Starts a direct or group conversation. Returns the conversation and whether it
    /// was created (false: the direct conversation of this pair already existed).
    pub async fn create_conversation(
        &self,
        p: &Principal,
        input: NewConversation,
    ) -> Result<(ConversationView, bool)> {
        if p.is_system() {
            return Err(Error::forbidden(
                "the system cannot take part in conversations",
            ));
        }
        let mut others: Vec<Uuid> = input
            .member_ids
            .iter()
            .copied()
            .filter(|m| *m != p.user_id)
            .collect();
        others.sort();
        others.dedup();
        let now = self.now();
        let (title, direct_key) = match input.kind {
            ConversationKind::Ticket => {
                return Err(Error::invalid(
                    "kind",
                    "ticket conversations come with their ticket",
                ));
            }
            ConversationKind::Direct => {
                if others.len() != 1 || input.member_ids.len() != 1 {
                    return Err(Error::invalid(
                        "member_ids",
                        "a direct conversation has exactly one other member",
                    ));
                }
                if input.title.is_some() {
                    return Err(Error::invalid(
                        "title",
                        "direct conversations have no title",
                    ));
                }
                let key = Conversation::direct_key_of(p.user_id, others[0]);
                self.check_counterparts(p, &others).await?;
                if let Some(existing) = self.st().find_direct(&key).await? {
                    return Ok((self.conversation_view(p, existing).await?, false));
                }
                (None, Some(key))
            }
            ConversationKind::Group => {
                let title = validate_title(input.title.as_deref())?;
                if others.is_empty() {
                    return Err(Error::invalid(
                        "member_ids",
                        "a group needs at least one other member",
                    ));
                }
                if others.len() > 1000 {
                    return Err(Error::invalid("member_ids", "at most 1000 members"));
                }
                self.check_counterparts(p, &others).await?;
                (Some(title), None)
            }
        };
        let members = std::iter::once(p.user_id)
            .chain(others)
            .map(|user_id| Member {
                user_id,
                joined_at: now,
            })
            .collect();
        let conv = Conversation {
            id: crate::clock::new_id(),
            kind: input.kind,
            title,
            ticket_id: None,
            members,
            created_by: p.user_id,
            created_at: now,
            last_message_at: None,
            last_seq: 0,
            last_public_seq: 0,
            public_count: 0,
            direct_key,
        };
        let fx = Effects::event(NewEvent::new(
            "conversation.created",
            now,
            Audience::conversation(conv.id, false),
            json!({"conversation": conversation_json(&conv)}),
        ));
        match self.st().create_conversation(&conv, &fx).await {
            Err(e) if e.is_conflict(Conflict::Direct) => {
                // Lost a race with the same pair: answer with the winner.
                let key = conv.direct_key.as_deref().unwrap_or_default();
                let existing = self.st().find_direct(key).await?.ok_or(Error::NotFound)?;
                Ok((self.conversation_view(p, existing).await?, false))
            }
            Err(e) => Err(e.into()),
            Ok(()) => {
                self.wake();
                Ok((self.conversation_view(p, conv).await?, true))
            }
        }
    }

    /// The caller's view of a conversation: last message and unread count.
    pub(crate) async fn conversation_view(
        &self,
        p: &Principal,
        conv: Conversation,
    ) -> Result<ConversationView> {
        let participant = self.st().get_participant(conv.id, p.user_id).await?;
        self.conversation_view_with(p, conv, participant).await
    }

    async fn conversation_view_with(
        &self,
        p: &Principal,
        conv: Conversation,
        participant: Option<crate::receipt::Participant>,
    ) -> Result<ConversationView> {
        let participant =
            participant.unwrap_or_else(|| crate::receipt::Participant::new(conv.id, p.user_id));
        let last_seq = if p.is_staff() {
            conv.last_seq
        } else {
            conv.last_public_seq
        };
        let last_message = match last_seq {
            0 => None,
            seq => match self.st().get_message_by_seq(conv.id, seq).await? {
                Some(m) => Some(self.message_views(p, &conv, vec![m]).await?.remove(0)),
                None => None,
            },
        };
        Ok(ConversationView {
            unread_count: participant.unread(&conv, p.is_staff()),
            conversation: conv,
            last_message,
        })
    }

    /// A conversation: members; staff also ticket conversations; admins all.
    pub async fn get_conversation(&self, p: &Principal, id: Uuid) -> Result<ConversationView> {
        let conv = self.readable_conversation(p, id).await?;
        self.conversation_view(p, conv).await
    }

    /// The caller's conversations, latest activity first.
    pub async fn list_conversations(
        &self,
        p: &Principal,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        page_size: Option<usize>,
    ) -> Result<Page<ConversationView>> {
        let limit = limit(page_size)?;
        let convs = self
            .st()
            .list_conversations(p.user_id, kind, cursor, limit)
            .await?;
        let page = Page::from_overfetch(convs, limit, |c| {
            Cursor::new(c.activity_at().timestamp_micros(), c.id)
        });
        let ids: Vec<Uuid> = page.items.iter().map(|c| c.id).collect();
        let mut parts: std::collections::HashMap<Uuid, crate::receipt::Participant> = self
            .st()
            .participants_of(p.user_id, &ids)
            .await?
            .into_iter()
            .map(|x| (x.conversation_id, x))
            .collect();
        let mut items = Vec::with_capacity(page.items.len());
        for c in page.items {
            let part = parts.remove(&c.id);
            items.push(self.conversation_view_with(p, c, part).await?);
        }
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Renames a group (its members).
    pub async fn rename_conversation(
        &self,
        p: &Principal,
        id: Uuid,
        title: &str,
    ) -> Result<ConversationView> {
        let conv = self.readable_conversation(p, id).await?;
        if conv.kind != ConversationKind::Group || !conv.is_member(p.user_id) {
            return Err(Error::forbidden("only members of a group can rename it"));
        }
        let title = validate_title(Some(title))?;
        let now = self.now();
        let mut renamed = conv.clone();
        renamed.title = Some(title.clone());
        let fx = Effects::event(NewEvent::new(
            "conversation.updated",
            now,
            Audience::conversation(id, false),
            json!({"conversation": conversation_json(&renamed)}),
        ));
        self.st().set_conversation_title(id, &title, &fx).await?;
        self.wake();
        self.conversation_view(p, renamed).await
    }

    /// Adds a member to a group (its members). Customers may add staff only.
    pub async fn add_member(
        &self,
        p: &Principal,
        id: Uuid,
        user_id: Uuid,
    ) -> Result<ConversationView> {
        let conv = self.readable_conversation(p, id).await?;
        if conv.kind != ConversationKind::Group || !conv.is_member(p.user_id) {
            return Err(Error::forbidden("only members of a group can add members"));
        }
        self.check_counterparts(p, &[user_id]).await?;
        if conv.is_member(user_id) {
            return Err(Error::Conflict("already a member".into()));
        }
        self.join_conversation(id, user_id).await?;
        self.get_conversation(p, id).await
    }

    /// Removes a member: oneself (leaving), or anyone by the group's creator.
    pub async fn remove_member(&self, p: &Principal, id: Uuid, user_id: Uuid) -> Result<()> {
        let conv = self.readable_conversation(p, id).await?;
        if conv.kind != ConversationKind::Group {
            return Err(Error::forbidden("only group members can be removed"));
        }
        if user_id != p.user_id && conv.created_by != p.user_id {
            return Err(Error::forbidden(
                "only the group's creator can remove others",
            ));
        }
        if !conv.is_member(user_id) {
            return Err(Error::NotFound);
        }
        let now = self.now();
        let fx = Effects::event(NewEvent::new(
            "conversation.member_removed",
            now,
            Audience {
                users: vec![user_id],
                conversation: Some(id),
                ..Default::default()
            },
            json!({"conversation_id": id, "user_id": user_id}),
        ));
        self.st().remove_member(id, user_id, &fx).await?;
        self.wake();
        Ok(())
    }
}
