//! Starting direct and group conversations, membership, renaming, and the conversation
//! list as each member sees it.

use crate::Helpdesk;
use crate::conversation::*;
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::inbox::ConversationView;
use crate::message::Readable;
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use crate::receipt::Participant;
use serde_json::json;
use uuid::Uuid;

/// `conversation.member_added`: to the new member and the conversation's members.
pub(crate) fn member_added(id: Uuid, user_id: Uuid, at: chrono::DateTime<chrono::Utc>) -> NewEvent {
    NewEvent::new(
        EventKind::ConversationMemberAdded,
        at,
        Audience {
            users: vec![user_id],
            conversation: Some(id),
            ..Default::default()
        },
        json!({"conversation_id": id, "user_id": user_id}),
    )
}

/// `conversation.member_removed`: to the member who left and the remaining members.
pub(crate) fn member_removed(
    id: Uuid,
    user_id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> NewEvent {
    NewEvent::new(
        EventKind::ConversationMemberRemoved,
        at,
        Audience {
            users: vec![user_id],
            conversation: Some(id),
            ..Default::default()
        },
        json!({"conversation_id": id, "user_id": user_id}),
    )
}

impl Helpdesk {
    /// `NotFound` unless the caller may read the conversation: the check of
    /// [`Helpdesk::get_conversation`] without building its view.
    pub async fn check_readable(&self, p: &Principal, id: Uuid) -> Result<Readable> {
        let (conversation, state) = self.readable_conversation_as(p, id).await?;
        Ok(Readable {
            conversation,
            state,
            reader: *p,
        })
    }

    /// A conversation the caller may read, else `NotFound`.
    pub(crate) async fn readable_conversation(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<Conversation> {
        match self.st().get_conversation(id).await? {
            Some(c) if self.may_read_conversation(p, &c).await? => Ok(c),
            _ => Err(Error::NotFound),
        }
    }

    /// [`Helpdesk::readable_conversation`] with the caller's receipt state in it (a
    /// fresh one when they have none), read together.
    pub(crate) async fn readable_conversation_as(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<(Conversation, Participant)> {
        match self.st().get_conversation_as(id, p.user_id).await? {
            Some((c, me)) if self.may_read_conversation(p, &c).await? => {
                let me = me.unwrap_or_else(|| Participant::new(c.id, p.user_id));
                Ok((c, me))
            }
            _ => Err(Error::NotFound),
        }
    }

    /// Adds a user to a conversation if they are not in it (the assignee of a ticket).
    pub(crate) async fn join_conversation(&self, id: Uuid, user_id: Uuid) -> Result<bool> {
        let now = self.now();
        let fx = Effects::event(member_added(id, user_id, now));
        let member = Member {
            user_id,
            joined_at: now,
        };
        self.written(self.st().add_member(id, member, &fx)).await
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
            EventKind::ConversationCreated,
            now,
            Audience::conversation(conv.id, false),
            json!({"conversation": conversation_json(&conv)}),
        ));
        match self
            .written(self.st().create_conversation(&conv, &fx))
            .await
        {
            Err(Error::Store(e)) if e.is_conflict(Conflict::Direct) => {
                // Lost a race with the same pair: answer with the winner.
                let key = conv.direct_key.as_deref().unwrap_or_default();
                let existing = self.st().find_direct(key).await?.ok_or(Error::NotFound)?;
                Ok((self.conversation_view(p, existing).await?, false))
            }
            Err(e) => Err(e),
            Ok(()) => Ok((self.conversation_view(p, conv).await?, true)),
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
        filter: ConversationFilter,
    ) -> Result<Page<ConversationView>> {
        let limit = limit(filter.limit)?;
        let convs = self
            .st()
            .list_conversations(p.user_id, filter.kind, filter.cursor, limit)
            .await?;
        let page = Page::from_overfetch(convs, limit, |c| {
            let (key, id) = c.list_position();
            Cursor::new(key, id)
        });
        let page = Page {
            items: self.still_readable(p, page.items).await?,
            next_cursor: page.next_cursor,
        };
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
            EventKind::ConversationUpdated,
            now,
            Audience::conversation(id, false),
            json!({"conversation": conversation_json(&renamed)}),
        ));
        self.written(self.st().set_conversation_title(id, &title, &fx))
            .await?;
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
        let fx = Effects::event(member_removed(id, user_id, now));
        self.written(self.st().remove_member(id, user_id, &fx))
            .await?;
        Ok(())
    }
}
