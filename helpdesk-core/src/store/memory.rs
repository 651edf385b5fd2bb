//! The in-memory backend: the reference model of the storage contract. One mutex over
//! plain maps makes every operation trivially atomic; simplicity beats speed here, except
//! where the contract asks for costs independent of size (messages are kept in seq order
//! per conversation, so a page or a seq lookup is a slice, not a scan).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::apikey::ApiKey;
use crate::archive::{BlobChunk, Counter, Record, RecordKind, Setting, TICKET_NUMBER, page_of};
use crate::attachment::{Attachment, AttachmentParent};
use crate::auth::Session;
use crate::calendar::Calendar;
use crate::canned_reply::{CannedReply, CannedReplyQuery};
use crate::conversation::{Conversation, ConversationKind, Member};
use crate::csat::{Survey, SurveyQuery};
use crate::custom_field::CustomField;
use crate::email::{
    InboundRecord, InboundResult, MailRef, OutboundKind, OutboundMail, OutboundQuery,
    OutboundStatus, Suppression, TicketMail,
};
use crate::error::Conflict;
use crate::error::StoreError;
use crate::event::{Effects, Event, EventId};
use crate::group::{Group, Membership, StaffChange, name_key, staff_change, staff_membership};
use crate::kb::{Article, ArticleQuery, ArticleStatus, TagCount};
use crate::macros::Macro;
use crate::mailbox::{ImapState, Inbound, Mailbox};
use crate::message::{
    AcrossRange, Message, MessageAppend, MessageRange, apply_append, page_across,
};
use crate::notification::Notification;
use crate::organization::{Organization, OrganizationQuery};
use crate::ownership::{ScopeUser, Scoped};
use crate::page::Cursor;
use crate::principal::Role;
use crate::receipt::Participant;
use crate::rule::{Rule, RuleRun};
use crate::sla_policy::SlaPolicy;
use crate::status::{Status, StatusCategory};
use crate::store::*;
use crate::ticket::{Ticket, TicketEvent, TicketInsert, TicketQuery};
use crate::user::{User, UserQuery};
use crate::view::View;
use crate::webhook::{ClaimedDelivery, Delivery, DeliveryStatus, Webhook};

/// A store that keeps everything in memory. For tests, examples and embedding apps that
/// do not need persistence.
pub struct MemoryStore {
    state: Mutex<State>,
    signals: super::support::SignalBus,
}

struct ConversationData {
    conv: Conversation,
    /// Messages in seq order: `messages[seq - 1]`.
    messages: Vec<Message>,
    /// Each sender's messages, `(seq, sender_ordinal)` in seq order.
    own: HashMap<Uuid, Vec<(u64, u64)>>,
    participants: HashMap<Uuid, Participant>,
}

impl ConversationData {
    fn new(conv: Conversation, participants: HashMap<Uuid, Participant>) -> Self {
        ConversationData {
            conv,
            messages: Vec::new(),
            own: HashMap::new(),
            participants,
        }
    }

    /// Appends the next message.
    fn push(&mut self, m: Message) {
        self.own
            .entry(m.sender_id.unwrap_or_default())
            .or_default()
            .push((m.seq, m.sender_ordinal));
        self.messages.push(m);
    }
}

#[derive(Default)]
struct State {
    settings: HashMap<String, String>,
    users: HashMap<Uuid, User>,
    sessions: HashMap<Uuid, Session>,
    api_keys: HashMap<Uuid, ApiKey>,
    /// Counted attempts by key, oldest first.
    attempts: HashMap<String, Vec<DateTime<Utc>>>,
    groups: HashMap<Uuid, Group>,
    /// Each group's memberships in joining order.
    members: HashMap<Uuid, Vec<Membership>>,
    organizations: HashMap<Uuid, Organization>,
    canned_replies: HashMap<Uuid, CannedReply>,
    views: HashMap<Uuid, View>,
    /// [`SchemaStore::schema_stamp`]: moved by every schema write, under the lock.
    schema_stamp: u64,
    /// [`KbStore::kb_stamp`]: moved by every article write, under the lock.
    kb_stamp: u64,
    statuses: HashMap<Uuid, Status>,
    fields: HashMap<Uuid, CustomField>,
    macros: HashMap<Uuid, Macro>,
    sla_policies: HashMap<Uuid, SlaPolicy>,
    calendars: HashMap<Uuid, Calendar>,
    mailboxes: HashMap<Uuid, Mailbox>,
    /// The IMAP pollers' leases: mailbox → (holder, until).
    mailbox_leases: HashMap<Uuid, (Uuid, DateTime<Utc>)>,
    /// CSAT surveys by id.
    surveys: HashMap<Uuid, Survey>,
    rules: HashMap<Uuid, Rule>,
    /// Each rule's runs, oldest first.
    rule_runs: HashMap<Uuid, Vec<RuleRun>>,
    /// Automations' edge state: (rule, ticket) pairs inside the condition.
    rule_inside: std::collections::HashSet<(Uuid, Uuid)>,
    tickets: HashMap<Uuid, Ticket>,
    /// Claims of due tickets ([`TicketStore::claim_due`]): held until, while the
    /// ticket keeps the version it had (a write releases it).
    due_holds: HashMap<Uuid, (DateTime<Utc>, u64)>,
    ticket_numbers: i64,
    ticket_events: Vec<TicketEvent>,
    conversations: HashMap<Uuid, ConversationData>,
    message_index: HashMap<Uuid, (Uuid, u64)>,
    notifications: HashMap<Uuid, Notification>,
    articles: HashMap<Uuid, Article>,
    attachments: HashMap<Uuid, Attachment>,
    blobs: HashMap<Uuid, BTreeMap<u32, Vec<u8>>>,
    events: Vec<Event>,
    /// The highest event id pruned ([`EventStore::prune_events`]).
    events_pruned_through: Option<EventId>,
    webhooks: HashMap<Uuid, Webhook>,
    deliveries: HashMap<Uuid, Delivery>,
    /// Inbound records with their bytes, by id.
    inbound: HashMap<Uuid, (InboundRecord, Arc<[u8]>)>,
    /// Outbound mail with its bytes, by id.
    outbound: HashMap<Uuid, (OutboundMail, Arc<[u8]>)>,
    /// Suppressions by address.
    suppressions: BTreeMap<String, Suppression>,
}

impl MemoryStore {
    /// An empty store: no records but its default group.
    pub fn new() -> Self {
        let mut state = State::default();
        let group = Group::initial_default(Utc::now());
        state.groups.insert(group.id, group);
        for c in StatusCategory::ALL {
            let status = Status::default_of(c, Utc::now());
            state.statuses.insert(status.id, status);
        }
        MemoryStore {
            state: Mutex::new(state),
            signals: Default::default(),
        }
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))
    }

    /// The lock for a write to statuses, fields, calendars, SLA policies or rules: it
    /// moves the schema stamp, which readers see only with the write, after the lock.
    fn lock_schema(&self) -> StoreResult<MutexGuard<'_, State>> {
        let mut s = self.lock()?;
        s.schema_stamp += 1;
        Ok(s)
    }

    /// The lock for a write to articles: it moves the KB stamp.
    fn lock_kb(&self) -> StoreResult<MutexGuard<'_, State>> {
        let mut s = self.lock()?;
        s.kb_stamp += 1;
        Ok(s)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl State {
    fn default_group(&self) -> StoreResult<&Group> {
        self.groups
            .values()
            .find(|g| g.is_default)
            .ok_or_else(|| StoreError::Corrupt("no default group".into()))
    }

    fn name_taken(&self, g: &Group) -> bool {
        let key = name_key(&g.name);
        self.groups
            .values()
            .any(|o| o.id != g.id && name_key(&o.name) == key)
    }

    /// Clears the flag of the default group unless it is `g`; returns it as it is now.
    fn take_default_flag(&mut self, g: &Group) -> Option<Group> {
        if !g.is_default {
            return None;
        }
        let former = self
            .groups
            .values_mut()
            .find(|o| o.is_default && o.id != g.id)?;
        former.is_default = false;
        Some(former.clone())
    }

    /// The staff rule of `UserStore`: the memberships joined or left by writing `user`
    /// over a user of role `before`.
    fn staff_change(
        &mut self,
        before: Option<crate::principal::Role>,
        user: &User,
    ) -> StoreResult<()> {
        match staff_change(before, user.role) {
            StaffChange::None => {}
            StaffChange::JoinDefault => {
                let group = self.default_group()?.id;
                let list = self.members.entry(group).or_default();
                if !list.iter().any(|m| m.user_id == user.id) {
                    list.push(staff_membership(group, user.id, user.updated_at));
                }
            }
            StaffChange::LeaveAll => {
                for list in self.members.values_mut() {
                    list.retain(|m| m.user_id != user.id);
                }
                self.api_keys.retain(|_, k| k.user_id != user.id);
            }
        }
        Ok(())
    }

    /// Imports a group; an imported default group replaces the store's own.
    fn import_group(&mut self, g: &Group) {
        if g.is_default
            && let Some(old) = self.groups.values().find(|o| o.is_default && o.id != g.id)
        {
            let old = old.id;
            self.groups.remove(&old);
            let moved: Vec<Membership> = self
                .members
                .remove(&old)
                .unwrap_or_default()
                .into_iter()
                .map(|m| Membership {
                    group_id: g.id,
                    ..m
                })
                .collect();
            self.members.entry(g.id).or_default().extend(moved);
        }
        self.groups.insert(g.id, g.clone());
    }

    /// The newest event id, of the log or of what was pruned from it.
    fn last_event_id(&self) -> Option<EventId> {
        self.events
            .last()
            .map(|e| e.id)
            .max(self.events_pruned_through)
    }

    fn write_effects(&mut self, fx: &Effects) {
        for new in &fx.events {
            // Imported logs keep their ids, so the next id follows the last, not the count.
            let id = EventId(self.last_event_id().map_or(0, |id| id.0) + 1);
            let event = Event::from_new(id, new);
            for w in self.webhooks.values() {
                if w.wants(&event) {
                    let d = Delivery::pending(w, &event);
                    self.deliveries.insert(d.id, d);
                }
            }
            self.events.push(event);
        }
        for n in &fx.notifications {
            self.notifications.insert(n.id, n.clone());
        }
        self.ticket_events.extend(fx.ticket_events.iter().cloned());
        self.write_mail(&fx.mail);
        for new in &fx.surveys {
            let taken = self
                .surveys
                .values()
                .any(|o| o.ticket_id == new.ticket_id && o.cycle == new.cycle);
            if !taken {
                self.surveys.insert(new.id, new.clone());
            }
        }
    }

    /// `Conflict::Duplicate` if `fx` holds an inbound record whose mail its mailbox
    /// has: checked before an operation changes anything.
    fn check_effects(&self, fx: &Effects) -> StoreResult<()> {
        match &fx.mail.inbound {
            Some(w)
                if self.inbound.values().any(|(r, _)| {
                    r.mailbox_id == w.record.mailbox_id && r.dedupe_key == w.record.dedupe_key
                }) =>
            {
                Err(StoreError::Conflict(Conflict::Duplicate))
            }
            _ => Ok(()),
        }
    }

    fn write_mail(&mut self, mail: &crate::email::MailEffects) {
        if let Some(w) = &mail.inbound {
            self.inbound
                .insert(w.record.id, (w.record.clone(), w.raw.clone()));
        }
        for w in &mail.outbound {
            self.outbound
                .insert(w.mail.id, (w.mail.clone(), w.raw.clone()));
        }
        for x in &mail.suppressions {
            self.suppressions
                .entry(x.address.clone())
                .or_insert_with(|| x.clone());
        }
        for id in &mail.bounced {
            if let Some((m, _)) = self.outbound.get_mut(id) {
                m.status = OutboundStatus::Bounced;
                m.next_attempt_at = None;
            }
        }
    }

    /// `NotFound` unless the organization a user or ticket names exists.
    fn check_organization(&self, id: Option<Uuid>) -> StoreResult<()> {
        match id {
            Some(id) if !self.organizations.contains_key(&id) => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }

    /// The conflict, if any, of writing `o` next to the other organizations.
    fn organization_conflict(&self, o: &Organization) -> Option<Conflict> {
        let others = || self.organizations.values().filter(|x| x.id != o.id);
        let key = o.name_key();
        if others().any(|x| x.name_key() == key) {
            return Some(Conflict::Name);
        }
        others()
            .any(|x| x.domains.iter().any(|d| o.domains.contains(d)))
            .then_some(Conflict::Domain)
    }

    fn email_taken(&self, email: &str, except: Uuid) -> bool {
        self.users
            .values()
            .any(|u| u.email == email && u.id != except)
    }

    fn check_attachable(&self, ids: &[Uuid]) -> StoreResult<()> {
        for id in ids {
            match self.attachments.get(id) {
                Some(a) if a.parent.is_none() => {}
                _ => return Err(StoreError::Conflict(Conflict::Attachment)),
            }
        }
        Ok(())
    }

    fn attach(&mut self, ids: &[Uuid], parent: AttachmentParent) {
        for id in ids {
            if let Some(a) = self.attachments.get_mut(id) {
                a.parent = Some(parent);
            }
        }
    }

    fn check_ticket_version(&self, t: &Ticket) -> StoreResult<()> {
        match self.tickets.get(&t.id) {
            None => Err(StoreError::NotFound),
            Some(old) if old.version + 1 != t.version => {
                Err(StoreError::Conflict(Conflict::Version))
            }
            Some(_) => Ok(()),
        }
    }

    fn insert_conversation(&mut self, conv: &Conversation) -> StoreResult<()> {
        if let Some(key) = &conv.direct_key
            && self
                .conversations
                .values()
                .any(|c| c.conv.direct_key.as_ref() == Some(key))
        {
            return Err(StoreError::Conflict(Conflict::Direct));
        }
        let participants = conv
            .members
            .iter()
            .map(|m| (m.user_id, Participant::joined(conv, m.user_id, None)))
            .collect();
        self.conversations
            .insert(conv.id, ConversationData::new(conv.clone(), participants));
        Ok(())
    }

    fn event(&self, id: EventId) -> Option<&Event> {
        self.events
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.events[i])
    }

    fn remove_attachment(&mut self, id: Uuid) {
        self.attachments.remove(&id);
        self.blobs.remove(&id);
    }
}

fn page_after<T>(
    mut items: Vec<T>,
    cursor: Option<Cursor>,
    limit: usize,
    descending: bool,
    key: impl Fn(&T) -> (i64, Uuid),
) -> Vec<T> {
    items.sort_by_key(|t| key(t));
    if descending {
        items.reverse();
    }
    items
        .into_iter()
        .filter(|t| {
            let (k, id) = key(t);
            cursor.is_none_or(|c| {
                if descending {
                    c.is_before_desc(k, id)
                } else {
                    c.is_before(k, id)
                }
            })
        })
        .take(limit + 1)
        .collect()
}

#[async_trait]
impl MetaStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        self.lock().map(|_| ())
    }
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.lock()?.settings.get(key).cloned())
    }
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        Ok(self
            .lock()?
            .settings
            .entry(key.to_string())
            .or_insert_with(|| value.to_string())
            .clone())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn insert_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        if s.email_taken(&user.email, user.id) || s.users.contains_key(&user.id) {
            return Err(StoreError::Conflict(Conflict::Email));
        }
        s.check_organization(user.organization_id)?;
        s.staff_change(None, user)?;
        s.users.insert(user.id, user.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn update_user(&self, user: &User, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let Some(before) = s.users.get(&user.id).map(|u| u.role) else {
            return Err(StoreError::NotFound);
        };
        if s.email_taken(&user.email, user.id) {
            return Err(StoreError::Conflict(Conflict::Email));
        }
        s.check_organization(user.organization_id)?;
        s.staff_change(Some(before), user)?;
        s.users.insert(user.id, user.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>> {
        Ok(self.lock()?.users.get(&id).cloned())
    }
    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        Ok(self
            .lock()?
            .users
            .values()
            .find(|u| u.email == email)
            .cloned())
    }
    async fn list_users(&self, q: &UserQuery) -> StoreResult<Vec<User>> {
        let s = self.lock()?;
        let needle = q.q.as_ref().map(|q| q.to_lowercase());
        let users = s
            .users
            .values()
            .filter(|u| q.role.is_none_or(|r| r == u.role))
            .filter(|u| {
                q.organization_id
                    .is_none_or(|o| u.organization_id == Some(o))
            })
            .filter(|u| {
                needle.as_ref().is_none_or(|n| {
                    u.name.to_lowercase().contains(n) || u.email.to_lowercase().contains(n)
                })
            })
            .cloned()
            .collect();
        Ok(page_after(users, q.cursor, q.limit, false, |u| {
            (u.created_at.timestamp_micros(), u.id)
        }))
    }
    async fn count_users(&self) -> StoreResult<u64> {
        Ok(self.lock()?.users.len() as u64)
    }
    async fn staff_ids(&self) -> StoreResult<Vec<Uuid>> {
        let s = self.lock()?;
        let mut ids: Vec<Uuid> = s
            .users
            .values()
            .filter(|u| u.is_active && matches!(u.role, Role::Admin | Role::Agent))
            .map(|u| u.id)
            .collect();
        ids.sort();
        Ok(ids)
    }
    async fn insert_session(&self, session: &Session) -> StoreResult<()> {
        self.lock()?.sessions.insert(session.id, session.clone());
        Ok(())
    }
    async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>> {
        Ok(self.lock()?.sessions.get(&id).cloned())
    }
    async fn rotate_refresh(
        &self,
        id: Uuid,
        expected_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut s = self.lock()?;
        match s.sessions.get_mut(&id) {
            Some(sess) if sess.revoked_at.is_none() && sess.refresh_hash == expected_hash => {
                sess.refresh_hash = new_hash.to_string();
                sess.refresh_expires_at = new_expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        if let Some(sess) = self.lock()?.sessions.get_mut(&id) {
            sess.revoked_at.get_or_insert(at);
        }
        Ok(())
    }
    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        for sess in self.lock()?.sessions.values_mut() {
            if sess.user_id == user_id && Some(sess.id) != except {
                sess.revoked_at.get_or_insert(at);
            }
        }
        Ok(())
    }
    async fn recent_attempts(
        &self,
        windows: &[AttemptWindow],
    ) -> StoreResult<Vec<Vec<DateTime<Utc>>>> {
        let s = self.lock()?;
        Ok(windows
            .iter()
            .map(|w| {
                let times = s.attempts.get(&w.key).map(Vec::as_slice).unwrap_or(&[]);
                times
                    .iter()
                    .rev()
                    .take_while(|t| **t > w.since)
                    .take(w.limit)
                    .copied()
                    .collect()
            })
            .collect())
    }
    async fn record_attempt(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.attempts.retain(|_, times| {
            times.retain(|t| *t >= forget_before);
            !times.is_empty()
        });
        for key in keys {
            let times = s.attempts.entry(key.clone()).or_default();
            let i = times.partition_point(|t| *t <= at);
            times.insert(i, at);
        }
        Ok(())
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if !s.users.contains_key(&key.user_id) {
            return Err(StoreError::NotFound);
        }
        if s.api_keys.values().any(|k| k.token_hash == key.token_hash)
            || s.api_keys.contains_key(&key.id)
        {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.api_keys
            .values()
            .filter(|k| k.user_id == key.user_id)
            .count()
            >= limit
        {
            return Ok(false);
        }
        s.api_keys.insert(key.id, key.clone());
        Ok(true)
    }
    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>> {
        Ok(self.lock()?.api_keys.get(&id).cloned())
    }
    async fn get_api_key_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>> {
        Ok(self
            .lock()?
            .api_keys
            .values()
            .find(|k| k.token_hash == token_hash)
            .cloned())
    }
    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self
            .lock()?
            .api_keys
            .values()
            .filter(|k| k.user_id == user_id)
            .cloned()
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.id)));
        Ok(keys)
    }
    async fn delete_api_key(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock()?.api_keys.remove(&id).is_some())
    }
    async fn touch_api_key(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        if let Some(k) = self.lock()?.api_keys.get_mut(&id) {
            k.last_used_at = Some(at);
        }
        Ok(())
    }
}

#[async_trait]
impl GroupStore for MemoryStore {
    async fn insert_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        let mut s = self.lock()?;
        if s.name_taken(group) || s.groups.contains_key(&group.id) {
            return Err(StoreError::Conflict(Conflict::Name));
        }
        let former = s.take_default_flag(group);
        s.groups.insert(group.id, group.clone());
        s.write_effects(&effects(&former));
        Ok(())
    }
    async fn update_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()> {
        let mut s = self.lock()?;
        let old = s.groups.get(&group.id).ok_or(StoreError::NotFound)?;
        if old.is_default && !group.is_default {
            return Err(StoreError::Conflict(Conflict::Default));
        }
        if s.name_taken(group) {
            return Err(StoreError::Conflict(Conflict::Name));
        }
        let former = s.take_default_flag(group);
        s.groups.insert(group.id, group.clone());
        s.write_effects(&effects(&former));
        Ok(())
    }
    async fn delete_group(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let g = s.groups.get(&id).ok_or(StoreError::NotFound)?;
        if g.is_default {
            return Err(StoreError::Conflict(Conflict::Default));
        }
        if s.tickets.values().any(|t| t.group_id == id)
            || s.canned_replies.values().any(|r| r.group_id == Some(id))
            || s.views.values().any(|v| v.group_id == Some(id))
        {
            return Err(StoreError::Conflict(Conflict::InUse));
        }
        s.groups.remove(&id);
        s.members.remove(&id);
        s.write_effects(fx);
        Ok(())
    }
    async fn get_group(&self, id: Uuid) -> StoreResult<Option<Group>> {
        Ok(self.lock()?.groups.get(&id).cloned())
    }
    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let mut groups: Vec<Group> = self.lock()?.groups.values().cloned().collect();
        crate::group::sort_groups(&mut groups);
        Ok(groups)
    }
    async fn default_group(&self) -> StoreResult<Group> {
        self.lock()?.default_group().cloned()
    }
    async fn put_membership(
        &self,
        m: &Membership,
        effects: EffectsFn<'_, Option<Membership>>,
    ) -> StoreResult<Option<Membership>> {
        let mut s = self.lock()?;
        if !s.groups.contains_key(&m.group_id) || !s.users.contains_key(&m.user_id) {
            return Err(StoreError::NotFound);
        }
        let list = s.members.entry(m.group_id).or_default();
        let previous = crate::group::upsert_member(list, m);
        s.write_effects(&effects(&previous));
        Ok(previous)
    }
    async fn remove_membership(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        effects: EffectsFn<'_, Membership>,
    ) -> StoreResult<Membership> {
        let mut s = self.lock()?;
        let list = s.members.get_mut(&group_id).ok_or(StoreError::NotFound)?;
        let i = list
            .iter()
            .position(|m| m.user_id == user_id)
            .ok_or(StoreError::NotFound)?;
        let removed = list.remove(i);
        s.write_effects(&effects(&removed));
        Ok(removed)
    }
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<Membership>> {
        let mut v = self
            .lock()?
            .members
            .get(&group_id)
            .cloned()
            .unwrap_or_default();
        v.sort_by_key(|m| (m.created_at, m.user_id));
        Ok(v)
    }
    async fn user_memberships(&self, user_id: Uuid) -> StoreResult<Vec<Membership>> {
        let s = self.lock()?;
        let mut v: Vec<Membership> = s
            .members
            .values()
            .flatten()
            .filter(|m| m.user_id == user_id)
            .cloned()
            .collect();
        v.sort_by_key(|m| m.group_id);
        Ok(v)
    }
}

#[async_trait]
impl ViewStore for MemoryStore {
    async fn insert_view(&self, v: &View, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if let Some(g) = v.group_id
            && !s.groups.contains_key(&g)
        {
            return Err(StoreError::NotFound);
        }
        if s.views.contains_key(&v.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        let bucket = v.bucket();
        if s.views.values().filter(|x| x.bucket() == bucket).count() >= limit {
            return Ok(false);
        }
        s.views.insert(v.id, v.clone());
        Ok(true)
    }
    async fn update_view(&self, v: &View) -> StoreResult<()> {
        let mut s = self.lock()?;
        let stored = s.views.get_mut(&v.id).ok_or(StoreError::NotFound)?;
        stored.name = v.name.clone();
        stored.filter = v.filter.clone();
        stored.sort = v.sort;
        stored.position = v.position;
        stored.updated_at = v.updated_at;
        Ok(())
    }
    async fn delete_view(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock()?.views.remove(&id).is_some())
    }
    async fn get_view(&self, id: Uuid) -> StoreResult<Option<View>> {
        Ok(self.lock()?.views.get(&id).cloned())
    }
    async fn list_views(&self, user: &ScopeUser) -> StoreResult<Vec<View>> {
        let mut views: Vec<View> = self
            .lock()?
            .views
            .values()
            .filter(|v| user.may_use(*v))
            .cloned()
            .collect();
        crate::view::sort_views(&mut views);
        Ok(views)
    }
    async fn all_views(&self) -> StoreResult<Vec<View>> {
        let mut views: Vec<View> = self.lock()?.views.values().cloned().collect();
        crate::view::sort_views(&mut views);
        Ok(views)
    }
}

#[async_trait]
impl SchemaStore for MemoryStore {
    async fn schema_stamp(&self) -> StoreResult<u64> {
        Ok(self.lock()?.schema_stamp)
    }
    async fn list_statuses(&self) -> StoreResult<Vec<Status>> {
        let mut all: Vec<Status> = self.lock()?.statuses.values().cloned().collect();
        crate::status::sort_statuses(&mut all);
        Ok(all)
    }
    async fn insert_status(&self, st: &Status, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        if s.statuses.contains_key(&st.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.statuses.values().any(|x| x.key == st.key) {
            return Err(StoreError::Conflict(Conflict::Key));
        }
        if s.statuses
            .values()
            .filter(|x| x.category == st.category)
            .count()
            >= limit
        {
            return Ok(false);
        }
        s.statuses.insert(st.id, st.clone());
        Ok(true)
    }
    async fn update_status(&self, st: &Status) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let stored = s.statuses.get_mut(&st.id).ok_or(StoreError::NotFound)?;
        stored.agent_label = st.agent_label.clone();
        stored.customer_label = st.customer_label.clone();
        stored.position = st.position;
        stored.active = st.active;
        stored.updated_at = st.updated_at;
        Ok(())
    }
    async fn delete_status(&self, id: Uuid) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let st = s.statuses.get(&id).ok_or(StoreError::NotFound)?;
        if st.is_default {
            return Err(StoreError::Conflict(Conflict::Default));
        }
        if s.tickets.values().any(|t| t.status == st.key) {
            return Err(StoreError::Conflict(Conflict::InUse));
        }
        s.statuses.remove(&id);
        Ok(())
    }
    async fn list_fields(&self) -> StoreResult<Vec<CustomField>> {
        let mut all: Vec<CustomField> = self.lock()?.fields.values().cloned().collect();
        crate::custom_field::sort_fields(&mut all);
        Ok(all)
    }
    async fn insert_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        if s.fields.contains_key(&f.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.fields.values().any(|x| x.key == f.key) {
            return Err(StoreError::Conflict(Conflict::Key));
        }
        if f.active && s.fields.values().filter(|x| x.active).count() >= limit {
            return Ok(false);
        }
        s.fields.insert(f.id, f.clone());
        Ok(true)
    }
    async fn update_field(&self, f: &CustomField, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        let active = s.fields.values().filter(|x| x.active).count();
        let stored = s.fields.get_mut(&f.id).ok_or(StoreError::NotFound)?;
        if f.active && !stored.active && active >= limit {
            return Ok(false);
        }
        *stored = CustomField {
            key: stored.key.clone(),
            field_type: stored.field_type,
            created_at: stored.created_at,
            ..f.clone()
        };
        Ok(true)
    }
    async fn delete_field(&self, id: Uuid) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let f = s.fields.get(&id).ok_or(StoreError::NotFound)?;
        if s.tickets.values().any(|t| t.fields.contains_key(&f.key)) {
            return Err(StoreError::Conflict(Conflict::InUse));
        }
        s.fields.remove(&id);
        Ok(())
    }
}

#[async_trait]
impl CalendarStore for MemoryStore {
    async fn insert_calendar(&self, c: &Calendar, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        if s.calendars.contains_key(&c.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.calendars.len() >= limit {
            return Ok(false);
        }
        s.calendars.insert(c.id, c.clone());
        Ok(true)
    }
    async fn update_calendar(&self, c: &Calendar) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let stored = s.calendars.get_mut(&c.id).ok_or(StoreError::NotFound)?;
        stored.name = c.name.clone();
        stored.timezone = c.timezone.clone();
        stored.hours = c.hours.clone();
        stored.holidays = c.holidays.clone();
        stored.updated_at = c.updated_at;
        Ok(())
    }
    async fn delete_calendar(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock_schema()?.calendars.remove(&id).is_some())
    }
    async fn get_calendar(&self, id: Uuid) -> StoreResult<Option<Calendar>> {
        Ok(self.lock()?.calendars.get(&id).cloned())
    }
    async fn list_calendars(&self) -> StoreResult<Vec<Calendar>> {
        let mut calendars: Vec<Calendar> = self.lock()?.calendars.values().cloned().collect();
        crate::calendar::sort_calendars(&mut calendars);
        Ok(calendars)
    }
}

#[async_trait]
impl MailboxStore for MemoryStore {
    async fn insert_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        let mut s = self.lock()?;
        if s.mailboxes.contains_key(&m.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        s.put_mailbox(m.clone())
    }
    async fn update_mailbox(&self, m: &Mailbox) -> StoreResult<()> {
        let mut s = self.lock()?;
        let stored = s.mailboxes.get(&m.id).ok_or(StoreError::NotFound)?;
        let mut next = m.clone();
        if let (Inbound::Imap(old), Inbound::Imap(new)) = (&stored.inbound, &mut next.inbound)
            && old.same_folder(new)
        {
            new.state = old.state.clone();
        }
        s.put_mailbox(next)
    }
    async fn delete_mailbox(&self, id: Uuid) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if s.tickets.values().any(|t| t.mailbox_id == Some(id)) {
            return Err(StoreError::Conflict(Conflict::InUse));
        }
        s.mailbox_leases.remove(&id);
        Ok(s.mailboxes.remove(&id).is_some())
    }
    async fn get_mailbox(&self, id: Uuid) -> StoreResult<Option<Mailbox>> {
        Ok(self.lock()?.mailboxes.get(&id).cloned())
    }
    async fn get_mailbox_by_address(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        let s = self.lock()?;
        Ok(s.mailboxes.values().find(|m| m.address == address).cloned())
    }
    async fn list_mailboxes(&self) -> StoreResult<Vec<Mailbox>> {
        let mut all: Vec<Mailbox> = self.lock()?.mailboxes.values().cloned().collect();
        crate::mailbox::sort_mailboxes(&mut all);
        Ok(all)
    }
    async fn set_mailbox_imap_state(&self, id: Uuid, state: &ImapState) -> StoreResult<bool> {
        let mut s = self.lock()?;
        let m = s.mailboxes.get_mut(&id).ok_or(StoreError::NotFound)?;
        match &mut m.inbound {
            Inbound::Imap(imap) => {
                imap.state = state.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn lease_mailbox(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if !s.mailboxes.contains_key(&id) {
            return Err(StoreError::NotFound);
        }
        let free = match s.mailbox_leases.get(&id) {
            Some(&(held_by, held_until)) => held_by == holder || held_until <= now,
            None => true,
        };
        if free {
            s.mailbox_leases.insert(id, (holder, until));
        }
        Ok(free)
    }
}

impl State {
    /// Writes a mailbox under the address rule, clearing the other mailboxes' default
    /// flag if it has it.
    fn put_mailbox(&mut self, m: Mailbox) -> StoreResult<()> {
        if self
            .mailboxes
            .values()
            .any(|o| o.id != m.id && o.address == m.address)
        {
            return Err(StoreError::Conflict(Conflict::Address));
        }
        if m.is_default {
            for o in self.mailboxes.values_mut() {
                o.is_default = false;
            }
        }
        self.mailboxes.insert(m.id, m);
        Ok(())
    }
}

#[async_trait]
impl CsatStore for MemoryStore {
    async fn get_survey_by_token(&self, token_hash: &str) -> StoreResult<Option<Survey>> {
        Ok(self
            .lock()?
            .surveys
            .values()
            .find(|v| v.token_hash == token_hash)
            .cloned())
    }
    async fn list_ticket_surveys(&self, ticket_id: Uuid) -> StoreResult<Vec<Survey>> {
        let mut surveys: Vec<Survey> = self
            .lock()?
            .surveys
            .values()
            .filter(|v| v.ticket_id == ticket_id)
            .cloned()
            .collect();
        surveys.sort_by_key(|v| v.cycle);
        Ok(surveys)
    }
    async fn respond_survey(&self, survey: &Survey, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let stored = s.surveys.get_mut(&survey.id).ok_or(StoreError::NotFound)?;
        stored.rating = survey.rating;
        stored.comment = survey.comment.clone();
        stored.responded_at = survey.responded_at;
        s.write_effects(fx);
        Ok(())
    }
    async fn list_surveys(&self, q: &SurveyQuery) -> StoreResult<Vec<Survey>> {
        let mut surveys: Vec<Survey> = self
            .lock()?
            .surveys
            .values()
            .filter(|v| q.matches(v))
            .cloned()
            .collect();
        surveys.sort_by_key(|v| v.id);
        Ok(surveys)
    }
}

#[async_trait]
impl MacroStore for MemoryStore {
    async fn insert_macro(&self, m: &Macro, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if s.macros.contains_key(&m.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.macros.len() >= limit {
            return Ok(false);
        }
        s.macros.insert(m.id, m.clone());
        Ok(true)
    }
    async fn update_macro(&self, m: &Macro) -> StoreResult<()> {
        let mut s = self.lock()?;
        let stored = s.macros.get_mut(&m.id).ok_or(StoreError::NotFound)?;
        stored.name = m.name.clone();
        stored.actions = m.actions.clone();
        stored.position = m.position;
        stored.updated_at = m.updated_at;
        Ok(())
    }
    async fn delete_macro(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock()?.macros.remove(&id).is_some())
    }
    async fn get_macro(&self, id: Uuid) -> StoreResult<Option<Macro>> {
        Ok(self.lock()?.macros.get(&id).cloned())
    }
    async fn list_macros(&self) -> StoreResult<Vec<Macro>> {
        let mut macros: Vec<Macro> = self.lock()?.macros.values().cloned().collect();
        crate::macros::sort_macros(&mut macros);
        Ok(macros)
    }
}

#[async_trait]
impl SlaStore for MemoryStore {
    async fn list_sla_policies(&self) -> StoreResult<Vec<SlaPolicy>> {
        let mut all: Vec<SlaPolicy> = self.lock()?.sla_policies.values().cloned().collect();
        crate::sla_policy::sort_policies(&mut all);
        Ok(all)
    }
    async fn insert_sla_policy(&self, policy: &SlaPolicy, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        if s.sla_policies.contains_key(&policy.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.sla_policies.len() >= limit {
            return Ok(false);
        }
        s.sla_policies.insert(policy.id, policy.clone());
        Ok(true)
    }
    async fn update_sla_policy(&self, policy: &SlaPolicy) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let stored = s
            .sla_policies
            .get_mut(&policy.id)
            .ok_or(StoreError::NotFound)?;
        *stored = SlaPolicy {
            created_at: stored.created_at,
            ..policy.clone()
        };
        Ok(())
    }
    async fn delete_sla_policy(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock_schema()?.sla_policies.remove(&id).is_some())
    }
}

#[async_trait]
impl RuleStore for MemoryStore {
    async fn insert_rule(&self, r: &Rule, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        if s.rules.contains_key(&r.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.rules.len() >= limit {
            return Ok(false);
        }
        s.rules.insert(r.id, r.clone());
        Ok(true)
    }
    async fn update_rule(&self, r: &Rule) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        let stored = s.rules.get_mut(&r.id).ok_or(StoreError::NotFound)?;
        let kind = stored.kind;
        *stored = Rule {
            kind,
            created_at: stored.created_at,
            ..r.clone()
        };
        Ok(())
    }
    async fn delete_rule(&self, id: Uuid) -> StoreResult<bool> {
        let mut s = self.lock_schema()?;
        s.rule_runs.remove(&id);
        s.rule_inside.retain(|(r, _)| *r != id);
        Ok(s.rules.remove(&id).is_some())
    }
    async fn get_rule(&self, id: Uuid) -> StoreResult<Option<Rule>> {
        Ok(self.lock()?.rules.get(&id).cloned())
    }
    async fn list_rules(&self) -> StoreResult<Vec<Rule>> {
        let mut rules: Vec<Rule> = self.lock()?.rules.values().cloned().collect();
        crate::rule::sort_rules(&mut rules);
        Ok(rules)
    }
    async fn insert_rule_run(&self, run: &RuleRun, keep: usize) -> StoreResult<()> {
        let mut s = self.lock()?;
        let runs = s.rule_runs.entry(run.rule_id).or_default();
        runs.push(run.clone());
        runs.sort_by_key(|r| (r.at, r.id));
        let cut = runs.len().saturating_sub(keep);
        runs.drain(..cut);
        Ok(())
    }
    async fn list_rule_runs(&self, rule_id: Uuid, limit: usize) -> StoreResult<Vec<RuleRun>> {
        let mut runs = self
            .lock()?
            .rule_runs
            .get(&rule_id)
            .cloned()
            .unwrap_or_default();
        crate::rule::sort_runs(&mut runs);
        runs.truncate(limit);
        Ok(runs)
    }
    async fn rule_inside(&self, rule_id: Uuid, ticket_id: Uuid) -> StoreResult<bool> {
        Ok(self.lock()?.rule_inside.contains(&(rule_id, ticket_id)))
    }
    async fn set_rule_inside(
        &self,
        rule_id: Uuid,
        ticket_id: Uuid,
        inside: bool,
    ) -> StoreResult<()> {
        let mut s = self.lock()?;
        if inside {
            s.rule_inside.insert((rule_id, ticket_id));
        } else {
            s.rule_inside.remove(&(rule_id, ticket_id));
        }
        Ok(())
    }
    async fn clear_rule_inside(&self, rule_id: Uuid) -> StoreResult<()> {
        self.lock()?.rule_inside.retain(|(r, _)| *r != rule_id);
        Ok(())
    }
}

#[async_trait]
impl CannedReplyStore for MemoryStore {
    async fn insert_canned_reply(&self, r: &CannedReply, limit: usize) -> StoreResult<bool> {
        let mut s = self.lock()?;
        if let Some(g) = r.group_id
            && !s.groups.contains_key(&g)
        {
            return Err(StoreError::NotFound);
        }
        if s.canned_replies.contains_key(&r.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if s.canned_replies.values().any(|x| x.shortcut == r.shortcut) {
            return Err(StoreError::Conflict(Conflict::Shortcut));
        }
        let bucket = r.bucket();
        if s.canned_replies
            .values()
            .filter(|x| x.bucket() == bucket)
            .count()
            >= limit
        {
            return Ok(false);
        }
        s.canned_replies.insert(r.id, r.clone());
        Ok(true)
    }
    async fn update_canned_reply(&self, r: &CannedReply) -> StoreResult<()> {
        let mut s = self.lock()?;
        if s.canned_replies
            .values()
            .any(|x| x.shortcut == r.shortcut && x.id != r.id)
        {
            return Err(StoreError::Conflict(Conflict::Shortcut));
        }
        let stored = s
            .canned_replies
            .get_mut(&r.id)
            .ok_or(StoreError::NotFound)?;
        stored.title = r.title.clone();
        stored.shortcut = r.shortcut.clone();
        stored.body = r.body.clone();
        stored.updated_at = r.updated_at;
        Ok(())
    }
    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool> {
        Ok(self.lock()?.canned_replies.remove(&id).is_some())
    }
    async fn get_canned_reply(&self, id: Uuid) -> StoreResult<Option<CannedReply>> {
        Ok(self.lock()?.canned_replies.get(&id).cloned())
    }
    async fn list_canned_replies(&self, q: &CannedReplyQuery) -> StoreResult<Vec<CannedReply>> {
        let mut replies: Vec<CannedReply> = self
            .lock()?
            .canned_replies
            .values()
            .filter(|r| q.matches(r) && q.after_cursor(r))
            .cloned()
            .collect();
        crate::canned_reply::sort_canned_replies(&mut replies);
        replies.truncate(q.limit.saturating_add(1));
        Ok(replies)
    }
}

#[async_trait]
impl OrganizationStore for MemoryStore {
    async fn insert_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        if s.organizations.contains_key(&org.id) {
            return Err(StoreError::Conflict(Conflict::Unique));
        }
        if let Some(c) = s.organization_conflict(org) {
            return Err(StoreError::Conflict(c));
        }
        s.organizations.insert(org.id, org.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn update_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        if !s.organizations.contains_key(&org.id) {
            return Err(StoreError::NotFound);
        }
        if let Some(c) = s.organization_conflict(org) {
            return Err(StoreError::Conflict(c));
        }
        s.organizations.insert(org.id, org.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn delete_organization(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.organizations.remove(&id).ok_or(StoreError::NotFound)?;
        for u in s.users.values_mut() {
            if u.organization_id == Some(id) {
                u.organization_id = None;
                u.is_org_manager = false;
            }
        }
        for t in s.tickets.values_mut() {
            if t.organization_id == Some(id) {
                t.organization_id = None;
                t.version += 1;
            }
        }
        s.write_effects(fx);
        Ok(())
    }
    async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        Ok(self.lock()?.organizations.get(&id).cloned())
    }
    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        Ok(self
            .lock()?
            .organizations
            .values()
            .find(|o| o.domains.iter().any(|d| d == domain))
            .cloned())
    }
    async fn list_organizations(&self, q: &OrganizationQuery) -> StoreResult<Vec<Organization>> {
        let mut orgs: Vec<Organization> = self
            .lock()?
            .organizations
            .values()
            .filter(|o| q.matches(o) && q.after_cursor(o))
            .cloned()
            .collect();
        crate::organization::sort_organizations(&mut orgs);
        orgs.truncate(q.limit.saturating_add(1));
        Ok(orgs)
    }
}

#[async_trait]
impl TicketStore for MemoryStore {
    async fn create_ticket(
        &self,
        new: &TicketInsert,
        effects: EffectsFn<'_, Ticket>,
    ) -> StoreResult<Ticket> {
        let mut s = self.lock()?;
        if !s.groups.contains_key(&new.ticket.group_id) {
            return Err(StoreError::NotFound);
        }
        s.check_organization(new.ticket.organization_id)?;
        s.check_attachable(&new.attachment_ids)?;
        let mut ticket = new.ticket.clone();
        ticket.number = s.ticket_numbers + 1;
        let fx = effects(&ticket);
        s.check_effects(&fx)?;
        s.insert_conversation(&new.conversation)?;
        s.ticket_numbers = ticket.number;
        s.attach(
            &new.attachment_ids,
            AttachmentParent::Ticket {
                ticket_id: ticket.id,
            },
        );
        s.tickets.insert(ticket.id, ticket.clone());
        s.write_effects(&fx);
        Ok(ticket)
    }
    async fn update_ticket(
        &self,
        ticket: &Ticket,
        change: Option<&MemberChange>,
        fx: &Effects,
    ) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.check_ticket_version(ticket)?;
        if !s.groups.contains_key(&ticket.group_id) {
            return Err(StoreError::NotFound);
        }
        s.check_organization(ticket.organization_id)?;
        let data = s
            .conversations
            .get_mut(&ticket.conversation_id)
            .ok_or(StoreError::NotFound)?;
        let changed = match change {
            Some(MemberChange::Join { member, .. }) if !data.conv.is_member(member.user_id) => {
                data.conv.members.push(*member);
                let existing = data.participants.remove(&member.user_id);
                let p = Participant::joined(&data.conv, member.user_id, existing);
                data.participants.insert(member.user_id, p);
                change
            }
            Some(MemberChange::Leave { user_id, .. }) if data.conv.is_member(*user_id) => {
                data.conv.members.retain(|m| m.user_id != *user_id);
                change
            }
            _ => None,
        };
        s.tickets.insert(ticket.id, ticket.clone());
        match changed {
            Some(c) => s.write_effects(&c.effects_with(fx)),
            None => s.write_effects(fx),
        }
        Ok(())
    }
    async fn delete_ticket(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let ticket = s.tickets.remove(&id).ok_or(StoreError::NotFound)?;
        // Merges through it end: its sources name nothing, its target lists it no more.
        for other in ticket
            .merged_ids
            .iter()
            .chain(ticket.merged_into_id.as_ref())
        {
            if let Some(t) = s.tickets.get_mut(other) {
                crate::ticket::forget_merge_with(t, id);
            }
        }
        s.ticket_events.retain(|e| e.ticket_id != id);
        s.surveys.retain(|_, v| v.ticket_id != id);
        for runs in s.rule_runs.values_mut() {
            runs.retain(|r| r.ticket_id != id);
        }
        s.rule_inside.retain(|(_, t)| *t != id);
        if let Some(data) = s.conversations.remove(&ticket.conversation_id) {
            for m in &data.messages {
                s.message_index.remove(&m.id);
            }
        }
        let doomed: Vec<Uuid> = s
            .attachments
            .values()
            .filter(|a| match a.parent {
                Some(AttachmentParent::Ticket { ticket_id }) => ticket_id == id,
                Some(AttachmentParent::Message {
                    conversation_id, ..
                }) => conversation_id == ticket.conversation_id,
                None => false,
            })
            .map(|a| a.id)
            .collect();
        for a in doomed {
            s.remove_attachment(a);
        }
        s.write_effects(fx);
        Ok(())
    }
    async fn update_tickets(&self, tickets: &[Ticket], fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        for t in tickets {
            s.check_ticket_version(t)?;
        }
        for t in tickets {
            s.tickets.insert(t.id, t.clone());
        }
        s.write_effects(fx);
        Ok(())
    }
    async fn get_ticket(&self, id: Uuid) -> StoreResult<Option<Ticket>> {
        Ok(self.lock()?.tickets.get(&id).cloned())
    }
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Uuid>> {
        let mut s = self.lock()?;
        let held = |t: &Ticket| {
            s.due_holds
                .get(&t.id)
                .is_some_and(|(until, version)| *until > now && *version == t.version)
        };
        let mut due: Vec<(DateTime<Utc>, Uuid, u64)> = s
            .tickets
            .values()
            .filter(|t| !held(t))
            .filter_map(|t| crate::schedule::next_due_at(t).map(|at| (at, t.id, t.version)))
            .filter(|(at, _, _)| *at <= now)
            .collect();
        due.sort();
        due.truncate(limit);
        s.due_holds.retain(|_, (until, _)| *until > now);
        for (_, id, version) in &due {
            s.due_holds.insert(*id, (hold_until, *version));
        }
        Ok(due.into_iter().map(|(_, id, _)| id).collect())
    }
    async fn get_ticket_by_number(&self, number: i64) -> StoreResult<Option<Ticket>> {
        Ok(self
            .lock()?
            .tickets
            .values()
            .find(|t| t.number == number)
            .cloned())
    }
    async fn list_tickets(&self, q: &TicketQuery) -> StoreResult<Vec<Ticket>> {
        let s = self.lock()?;
        let tickets = s
            .tickets
            .values()
            .filter(|t| q.matches(t))
            .cloned()
            .collect();
        Ok(page_after(
            tickets,
            q.cursor,
            q.limit,
            q.sort.descending(),
            |t| (q.sort.key(t), t.id),
        ))
    }
    async fn list_ticket_events(
        &self,
        ticket_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<TicketEvent>> {
        let s = self.lock()?;
        let events = s
            .ticket_events
            .iter()
            .filter(|e| e.ticket_id == ticket_id)
            .cloned()
            .collect();
        Ok(page_after(events, cursor, limit, false, |e| {
            (e.at.timestamp_micros(), e.id)
        }))
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn create_conversation(&self, conv: &Conversation, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.insert_conversation(conv)?;
        s.write_effects(fx);
        Ok(())
    }
    async fn find_direct(&self, direct_key: &str) -> StoreResult<Option<Conversation>> {
        Ok(self
            .lock()?
            .conversations
            .values()
            .find(|c| c.conv.direct_key.as_deref() == Some(direct_key))
            .map(|c| c.conv.clone()))
    }
    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        Ok(self.lock()?.conversations.get(&id).map(|c| c.conv.clone()))
    }
    async fn set_conversation_title(&self, id: Uuid, title: &str, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let data = s.conversations.get_mut(&id).ok_or(StoreError::NotFound)?;
        data.conv.title = Some(title.to_string());
        s.write_effects(fx);
        Ok(())
    }
    async fn add_member(&self, id: Uuid, member: Member, fx: &Effects) -> StoreResult<bool> {
        let mut s = self.lock()?;
        let data = s.conversations.get_mut(&id).ok_or(StoreError::NotFound)?;
        if data.conv.is_member(member.user_id) {
            return Ok(false);
        }
        data.conv.members.push(member);
        let existing = data.participants.remove(&member.user_id);
        let p = Participant::joined(&data.conv, member.user_id, existing);
        data.participants.insert(member.user_id, p);
        s.write_effects(fx);
        Ok(true)
    }
    async fn remove_member(&self, id: Uuid, user_id: Uuid, fx: &Effects) -> StoreResult<bool> {
        let mut s = self.lock()?;
        let data = s.conversations.get_mut(&id).ok_or(StoreError::NotFound)?;
        if !data.conv.is_member(user_id) {
            return Ok(false);
        }
        data.conv.members.retain(|m| m.user_id != user_id);
        s.write_effects(fx);
        Ok(true)
    }
    async fn list_conversations(
        &self,
        user_id: Uuid,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Conversation>> {
        let s = self.lock()?;
        let convs = s
            .conversations
            .values()
            .filter(|c| c.conv.is_member(user_id) && kind.is_none_or(|k| k == c.conv.kind))
            .map(|c| c.conv.clone())
            .collect();
        Ok(page_after(
            convs,
            cursor,
            limit,
            true,
            Conversation::list_position,
        ))
    }
    async fn member_conversations(&self, user_id: Uuid) -> StoreResult<Vec<Conversation>> {
        Ok(self
            .lock()?
            .conversations
            .values()
            .filter(|c| c.conv.is_member(user_id))
            .map(|c| c.conv.clone())
            .collect())
    }
    async fn append_message(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message> {
        let mut s = self.lock()?;
        s.check_attachable(&new.attachment_ids)?;
        if let Some(t) = &new.ticket_update {
            s.check_ticket_version(t)?;
        }
        let parent_idx = match new.parent_id {
            None => None,
            Some(pid) => match s.message_index.get(&pid) {
                Some(&(conv, seq)) if conv == new.conversation_id => Some(seq as usize - 1),
                _ => return Err(StoreError::NotFound),
            },
        };
        let data = s
            .conversations
            .get(&new.conversation_id)
            .ok_or(StoreError::NotFound)?;
        // Appended on copies first: the effects may refuse the write (a duplicate mail).
        let mut conv = data.conv.clone();
        let sender = data.participants.get(&new.sender_id).cloned();
        let (message, participant) = apply_append(&mut conv, sender, new);
        let fx = effects(&message);
        s.check_effects(&fx)?;
        let data = s
            .conversations
            .get_mut(&new.conversation_id)
            .ok_or(StoreError::NotFound)?;
        data.conv = conv;
        data.participants.insert(new.sender_id, participant);
        if let Some(i) = parent_idx {
            data.messages[i].count_reply(new.internal);
        }
        data.push(message.clone());
        s.message_index
            .insert(message.id, (message.conversation_id, message.seq));
        s.attach(
            &new.attachment_ids,
            AttachmentParent::Message {
                conversation_id: message.conversation_id,
                message_id: message.id,
            },
        );
        if let Some(t) = &new.ticket_update {
            s.tickets.insert(t.id, t.clone());
        }
        s.write_effects(&fx);
        Ok(message)
    }
    async fn get_message(&self, conversation_id: Uuid, id: Uuid) -> StoreResult<Option<Message>> {
        let s = self.lock()?;
        let Some(&(conv, seq)) = s.message_index.get(&id) else {
            return Ok(None);
        };
        if conv != conversation_id {
            return Ok(None);
        }
        Ok(s.conversations
            .get(&conv)
            .and_then(|c| c.messages.get(seq as usize - 1))
            .cloned())
    }
    async fn get_message_by_seq(
        &self,
        conversation_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<Message>> {
        let s = self.lock()?;
        Ok(s.conversations
            .get(&conversation_id)
            .and_then(|c| c.messages.get((seq as usize).wrapping_sub(1)))
            .cloned())
    }
    async fn list_messages_across(
        &self,
        conversation_ids: &[Uuid],
        range: AcrossRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let s = self.lock()?;
        let mut all = Vec::new();
        for id in conversation_ids {
            if let Some(data) = s.conversations.get(id) {
                all.extend(
                    data.messages
                        .iter()
                        .filter(|m| include_internal || !m.internal)
                        .cloned(),
                );
            }
        }
        Ok(page_across(all, range, limit))
    }
    async fn list_messages(
        &self,
        conversation_id: Uuid,
        range: MessageRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>> {
        let s = self.lock()?;
        let Some(data) = s.conversations.get(&conversation_id) else {
            return Ok(Vec::new());
        };
        let visible = |m: &&Message| include_internal || !m.internal;
        let msgs = &data.messages;
        let out: Vec<Message> = match range {
            MessageRange::Latest => {
                let mut v: Vec<Message> = msgs
                    .iter()
                    .rev()
                    .filter(visible)
                    .take(limit)
                    .cloned()
                    .collect();
                v.reverse();
                v
            }
            MessageRange::Before(seq) => {
                let end = (seq.saturating_sub(1) as usize).min(msgs.len());
                let mut v: Vec<Message> = msgs[..end]
                    .iter()
                    .rev()
                    .filter(visible)
                    .take(limit)
                    .cloned()
                    .collect();
                v.reverse();
                v
            }
            MessageRange::After(seq) => {
                let start = (seq as usize).min(msgs.len());
                msgs[start..]
                    .iter()
                    .filter(visible)
                    .take(limit)
                    .cloned()
                    .collect()
            }
        };
        Ok(out)
    }
    async fn descendants(
        &self,
        conversation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Vec<(Message, u32)>> {
        let s = self.lock()?;
        let Some(data) = s.conversations.get(&conversation_id) else {
            return Ok(Vec::new());
        };
        // Replies always come after their parent, so one pass in seq order finds them all.
        let mut depth: HashMap<Uuid, u32> = HashMap::from([(id, 0)]);
        let mut out = Vec::new();
        for m in &data.messages {
            if let Some(d) = m.parent_id.and_then(|p| depth.get(&p).copied()) {
                depth.insert(m.id, d + 1);
                out.push((m.clone(), d + 1));
            }
        }
        Ok(out)
    }
    async fn update_message(&self, message: &Message, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let data = s
            .conversations
            .get_mut(&message.conversation_id)
            .ok_or(StoreError::NotFound)?;
        let m = data
            .messages
            .get_mut((message.seq as usize).wrapping_sub(1))
            .filter(|m| m.id == message.id)
            .ok_or(StoreError::NotFound)?;
        m.content = message.content.clone();
        m.edited_at = message.edited_at;
        m.deleted_at = message.deleted_at;
        s.write_effects(fx);
        Ok(())
    }
    async fn own_count_upto(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
        seq: u64,
    ) -> StoreResult<u64> {
        let s = self.lock()?;
        let Some(data) = s.conversations.get(&conversation_id) else {
            return Ok(0);
        };
        let Some(own) = data.own.get(&user_id) else {
            return Ok(0);
        };
        let upto = own.partition_point(|(s, _)| *s <= seq);
        Ok(upto.checked_sub(1).map_or(0, |i| own[i].1))
    }
    async fn get_participant(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<Participant>> {
        Ok(self
            .lock()?
            .conversations
            .get(&conversation_id)
            .and_then(|c| c.participants.get(&user_id))
            .cloned())
    }
    async fn participants(&self, conversation_id: Uuid) -> StoreResult<Vec<Participant>> {
        Ok(self
            .lock()?
            .conversations
            .get(&conversation_id)
            .map(|c| c.participants.values().cloned().collect())
            .unwrap_or_default())
    }
    async fn participants_of(
        &self,
        user_id: Uuid,
        conversation_ids: &[Uuid],
    ) -> StoreResult<Vec<Participant>> {
        let s = self.lock()?;
        Ok(conversation_ids
            .iter()
            .filter_map(|c| s.conversations.get(c))
            .filter_map(|c| c.participants.get(&user_id))
            .cloned()
            .collect())
    }
    async fn put_read_state(&self, p: &Participant, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let data = s
            .conversations
            .get_mut(&p.conversation_id)
            .ok_or(StoreError::NotFound)?;
        let stored_version = data.participants.get(&p.user_id).map_or(0, |x| x.version);
        if stored_version + 1 != p.version {
            return Err(StoreError::Conflict(Conflict::Version));
        }
        let mut next = p.clone();
        if let Some(old) = data.participants.get(&p.user_id) {
            next.delivered_seq = old.delivered_seq;
            next.delivered_marks = old.delivered_marks.clone();
            next.sent_count = old.sent_count;
        } else {
            next.delivered_seq = 0;
            next.delivered_marks.clear();
            next.sent_count = 0;
        }
        next.delivered_seq = next.delivered_seq.max(next.last_read_seq);
        data.participants.insert(p.user_id, next);
        s.write_effects(fx);
        Ok(())
    }
    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        at: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> StoreResult<Vec<bool>> {
        let mut s = self.lock()?;
        let data = s
            .conversations
            .get_mut(&conversation_id)
            .ok_or(StoreError::NotFound)?;
        let moved: Vec<bool> = advances
            .iter()
            .map(|a| {
                let p = data
                    .participants
                    .entry(a.user_id)
                    .or_insert_with(|| Participant::new(conversation_id, a.user_id));
                p.deliver_up_to(a.seq, at)
            })
            .collect();
        for (a, _) in advances.iter().zip(&moved).filter(|(_, m)| **m) {
            s.write_effects(&a.fx);
        }
        Ok(moved)
    }
}

#[async_trait]
impl NotificationStore for MemoryStore {
    async fn list_notifications(
        &self,
        user_id: Uuid,
        unread_only: bool,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>> {
        let s = self.lock()?;
        let items = s
            .notifications
            .values()
            .filter(|n| n.user_id == user_id && (!unread_only || n.read_at.is_none()))
            .cloned()
            .collect();
        Ok(page_after(items, cursor, limit, true, |n| {
            (n.created_at.timestamp_micros(), n.id)
        }))
    }
    async fn unread_notifications(&self, user_id: Uuid) -> StoreResult<u64> {
        Ok(self
            .lock()?
            .notifications
            .values()
            .filter(|n| n.user_id == user_id && n.read_at.is_none())
            .count() as u64)
    }
    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Notification>> {
        let mut s = self.lock()?;
        Ok(s.notifications
            .get_mut(&id)
            .filter(|n| n.user_id == user_id)
            .map(|n| {
                n.read_at.get_or_insert(at);
                n.clone()
            }))
    }
    async fn mark_all_notifications_read(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut s = self.lock()?;
        let mut changed = 0;
        for n in s.notifications.values_mut() {
            if n.user_id == user_id && n.read_at.is_none() {
                n.read_at = Some(at);
                changed += 1;
            }
        }
        Ok(changed)
    }
    async fn prune_read_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut s = self.lock()?;
        let was = s.notifications.len();
        s.notifications
            .retain(|_, n| n.read_at.is_none_or(|read| read >= before));
        Ok((was - s.notifications.len()) as u64)
    }
}

#[async_trait]
impl KbStore for MemoryStore {
    async fn kb_stamp(&self) -> StoreResult<u64> {
        Ok(self.lock()?.kb_stamp)
    }
    async fn insert_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock_kb()?;
        if s.articles.values().any(|a| a.slug == article.slug) {
            return Err(StoreError::Conflict(Conflict::Slug));
        }
        s.articles.insert(article.id, article.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn update_article(&self, article: &Article, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock_kb()?;
        if !s.articles.contains_key(&article.id) {
            return Err(StoreError::NotFound);
        }
        if s.articles
            .values()
            .any(|a| a.slug == article.slug && a.id != article.id)
        {
            return Err(StoreError::Conflict(Conflict::Slug));
        }
        s.articles.insert(article.id, article.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn delete_article(&self, id: Uuid, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock_kb()?;
        s.articles.remove(&id).ok_or(StoreError::NotFound)?;
        s.write_effects(fx);
        Ok(())
    }
    async fn get_article(&self, id: Uuid) -> StoreResult<Option<Article>> {
        Ok(self.lock()?.articles.get(&id).cloned())
    }
    async fn get_article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>> {
        Ok(self
            .lock()?
            .articles
            .values()
            .find(|a| a.slug == slug)
            .cloned())
    }
    async fn list_articles(&self, q: &ArticleQuery) -> StoreResult<Vec<Article>> {
        let s = self.lock()?;
        let items = s
            .articles
            .values()
            .filter(|a| q.matches(a))
            .cloned()
            .collect();
        Ok(page_after(items, None, q.limit, true, |a| {
            (a.created_at.timestamp_micros(), a.id)
        }))
    }
    async fn all_articles(&self, published_only: bool) -> StoreResult<Vec<Article>> {
        Ok(self
            .lock()?
            .articles
            .values()
            .filter(|a| !published_only || a.status == ArticleStatus::Published)
            .cloned()
            .collect())
    }
    async fn tag_counts(&self, published_only: bool) -> StoreResult<Vec<TagCount>> {
        let s = self.lock()?;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for a in s.articles.values() {
            if !published_only || a.status == ArticleStatus::Published {
                for t in &a.tags {
                    *counts.entry(t.clone()).or_default() += 1;
                }
            }
        }
        Ok(counts
            .into_iter()
            .map(|(tag, count)| TagCount { tag, count })
            .collect())
    }
}

#[async_trait]
impl AttachmentStore for MemoryStore {
    async fn put_blob_chunk(&self, blob_id: Uuid, index: u32, data: &[u8]) -> StoreResult<()> {
        self.lock()?
            .blobs
            .entry(blob_id)
            .or_default()
            .insert(index, data.to_vec());
        Ok(())
    }
    async fn get_blob_chunk(&self, blob_id: Uuid, index: u32) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .lock()?
            .blobs
            .get(&blob_id)
            .and_then(|b| b.get(&index))
            .cloned())
    }
    async fn delete_blob(&self, blob_id: Uuid) -> StoreResult<()> {
        self.lock()?.blobs.remove(&blob_id);
        Ok(())
    }
    async fn insert_attachment(&self, attachment: &Attachment, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.attachments.insert(attachment.id, attachment.clone());
        s.write_effects(fx);
        Ok(())
    }
    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>> {
        Ok(self.lock()?.attachments.get(&id).cloned())
    }
    async fn list_attachments(&self, parent: AttachmentParent) -> StoreResult<Vec<Attachment>> {
        let s = self.lock()?;
        let mut v: Vec<Attachment> = s
            .attachments
            .values()
            .filter(|a| a.parent == Some(parent))
            .cloned()
            .collect();
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }
    async fn unattached_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<Attachment>> {
        Ok(self
            .lock()?
            .attachments
            .values()
            .filter(|a| a.parent.is_none() && a.created_at < before)
            .cloned()
            .collect())
    }
    async fn delete_attachment(&self, id: Uuid) -> StoreResult<()> {
        self.lock()?.remove_attachment(id);
        Ok(())
    }
}

#[async_trait]
impl EphemeralStore for MemoryStore {
    async fn publish(&self, signal: &crate::ephemeral::Signal) -> StoreResult<()> {
        self.signals.publish(signal.clone())
    }
    async fn subscribe_signals(&self) -> StoreResult<SignalReceiver> {
        Ok(self.signals.subscribe())
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append_effects(&self, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.check_effects(fx)?;
        s.write_effects(fx);
        Ok(())
    }
    async fn events_after(&self, after: Option<EventId>, limit: usize) -> StoreResult<Vec<Event>> {
        let s = self.lock()?;
        let start = s.events.partition_point(|e| Some(e.id) <= after);
        Ok(s.events[start..].iter().take(limit).cloned().collect())
    }
    async fn last_event_id(&self) -> StoreResult<Option<EventId>> {
        Ok(self.lock()?.last_event_id())
    }
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut s = self.lock()?;
        let named: HashSet<EventId> = s.deliveries.values().map(|d| d.event_id).collect();
        let mut through = s.events_pruned_through;
        let was = s.events.len();
        s.events.retain(|e| {
            let keep = e.at >= before || named.contains(&e.id);
            if !keep {
                through = through.max(Some(e.id));
            }
            keep
        });
        s.events_pruned_through = through;
        Ok((was - s.events.len()) as u64)
    }
    async fn events_pruned_through(&self) -> StoreResult<Option<EventId>> {
        Ok(self.lock()?.events_pruned_through)
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn insert_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        self.lock()?.webhooks.insert(webhook.id, webhook.clone());
        Ok(())
    }
    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let mut s = self.lock()?;
        let w = s
            .webhooks
            .get_mut(&webhook.id)
            .ok_or(StoreError::NotFound)?;
        *w = webhook.clone();
        Ok(())
    }
    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()> {
        let mut s = self.lock()?;
        s.webhooks.remove(&id).ok_or(StoreError::NotFound)?;
        s.deliveries.retain(|_, d| d.webhook_id != id);
        Ok(())
    }
    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        Ok(self.lock()?.webhooks.get(&id).cloned())
    }
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let mut v: Vec<Webhook> = self.lock()?.webhooks.values().cloned().collect();
        v.sort_by_key(|w| (w.created_at, w.id));
        Ok(v)
    }
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut s = self.lock()?;
        let mut due: Vec<Delivery> = s
            .deliveries
            .values()
            .filter(|d| matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Failed))
            .filter(|d| d.next_attempt_at.is_some_and(|t| t <= now))
            .filter(|d| s.webhooks.get(&d.webhook_id).is_some_and(|w| w.active))
            .cloned()
            .collect();
        due.sort_by_key(|d| (d.next_attempt_at, d.event_id, d.id));
        due.truncate(limit);
        let mut out = Vec::with_capacity(due.len());
        for d in due {
            let Some(event) = s.event(d.event_id).cloned() else {
                continue;
            };
            let webhook = s.webhooks[&d.webhook_id].clone();
            if let Some(stored) = s.deliveries.get_mut(&d.id) {
                stored.next_attempt_at = Some(lease_until);
            }
            out.push(ClaimedDelivery {
                delivery: d,
                event,
                webhook,
            });
        }
        Ok(out)
    }
    async fn update_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        let mut s = self.lock()?;
        let d = s
            .deliveries
            .get_mut(&delivery.id)
            .ok_or(StoreError::NotFound)?;
        *d = delivery.clone();
        Ok(())
    }
    async fn get_delivery(&self, id: Uuid) -> StoreResult<Option<Delivery>> {
        Ok(self.lock()?.deliveries.get(&id).cloned())
    }
    async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        let s = self.lock()?;
        let items = s
            .deliveries
            .values()
            .filter(|d| d.webhook_id == webhook_id)
            .cloned()
            .collect();
        Ok(page_after(items, cursor, limit, true, |d| {
            (d.created_at.timestamp_micros(), d.id)
        }))
    }
}

#[async_trait]
impl EmailStore for MemoryStore {
    async fn get_inbound(&self, id: Uuid) -> StoreResult<Option<InboundRecord>> {
        Ok(self.lock()?.inbound.get(&id).map(|(r, _)| r.clone()))
    }
    async fn find_inbound(
        &self,
        mailbox_id: Uuid,
        dedupe_key: &str,
    ) -> StoreResult<Option<InboundRecord>> {
        let s = self.lock()?;
        Ok(s.inbound
            .values()
            .map(|(r, _)| r)
            .find(|r| r.mailbox_id == mailbox_id && r.dedupe_key == dedupe_key)
            .cloned())
    }
    async fn inbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.lock()?.inbound.get(&id).map(|(_, raw)| raw.to_vec()))
    }
    async fn list_inbound(
        &self,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<InboundRecord>> {
        let s = self.lock()?;
        let items = s
            .inbound
            .values()
            .map(|(r, _)| r)
            .filter(|r| r.mailbox_id == mailbox_id && result.is_none_or(|x| r.result == x))
            .cloned()
            .collect();
        Ok(page_after(items, cursor, limit, true, |r| {
            (r.received_at.timestamp_micros(), r.id)
        }))
    }
    async fn mail_by_message_id(&self, internet_message_id: &str) -> StoreResult<Vec<MailRef>> {
        let s = self.lock()?;
        let key = internet_message_id.to_ascii_lowercase();
        let mut inbound: Vec<&InboundRecord> = s
            .inbound
            .values()
            .map(|(r, _)| r)
            .filter(|r| {
                r.internet_message_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&key))
            })
            .collect();
        inbound.sort_by_key(|r| (r.received_at, r.id));
        let mut outbound: Vec<&OutboundMail> = s
            .outbound
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.internet_message_id.eq_ignore_ascii_case(&key))
            .collect();
        outbound.sort_by_key(|m| (m.created_at, m.id));
        Ok(inbound
            .into_iter()
            .map(|r| MailRef {
                mailbox_id: r.mailbox_id,
                ticket_id: r.ticket_id,
                outbound_id: None,
            })
            .chain(outbound.into_iter().map(|m| MailRef {
                mailbox_id: m.mailbox_id,
                ticket_id: m.ticket_id,
                outbound_id: Some(m.id),
            }))
            .collect())
    }
    async fn ticket_mail(&self, ticket_id: Uuid) -> StoreResult<TicketMail> {
        let s = self.lock()?;
        let inbound = s
            .inbound
            .values()
            .map(|(r, _)| r)
            .filter(|r| r.ticket_id == Some(ticket_id) && r.internet_message_id.is_some())
            .max_by_key(|r| (r.received_at, r.id))
            .cloned();
        let outbound = s
            .outbound
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.ticket_id == Some(ticket_id) && m.status != OutboundStatus::Suppressed)
            .max_by_key(|m| (m.created_at, m.id))
            .cloned();
        Ok(TicketMail { inbound, outbound })
    }
    async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        let mut s = self.lock()?;
        let mut due: Vec<(DateTime<Utc>, Uuid)> = s
            .outbound
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.status.is_queued())
            .filter_map(|m| m.next_attempt_at.filter(|t| *t <= now).map(|t| (t, m.id)))
            .collect();
        due.sort();
        due.truncate(limit);
        let mut out = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some((m, _)) = s.outbound.get_mut(&id) {
                m.next_attempt_at = Some(lease_until);
                out.push(m.clone());
            }
        }
        Ok(out)
    }
    async fn update_outbound(&self, mail: &OutboundMail, fx: &Effects) -> StoreResult<()> {
        let mut s = self.lock()?;
        let (stored, _) = s.outbound.get_mut(&mail.id).ok_or(StoreError::NotFound)?;
        *stored = mail.clone();
        s.write_effects(fx);
        Ok(())
    }
    async fn get_outbound(&self, id: Uuid) -> StoreResult<Option<OutboundMail>> {
        Ok(self.lock()?.outbound.get(&id).map(|(m, _)| m.clone()))
    }
    async fn outbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.lock()?.outbound.get(&id).map(|(_, raw)| raw.to_vec()))
    }
    async fn list_outbound(
        &self,
        mailbox_id: Uuid,
        query: &OutboundQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        let s = self.lock()?;
        let items = s
            .outbound
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.mailbox_id == mailbox_id && query.matches(m))
            .cloned()
            .collect();
        Ok(page_after(items, cursor, limit, true, |m| {
            (m.created_at.timestamp_micros(), m.id)
        }))
    }
    async fn count_auto_replies(&self, address: &str, since: DateTime<Utc>) -> StoreResult<usize> {
        let s = self.lock()?;
        Ok(s.outbound
            .values()
            .map(|(m, _)| m)
            .filter(|m| m.kind == OutboundKind::AutoReply && m.created_at >= since)
            .filter(|m| m.to.iter().any(|a| a == address))
            .count())
    }
    async fn get_suppression(&self, address: &str) -> StoreResult<Option<Suppression>> {
        Ok(self.lock()?.suppressions.get(address).cloned())
    }
    async fn list_suppressions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Suppression>> {
        let s = self.lock()?;
        Ok(s.suppressions
            .values()
            .filter(|x| after.is_none_or(|a| x.address.as_str() > a))
            .take(limit.saturating_add(1))
            .cloned()
            .collect())
    }
    async fn delete_suppression(&self, address: &str) -> StoreResult<bool> {
        Ok(self.lock()?.suppressions.remove(address).is_some())
    }
}

#[async_trait]
impl ArchiveStore for MemoryStore {
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<&Record>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        let s = self.lock()?;
        let all: Vec<Record> = match kind {
            RecordKind::Setting => s
                .settings
                .iter()
                .map(|(key, value)| {
                    Record::Setting(Setting {
                        key: key.clone(),
                        value: value.clone(),
                    })
                })
                .collect(),
            RecordKind::Counter => vec![Record::Counter(Counter {
                name: TICKET_NUMBER.into(),
                value: s.ticket_numbers,
            })],
            RecordKind::Group => s.groups.values().cloned().map(Record::Group).collect(),
            RecordKind::Organization => s
                .organizations
                .values()
                .cloned()
                .map(Record::Organization)
                .collect(),
            RecordKind::User => s.users.values().cloned().map(Record::User).collect(),
            RecordKind::Membership => s
                .members
                .values()
                .flatten()
                .cloned()
                .map(Record::Membership)
                .collect(),
            RecordKind::Session => s.sessions.values().cloned().map(Record::Session).collect(),
            RecordKind::ApiKey => s.api_keys.values().cloned().map(Record::ApiKey).collect(),
            RecordKind::CannedReply => s
                .canned_replies
                .values()
                .cloned()
                .map(Record::CannedReply)
                .collect(),
            RecordKind::View => s.views.values().cloned().map(Record::View).collect(),
            RecordKind::Status => s.statuses.values().cloned().map(Record::Status).collect(),
            RecordKind::CustomField => s
                .fields
                .values()
                .cloned()
                .map(Record::CustomField)
                .collect(),
            RecordKind::Macro => s.macros.values().cloned().map(Record::Macro).collect(),
            RecordKind::SlaPolicy => s
                .sla_policies
                .values()
                .cloned()
                .map(Record::SlaPolicy)
                .collect(),
            RecordKind::Calendar => s
                .calendars
                .values()
                .cloned()
                .map(Record::Calendar)
                .collect(),
            RecordKind::Rule => s.rules.values().cloned().map(Record::Rule).collect(),
            RecordKind::Mailbox => s.mailboxes.values().cloned().map(Record::Mailbox).collect(),
            RecordKind::Conversation => s
                .conversations
                .values()
                .map(|c| Record::Conversation(c.conv.clone()))
                .collect(),
            RecordKind::Participant => s
                .conversations
                .values()
                .flat_map(|c| c.participants.values().cloned().map(Record::Participant))
                .collect(),
            RecordKind::Ticket => s.tickets.values().cloned().map(Record::Ticket).collect(),
            RecordKind::TicketEvent => s
                .ticket_events
                .iter()
                .cloned()
                .map(Record::TicketEvent)
                .collect(),
            RecordKind::Survey => s.surveys.values().cloned().map(Record::Survey).collect(),
            RecordKind::Message => s
                .conversations
                .values()
                .flat_map(|c| c.messages.iter().cloned().map(Record::Message))
                .collect(),
            RecordKind::Notification => s
                .notifications
                .values()
                .cloned()
                .map(Record::Notification)
                .collect(),
            RecordKind::InboundMail => s
                .inbound
                .values()
                .map(|(record, raw)| {
                    Record::InboundMail(crate::archive::ArchivedInbound {
                        record: record.clone(),
                        raw: raw.to_vec(),
                    })
                })
                .collect(),
            RecordKind::OutboundMail => s
                .outbound
                .values()
                .map(|(mail, raw)| {
                    Record::OutboundMail(crate::archive::ArchivedOutbound {
                        mail: mail.clone(),
                        raw: raw.to_vec(),
                    })
                })
                .collect(),
            RecordKind::Suppression => s
                .suppressions
                .values()
                .cloned()
                .map(Record::Suppression)
                .collect(),
            RecordKind::Article => s.articles.values().cloned().map(Record::Article).collect(),
            RecordKind::BlobChunk => s
                .blobs
                .iter()
                .flat_map(|(blob_id, chunks)| {
                    chunks.iter().map(|(index, data)| {
                        Record::BlobChunk(BlobChunk {
                            blob_id: *blob_id,
                            index: *index,
                            data: data.clone(),
                        })
                    })
                })
                .collect(),
            RecordKind::Attachment => s
                .attachments
                .values()
                .cloned()
                .map(Record::Attachment)
                .collect(),
            RecordKind::Event => s.events.iter().cloned().map(Record::Event).collect(),
            RecordKind::Webhook => s.webhooks.values().cloned().map(Record::Webhook).collect(),
            RecordKind::Delivery => s
                .deliveries
                .values()
                .cloned()
                .map(Record::Delivery)
                .collect(),
        };
        Ok(page_of(all, after, limit))
    }

    async fn import_records(&self, records: &[Record]) -> StoreResult<()> {
        let mut s = self.lock_schema()?;
        s.kb_stamp += 1;
        for r in records {
            match r {
                Record::Header(_) | Record::End(_) => {}
                Record::Setting(x) => {
                    s.settings.insert(x.key.clone(), x.value.clone());
                }
                Record::Counter(c) if c.name == TICKET_NUMBER => s.ticket_numbers = c.value,
                Record::Counter(c) => {
                    return Err(StoreError::Corrupt(format!("unknown counter `{}`", c.name)));
                }
                Record::Group(g) => s.import_group(g),
                Record::Organization(o) => {
                    s.organizations.insert(o.id, o.clone());
                }
                Record::User(u) => {
                    s.users.insert(u.id, u.clone());
                }
                Record::Membership(m) => {
                    let list = s.members.entry(m.group_id).or_default();
                    list.retain(|x| x.user_id != m.user_id);
                    list.push(m.clone());
                }
                Record::Session(x) => {
                    s.sessions.insert(x.id, x.clone());
                }
                Record::ApiKey(k) => {
                    s.api_keys.insert(k.id, k.clone());
                }
                Record::CannedReply(r) => {
                    s.canned_replies.insert(r.id, r.clone());
                }
                Record::View(v) => {
                    s.views.insert(v.id, v.clone());
                }
                Record::Status(st) => {
                    s.statuses.insert(st.id, st.clone());
                }
                Record::CustomField(f) => {
                    s.fields.insert(f.id, f.clone());
                }
                Record::Macro(m) => {
                    s.macros.insert(m.id, m.clone());
                }
                Record::SlaPolicy(p) => {
                    s.sla_policies.insert(p.id, p.clone());
                }
                Record::Calendar(c) => {
                    s.calendars.insert(c.id, c.clone());
                }
                Record::Rule(r) => {
                    s.rules.insert(r.id, r.clone());
                }
                Record::Mailbox(m) => {
                    s.mailboxes.insert(m.id, m.clone());
                }
                Record::Conversation(c) => {
                    s.conversations
                        .insert(c.id, ConversationData::new(c.clone(), HashMap::new()));
                }
                Record::Participant(p) => {
                    s.conversations
                        .get_mut(&p.conversation_id)
                        .ok_or(StoreError::NotFound)?
                        .participants
                        .insert(p.user_id, p.clone());
                }
                Record::Ticket(t) => {
                    s.tickets.insert(t.id, t.clone());
                }
                Record::TicketEvent(e) => s.ticket_events.push(e.clone()),
                Record::Survey(v) => {
                    s.surveys.insert(v.id, v.clone());
                }
                Record::Message(m) => {
                    // `internal_reply_count` is recounted, not copied: a parent comes
                    // before its replies.
                    let note_parent = match m.parent_id {
                        Some(pid) if m.internal => s.message_index.get(&pid).copied(),
                        _ => None,
                    };
                    let data = s
                        .conversations
                        .get_mut(&m.conversation_id)
                        .ok_or(StoreError::NotFound)?;
                    if m.seq != data.messages.len() as u64 + 1 {
                        return Err(StoreError::Corrupt(format!(
                            "message seq {} of conversation {} does not follow {}",
                            m.seq,
                            m.conversation_id,
                            data.messages.len()
                        )));
                    }
                    data.push(Message {
                        internal_reply_count: 0,
                        ..m.clone()
                    });
                    if let Some((conv, seq)) = note_parent
                        && conv == m.conversation_id
                        && let Some(parent) = data.messages.get_mut(seq as usize - 1)
                    {
                        parent.internal_reply_count += 1;
                    }
                    s.message_index.insert(m.id, (m.conversation_id, m.seq));
                }
                Record::Notification(n) => {
                    s.notifications.insert(n.id, n.clone());
                }
                Record::InboundMail(m) => {
                    s.inbound
                        .insert(m.record.id, (m.record.clone(), m.raw.clone().into()));
                }
                Record::OutboundMail(m) => {
                    s.outbound
                        .insert(m.mail.id, (m.mail.clone(), m.raw.clone().into()));
                }
                Record::Suppression(x) => {
                    s.suppressions.insert(x.address.clone(), x.clone());
                }
                Record::Article(a) => {
                    s.articles.insert(a.id, a.clone());
                }
                Record::BlobChunk(b) => {
                    s.blobs
                        .entry(b.blob_id)
                        .or_default()
                        .insert(b.index, b.data.clone());
                }
                Record::Attachment(a) => {
                    s.attachments.insert(a.id, a.clone());
                }
                Record::Event(e) => {
                    if s.events.last().is_some_and(|l| l.id >= e.id) {
                        return Err(StoreError::Corrupt("events out of order".into()));
                    }
                    s.events.push(e.clone());
                }
                Record::Webhook(w) => {
                    s.webhooks.insert(w.id, w.clone());
                }
                Record::Delivery(d) => {
                    s.deliveries.insert(d.id, d.clone());
                }
            }
        }
        Ok(())
    }
}
