//! Opening, listing, changing and deleting tickets; what each change writes (timeline,
//! events, notifications).

use chrono::{DateTime, Utc};

use crate::Helpdesk;
use crate::condition::{Condition, TriggerEvent};
use crate::conversation::Conversation;
use crate::conversation::{ConversationKind, Member};
use crate::custom_field::Writer;
use crate::error::Conflict;
use crate::error::{Error, Result};
use crate::event::{Audience, CustomerView, Effects, EventKind, NewEvent};
use crate::notification::{Notification, NotificationData, NotificationKind};
use crate::ops::conversation::member_added;
use crate::page::Cursor;
use crate::page::{Page, PageRequest, limit};
use crate::principal::{Principal, TicketView};
use crate::schema::{TicketSchema, ticket_json_for};
use crate::snooze::WakeReason;
use crate::status::StatusCategory;
use crate::store::MemberChange;
use crate::ticket::FieldValues;
use crate::ticket::*;
use serde_json::json;
use uuid::Uuid;

/// Who sees a ticket's events: whoever sees the ticket when the event is delivered.
/// How many tickets a filtered scan reads from the store at a time.
const BATCH: usize = 200;

/// Who writes custom fields: staff, or a customer.
fn field_writer(p: &Principal) -> Writer {
    match p.is_staff() {
        true => Writer::Staff,
        false => Writer::Customer,
    }
}

/// Customers see the status's customer label and their custom fields only
/// ([`crate::event::CustomerView`]).
pub(crate) fn ticket_audience(t: &Ticket, schema: &TicketSchema) -> Audience {
    let customer_label = schema.statuses.label(&t.status, TicketView::Customer);
    let hidden_fields = schema.fields.hidden_from_customers();
    let customer_view = (customer_label != schema.statuses.label(&t.status, TicketView::Staff)
        || !hidden_fields.is_empty())
    .then(|| CustomerView {
        status_label: customer_label.to_string(),
        hidden_fields,
    });
    Audience {
        ticket: Some(t.id),
        customer_view,
        ..Default::default()
    }
}

/// A notification about a ticket.
pub(crate) fn ticket_notification(
    user_id: Uuid,
    kind: NotificationKind,
    t: &Ticket,
    title: String,
    at: DateTime<Utc>,
    message_id: Option<Uuid>,
) -> Notification {
    Notification {
        id: crate::clock::new_id(),
        user_id,
        kind,
        title,
        body: t.subject.clone(),
        data: NotificationData {
            ticket_id: Some(t.id),
            conversation_id: Some(t.conversation_id),
            message_id,
            csat_token: None,
        },
        read_at: None,
        created_at: at,
    }
}

/// The `notification.created` event of a notification, to its recipient.
fn notification_event(n: &Notification) -> NewEvent {
    NewEvent::new(
        EventKind::NotificationCreated,
        n.created_at,
        Audience::users([n.user_id]),
        crate::wire::to_json(crate::notification::notification_json(n)),
    )
}

/// Adds the `notification.created` event for every notification in `fx`.
pub(crate) fn announce_notifications(fx: &mut Effects) {
    let events: Vec<NewEvent> = fx.notifications.iter().map(notification_event).collect();
    fx.events.extend(events);
}

/// Adds one notification and its `notification.created` event to `fx`.
pub(crate) fn notify(fx: &mut Effects, n: Notification) {
    fx.events.push(notification_event(&n));
    fx.notifications.push(n);
}

/// The timeline entry and the event data of one ticket change.
pub(crate) fn timeline(
    t: &Ticket,
    kind: TimelineKind,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> TicketEvent {
    TicketEvent {
        id: crate::clock::new_id(),
        ticket_id: t.id,
        kind,
        actor_id: actor,
        at,
        data,
        via: None,
    }
}

/// What one ticket change writes: the timeline, `ticket.updated`, and the notifications
/// (status to requester and assignee, assignment to the new assignee), never to the actor.
/// A snooze that ended did so for `woke` (`None`: the status moved, see
/// [`move_status`]).
///
/// It settles `after` first ([`TicketSchema::settle`]: every change of a ticket
/// chooses its SLA policy again and moves its automation instant) and writes `ticket.sla_fulfilled` for each cycle the change
/// fulfilled.
pub(crate) fn ticket_change_effects(
    before: &Ticket,
    after: &mut Ticket,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    schema: &TicketSchema,
    woke: Option<WakeReason>,
) -> Effects {
    schema.settle(after, at);
    let after = &*after;
    let mut fx = Effects::none();
    sla_fulfilled(&mut fx, before, after, at);
    let mut changed: Vec<&str> = Vec::new();
    let push = |fx: &mut Effects, kind: TimelineKind, data: serde_json::Value| {
        fx.ticket_events
            .push(timeline(after, kind, actor, at, data));
    };
    if before.status != after.status {
        push(
            &mut fx,
            TimelineKind::StatusChanged,
            json!({"from": before.status, "to": after.status}),
        );
        changed.push("status");
        // A merge tells its people with `ticket_merged` instead (ops/merge.rs).
        let merging = before.merged_into_id.is_none() && after.merged_into_id.is_some();
        for u in after.watchers(false).into_iter().filter(|_| !merging) {
            if Some(u) != actor {
                fx.notifications.push(ticket_notification(
                    u,
                    NotificationKind::TicketStatusChanged,
                    after,
                    format!("Ticket #{} is now {}", after.number, after.status),
                    at,
                    None,
                ));
            }
        }
    }
    if before.assignee_id != after.assignee_id {
        push(
            &mut fx,
            TimelineKind::Assigned,
            json!({"from": before.assignee_id, "to": after.assignee_id}),
        );
        changed.push("assignee_id");
        if let Some(a) = after.assignee_id.filter(|a| Some(*a) != actor) {
            fx.notifications.push(ticket_notification(
                a,
                NotificationKind::TicketAssigned,
                after,
                format!("Ticket #{} was assigned to you", after.number),
                at,
                None,
            ));
        }
    }
    if before.priority != after.priority {
        push(
            &mut fx,
            TimelineKind::PriorityChanged,
            json!({"from": before.priority, "to": after.priority}),
        );
        changed.push("priority");
    }
    if before.tags != after.tags {
        let added: Vec<&String> = after
            .tags
            .iter()
            .filter(|t| !before.tags.contains(t))
            .collect();
        let removed: Vec<&String> = before
            .tags
            .iter()
            .filter(|t| !after.tags.contains(t))
            .collect();
        push(
            &mut fx,
            TimelineKind::TagsChanged,
            json!({"added": added, "removed": removed}),
        );
        changed.push("tags");
    }
    // Custom fields change as their JSON paths, `fields.<key>`.
    let mut custom: Vec<String> = before
        .fields
        .keys()
        .chain(after.fields.keys())
        .filter(|k| before.fields.get(*k) != after.fields.get(*k))
        .map(|k| format!("fields.{k}"))
        .collect();
    custom.sort();
    custom.dedup();
    let fields: Vec<&str> = [
        ("subject", before.subject != after.subject),
        ("description", before.description != after.description),
        ("mailbox_id", before.mailbox_id != after.mailbox_id),
    ]
    .into_iter()
    .filter(|(_, c)| *c)
    .map(|(f, _)| f)
    .chain(custom.iter().map(String::as_str))
    .collect();
    if !fields.is_empty() {
        push(&mut fx, TimelineKind::Updated, json!({"fields": fields}));
        changed.extend(fields);
    }
    if before.first_response_at != after.first_response_at {
        changed.push("first_response_at");
    }
    for (kind, from, to) in [
        (
            TimelineKind::FollowerRemoved,
            &before.followers,
            &after.followers,
        ),
        (
            TimelineKind::FollowerAdded,
            &after.followers,
            &before.followers,
        ),
    ] {
        for u in from.iter().filter(|u| !to.contains(u)) {
            push(&mut fx, kind, json!({"user_id": u}));
        }
    }
    if before.followers != after.followers {
        changed.push("followers");
    }
    if before.organization_id != after.organization_id {
        push(
            &mut fx,
            TimelineKind::OrganizationChanged,
            json!({"from": before.organization_id, "to": after.organization_id}),
        );
        changed.push("organization_id");
    }
    if before.merged_into_id != after.merged_into_id {
        changed.push("merged_into_id");
    }
    if before.merged_ids != after.merged_ids {
        changed.push("merged_ids");
    }
    if before.snooze != after.snooze {
        changed.push("snoozed_until");
        snooze_effects(&mut fx, after, actor, at, woke);
    }
    let moved = before.group_id != after.group_id;
    if moved {
        push(
            &mut fx,
            TimelineKind::GroupChanged,
            json!({"from": before.group_id, "to": after.group_id}),
        );
        changed.push("group_id");
    }
    if !changed.is_empty() {
        let mut audience = ticket_audience(after, schema);
        if moved {
            // Both groups hear of it: for those who lose access, it is the last event.
            audience.groups.push(before.group_id);
        }
        let hidden = schema.fields.hidden_from_customers();
        let staff_only = |f: &&str| {
            crate::event::STAFF_ONLY_TICKET_FIELDS.contains(f)
                || f.strip_prefix("fields.")
                    .is_some_and(|k| hidden.iter().any(|h| h == k))
        };
        if changed.iter().all(staff_only) {
            // Customers never see these fields: a change of nothing else is not theirs.
            audience.staff_only = true;
        }
        fx.push(NewEvent::new(
            EventKind::TicketUpdated,
            at,
            audience,
            json!({"ticket": ticket_json_for(after, TicketView::Staff, schema), "changes": changed}),
        ));
    }
    announce_notifications(&mut fx);
    fx
}

/// `ticket.sla_fulfilled` for each cycle fulfilled between `before` and `after` that
/// ran under a target (staff and webhooks).
fn sla_fulfilled(fx: &mut Effects, before: &Ticket, after: &Ticket, at: DateTime<Utc>) {
    let done = &before.sla.clock.fulfilled;
    for (metric, cycle, fulfilled_at) in after.sla.clock.fulfilled.iter() {
        if done.iter().any(|(m, c, _)| m == metric && c == cycle) {
            continue;
        }
        let Some(due) = before.sla.running(*metric).filter(|d| d.cycle == *cycle) else {
            continue;
        };
        fx.push(NewEvent::new(
            EventKind::TicketSlaFulfilled,
            at,
            staff_audience(after),
            json!({
                "ticket_id": after.id,
                "metric": metric,
                "cycle": cycle,
                "due_at": crate::wire::format_ts(due.due_at),
                "fulfilled_at": crate::wire::format_ts(*fulfilled_at),
                "within_target": *fulfilled_at <= due.due_at,
            }),
        ));
    }
}

/// Staff (and webhooks) who see the ticket: the audience of its SLA and snooze events.
pub(crate) fn staff_audience(t: &Ticket) -> Audience {
    Audience {
        ticket: Some(t.id),
        staff_only: true,
        ..Default::default()
    }
}

/// The staff-only timeline entry, event and notification of a snooze that began
/// (`after` is snoozed) or ended (for `woke`, else [`WakeReason::Status`]).
fn snooze_effects(
    fx: &mut Effects,
    after: &Ticket,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
    woke: Option<WakeReason>,
) {
    let staff = staff_audience(after);
    let (kind, event, data) = match after.snooze {
        Some(s) => (
            TimelineKind::Snoozed,
            EventKind::TicketSnoozed,
            json!({"until": crate::wire::format_ts(s.until), "wake_on_reply": s.wake_on_reply}),
        ),
        None => {
            let reason = woke.unwrap_or(WakeReason::Status);
            if reason.notifies()
                && let Some(a) = after.assignee_id.filter(|a| Some(*a) != actor)
            {
                fx.notifications.push(ticket_notification(
                    a,
                    NotificationKind::TicketUnsnoozed,
                    after,
                    format!("Ticket #{} woke up", after.number),
                    at,
                    None,
                ));
            }
            (
                TimelineKind::Unsnoozed,
                EventKind::TicketUnsnoozed,
                json!({"reason": reason.as_str()}),
            )
        }
    };
    fx.ticket_events
        .push(timeline(after, kind, actor, at, data.clone()));
    let mut data = data;
    data["ticket_id"] = json!(after.id);
    fx.push(NewEvent::new(event, at, staff, data));
}

/// A ticket's organization: the requester's `current` one, unless `chosen` (staff):
/// `None`, or the requester's current organization (else invalid).
fn ticket_organization(
    current: Option<Uuid>,
    chosen: Option<Option<Uuid>>,
) -> Result<Option<Uuid>> {
    match chosen {
        None => Ok(current),
        Some(None) => Ok(None),
        Some(Some(o)) if Some(o) == current => Ok(Some(o)),
        Some(Some(_)) => Err(Error::invalid(
            "organization_id",
            "must be null or the requester's organization",
        )),
    }
}

impl Helpdesk {
    /// Invalid `assignee_id` unless the user may be assigned tickets of the group: an
    /// active admin, or an active agent with `full` access there.
    pub(crate) async fn check_assignee(&self, user_id: Uuid, group_id: Uuid) -> Result<()> {
        let user = self.active_user("assignee_id", user_id).await?;
        if self.may_be_assignee(&user, group_id).await? {
            Ok(())
        } else {
            Err(Error::invalid(
                "assignee_id",
                "must be an admin or an agent with full access to the ticket's group",
            ))
        }
    }

    async fn active_user(&self, field: &str, id: Uuid) -> Result<crate::user::User> {
        match self.st().get_user(id).await? {
            Some(u) if u.is_active => Ok(u),
            _ => Err(Error::invalid(field, "is not an active user")),
        }
    }

    /// Opens a ticket, with its conversation, in the default group unless staff name
    /// one (an unknown group: invalid `group_id`). Customers open tickets for
    /// themselves; staff may name a requester, an assignee and a group.
    pub async fn create_ticket(&self, p: &Principal, input: NewTicket) -> Result<Ticket> {
        self.create_ticket_from(p, input, None).await
    }

    /// [`Helpdesk::create_ticket`], or with `mail` the ticket a mail opens: in its
    /// mailbox's group, with its CCs, and the mail's inbound record (and auto-reply)
    /// written in the same operation; automatic mail notifies no one.
    pub(crate) async fn create_ticket_from(
        &self,
        p: &Principal,
        input: NewTicket,
        mail: Option<&crate::ops::ingest::TicketFromMail>,
    ) -> Result<Ticket> {
        let group_id = input.group_id;
        if !p.is_staff() && mail.is_none() {
            if group_id.is_some() {
                return Err(Error::ForbiddenField("group_id".into()));
            }
            if input.requester_id.is_some() {
                return Err(Error::ForbiddenField("requester_id".into()));
            }
            if input.assignee_id.is_some() {
                return Err(Error::ForbiddenField("assignee_id".into()));
            }
            if input.organization_id.is_some() {
                return Err(Error::ForbiddenField("organization_id".into()));
            }
            if input.mailbox_id.is_some() {
                return Err(Error::ForbiddenField("mailbox_id".into()));
            }
        }
        if let Some(m) = input.mailbox_id {
            self.ticket_mailbox(m).await?;
        }
        let subject = validate_subject(&input.subject)?;
        let description = validate_description(&input.description)?;
        let tags = crate::tag::normalize_tags(&input.tags)?;
        let (requester_id, requester_organization) = match input.requester_id {
            Some(r) => {
                let requester = self.active_user("requester_id", r).await?;
                (requester.id, requester.organization_id)
            }
            None if p.is_system() => {
                return Err(Error::invalid(
                    "requester_id",
                    "is required when acting as the system",
                ));
            }
            None => {
                let caller = self.caller_user(p).await?;
                (p.user_id, caller.and_then(|u| u.organization_id))
            }
        };
        let organization_id = ticket_organization(requester_organization, input.organization_id)?;
        let unknown_group = || Error::invalid("group_id", "is not a group");
        let named_group = group_id.is_some();
        // The default group's members come with it: an unassigned ticket tells them.
        let (group_id, default_read) = match group_id {
            Some(g) => {
                let group = self.st().get_group(g).await?.ok_or_else(unknown_group)?;
                (group.id, None)
            }
            None => {
                let default = self.default_group_members().await?;
                (default.0.id, Some(default))
            }
        };
        if let Some(a) = input.assignee_id {
            self.check_assignee(a, group_id).await?;
        }
        self.check_own_attachments(p, &input.attachment_ids).await?;
        let schema = self.ticket_schema().await?;
        let writer = field_writer(p);
        let mut fields = FieldValues::new();
        schema.fields.apply(&mut fields, &input.fields, writer)?;
        schema.fields.missing(&fields, false, writer)?;
        let now = self.now();
        let mut members = vec![Member {
            user_id: requester_id,
            joined_at: now,
        }];
        if let Some(a) = input.assignee_id.filter(|a| *a != requester_id) {
            members.push(Member {
                user_id: a,
                joined_at: now,
            });
        }
        let cc: Vec<Uuid> = mail.map(|m| m.cc.clone()).unwrap_or_default();
        for c in &cc {
            if !members.iter().any(|m| m.user_id == *c) {
                members.push(Member {
                    user_id: *c,
                    joined_at: now,
                });
            }
        }
        let mut ticket = Ticket {
            id: crate::clock::new_id(),
            number: 0,
            subject: subject.clone(),
            description,
            status: StatusCategory::Open.into(),
            status_category: StatusCategory::Open,
            status_changed_at: None,
            priority: input.priority.unwrap_or(Priority::Normal),
            requester_id,
            assignee_id: input.assignee_id,
            tags,
            conversation_id: crate::clock::new_id(),
            group_id,
            organization_id,
            cc,
            followers: Vec::new(),
            fields,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            merged_into_id: None,
            merged_ids: Vec::new(),
            pre_merge_status: None,
            snooze: None,
            sla: Default::default(),
            automation_at: None,
            channel: match mail {
                Some(_) => crate::ticket::Channel::Email,
                None => crate::ticket::Channel::Web,
            },
            mailbox_id: input.mailbox_id,
            follow_up_of: mail.and_then(|m| m.follow_up_of),
            resolved_count: 0,
            version: 1,
        };
        schema.settle(&mut ticket, now);
        let conversation = Conversation {
            id: ticket.conversation_id,
            kind: ConversationKind::Ticket,
            title: Some(subject),
            ticket_id: Some(ticket.id),
            members,
            created_by: p.actor().unwrap_or(requester_id),
            created_at: now,
            last_message_at: None,
            last_seq: 0,
            last_public_seq: 0,
            public_count: 0,
            direct_key: None,
        };
        // Left unassigned, the group's `full` members hear of it.
        let staff: Vec<Uuid> = if ticket.assignee_id.is_none() {
            let read;
            let members = match &default_read {
                Some(default) => &default.1,
                None => {
                    read = self.st().group_members(group_id).await?;
                    &read
                }
            };
            members
                .iter()
                .filter(|m| m.access == crate::group::Access::Full)
                .map(|m| m.user_id)
                .collect()
        } else {
            Vec::new()
        };
        let actor = p.actor();
        // Those the notifications below go to: never the actor.
        let told = (staff.iter().copied().chain(ticket.assignee_id)).filter(|u| Some(*u) != actor);
        let mail_plan = self.notification_mail_plan(told.collect()).await?;
        let conv_json = crate::wire::to_json(crate::conversation::conversation_json(&conversation));
        let build = |t: &Ticket| {
            let mut fx = Effects::none();
            fx.ticket_events
                .push(timeline(t, TimelineKind::Created, actor, now, json!({})));
            fx.push(NewEvent::new(
                EventKind::TicketCreated,
                now,
                ticket_audience(t, &schema),
                json!({"ticket": ticket_json_for(t, TicketView::Staff, &schema)}),
            ));
            fx.push(NewEvent::new(
                EventKind::ConversationCreated,
                now,
                Audience::conversation(t.conversation_id, false),
                json!({"conversation": conv_json}),
            ));
            match t.assignee_id {
                None => {
                    for s in staff.iter().filter(|s| Some(**s) != actor) {
                        fx.notifications.push(ticket_notification(
                            *s,
                            NotificationKind::TicketCreated,
                            t,
                            format!("New ticket #{}", t.number),
                            now,
                            None,
                        ));
                    }
                }
                Some(a) if Some(a) != actor => fx.notifications.push(ticket_notification(
                    a,
                    NotificationKind::TicketAssigned,
                    t,
                    format!("Ticket #{} was assigned to you", t.number),
                    now,
                    None,
                )),
                Some(_) => {}
            }
            if let Some(mail) = mail {
                mail.add_to(&mut fx, t);
            }
            if let Some(plan) = &mail_plan {
                plan.add_to(&mut fx, &[t]);
            }
            announce_notifications(&mut fx);
            fx
        };
        let new = TicketInsert {
            ticket,
            conversation,
            attachment_ids: input.attachment_ids,
        };
        let ticket = match self.written(self.st().create_ticket(&new, &build)).await {
            Err(Error::Store(e)) if e.is_conflict(Conflict::Attachment) => {
                return Err(Error::Conflict(
                    "an attachment was attached meanwhile".into(),
                ));
            }
            // The group was deleted since it was read.
            Err(Error::Store(crate::error::StoreError::NotFound)) if named_group => {
                return Err(unknown_group());
            }
            // The default group or the requester's organization, which this instance
            // keeps a moment, was deleted through another: read them again next time.
            Err(Error::Store(crate::error::StoreError::NotFound)) => {
                self.forget_access();
                return Err(Error::Conflict(
                    "the default group or the requester's organization changed meanwhile; \
                     try again"
                        .into(),
                ));
            }
            other => other?,
        };
        // Triggers and automations, before the answer (which shows their effects).
        let caused = [(TriggerEvent::TicketCreated, None)];
        self.after_triggers(p, ticket, &caused).await
    }

    /// A ticket: its requester, the members of its group, admins.
    pub async fn get_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        self.visible_ticket(p, id).await
    }

    /// A ticket by its number (same visibility).
    pub async fn get_ticket_by_number(&self, p: &Principal, number: i64) -> Result<Ticket> {
        let t = self
            .st()
            .get_ticket_by_number(number)
            .await?
            .ok_or(Error::NotFound)?;
        if self.relation(p, &t).await?.sees() {
            Ok(t)
        } else {
            Err(Error::NotFound)
        }
    }

    /// Lists tickets: customers see their own, those they are CC on and their
    /// organization's per its sharing; agents their groups'; admins all.
    pub async fn list_tickets(&self, p: &Principal, filter: TicketFilter) -> Result<Page<Ticket>> {
        self.list_tickets_with(p, filter, None).await
    }

    /// [`Helpdesk::list_tickets`] with the ticket schema its caller read already (to
    /// render the page with it), so it is not read twice; `None`: read here when the
    /// filter needs it (statuses, custom fields).
    pub async fn list_tickets_with(
        &self,
        p: &Principal,
        filter: TicketFilter,
        schema: Option<&TicketSchema>,
    ) -> Result<Page<Ticket>> {
        let limit = limit(filter.limit)?;
        for (field, value) in [("q", &filter.q), ("tag", &filter.tag)] {
            crate::text::check(field, value.as_deref().unwrap_or(""))?;
        }
        if !p.is_staff() && !filter.group_ids.is_empty() {
            return Err(Error::forbidden("only staff filter by group"));
        }
        if !p.is_staff() && filter.follower.is_some() {
            return Err(Error::forbidden("only staff filter by follower"));
        }
        if !p.is_staff() && filter.snoozed.is_some() {
            return Err(Error::forbidden("only staff filter by snooze"));
        }
        if !p.is_staff() && (filter.sla.is_some() || filter.sort.is_staff_only()) {
            return Err(Error::forbidden("only staff filter or sort by SLA"));
        }
        let mut group_ids = filter.group_ids;
        let mine = match p.is_staff() {
            true => self.visible_groups(p).await?,
            false => None,
        };
        if let Some(mine) = mine {
            group_ids = if group_ids.is_empty() {
                mine
            } else {
                group_ids.retain(|g| mine.contains(g));
                group_ids
            };
            if group_ids.is_empty() {
                return Ok(Page {
                    items: vec![],
                    next_cursor: None,
                });
            }
        }
        let customer = match p.is_staff() {
            true => None,
            false => Some(self.customer_scope(p).await?),
        };
        let read;
        let schema = match (
            schema,
            filter.statuses.is_empty() && filter.fields.is_empty(),
        ) {
            (Some(given), _) => Some(given),
            (None, true) => None,
            (None, false) => {
                read = self.ticket_schema().await?;
                Some(&read)
            }
        };
        let custom = Condition {
            all: filter
                .fields
                .iter()
                .map(|(key, value)| {
                    let fields = &schema.expect("read above").fields;
                    fields.filter(key, value, TicketView::of(p))
                })
                .collect::<Result<_>>()?,
            any: Vec::new(),
        };
        if let Some(unknown) = schema.and_then(|s| {
            filter
                .statuses
                .iter()
                .find(|k| s.statuses.get(k.as_str()).is_none())
        }) {
            return Err(Error::invalid(
                "status",
                format!("`{unknown}` is not a status"),
            ));
        }
        let query = TicketQuery {
            statuses: filter.statuses,
            categories: filter.categories,
            priority: filter.priority,
            assignee: filter.assignee,
            requester_id: filter.requester_id,
            group_ids: (!group_ids.is_empty()).then_some(group_ids),
            customer,
            cc: filter.cc,
            follower: filter.follower,
            organization: filter.organization,
            tag: filter.tag.map(|t| crate::tag::fold_tag(&t)),
            q: filter.q.filter(|q| !q.trim().is_empty()),
            snoozed: filter.snoozed,
            sla_due: filter.sla.map(|f| f.range(self.now())),
            channel: filter.channel,
            mailbox_id: filter.mailbox_id,
            sort: filter.sort,
            cursor: filter.cursor,
            limit,
        };
        let query = match schema {
            Some(schema) => query.with_status_categories(&schema.statuses),
            None => query,
        };
        let tickets = if custom.all.is_empty() {
            self.st().list_tickets(&query).await?
        } else {
            let cursor = query.cursor;
            self.scan_tickets(query.clone(), &custom, cursor, limit + 1)
                .await?
        };
        Ok(Page::from_overfetch(tickets, limit, |t| {
            Cursor::new(query.sort.key(t), t.id)
        }))
    }

    /// Up to `want` tickets of the store query after `cursor` that match `filter`,
    /// reading the store a batch at a time (views, and the list's custom field filters).
    pub(crate) async fn scan_tickets(
        &self,
        mut query: TicketQuery,
        filter: &Condition,
        mut cursor: Option<Cursor>,
        want: usize,
    ) -> Result<Vec<Ticket>> {
        let now = self.now();
        let mut found = Vec::new();
        // The first read asks for what is wanted (when the store applied the whole
        // filter, every candidate matches); each further one for twice as many, up to
        // BATCH.
        let mut size = want.clamp(1, BATCH);
        loop {
            query.cursor = cursor;
            query.limit = size;
            let batch = self.st().list_tickets(&query).await?;
            let more = batch.len() > size;
            for t in batch.into_iter().take(size) {
                cursor = Some(Cursor::new(query.sort.key(&t), t.id));
                if filter.matches(&crate::condition::TicketFacts::of(&t, now)) {
                    found.push(t);
                    if found.len() >= want {
                        return Ok(found);
                    }
                }
            }
            if !more {
                return Ok(found);
            }
            size = (size * 2).min(BATCH);
        }
    }

    /// Changes a ticket. Staff may change everything; the requester the subject, the
    /// description, and the status within the table: to resolved from an active status,
    /// and from resolved to open or closed.
    pub async fn update_ticket(
        &self,
        p: &Principal,
        id: Uuid,
        patch: TicketPatch,
    ) -> Result<Ticket> {
        let (ticket, changed) = self.update_ticket_traced(p, id, patch, None).await?;
        if !changed {
            return Ok(ticket);
        }
        // Triggers and automations, before the answer (which shows their effects).
        let caused = [(TriggerEvent::TicketUpdated, None)];
        self.after_triggers(p, ticket, &caused).await
    }

    /// [`Helpdesk::update_ticket`] without running triggers, its timeline entries and
    /// events marked with what made the change (a macro's or a rule's run), telling
    /// whether it changed the ticket (and so wrote `ticket.updated`).
    pub(crate) async fn update_ticket_traced(
        &self,
        p: &Principal,
        id: Uuid,
        patch: TicketPatch,
        via: Option<Via>,
    ) -> Result<(Ticket, bool)> {
        let ticket = self.check_ticket_update(p, id).await?;
        if !p.is_staff() {
            for (field, set) in [
                ("priority", patch.priority.is_some()),
                ("assignee_id", patch.assignee_id.is_some()),
                ("tags", patch.tags.is_some()),
                ("group_id", patch.group_id.is_some()),
                ("organization_id", patch.organization_id.is_some()),
                ("mailbox_id", patch.mailbox_id.is_some()),
            ] {
                if set {
                    return Err(Error::ForbiddenField(field.into()));
                }
            }
        }
        let subject = patch.subject.as_deref().map(validate_subject).transpose()?;
        let description = patch
            .description
            .as_deref()
            .map(validate_description)
            .transpose()?;
        let tags = patch
            .tags
            .as_deref()
            .map(crate::tag::normalize_tags)
            .transpose()?;
        let schema = self.ticket_schema().await?;
        let status = match &patch.status {
            Some(key) if *key != ticket.status => Some(schema.statuses.settable("status", key)?),
            _ => None,
        };
        let target = match patch.group_id.filter(|g| *g != ticket.group_id) {
            Some(g) => match self.st().get_group(g).await? {
                Some(group) => Some(group.id),
                None => return Err(Error::invalid("group_id", "is not a group")),
            },
            None => None,
        };
        let organization = match patch.organization_id {
            Some(chosen) if chosen != ticket.organization_id => {
                let requester = self.st().get_user(ticket.requester_id).await?;
                let current = requester.and_then(|u| u.organization_id);
                Some(ticket_organization(current, Some(chosen))?)
            }
            _ => None,
        };
        if let Some(Some(m)) = patch.mailbox_id {
            self.ticket_mailbox(m).await?;
        }
        let group_after = target.unwrap_or(ticket.group_id);
        if let Some(Some(a)) = patch.assignee_id
            && (ticket.assignee_id != Some(a) || target.is_some())
        {
            self.check_assignee(a, group_after).await?;
        }
        // Moved without naming an assignee: the current one stays only if they may be
        // assigned there.
        let keeps_assignee = match (target, patch.assignee_id, ticket.assignee_id) {
            (Some(g), None, Some(a)) => match self.st().get_user(a).await? {
                Some(user) => self.may_be_assignee(&user, g).await?,
                None => false,
            },
            _ => true,
        };
        // Moved: followers who cannot see it there stop following.
        let mut leaving = Vec::new();
        if let Some(g) = target {
            for f in &ticket.followers {
                if !self.user_may_see_group(*f, g).await? {
                    leaving.push(*f);
                }
            }
        }
        // Moved and left unassigned: the new group's `full` members hear of it.
        let full_there: Vec<Uuid> = match target {
            Some(g) => self
                .st()
                .group_members(g)
                .await?
                .into_iter()
                .filter(|m| m.access == crate::group::Access::Full && Some(m.user_id) != p.actor())
                .map(|m| m.user_id)
                .collect(),
            None => Vec::new(),
        };
        // The requester does not change here: who a resolve asks about it is read once.
        let csat_to = self.csat_recipient(&ticket).await?;
        self.retry_on_version(|| async {
            let before = self.visible_ticket(p, id).await?;
            let mut after = before.clone();
            if let Some(s) = &subject {
                after.subject = s.clone();
            }
            if let Some(d) = &description {
                after.description = d.clone();
            }
            if let Some(t) = &tags {
                after.tags = t.clone();
            }
            if let Some(pr) = patch.priority {
                after.priority = pr;
            }
            if let Some(o) = organization {
                after.organization_id = o;
            }
            if let Some(a) = patch.assignee_id {
                after.assignee_id = a;
            }
            if let Some(m) = patch.mailbox_id {
                after.mailbox_id = m;
            }
            if let Some(g) = target {
                after.group_id = g;
                if !keeps_assignee {
                    after.assignee_id = None;
                }
                after.followers.retain(|f| !leaving.contains(f));
            }
            let now = self.now();
            if let Some(to) = status.filter(|to| to.key != before.status) {
                if !p.is_staff()
                    && !requester_may_move(before.status_category, to)
                    && before.status_category.can_move_to(to.category)
                {
                    return Err(Error::forbidden("requesters may not set this status"));
                }
                if !before.status_category.can_move_to(to.category) {
                    return Err(Error::InvalidTransition {
                        from: before.status.to_string(),
                        to: to.key.to_string(),
                    });
                }
                move_status(&mut after, to, now);
            }
            schema
                .fields
                .apply(&mut after.fields, &patch.fields, field_writer(p))?;
            if after.status_category == StatusCategory::Resolved
                && before.status_category != StatusCategory::Resolved
            {
                schema
                    .fields
                    .missing(&after.fields, true, field_writer(p))?;
            }
            if after == before {
                return Ok((after, false));
            }
            after.updated_at = now;
            after.version += 1;
            let mut fx = ticket_change_effects(&before, &mut after, p.actor(), now, &schema, None);
            fx.mark_via(via);
            self.request_csat(&mut fx, &before, &after, csat_to, now);
            if target.is_some() && after.assignee_id.is_none() {
                for u in &full_there {
                    notify(
                        &mut fx,
                        ticket_notification(
                            *u,
                            NotificationKind::TicketMoved,
                            &after,
                            format!("Ticket #{} was moved to your group", after.number),
                            now,
                            None,
                        ),
                    );
                }
            }
            // A new assignee joins the ticket's conversation in the same operation.
            let join = after
                .assignee_id
                .filter(|a| before.assignee_id != Some(*a))
                .map(|a| MemberChange::Join {
                    member: Member {
                        user_id: a,
                        joined_at: now,
                    },
                    event: member_added(after.conversation_id, a, now),
                });
            self.mail_notifications(&mut fx, &[&after]).await?;
            self.written(self.st().update_ticket(&after, join.as_ref(), &fx))
                .await?;
            Ok((after, true))
        })
        .await
    }

    /// A mailbox a ticket is to name (on create and update): one that does not exist
    /// is invalid at `mailbox_id`.
    async fn ticket_mailbox(&self, id: Uuid) -> Result<()> {
        match self.st().get_mailbox(id).await? {
            Some(_) => Ok(()),
            None => Err(Error::invalid("mailbox_id", "is not a mailbox")),
        }
    }

    /// The ticket, if `p` may change it: staff with `full` access, or its requester
    /// (`NotFound` when they cannot see it, else `Forbidden`). What a server checks
    /// before it looks at the fields of a change.
    pub async fn check_ticket_update(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        let (ticket, relation) = self.ticket_as(p, id).await?;
        match relation {
            crate::access::TicketRelation::Requester => Ok(ticket),
            crate::access::TicketRelation::Cc | crate::access::TicketRelation::Colleague => Err(
                Error::forbidden("only the requester and staff change a ticket"),
            ),
            _ => relation
                .require_staff(crate::group::Access::Full)
                .map(|_| ticket),
        }
    }

    /// Deletes a ticket with its conversation (admins).
    pub async fn delete_ticket(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        self.st().get_ticket(id).await?.ok_or(Error::NotFound)?;
        self.st().delete_ticket(id, &Effects::none()).await?;
        Ok(())
    }

    /// A ticket's timeline, oldest first; customers do not see staff-only entries
    /// ([`TimelineKind::is_staff_only`]).
    pub async fn ticket_events(
        &self,
        p: &Principal,
        id: Uuid,
        page: PageRequest,
    ) -> Result<Page<TicketEvent>> {
        let limit = limit(page.limit)?;
        self.visible_ticket(p, id).await?;
        let events = self.st().list_ticket_events(id, page.cursor, limit).await?;
        let mut page = Page::from_overfetch(events, limit, |e| {
            Cursor::new(e.at.timestamp_micros(), e.id)
        });
        if !p.is_staff() {
            page.items.retain(|e| !e.kind.is_staff_only());
        }
        Ok(page)
    }
}
