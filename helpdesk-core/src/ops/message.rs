//! Sending (with replies, mentions, attachments, internal notes and their ticket
//! effects), reading pages and threads, editing and deleting messages, and recording
//! deliveries.

use chrono::{DateTime, Utc};

use crate::Helpdesk;
use crate::attachment::Attachment;
use crate::condition::TriggerEvent;
use crate::conversation::Conversation;
use crate::conversation::ConversationKind;
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::message::*;
use crate::notification::{Notification, NotificationData, NotificationKind};
use crate::ops::ingest::MessageFromMail;
use crate::ops::ticket::{announce_notifications, ticket_change_effects};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use crate::receipt::Participant;
use crate::receipt::{MessageStatus, Receipt, mark_time};
use crate::schema::TicketSchema;
use crate::snooze::WakeReason;
use crate::status::{Status, StatusCategory};
use crate::ticket::Ticket;
use serde_json::json;
use uuid::Uuid;

/// What a message changes on its ticket: a requester's message reopens a pending or
/// resolved ticket, the first public staff message sets `first_response_at`, and a
/// public customer message ends a snooze unless it ignores replies. The
/// changed ticket (if any) and the effects of the change.
fn ticket_change_on_message(
    p: &Principal,
    before: &Ticket,
    internal: bool,
    now: DateTime<Utc>,
    schema: &TicketSchema,
    mail: Option<&MessageFromMail>,
) -> (Option<Ticket>, Effects) {
    let mut after = before.clone();
    // A requester's message reopens; by mail a CC's too, never automatic mail's.
    let reopens = match mail {
        None => p.user_id == before.requester_id,
        Some(m) => !m.auto && (p.user_id == before.requester_id || before.cc.contains(&p.user_id)),
    };
    if reopens
        && matches!(
            before.status_category,
            StatusCategory::Pending | StatusCategory::Resolved
        )
    {
        let open = Status::default_of(StatusCategory::Open, now);
        crate::ticket::move_status(&mut after, &open, now);
    }
    // A staff *user's* public message: the system's (a rule's) is no first response.
    if p.is_staff() && !p.is_system() && !internal && after.first_response_at.is_none() {
        after.first_response_at = Some(now);
    }
    // A public customer message wakes a snooze that waits for replies.
    let woke =
        (!p.is_staff() && !internal && after.snooze.is_some_and(|s| s.wake_on_reply)).then(|| {
            after.snooze = None;
            WakeReason::Reply
        });
    let record_changed = after != *before;
    // SLA cycles (a user's public message: rule messages fulfil nothing). The history is
    // not a stored field of the ticket: `updated_at` stays for it alone.
    if !internal && p.actor().is_some() {
        if p.is_staff() {
            after.sla_clock().on_staff_reply(now);
        } else {
            let (category, responded) = (after.status_category, after.first_response_at.is_some());
            after
                .sla_clock()
                .on_customer_reply(now, category, responded);
        }
    }
    if after == *before {
        return (None, Effects::none());
    }
    if record_changed {
        after.updated_at = now;
    }
    after.version += 1;
    let fx = ticket_change_effects(before, &mut after, p.actor(), now, schema, woke);
    (Some(after), fx)
}

/// The notification of a new message to one recipient.
fn message_notification(
    user_id: Uuid,
    kind: NotificationKind,
    m: &Message,
    sender_name: &str,
    ticket: Option<(Uuid, i64)>,
    now: DateTime<Utc>,
) -> Notification {
    let title = match kind {
        NotificationKind::Mention => format!("{sender_name} mentioned you"),
        NotificationKind::Reply => format!("{sender_name} replied to you"),
        _ => match ticket {
            Some((_, n)) => format!("New message on ticket #{n}"),
            None => "New message".to_string(),
        },
    };
    Notification {
        id: crate::clock::new_id(),
        user_id,
        kind,
        title,
        body: m.content.chars().take(140).collect(),
        data: NotificationData {
            ticket_id: ticket.map(|(id, _)| id),
            conversation_id: Some(m.conversation_id),
            message_id: Some(m.id),
            csat_token: None,
        },
        read_at: None,
        created_at: now,
    }
}

/// What sending a message wrote: the message as its sender sees it, its ticket, and the
/// events triggers run on.
pub(crate) struct Sent {
    /// The message.
    pub view: MessageView,
    /// The ticket of its conversation, if any.
    pub ticket_id: Option<Uuid>,
    /// The events triggers run on.
    pub caused: crate::ops::rules::Caused,
}

impl Helpdesk {
    /// Renders messages for a caller: `is_read`, `status` on their own, attachments.
    pub(crate) async fn message_views(
        &self,
        p: &Principal,
        conv: &Conversation,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageView>> {
        let me = self.me_in(p, conv).await?;
        self.message_views_as(p, conv, &me, messages).await
    }

    /// The caller's receipt state in a conversation (a fresh one when they have none).
    pub(crate) async fn me_in(&self, p: &Principal, conv: &Conversation) -> Result<Participant> {
        Ok(self
            .st()
            .get_participant(conv.id, p.user_id)
            .await?
            .unwrap_or_else(|| Participant::new(conv.id, p.user_id)))
    }

    /// [`Helpdesk::message_views`] with the caller's receipt state already read.
    pub(crate) async fn message_views_as(
        &self,
        p: &Principal,
        conv: &Conversation,
        me: &Participant,
        messages: Vec<Message>,
    ) -> Result<Vec<MessageView>> {
        let own_any = messages.iter().any(|m| m.sender_id == Some(p.user_id));
        let others: Vec<Participant> = if own_any {
            self.st()
                .participants(conv.id)
                .await?
                .into_iter()
                .filter(|x| x.user_id != p.user_id && conv.is_member(x.user_id))
                .collect()
        } else {
            Vec::new()
        };
        let mut staff_others: Option<Vec<&Participant>> = None;
        if messages
            .iter()
            .any(|m| m.internal && m.sender_id == Some(p.user_id))
        {
            let mut v = Vec::new();
            for x in &others {
                if self
                    .st()
                    .get_user(x.user_id)
                    .await?
                    .is_some_and(|u| u.role.is_staff())
                {
                    v.push(x);
                }
            }
            staff_others = Some(v);
        }
        let mut views = Vec::with_capacity(messages.len());
        for m in messages {
            let status = (m.sender_id == Some(p.user_id)).then(|| {
                let audience: Vec<&Participant> = match (&staff_others, m.internal) {
                    (Some(s), true) => s.clone(),
                    _ => others.iter().collect(),
                };
                if audience.is_empty() {
                    MessageStatus::Sent
                } else if audience
                    .iter()
                    .all(|x| x.has_read_publicly(m.seq, m.sender_id))
                {
                    MessageStatus::Read
                } else if audience.iter().all(|x| x.has_received(m.seq, m.sender_id)) {
                    MessageStatus::Delivered
                } else {
                    MessageStatus::Sent
                }
            });
            views.push(MessageView {
                is_read: me.has_read(m.seq, m.sender_id),
                status,
                attachments: self.attachments_of(&m).await?,
                message: m.for_reader(Self::sees_internal(p)),
            });
        }
        Ok(views)
    }

    /// A message's attachments (those still stored).
    async fn attachments_of(&self, m: &Message) -> Result<Vec<Attachment>> {
        let mut attachments = Vec::with_capacity(m.attachment_ids.len());
        for id in &m.attachment_ids {
            if let Some(a) = self.st().get_attachment(*id).await? {
                attachments.push(a);
            }
        }
        Ok(attachments)
    }

    /// Whether the caller may see internal notes (and be told of them in counts).
    fn sees_internal(p: &Principal) -> bool {
        p.is_staff()
    }

    fn can_see_message(p: &Principal, m: &Message) -> bool {
        !m.internal || Self::sees_internal(p)
    }

    /// A message the caller may see in a conversation they may read.
    async fn visible_message(
        &self,
        p: &Principal,
        conv: &Conversation,
        id: Uuid,
    ) -> Result<Message> {
        match self.st().get_message(conv.id, id).await? {
            Some(m) if Self::can_see_message(p, &m) => Ok(m),
            _ => Err(Error::NotFound),
        }
    }

    /// The message a new one replies to: one of this conversation the caller may see,
    /// and, for a public reply, not an internal note (its id, as the parent, would show
    /// customers that the note exists).
    async fn reply_parent(
        &self,
        p: &Principal,
        conv: &Conversation,
        input: &NewMessage,
    ) -> Result<Option<Message>> {
        let Some(pid) = input.parent_id else {
            return Ok(None);
        };
        match self.st().get_message(conv.id, pid).await? {
            Some(m) if m.internal && !input.internal => Err(Error::invalid(
                "parent_id",
                "is an internal note: a reply to it must be internal too",
            )),
            Some(m) if Self::can_see_message(p, &m) => Ok(Some(m)),
            _ => Err(Error::invalid(
                "parent_id",
                "is not a message of this conversation",
            )),
        }
    }

    /// The active users named as `@<email>` who can read the conversation (staff only,
    /// for an internal note), the sender excepted.
    async fn mentioned_users(
        &self,
        p: &Principal,
        conv: &Conversation,
        input: &NewMessage,
    ) -> Result<Vec<Uuid>> {
        let mut out = Vec::new();
        for email in mentions(&input.content) {
            if let Some(u) = self.st().get_user_by_email(&email).await? {
                let principal = Principal::user(u.id, u.role);
                if u.is_active
                    && u.id != p.user_id
                    && (!input.internal || u.role.is_staff())
                    && self.may_read_conversation(&principal, conv).await?
                {
                    out.push(u.id);
                }
            }
        }
        Ok(out)
    }

    /// Sends a message. Members post; staff also post to ticket conversations (and join
    /// them). Internal notes are for staff, on ticket conversations.
    pub async fn send_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        input: NewMessage,
    ) -> Result<MessageView> {
        let readable = self.check_readable(p, conversation_id).await?;
        self.send_message_to(p, readable, input).await
    }

    /// [`Helpdesk::send_message`] to a conversation that [`Helpdesk::check_readable`]
    /// found readable, without reading it again (a server that answers 404 before it
    /// looks at the body checks first). Checked for another caller, it is checked again.
    pub async fn send_message_to(
        &self,
        p: &Principal,
        readable: Readable,
        input: NewMessage,
    ) -> Result<MessageView> {
        let (conv, sender) = if readable.reader == *p {
            (readable.conversation, Some(readable.state))
        } else {
            let id = readable.conversation.id;
            (self.readable_conversation(p, id).await?, None)
        };
        let sent = self.send_in(p, (conv, sender), input, None, None).await?;
        // Triggers and automations of a ticket's conversation, before the answer.
        if let Some(ticket_id) = sent.ticket_id {
            self.run_triggers_for(p, ticket_id, &sent.caused).await?;
        }
        Ok(sent.view)
    }

    /// [`Helpdesk::send_message`] without running triggers, its ticket's timeline
    /// entries and its events marked with what sent it (a macro's or a rule's run),
    /// telling what the message wrote that triggers run
    /// on: `message.created` and, when it changed its ticket, `ticket.updated`. The
    /// system (a rule) posts with `sender_id: null`, joins nothing and is no first
    /// response.
    pub(crate) async fn send_message_traced(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        input: NewMessage,
        via: Option<crate::ticket::Via>,
        mail: Option<&MessageFromMail>,
    ) -> Result<Sent> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        self.send_in(p, (conv, None), input, via, mail).await
    }

    /// [`Helpdesk::send_message_traced`] to a conversation the caller may read, with the
    /// caller's record in it when it was read with it (the append's base).
    async fn send_in(
        &self,
        p: &Principal,
        (conv, sender): (Conversation, Option<Participant>),
        input: NewMessage,
        via: Option<crate::ticket::Via>,
        mail: Option<&MessageFromMail>,
    ) -> Result<Sent> {
        self.require_level_on(p, &conv, crate::group::Access::Reply)
            .await?;
        let is_ticket = conv.kind == ConversationKind::Ticket;
        let join_sender = !p.is_system() && !conv.is_member(p.user_id);
        if !(conv.is_member(p.user_id) || (p.is_staff() && is_ticket)) {
            return Err(Error::forbidden("only members can post here"));
        }
        if input.internal && !p.is_staff() {
            return Err(Error::ForbiddenField("internal".into()));
        }
        if input.internal && !is_ticket {
            return Err(Error::invalid(
                "internal",
                "internal notes belong to ticket conversations",
            ));
        }
        validate_content(&input.content, !input.attachment_ids.is_empty())?;
        if input.attachment_ids.len() > 20 {
            return Err(Error::invalid("attachment_ids", "at most 20 attachments"));
        }
        let parent = self.reply_parent(p, &conv, &input).await?;
        self.check_own_attachments(p, &input.attachment_ids).await?;
        let mentioned = self.mentioned_users(p, &conv, &input).await?;
        let parent_author = match &parent {
            Some(Message {
                sender_id: Some(author),
                ..
            }) if *author != p.user_id => match self.st().get_user(*author).await? {
                Some(u) if !input.internal || u.role.is_staff() => Some(u.id),
                _ => None,
            },
            _ => None,
        };
        let schema = match conv.ticket_id {
            Some(_) => self.ticket_schema().await?,
            None => TicketSchema::defaults(self.now()),
        };
        // A public staff message on a ticket is mailed through its mailbox.
        let reply_plan = match conv.ticket_id {
            Some(t) if p.is_staff() && !p.is_system() && !input.internal => {
                match self.st().get_ticket(t).await? {
                    Some(ticket) => {
                        self.reply_plan(&ticket, p.user_id, &input.attachment_ids)
                            .await?
                    }
                    None => None,
                }
            }
            _ => None,
        };
        // The base of the first attempt only: a retry follows another write.
        let base = sender.map(|sender| AppendBase {
            conversation: conv.clone(),
            sender,
        });
        let (view, ticket_changed) = self
            .retry_from(base, |base| async {
                let now = self.now();
                let ticket = match conv.ticket_id {
                    Some(t) => self.st().get_ticket(t).await?,
                    None => None,
                };
                if let Some(t) = &ticket
                    && t.status_category == StatusCategory::Closed
                {
                    return Err(Error::TicketClosed);
                }
                let (ticket_update, ticket_fx) = match &ticket {
                    Some(t) => ticket_change_on_message(p, t, input.internal, now, &schema, mail),
                    None => (None, Effects::none()),
                };
                let new = MessageAppend {
                    id: crate::clock::new_id(),
                    conversation_id: conv.id,
                    sender_id: p.user_id,
                    content: input.content.clone(),
                    parent_id: input.parent_id,
                    attachment_ids: input.attachment_ids.clone(),
                    internal: input.internal,
                    created_at: now,
                    join_sender,
                    ticket_update: ticket_update.clone(),
                    channel: match mail {
                        Some(_) => crate::ticket::Channel::Email,
                        None => crate::ticket::Channel::Web,
                    },
                    base: base.flatten(),
                };
                let mut recipients: Vec<(Uuid, NotificationKind)> = Vec::new();
                for u in &mentioned {
                    recipients.push((*u, NotificationKind::Mention));
                }
                if let Some(a) = parent_author {
                    recipients.push((a, NotificationKind::Reply));
                }
                if let Some(t) = ticket_update.as_ref().or(ticket.as_ref()) {
                    for u in t.watchers(input.internal) {
                        if u != p.user_id {
                            recipients.push((u, NotificationKind::TicketMessage));
                        }
                    }
                }
                let mut seen = std::collections::HashSet::new();
                recipients.retain(|(u, _)| seen.insert(*u));
                let told: Vec<Uuid> = (recipients.iter().map(|(u, _)| *u))
                    .chain(ticket_fx.notifications.iter().map(|n| n.user_id))
                    .collect();
                let mail_plan = self.notification_mail_plan(told).await?;
                let title_ticket = ticket.as_ref().map(|t| (t.id, t.number));
                // The sender's name titles the notifications: read only when there are some.
                let sender_name = match recipients.is_empty() {
                    true => String::new(),
                    false => (self.st().get_user(p.user_id).await?)
                        .map(|u| u.name)
                        .unwrap_or_default(),
                };
                let build = |m: &Message| {
                    let mut fx = ticket_fx.clone();
                    let view = MessageView {
                        message: m.clone(),
                        is_read: false,
                        status: None,
                        attachments: Vec::new(),
                    };
                    fx.push(NewEvent::new(
                        EventKind::MessageCreated,
                        now,
                        Audience::conversation(m.conversation_id, m.internal),
                        json!({"message": message_json(&view)}),
                    ));
                    fx.notifications.extend(recipients.iter().map(|(u, kind)| {
                        message_notification(*u, *kind, m, &sender_name, title_ticket, now)
                    }));
                    if let Some(mail) = mail {
                        mail.add_to(&mut fx, m, conv.ticket_id);
                    }
                    let about = ticket_update.as_ref().or(ticket.as_ref());
                    if let (Some(plan), Some(t)) = (&reply_plan, about) {
                        fx.mail
                            .outbound
                            .extend(plan.build(t, Some(m.id), &m.content, now));
                    }
                    // After the reply: whoever it mails is not told again by mail.
                    if let Some(plan) = &mail_plan {
                        let tickets: Vec<&Ticket> = about.into_iter().collect();
                        plan.add_to(&mut fx, &tickets);
                    }
                    // Announce every notification once, the ticket change's included.
                    fx.events
                        .retain(|e| e.kind != EventKind::NotificationCreated);
                    announce_notifications(&mut fx);
                    fx.mark_via(via);
                    fx
                };
                let m = match self.written(self.st().append_message(&new, &build)).await {
                    Err(Error::Store(e)) if e.is_conflict(Conflict::Attachment) => {
                        return Err(Error::Conflict(
                            "an attachment was attached meanwhile".into(),
                        ));
                    }
                    other => other?,
                };
                // Just appended: no other member can have received it yet, and one's own
                // messages are read.
                let view = MessageView {
                    is_read: true,
                    status: Some(MessageStatus::Sent),
                    attachments: self.attachments_of(&m).await?,
                    message: m,
                };
                Ok((view, ticket_update.is_some()))
            })
            .await?;
        let mut caused = vec![(TriggerEvent::MessageCreated, Some(input.internal))];
        if ticket_changed {
            caused.push((TriggerEvent::TicketUpdated, None));
        }
        Ok(Sent {
            view,
            ticket_id: conv.ticket_id,
            caused,
        })
    }

    /// A page of messages, oldest to newest within the page. Fetching counts as delivery.
    pub async fn list_messages(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        q: MessagePageQuery,
    ) -> Result<Page<MessageView>> {
        let limit = limit(q.limit)?;
        let (conv, me) = self.readable_conversation_as(p, conversation_id).await?;
        let range = if let Some(before) = q.before {
            MessageRange::Before(self.visible_message(p, &conv, before).await?.seq)
        } else if let Some(after) = q.after {
            MessageRange::After(self.visible_message(p, &conv, after).await?.seq)
        } else if let Some(c) = q.cursor {
            // Older pages carry a positive seq, newer ones a negative one; zero is before
            // the first message (a well-formed cursor no page hands out: an empty page).
            if c.key < 0 {
                MessageRange::After(c.key.unsigned_abs())
            } else {
                MessageRange::Before(c.key as u64)
            }
        } else {
            MessageRange::Latest
        };
        let mut messages = self
            .st()
            .list_messages(conv.id, range, p.is_staff(), limit + 1)
            .await?;
        let next_cursor = if messages.len() > limit {
            match range {
                MessageRange::After(_) => {
                    messages.truncate(limit);
                    messages.last().map(|m| Cursor::new(-(m.seq as i64), m.id))
                }
                _ => {
                    messages.remove(0);
                    messages.first().map(|m| Cursor::new(m.seq as i64, m.id))
                }
            }
        } else {
            None
        };
        let max_seq = messages.iter().map(|m| m.seq).max().unwrap_or(0);
        let items = self.message_views_as(p, &conv, &me, messages).await?;
        self.delivered_in(p, &conv, Some(&me), max_seq).await?;
        Ok(Page { items, next_cursor })
    }

    /// One message. Fetching counts as delivery.
    pub async fn get_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<MessageView> {
        let (conv, me) = self.readable_conversation_as(p, conversation_id).await?;
        let m = self.visible_message(p, &conv, id).await?;
        let seq = m.seq;
        let view = self
            .message_views_as(p, &conv, &me, vec![m])
            .await?
            .remove(0);
        self.delivered_in(p, &conv, Some(&me), seq).await?;
        Ok(view)
    }

    /// Every descendant of a message the caller may see, oldest first, with depths.
    pub async fn thread(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<Vec<ThreadItem>> {
        let (conv, me) = self.readable_conversation_as(p, conversation_id).await?;
        self.visible_message(p, &conv, id).await?;
        let items: Vec<(Message, u32)> = self
            .st()
            .descendants(conv.id, id)
            .await?
            .into_iter()
            .filter(|(m, _)| Self::can_see_message(p, m))
            .collect();
        let max_seq = items.iter().map(|(m, _)| m.seq).max().unwrap_or(0);
        let depths: Vec<u32> = items.iter().map(|(_, d)| *d).collect();
        let views = self
            .message_views_as(p, &conv, &me, items.into_iter().map(|(m, _)| m).collect())
            .await?;
        self.delivered_in(p, &conv, Some(&me), max_seq).await?;
        Ok(views
            .into_iter()
            .zip(depths)
            .map(|(message, depth)| ThreadItem { message, depth })
            .collect())
    }

    /// Edits a message's content (its sender only).
    pub async fn edit_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
        content: &str,
    ) -> Result<MessageView> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        self.require_level_on(p, &conv, crate::group::Access::Reply)
            .await?;
        let mut m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != Some(p.user_id) {
            return Err(Error::forbidden("only the sender can edit a message"));
        }
        validate_content(content, !m.attachment_ids.is_empty())?;
        if m.deleted_at.is_some() {
            return Err(Error::Conflict("the message is deleted".into()));
        }
        let now = self.now();
        m.content = content.to_string();
        m.edited_at = Some(now);
        let view = self
            .message_views(p, &conv, vec![m.clone()])
            .await?
            .remove(0);
        // One payload for the whole audience, and a public message's audience has
        // customers in it: it is rendered as they see it.
        let event_view = MessageView {
            message: view.message.clone().for_reader(m.internal),
            is_read: false,
            status: None,
            attachments: view.attachments.clone(),
        };
        let fx = Effects::event(NewEvent::new(
            EventKind::MessageUpdated,
            now,
            Audience::conversation(conv.id, m.internal),
            json!({"message": message_json(&event_view)}),
        ));
        self.written(self.st().update_message(&m, &fx)).await?;
        Ok(view)
    }

    /// Deletes a message (its sender, or an admin): the content is emptied and
    /// `deleted_at` set; the message keeps its place.
    pub async fn delete_message(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<()> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        self.require_level_on(p, &conv, crate::group::Access::Reply)
            .await?;
        let mut m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != Some(p.user_id) && !p.is_admin() {
            return Err(Error::forbidden(
                "only the sender or an admin can delete a message",
            ));
        }
        if m.deleted_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        m.content = String::new();
        m.deleted_at = Some(now);
        let fx = Effects::event(NewEvent::new(
            EventKind::MessageDeleted,
            now,
            Audience::conversation(conv.id, m.internal),
            json!({"conversation_id": conv.id, "message_id": m.id, "seq": m.seq}),
        ));
        self.written(self.st().update_message(&m, &fx)).await?;
        Ok(())
    }

    /// Per-member receipts of a message: its sender and staff.
    pub async fn receipts(
        &self,
        p: &Principal,
        conversation_id: Uuid,
        id: Uuid,
    ) -> Result<Vec<Receipt>> {
        let conv = self.readable_conversation(p, conversation_id).await?;
        let m = self.visible_message(p, &conv, id).await?;
        if m.sender_id != Some(p.user_id) && !p.is_staff() {
            return Err(Error::forbidden("only the sender and staff see receipts"));
        }
        let participants: std::collections::HashMap<Uuid, Participant> = self
            .st()
            .participants(conv.id)
            .await?
            .into_iter()
            .map(|x| (x.user_id, x))
            .collect();
        let mut out = Vec::new();
        for member in conv
            .members
            .iter()
            .filter(|x| Some(x.user_id) != m.sender_id)
        {
            if m.internal
                && !self
                    .st()
                    .get_user(member.user_id)
                    .await?
                    .is_some_and(|u| u.role.is_staff())
            {
                continue;
            }
            let part = participants
                .get(&member.user_id)
                .cloned()
                .unwrap_or_else(|| Participant::new(conv.id, member.user_id));
            let fallback = m.created_at.max(member.joined_at);
            let read_at = part
                .has_read_publicly(m.seq, m.sender_id)
                .then(|| mark_time(&part.read_marks, m.seq).unwrap_or(fallback));
            let delivered_at = part.has_received(m.seq, m.sender_id).then(|| {
                [mark_time(&part.delivered_marks, m.seq), read_at]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(fallback)
            });
            out.push(Receipt {
                user_id: member.user_id,
                delivered_at,
                read_at,
            });
        }
        Ok(out)
    }
}
