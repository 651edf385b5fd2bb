//! Rules: admins make, change, delete and dry-run triggers and automations and read
//! their run logs; the engine runs them ([`Helpdesk::run_triggers`] after every change
//! of a ticket, [`Helpdesk::evaluate_automations`] at the instants the scheduler wakes
//! it for).
//!
//! One engine runs a **chain**: the originating event of a ticket, the triggers it
//! fires (in `(position, id)` order, each seeing the ticket as the ones before left
//! it), the automations the ticket enters, and the events their steps cause, breadth
//! first. A rule fires at most once per ticket in a chain; events deeper than
//! [`MAX_CHAIN_DEPTH`] run nothing and leave a `failed` run with code `loop_limit`.
//! Each step runs the rule's actions through the action executor as the system
//! (`actor_id: null`, `via: {kind: "rule", id}`); a failing step writes nothing and
//! leaves a `failed` run, the cause standing.

use std::collections::{HashSet, VecDeque};

use uuid::Uuid;

use crate::Helpdesk;
use crate::action::{self, Action};
use crate::condition::{ActorRole, Condition, TicketFacts, TriggerEvent, Usage};
use crate::error::{Error, Result, StoreError};
use crate::event::Effects;
use crate::ownership::ItemScope;
use crate::principal::{Principal, Role};
use crate::rule::*;
use crate::status::StatusCategory;
use crate::ticket::{Ticket, TicketQuery, TicketSort, Via};

/// An event of a ticket that triggers run on, and who caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The event.
    pub event: TriggerEvent,
    /// Its ticket.
    pub ticket_id: Uuid,
    /// Who caused it.
    pub actor_role: ActorRole,
    /// On `message.created`: whether the message is internal.
    pub message_internal: Option<bool>,
}

impl Origin {
    /// `event` of the ticket, caused by `p`.
    pub(crate) fn by(p: &Principal, event: TriggerEvent, ticket_id: Uuid) -> Origin {
        Origin {
            event,
            ticket_id,
            actor_role: actor_role(p),
            message_internal: None,
        }
    }
}

/// The role a condition's `actor.role` sees for `p`: `system` for the system (rules, the
/// scheduler).
pub(crate) fn actor_role(p: &Principal) -> ActorRole {
    if p.is_system() {
        return ActorRole::System;
    }
    match p.role() {
        Role::Admin => ActorRole::Admin,
        Role::Agent => ActorRole::Agent,
        Role::Customer => ActorRole::Customer,
    }
}

/// What a ticket change caused, for the engine: the events a step wrote.
pub(crate) type Caused = Vec<(TriggerEvent, Option<bool>)>;

/// The events among `fx` that triggers run on, of ticket `id` (changes that write no
/// message: `message.internal` is unset).
pub(crate) fn caused(fx: &Effects, id: Uuid) -> Caused {
    fx.events
        .iter()
        .filter(|e| e.audience.ticket == Some(id))
        .filter_map(|e| TriggerEvent::of(e.kind))
        .map(|e| (e, None))
        .collect()
}

/// One item of a chain's work.
struct Step {
    /// The event to run triggers on (`None`: only the automations are evaluated).
    origin: Option<Origin>,
    /// The ticket.
    ticket_id: Uuid,
    /// How many rule steps caused it.
    depth: u32,
    /// The rule whose step caused it.
    cause: Option<Uuid>,
}

/// A chain's state: what is left to do and which rules fired on which tickets.
#[derive(Default)]
struct Chain {
    queue: VecDeque<Step>,
    fired: HashSet<(Uuid, Uuid)>,
    limited: HashSet<(Uuid, Uuid)>,
}

impl Helpdesk {
    /// `json` checked as a rule's actions at `actions`: as a macro's, and a `send_reply`
    /// must name a `global` canned reply (422 at `actions[i].value`).
    async fn rule_actions(&self, json: &serde_json::Value) -> Result<Vec<Action>> {
        let actions = self.macro_actions(json).await?;
        for (i, a) in actions.iter().enumerate() {
            if let Action::SendReply { value } = a {
                let global = self
                    .st()
                    .get_canned_reply(*value)
                    .await?
                    .is_some_and(|r| r.scope == ItemScope::Global);
                if !global {
                    return Err(Error::invalid(
                        format!("actions[{i}].value"),
                        "must be a global canned reply",
                    ));
                }
            }
        }
        Ok(actions)
    }

    /// `json` checked as a condition for `usage` at `condition`, the ids it names
    /// looked up.
    async fn rule_condition(&self, json: &serde_json::Value, usage: Usage) -> Result<Condition> {
        let c = Condition::parse(json, "condition", usage, &self.ticket_schema().await?)?;
        self.check_references(c.references("condition")).await?;
        Ok(c)
    }

    /// Makes a rule (admins). At most [`MAX_RULES`] (invalid above). Without a position
    /// it goes after the last rule. An active automation counts every matching ticket
    /// as entering its condition; one that counts hours is put on every ticket's
    /// schedule.
    pub async fn create_rule(&self, p: &Principal, input: NewRule) -> Result<Rule> {
        self.require_admin(p).await?;
        let name = validate_name(&input.name)?;
        let condition = match &input.condition {
            Some(json) => self.rule_condition(json, input.kind.usage()).await?,
            None => Condition::default(),
        };
        let actions = self.rule_actions(&input.actions).await?;
        let position = match input.position {
            Some(n) => crate::macros::validate_position(n)?,
            None => self
                .st()
                .list_rules()
                .await?
                .iter()
                .map(|r| r.position)
                .max()
                .map_or(0, |n| (n + 1).min(MAX_POSITION)),
        };
        let now = self.now();
        let rule = Rule {
            id: crate::clock::new_id(),
            name,
            kind: input.kind,
            active: input.active.unwrap_or(true),
            position,
            condition,
            actions,
            created_at: now,
            updated_at: now,
        };
        if !self.st().insert_rule(&rule, MAX_RULES).await? {
            return Err(limit_reached());
        }
        if rule.kind == RuleKind::Automation && rule.active {
            self.enter_all(&rule).await?;
        }
        if rule.counts_hours() {
            self.settle_all().await?;
        }
        Ok(rule)
    }

    /// A rule (admins).
    pub async fn get_rule(&self, p: &Principal, id: Uuid) -> Result<Rule> {
        self.require_admin(p).await?;
        self.st().get_rule(id).await?.ok_or(Error::NotFound)
    }

    /// Every rule (admins), by `(position, id)`.
    pub async fn list_rules(&self, p: &Principal) -> Result<Vec<Rule>> {
        self.require_admin(p).await?;
        Ok(self.st().list_rules().await?)
    }

    /// Changes a rule's name, active flag, position, condition or actions (admins).
    /// Re-activating an automation or changing its condition counts every matching
    /// ticket as entering it; every ticket's schedule moves when the change adds or
    /// takes an automation that counts hours, or changes its condition.
    pub async fn update_rule(&self, p: &Principal, id: Uuid, patch: RulePatch) -> Result<Rule> {
        self.require_admin(p).await?;
        let mut rule = self.st().get_rule(id).await?.ok_or(Error::NotFound)?;
        let name = patch.name.as_deref().map(validate_name).transpose()?;
        let condition = match &patch.condition {
            Some(json) => Some(self.rule_condition(json, rule.kind.usage()).await?),
            None => None,
        };
        let actions = match &patch.actions {
            Some(json) => Some(self.rule_actions(json).await?),
            None => None,
        };
        let position = patch
            .position
            .map(crate::macros::validate_position)
            .transpose()?;
        let before = rule.clone();
        if let Some(n) = name {
            rule.name = n;
        }
        if let Some(c) = condition {
            rule.condition = c;
        }
        if let Some(a) = actions {
            rule.actions = a;
        }
        if let Some(n) = position {
            rule.position = n;
        }
        if let Some(a) = patch.active {
            rule.active = a;
        }
        if rule == before {
            return Ok(rule);
        }
        rule.updated_at = self.now();
        match self.st().update_rule(&rule).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(Error::Store(e)),
        }
        let entering = (rule.active && !before.active) || rule.condition != before.condition;
        if rule.kind == RuleKind::Automation && rule.active && entering {
            self.enter_all(&rule).await?;
        }
        if (rule.counts_hours() || before.counts_hours())
            && (rule.active != before.active || rule.condition != before.condition)
        {
            self.settle_all().await?;
        }
        Ok(rule)
    }

    /// Deletes a rule with its runs (admins); one that counted hours leaves every
    /// ticket's schedule.
    pub async fn delete_rule(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        let rule = self.st().get_rule(id).await?;
        if !self.st().delete_rule(id).await? {
            return Err(Error::NotFound);
        }
        if rule.is_some_and(|r| r.counts_hours()) {
            self.settle_all().await?;
        }
        Ok(())
    }

    /// A rule's runs (admins), newest first: the newest [`MAX_RUNS_KEPT`].
    pub async fn list_rule_runs(&self, p: &Principal, id: Uuid) -> Result<Vec<RuleRun>> {
        self.require_admin(p).await?;
        self.st().get_rule(id).await?.ok_or(Error::NotFound)?;
        Ok(self.st().list_rule_runs(id, MAX_RUNS_KEPT).await?)
    }

    /// Evaluates a condition and runs actions on a ticket without storing or emitting
    /// anything (admins): the condition checked as a trigger's, with the facts of the
    /// ticket as it is, `event` (default `ticket.updated`) and the caller's role; with a
    /// match, the ticket as the actions (run as a rule would run them) would leave it,
    /// or the first failing action's error.
    pub async fn dry_run_rule(&self, p: &Principal, input: DryRunInput) -> Result<DryRun> {
        self.require_admin(p).await?;
        let condition = self
            .rule_condition(&input.condition, Usage::Trigger)
            .await?;
        let actions = self.rule_actions(&input.actions).await?;
        let event = match input.event.as_deref() {
            None => TriggerEvent::TicketUpdated,
            Some(name) => TriggerEvent::from_name(name)
                .ok_or_else(|| Error::invalid("event", "is not an event triggers run on"))?,
        };
        let ticket = match self.visible_ticket(p, input.ticket_id).await {
            Err(Error::NotFound) => {
                return Err(Error::invalid("ticket_id", "is not a ticket you can see"));
            }
            other => other?,
        };
        let origin = Origin::by(p, event, ticket.id);
        let evaluation = condition.evaluate(&self.rule_facts(&ticket, Some(&origin)));
        if !evaluation.matches {
            return Ok(DryRun {
                evaluation,
                ticket: None,
                error: None,
            });
        }
        let (ticket, error) = match self
            .preview_actions(&Principal::system(), &ticket, &actions)
            .await
        {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e)),
        };
        Ok(DryRun {
            evaluation,
            ticket,
            error,
        })
    }

    /// What a rule's condition sees of a ticket: the ticket now and, for triggers, the
    /// event's context.
    fn rule_facts(&self, t: &Ticket, origin: Option<&Origin>) -> TicketFacts {
        let mut facts = TicketFacts::of(t, self.now());
        if let Some(o) = origin {
            facts.event = Some(o.event);
            facts.actor_role = Some(o.actor_role);
            facts.message_internal = o.message_internal;
        }
        facts
    }

    /// Runs the triggers of `origin` and, breadth first, of every event their steps
    /// cause, with the automations the ticket enters meanwhile: one chain. Called after
    /// the cause committed, before its answer. Rule failures are recorded as runs, never
    /// returned; only the store failing is. Tells whether a rule fired.
    pub(crate) async fn run_triggers(&self, origin: Origin) -> Result<bool> {
        let mut chain = Chain::default();
        chain.queue.push_back(Step {
            origin: Some(origin),
            ticket_id: origin.ticket_id,
            depth: 0,
            cause: None,
        });
        self.run_chain(chain).await
    }

    /// [`Helpdesk::run_triggers`] for each of the events one operation wrote, each its own
    /// chain. Tells whether a rule fired.
    pub(crate) async fn run_triggers_for(
        &self,
        p: &Principal,
        ticket_id: Uuid,
        caused: &[(TriggerEvent, Option<bool>)],
    ) -> Result<bool> {
        let mut fired = false;
        for (event, internal) in caused {
            let mut origin = Origin::by(p, *event, ticket_id);
            origin.message_internal = *internal;
            fired |= self.run_triggers(origin).await?;
        }
        Ok(fired)
    }

    /// Runs the triggers of what an operation caused on `ticket` (after its commit,
    /// before its answer) and returns the ticket as they left it: read again when a
    /// rule fired.
    pub(crate) async fn after_triggers(
        &self,
        p: &Principal,
        ticket: Ticket,
        caused: &[(TriggerEvent, Option<bool>)],
    ) -> Result<Ticket> {
        match self.run_triggers_for(p, ticket.id, caused).await? {
            true => Ok(self.st().get_ticket(ticket.id).await?.unwrap_or(ticket)),
            false => Ok(ticket),
        }
    }

    /// Evaluates the active automations on a ticket now (what the scheduler calls at
    /// the instant an `hours_since_*` predicate turns): those it entered fire, and the
    /// events their steps cause run triggers, as one chain.
    pub(crate) async fn evaluate_automations(&self, ticket_id: Uuid) -> Result<()> {
        let mut chain = Chain::default();
        chain.queue.push_back(Step {
            origin: None,
            ticket_id,
            depth: 0,
            cause: None,
        });
        self.run_chain(chain).await?;
        Ok(())
    }

    /// Works a chain off. Never loops forever: each (rule, ticket) fires once. Tells
    /// whether a rule fired, so that a ticket may differ from what its cause wrote.
    async fn run_chain(&self, mut chain: Chain) -> Result<bool> {
        let definitions = self.definitions().await?;
        let rules: Vec<&Rule> = definitions.rules.iter().filter(|r| r.active).collect();
        if rules.is_empty() {
            return Ok(false);
        }
        while let Some(step) = chain.queue.pop_front() {
            if step.depth >= MAX_CHAIN_DEPTH {
                if let Some(rule_id) = step.cause
                    && chain.limited.insert((rule_id, step.ticket_id))
                {
                    self.record_run(rule_id, step.ticket_id, Some(RunError::loop_limit()))
                        .await?;
                }
                continue;
            }
            if let Some(origin) = step.origin {
                for rule in rules.iter().filter(|r| r.kind == RuleKind::Trigger) {
                    if chain.fired.contains(&(rule.id, step.ticket_id)) {
                        continue;
                    }
                    let Some(ticket) = self.st().get_ticket(step.ticket_id).await? else {
                        break;
                    };
                    if ticket.status_category == StatusCategory::Closed {
                        break;
                    }
                    if !rule
                        .condition
                        .matches(&self.rule_facts(&ticket, Some(&origin)))
                    {
                        continue;
                    }
                    chain.fired.insert((rule.id, step.ticket_id));
                    self.fire(rule, step.ticket_id, step.depth, &mut chain)
                        .await?;
                }
            }
            for rule in rules.iter().filter(|r| r.kind == RuleKind::Automation) {
                let Some(ticket) = self.st().get_ticket(step.ticket_id).await? else {
                    break;
                };
                let matches = ticket.status_category != StatusCategory::Closed
                    && rule.condition.matches(&self.rule_facts(&ticket, None));
                let inside = self.st().rule_inside(rule.id, ticket.id).await?;
                if matches == inside {
                    continue;
                }
                self.st()
                    .set_rule_inside(rule.id, ticket.id, matches)
                    .await?;
                if matches && chain.fired.insert((rule.id, ticket.id)) {
                    self.fire(rule, ticket.id, step.depth, &mut chain).await?;
                }
            }
        }
        Ok(!chain.fired.is_empty())
    }

    /// One step of a rule on a ticket: its actions as the system, all or nothing; the
    /// run recorded, the events it caused queued one level deeper.
    async fn fire(
        &self,
        rule: &Rule,
        ticket_id: Uuid,
        depth: u32,
        chain: &mut Chain,
    ) -> Result<()> {
        let run = self
            .run_actions_traced(
                &Principal::system(),
                ticket_id,
                &rule.actions,
                Some(Via::rule(rule.id)),
                &rule.name,
            )
            .await;
        match run {
            Ok((_, caused)) => {
                self.record_run(rule.id, ticket_id, None).await?;
                for (event, internal) in caused {
                    chain.queue.push_back(Step {
                        origin: Some(Origin {
                            event,
                            ticket_id,
                            actor_role: ActorRole::System,
                            message_internal: internal,
                        }),
                        ticket_id,
                        depth: depth + 1,
                        cause: Some(rule.id),
                    });
                }
            }
            Err(Error::Store(e))
                if !matches!(e, StoreError::Conflict(_) | StoreError::NotFound) =>
            {
                return Err(Error::Store(e));
            }
            Err(e) => {
                self.record_run(rule.id, ticket_id, Some(RunError::of(&e)))
                    .await?
            }
        }
        Ok(())
    }

    /// Records a run in the rule's log: applied without an error, else failed.
    async fn record_run(
        &self,
        rule_id: Uuid,
        ticket_id: Uuid,
        error: Option<RunError>,
    ) -> Result<()> {
        let run = RuleRun {
            id: crate::clock::new_id(),
            rule_id,
            ticket_id,
            at: self.now(),
            result: match error {
                None => RunResult::Applied,
                Some(_) => RunResult::Failed,
            },
            error,
        };
        Ok(self.st().insert_rule_run(&run, MAX_RUNS_KEPT).await?)
    }

    /// An automation made, re-activated or given a new condition: every ticket leaves
    /// it, then every matching ticket (not closed) enters it, each its own chain.
    async fn enter_all(&self, rule: &Rule) -> Result<()> {
        self.st().clear_rule_inside(rule.id).await?;
        let query = TicketQuery {
            sort: TicketSort::CreatedAt,
            ..Default::default()
        };
        let mut cursor = None;
        loop {
            let batch = self
                .scan_tickets(query.clone(), &rule.condition, cursor, 200)
                .await?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            cursor = Some(crate::page::Cursor::new(query.sort.key(last), last.id));
            let full = batch.len() >= 200;
            for t in batch {
                if t.status_category == StatusCategory::Closed {
                    continue;
                }
                // The rule may have changed or gone meanwhile.
                let Some(now) = self.st().get_rule(rule.id).await? else {
                    return Ok(());
                };
                if !now.active {
                    return Ok(());
                }
                self.st().set_rule_inside(rule.id, t.id, true).await?;
                let mut chain = Chain::default();
                chain.fired.insert((rule.id, t.id));
                self.fire(&now, t.id, 0, &mut chain).await?;
                self.run_chain(chain).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// `InUse` when a rule names what is being deleted (`named`), naming `what`.
    pub(crate) async fn refuse_if_rule_names(
        &self,
        what: &str,
        named: impl Fn(&Rule) -> bool,
    ) -> Result<()> {
        match self.st().list_rules().await?.into_iter().find(|r| named(r)) {
            Some(r) => Err(Error::InUse(format!("rule {} names this {what}", r.id))),
            None => Ok(()),
        }
    }
}

/// Whether a rule's condition or actions name the status `key`.
pub(crate) fn names_status(r: &Rule, key: &str) -> bool {
    r.condition.names_status(key) || r.actions.iter().any(|a| a.names_status(key))
}

/// Whether a rule's condition or actions name the custom field `key`.
pub(crate) fn names_field(r: &Rule, key: &str) -> bool {
    r.condition.names_field(key) || r.actions.iter().any(|a| a.names_field(key))
}

/// Whether a rule's actions send the canned reply `id`.
pub(crate) fn names_canned_reply(r: &Rule, id: Uuid) -> bool {
    action::references(&r.actions, "actions")
        .iter()
        .any(|x| x.target == crate::condition::Target::CannedReply(id))
}
