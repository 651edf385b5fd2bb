//! The action executor: runs a list of the one action language's actions
//! ([`crate::action`]) on one ticket as the caller, all or nothing. Macros and bulk
//! changes use it today; triggers and automations will.
//!
//! A run first checks every action (the first failure answers as the equivalent PATCH
//! or post would) and only then writes: the messages in order, then the ticket's field
//! changes folded into one [`TicketPatch`] (a later action wins), then the
//! notifications. Every timeline entry and ticket or message event it writes carries
//! its [`Via`].

use uuid::Uuid;

use crate::Helpdesk;
use crate::action::{Action, Recipient};
use crate::condition::TriggerEvent;
use crate::custom_field::Writer;
use crate::error::{Error, Result};
use crate::event::Effects;
use crate::macros::{BulkChange, MAX_BULK_TICKETS};
use crate::message::NewMessage;
use crate::notification::NotificationKind;
use crate::ops::rules::Caused;
use crate::ops::ticket::{notify, ticket_notification};
use crate::placeholder::{PlaceholderValues, render_placeholders};
use crate::principal::Principal;
use crate::status::StatusCategory;
use crate::ticket::FieldValues;
use crate::ticket::{Ticket, TicketPatch, Via};

/// What a checked run writes.
#[derive(Default)]
struct Plan {
    /// The messages, in order: (internal, rendered content).
    messages: Vec<(bool, String)>,
    /// The ticket's changes, folded.
    patch: TicketPatch,
    /// The notifications: whom, and the text.
    notices: Vec<(Recipient, String)>,
}

impl Plan {
    fn changes_ticket(&self) -> bool {
        self.patch != TicketPatch::default()
    }
}

impl Helpdesk {
    /// The ticket, if the caller may run actions on it: staff with `full` access
    /// (`NotFound` when they cannot see it, else `Forbidden`).
    pub async fn ticket_for_actions(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        let (ticket, relation) = self.ticket_as(p, id).await?;
        relation.require_staff(crate::group::Access::Full)?;
        Ok(ticket)
    }

    /// Runs `actions` on a ticket as the caller (staff with `full` access to it), all or
    /// nothing: every action is checked first, and the first failure answers as the
    /// equivalent PATCH or post would (409 `invalid_transition`, 422, `ticket_closed`,
    /// ...), having written nothing. Then `add_internal_note` and `send_reply` post
    /// their messages as the caller, the field changes apply as one PATCH with the
    /// caller's staff rights, and `notify` sends `rule_notification`s titled `name`.
    /// Timeline entries and events carry `via`. Returns the ticket as the run left it.
    /// Triggers then run on the events the run wrote.
    pub async fn run_actions(
        &self,
        p: &Principal,
        ticket_id: Uuid,
        actions: &[Action],
        via: Option<Via>,
        name: &str,
    ) -> Result<Ticket> {
        let (_, caused) = self
            .run_actions_traced(p, ticket_id, actions, via, name)
            .await?;
        self.run_triggers_for(p, ticket_id, &caused).await?;
        self.st()
            .get_ticket(ticket_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// [`Helpdesk::run_actions`] without running triggers: the ticket as the run left
    /// it, and the events it wrote that triggers run on (rules run their steps so).
    pub(crate) async fn run_actions_traced(
        &self,
        p: &Principal,
        ticket_id: Uuid,
        actions: &[Action],
        via: Option<Via>,
        name: &str,
    ) -> Result<(Ticket, Caused)> {
        p.require_staff()?;
        let ticket = self.ticket_for_actions(p, ticket_id).await?;
        let plan = self.plan_actions(p, &ticket, actions).await?;
        let mut caused = Caused::new();
        for (internal, content) in plan.messages.iter().cloned() {
            let input = NewMessage {
                content,
                internal,
                ..Default::default()
            };
            let sent = self
                .send_message_traced(p, ticket.conversation_id, input, via, None)
                .await?;
            caused.extend(sent.caused);
        }
        if plan.changes_ticket() {
            let (_, changed) = self
                .update_ticket_traced(p, ticket_id, plan.patch.clone(), via)
                .await?;
            if changed {
                caused.push((TriggerEvent::TicketUpdated, None));
            }
        }
        let after = self
            .st()
            .get_ticket(ticket_id)
            .await?
            .ok_or(Error::NotFound)?;
        let now = self.now();
        let mut fx = Effects::none();
        for (to, text) in &plan.notices {
            let user = match *to {
                Recipient::Assignee => after.assignee_id,
                Recipient::Requester => Some(after.requester_id),
                Recipient::User(id) => Some(id),
            };
            // No recipient (nobody assigned, a user deleted since): nothing.
            let Some(user) = user else { continue };
            if self.st().get_user(user).await?.is_none() {
                continue;
            }
            let mut n = ticket_notification(
                user,
                NotificationKind::RuleNotification,
                &after,
                name.to_string(),
                now,
                None,
            );
            n.body = text.clone();
            notify(&mut fx, n);
        }
        if !fx.notifications.is_empty() {
            self.mail_notifications(&mut fx, &[&after]).await?;
            self.written(self.st().append_effects(&fx)).await?;
        }
        Ok((after, caused))
    }

    /// The ticket as `actions` would leave it, run as `p` would run them, writing
    /// nothing (a rule's dry run): the first failure answers as the run would.
    pub(crate) async fn preview_actions(
        &self,
        p: &Principal,
        ticket: &Ticket,
        actions: &[Action],
    ) -> Result<Ticket> {
        let plan = self.plan_actions(p, ticket, actions).await?;
        let mut after = ticket.clone();
        if !plan.changes_ticket() {
            return Ok(after);
        }
        let schema = self.ticket_schema().await?;
        let now = self.now();
        let patch = &plan.patch;
        if let Some(key) = &patch.status
            && *key != after.status
            && let Some(to) = schema.statuses.get(key.as_str())
        {
            crate::ticket::move_status(&mut after, to, now);
        }
        if let Some(pr) = patch.priority {
            after.priority = pr;
        }
        if let Some(g) = patch.group_id {
            after.group_id = g;
        }
        if let Some(a) = patch.assignee_id {
            after.assignee_id = a;
        }
        if let Some(t) = &patch.tags {
            after.tags = t.clone();
        }
        schema
            .fields
            .apply(&mut after.fields, &patch.fields, Writer::Staff)?;
        if after != *ticket {
            after.updated_at = now;
        }
        Ok(after)
    }

    /// Checks every action against the ticket as it is, in order, and folds them into
    /// what the run writes. Writes nothing.
    async fn plan_actions(
        &self,
        p: &Principal,
        ticket: &Ticket,
        actions: &[Action],
    ) -> Result<Plan> {
        let schema = self.ticket_schema().await?;
        let mut plan = Plan::default();
        let mut tags: Option<Vec<String>> = None;
        let mut placeholders: Option<PlaceholderValues> = None;
        for (i, a) in actions.iter().enumerate() {
            let at = format!("actions[{i}].value");
            match a {
                Action::SetStatus { value } => {
                    let key = crate::status::StatusKey::new(value.as_str());
                    let to = schema.statuses.settable(&at, &key)?;
                    if to.key != ticket.status && !ticket.status_category.can_move_to(to.category) {
                        return Err(Error::InvalidTransition {
                            from: ticket.status.to_string(),
                            to: to.key.to_string(),
                        });
                    }
                    plan.patch.status = Some(key);
                }
                Action::SetPriority { value } => plan.patch.priority = Some(*value),
                Action::SetGroup { value } => {
                    if self.st().get_group(*value).await?.is_none() {
                        return Err(Error::invalid("group_id", "is not a group"));
                    }
                    plan.patch.group_id = Some(*value);
                }
                Action::Assign { value } => plan.patch.assignee_id = Some(*value),
                Action::AddTags { value } => {
                    let t = tags.get_or_insert_with(|| ticket.tags.clone());
                    t.extend(value.iter().cloned());
                    t.sort();
                    t.dedup();
                }
                Action::RemoveTags { value } => {
                    tags.get_or_insert_with(|| ticket.tags.clone())
                        .retain(|t| !value.contains(t));
                }
                Action::SetField { key, value } => {
                    // Checked as PATCH checks it (with staff rights), on what the run
                    // set so far.
                    let mut probe = ticket.fields.clone();
                    let change: FieldValues = [(key.clone(), value.clone())].into();
                    schema
                        .fields
                        .apply(&mut probe, &plan.patch.fields, Writer::Staff)?;
                    schema.fields.apply(&mut probe, &change, Writer::Staff)?;
                    plan.patch.fields.insert(key.clone(), value.clone());
                }
                Action::AddInternalNote { value } => {
                    let values = self
                        .placeholder_values(p, ticket, &mut placeholders)
                        .await?;
                    let content = render_placeholders(value, values);
                    self.check_action_message(ticket, &content)?;
                    plan.messages.push((true, content));
                }
                Action::SendReply { value } => {
                    let reply = match self.get_canned_reply(p, *value).await {
                        Err(Error::NotFound) => {
                            return Err(Error::invalid(
                                at.as_str(),
                                "is not a canned reply you may use",
                            ));
                        }
                        other => other?,
                    };
                    let values = self
                        .placeholder_values(p, ticket, &mut placeholders)
                        .await?;
                    let content = render_placeholders(&reply.body, values);
                    self.check_action_message(ticket, &content)?;
                    plan.messages.push((false, content));
                }
                Action::Notify { to, value } => plan.notices.push((*to, value.clone())),
            }
        }
        if let Some(t) = tags {
            let t = crate::tag::normalize_tags(&t)?;
            if t != ticket.tags {
                plan.patch.tags = Some(t);
            }
        }
        // Entering resolved needs the required fields, as PATCH checks it.
        let resolves = plan.patch.status.as_ref().is_some_and(|k| {
            schema.statuses.get(k.as_str()).map(|s| s.category) == Some(StatusCategory::Resolved)
        });
        if resolves && ticket.status_category != StatusCategory::Resolved {
            let mut after = ticket.fields.clone();
            schema
                .fields
                .apply(&mut after, &plan.patch.fields, Writer::Staff)?;
            schema.fields.missing(&after, true, Writer::Staff)?;
        }
        let group_after = plan.patch.group_id.unwrap_or(ticket.group_id);
        if let Some(Some(a)) = plan.patch.assignee_id
            && (ticket.assignee_id != Some(a) || group_after != ticket.group_id)
        {
            self.check_assignee(a, group_after).await?;
        }
        Ok(plan)
    }

    /// What a message of a run is checked for before anything is written: the ticket
    /// not closed, the content a message's.
    fn check_action_message(&self, ticket: &Ticket, content: &str) -> Result<()> {
        if ticket.status_category == StatusCategory::Closed {
            return Err(Error::TicketClosed);
        }
        crate::message::validate_content(content, false)
    }

    /// The placeholders' values for the ticket, with the caller as `agent.name`, read
    /// once per run.
    async fn placeholder_values<'a>(
        &self,
        p: &Principal,
        ticket: &Ticket,
        cache: &'a mut Option<PlaceholderValues>,
    ) -> Result<&'a PlaceholderValues> {
        if cache.is_none() {
            let name = |u: Option<crate::user::User>| u.map(|u| u.name).unwrap_or_default();
            let requester = name(self.st().get_user(ticket.requester_id).await?);
            // Rules and other system runs: the assignee.
            let agent = match p.actor().or(ticket.assignee_id) {
                Some(me) => name(self.st().get_user(me).await?),
                None => String::new(),
            };
            *cache = Some(PlaceholderValues {
                ticket_number: ticket.number,
                ticket_subject: ticket.subject.clone(),
                requester_name: requester,
                agent_name: agent,
            });
        }
        Ok(cache.get_or_insert_with(PlaceholderValues::default))
    }

    /// Runs the same actions on each ticket (staff): `ticket_ids` 1..=100 distinct
    /// (else invalid, nothing done); the actions checked as a macro's, or a macro's
    /// (one that does not exist: invalid `macro_id`). Each ticket is one all-or-nothing
    /// run ([`Helpdesk::run_actions`]); the answers are one per id, in order.
    pub async fn bulk_change(
        &self,
        p: &Principal,
        ticket_ids: &[Uuid],
        change: BulkChange,
    ) -> Result<Vec<(Uuid, Result<Ticket>)>> {
        p.require_staff()?;
        if !(1..=MAX_BULK_TICKETS).contains(&ticket_ids.len()) {
            return Err(Error::invalid(
                "ticket_ids",
                format!("must be a list of 1 to {MAX_BULK_TICKETS} ticket ids"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(i) = ticket_ids.iter().position(|id| !seen.insert(*id)) {
            return Err(Error::invalid(
                format!("ticket_ids[{i}]"),
                "names a ticket already in the list",
            ));
        }
        let (actions, via, name) = match change {
            BulkChange::Actions(json) => (
                self.macro_actions(&json).await?,
                None,
                "Bulk change".to_string(),
            ),
            BulkChange::Macro(id) => {
                let m = self.macro_by_reference(p, id).await?;
                (m.actions, Some(Via::macro_run(m.id)), m.name)
            }
        };
        let mut out = Vec::with_capacity(ticket_ids.len());
        for id in ticket_ids {
            let result = self.run_actions(p, *id, &actions, via, &name).await;
            out.push((*id, result));
        }
        Ok(out)
    }
}
