//! The storage traits. A backend implements every trait below and so is a [`Store`],
//! reached as `Arc<dyn Store>`.
//!
//! Each mutating method is one **atomic domain operation**: everything it writes (its own
//! records and the [`Effects`]: events, their webhook deliveries, notifications, ticket
//! timeline entries) becomes visible together or not at all, and is durable when the
//! method returns. There are no transaction handles.
//!
//! Writing [`Effects`] means, in this order inside the operation:
//! 1. give each [`NewEvent`](crate::event::NewEvent) the next [`EventId`] (ids increase in the order events
//!    become visible to `events_after`) and store it as [`Event::from_new`];
//! 2. for every webhook that [`Webhook::wants`] the event, store [`Delivery::pending`];
//! 3. insert the notifications and the ticket timeline entries.
//!
//! Lists take a [`Cursor`] of `(key, id)` and return items strictly after it, at most
//! `limit` plus one (the caller cuts the extra one off and makes the next cursor).
//! Sorting is by `(key, id)` in the list's direction.
//!
//! The conformance suite in [`crate::testkit`] (feature `testkit`) is the executable form
//! of this contract.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::apikey::ApiKey;
use crate::archive::{Record, RecordKind};
use crate::attachment::{Attachment, AttachmentParent};
use crate::auth::Session;
use crate::calendar::Calendar;
use crate::canned_reply::{CannedReply, CannedReplyQuery};
use crate::conversation::{Conversation, ConversationKind, Member};
use crate::custom_field::CustomField;
use crate::email::{
    InboundRecord, InboundResult, MailRef, OutboundMail, OutboundQuery, Suppression, TicketMail,
};
use crate::ephemeral::Signal;
use crate::error::StoreError;
use crate::event::{Effects, Event, EventId};
use crate::group::{Group, Membership};
use crate::kb::{Article, ArticleQuery, SearchHit, SearchQuery, TagCount};
use crate::macros::Macro;
use crate::mailbox::{ImapState, Mailbox};
use crate::message::{AcrossRange, Message, MessageAppend, MessageRange};
use crate::notification::Notification;
use crate::organization::{Organization, OrganizationQuery};
use crate::ownership::ScopeUser;
use crate::page::Cursor;
use crate::receipt::Participant;
use crate::rule::{Rule, RuleRun};
use crate::sla_policy::SlaPolicy;
use crate::status::Status;
use crate::ticket::{Ticket, TicketEvent, TicketInsert, TicketQuery};
use crate::user::{User, UserQuery};
use crate::view::View;
use crate::webhook::{ClaimedDelivery, Delivery, Webhook};

pub mod memory;

/// [`ConversationStore::delivery_watermarks`] by default reads one record per user up
/// to this many users, else the conversation's records.
const WATERMARKS_READ_ONE_BY_ONE: usize = 8;

/// The rules every store applies inside its own atomic operations, written once here so
/// that a backend does not restate them: appending a message
/// ([`apply_append`](crate::store::support::apply_append)), keeping receipt marks
/// ([`push_mark`](crate::store::support::push_mark)), and the KB's words, scores and
/// snippets ([`search`](crate::store::support::search), whose
/// [`rank`](crate::store::support::search::rank) is the reference ranking).
pub mod support {
    pub use crate::message::apply_append;
    pub use crate::message::page_across;
    pub use crate::receipt::push_mark;
    pub use crate::search;

    use super::StoreResult;
    use crate::ephemeral::Signal;
    use tokio::sync::broadcast;

    /// The ephemeral channel of a store that lives in one process (memory, sled), and
    /// the local fan-out of one that receives signals from elsewhere (PostgreSQL).
    #[derive(Debug)]
    pub struct SignalBus(broadcast::Sender<Signal>);

    impl SignalBus {
        /// How many signals a subscriber may fall behind before it loses the oldest.
        pub const CAPACITY: usize = 1024;

        /// A bus nobody listens to yet.
        pub fn new() -> Self {
            SignalBus(broadcast::channel(Self::CAPACITY).0)
        }
        /// Hands `signal` to every subscriber (none: dropped, as a hint may be).
        pub fn publish(&self, signal: Signal) -> StoreResult<()> {
            let _ = self.0.send(signal);
            Ok(())
        }
        /// Signals published from now on.
        pub fn subscribe(&self) -> super::SignalReceiver {
            self.0.subscribe()
        }
    }

    impl Default for SignalBus {
        fn default() -> Self {
            SignalBus::new()
        }
    }
}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

/// Builds the effects of a change once the store has assigned its number or seq. Stores
/// may call it more than once (a retried transaction); it must not have side effects.
pub type EffectsFn<'a, T> = &'a (dyn Fn(&T) -> Effects + Send + Sync);

/// Settings and health.
#[async_trait]
pub trait MetaStore: Send + Sync {
    /// Succeeds when the backend is reachable.
    async fn ping(&self) -> StoreResult<()>;
    /// A setting (e.g. the generated JWT secret).
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Stores `value` under `key` unless a value is there; returns the value stored.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;
}

/// Users and sessions.
///
/// Writing a user applies the staff rule of [`crate::group::staff_change`] in the same
/// operation: a user inserted as agent or admin, or whose role changes from customer to
/// agent or admin, becomes a `full` member of the group that is default at that moment
/// ([`crate::group::staff_membership`] at `user.updated_at`) unless a member already; a
/// user whose role changes to customer loses every membership and every API key. These
/// changes are part of
/// the user write and, like it, write no event of their own (a store set up with its
/// first admin stays empty for an import); `group.member_*` events come from
/// [`GroupStore`]'s membership operations.
///
/// A user's `organization_id` must name an existing organization, checked in the same
/// operation (one deleted meanwhile: `NotFound`).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user (and their default-group membership, see above). Email taken:
    /// `Conflict::Email`; organization missing: `NotFound`.
    async fn insert_user(&self, user: &User, fx: &Effects) -> StoreResult<()>;
    /// Replaces a user (and changes memberships, see above). `NotFound` if absent or if
    /// their organization is; email taken by another: `Conflict::Email`.
    async fn update_user(&self, user: &User, fx: &Effects) -> StoreResult<()>;
    /// A user by id.
    async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The users of `ids` that exist, in any order: what a notification plan reads at
    /// once. The default asks [`UserStore::get_user`] for each; a backend that can
    /// answer in one round trip should.
    async fn get_users(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get_user(*id).await?);
        }
        Ok(found)
    }
    /// A user by (lowercased) email.
    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// Users matching the query, by `(created_at, id)` ascending, up to `limit + 1`.
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>>;
    /// How many users there are.
    async fn count_users(&self) -> StoreResult<u64>;
    /// Ids of active admins and agents.
    async fn staff_ids(&self) -> StoreResult<Vec<Uuid>>;

    /// Inserts a session.
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A session by id.
    async fn get_session(&self, id: Uuid) -> StoreResult<Option<Session>>;
    /// The user of a session that is not revoked: `None` when the session is absent or
    /// revoked. Every authenticated request asks this; a backend that can answer it in
    /// one read (one round trip) should.
    async fn live_session_user(&self, session_id: Uuid) -> StoreResult<Option<User>> {
        match self.get_session(session_id).await? {
            Some(s) if s.revoked_at.is_none() => self.get_user(s.user_id).await,
            _ => Ok(None),
        }
    }
    /// Atomically replaces the refresh hash if the session is not revoked and its hash is
    /// `expected_hash`; returns whether it did.
    async fn rotate_refresh(
        &self,
        id: Uuid,
        expected_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Revokes a session (no-op if revoked or absent).
    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes every session of a user except `except`.
    async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        except: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// For each window, the times of the newest attempts counted under its key after
    /// its `since` (strictly), newest first, at most its `limit`: what the attempt limits of
    /// [`crate::limit`] read. Every instance sharing the store sees the same counts.
    async fn recent_attempts(
        &self,
        windows: &[AttemptWindow],
    ) -> StoreResult<Vec<Vec<DateTime<Utc>>>>;
    /// Counts one attempt at `at` under each of `keys`, and forgets the attempts (under
    /// any key) older than `forget_before`. Durable like every write.
    async fn record_attempt(
        &self,
        keys: &[String],
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// API keys ([`crate::apikey`]). A user write that makes the user a customer deletes
/// their keys in the same operation (see [`UserStore`]).
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Inserts a key unless its owner holds `limit` keys already, counted in the same
    /// operation (concurrent inserts never pass the limit together); returns whether it
    /// inserted. Owner missing: `NotFound`; its `token_hash` taken: `Conflict::Unique`.
    async fn insert_api_key(&self, key: &ApiKey, limit: usize) -> StoreResult<bool>;
    /// A key by id.
    async fn get_api_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>>;
    /// A key by the SHA-256 of its token ([`ApiKey::token_hash`]).
    async fn get_api_key_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>>;
    /// A user's keys, newest first by `(created_at, id)`.
    async fn list_api_keys(&self, user_id: Uuid) -> StoreResult<Vec<ApiKey>>;
    /// Deletes a key; returns whether there was one.
    async fn delete_api_key(&self, id: Uuid) -> StoreResult<bool>;
    /// Sets a key's `last_used_at` (nothing if the key is gone).
    async fn touch_api_key(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Groups and their memberships. Exactly one group is the default at any time; every
/// store has one from its creation ([`Group::initial_default`], named `Support`).
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Inserts a group. Its name taken (by [`crate::group::name_key`]): `Conflict::Name`.
    /// A group inserted with `is_default` takes the flag from the group that had it.
    /// Writes `effects(former)`, `former` being that group as it is now (flag cleared).
    async fn insert_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()>;
    /// Replaces a group's name, description and flag. `NotFound` if absent; name taken
    /// by another: `Conflict::Name`; `is_default: false` over the default group:
    /// `Conflict::Default`. Setting the flag moves it from the group that had it, and
    /// writes `effects(former)` as [`GroupStore::insert_group`] does.
    async fn update_group(
        &self,
        group: &Group,
        effects: EffectsFn<'_, Option<Group>>,
    ) -> StoreResult<()>;
    /// Deletes a group with its memberships. `NotFound` if absent; the default group:
    /// `Conflict::Default`; a group holding any ticket or any `group` canned reply:
    /// `Conflict::InUse`, checked in the same operation (a ticket created or moved into
    /// it meanwhile, or a canned reply made in it, is counted).
    async fn delete_group(&self, id: Uuid, fx: &Effects) -> StoreResult<()>;
    /// A group by id.
    async fn get_group(&self, id: Uuid) -> StoreResult<Option<Group>>;
    /// Every group, by [`crate::group::name_key`] then id ([`crate::group::sort_groups`]).
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    /// The default group (missing: `Corrupt`).
    async fn default_group(&self) -> StoreResult<Group>;
    /// Makes `m.user_id` a member of `m.group_id` with `m.access`, or changes the level
    /// of an existing member (keeping their `created_at`). Group or user missing:
    /// `NotFound`. Writes `effects(previous)` and returns `previous`: the membership
    /// before the change (`None`: the user was not a member).
    async fn put_membership(
        &self,
        m: &Membership,
        effects: EffectsFn<'_, Option<Membership>>,
    ) -> StoreResult<Option<Membership>>;
    /// Ends a membership and writes `effects(removed)`; returns the removed membership.
    /// `NotFound` if the user is not a member.
    async fn remove_membership(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        effects: EffectsFn<'_, Membership>,
    ) -> StoreResult<Membership>;
    /// A group's memberships in joining order (`(created_at, user_id)`).
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<Membership>>;
    /// The default group with its memberships, as [`GroupStore::default_group`] and
    /// [`GroupStore::group_members`] give them (a store may read both at once).
    async fn default_group_members(&self) -> StoreResult<(Group, Vec<Membership>)> {
        let group = self.default_group().await?;
        let members = self.group_members(group.id).await?;
        Ok((group, members))
    }
    /// A user's memberships, by group id.
    async fn user_memberships(&self, user_id: Uuid) -> StoreResult<Vec<Membership>>;
}

/// Organizations of customers. Names are unique by [`crate::group::name_key`]
/// (`Conflict::Name`), and a domain is listed by one organization at most
/// (`Conflict::Domain`), both checked in the writing operation.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Inserts an organization. Its name taken: `Conflict::Name`; one of its domains
    /// listed by another: `Conflict::Domain` (the name is checked first).
    async fn insert_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()>;
    /// Replaces an organization's name, domains and sharing rule. `NotFound` if absent;
    /// then the conflicts of [`OrganizationStore::insert_organization`], with others.
    async fn update_organization(&self, org: &Organization, fx: &Effects) -> StoreResult<()>;
    /// Deletes an organization (`NotFound` if absent). In the same operation, every user
    /// naming it loses it and the manager flag, and every ticket naming it loses it (its
    /// `version` moves on, `updated_at` stays), those written meanwhile included.
    async fn delete_organization(&self, id: Uuid, fx: &Effects) -> StoreResult<()>;
    /// An organization by id.
    async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>>;
    /// The organization listing exactly this (lowercase) domain.
    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>>;
    /// Organizations matching [`OrganizationQuery::matches`] after its cursor
    /// ([`OrganizationQuery::after_cursor`]), by `(name key, id)` ascending (keys compared
    /// as strings: code point order), up to `limit + 1`.
    async fn list_organizations(&self, query: &OrganizationQuery)
    -> StoreResult<Vec<Organization>>;
}

/// Canned replies ([`crate::canned_reply`]). Shortcuts are unique across every scope
/// (`Conflict::Shortcut`), checked in the writing operation. A reply's scope, group and
/// owner never change. They write no events.
#[async_trait]
pub trait CannedReplyStore: Send + Sync {
    /// Inserts a canned reply unless what it counts against ([`Scoped::bucket`](crate::ownership::Scoped::bucket):
    /// the global replies, or its owner's personal and group ones) holds `limit`
    /// replies already, counted in the same operation (concurrent inserts never pass
    /// the limit together); returns whether it inserted. Its shortcut taken:
    /// `Conflict::Shortcut`; the group of a `group` reply missing (deleted meanwhile):
    /// `NotFound`.
    async fn insert_canned_reply(&self, reply: &CannedReply, limit: usize) -> StoreResult<bool>;
    /// Replaces a canned reply's title, shortcut, body and `updated_at` (the rest is
    /// kept as stored). `NotFound` if absent; its shortcut taken by another:
    /// `Conflict::Shortcut`.
    async fn update_canned_reply(&self, reply: &CannedReply) -> StoreResult<()>;
    /// Deletes a canned reply; returns whether there was one.
    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool>;
    /// A canned reply by id.
    async fn get_canned_reply(&self, id: Uuid) -> StoreResult<Option<CannedReply>>;
    /// Canned replies matching [`CannedReplyQuery::matches`] after its cursor
    /// ([`CannedReplyQuery::after_cursor`]), by `(shortcut, id)` ascending (compared
    /// as bytes), up to `limit + 1`.
    async fn list_canned_replies(&self, query: &CannedReplyQuery) -> StoreResult<Vec<CannedReply>>;
}

/// Saved views ([`crate::view`]). A view's scope, group and owner never change. They
/// write no events.
#[async_trait]
pub trait ViewStore: Send + Sync {
    /// Inserts a view unless what it counts against ([`crate::ownership::Scoped::bucket`]:
    /// the global views, or its owner's personal and group ones) holds `limit` views
    /// already, counted in the same operation (concurrent inserts never pass the limit
    /// together); returns whether it inserted. The group of a `group` view missing:
    /// `NotFound`; its id taken: `Conflict::Unique`.
    async fn insert_view(&self, view: &View, limit: usize) -> StoreResult<bool>;
    /// Replaces a view's name, filter, sort, position and `updated_at` (the rest is kept
    /// as stored). `NotFound` if absent.
    async fn update_view(&self, view: &View) -> StoreResult<()>;
    /// Deletes a view; returns whether there was one.
    async fn delete_view(&self, id: Uuid) -> StoreResult<bool>;
    /// A view by id.
    async fn get_view(&self, id: Uuid) -> StoreResult<Option<View>>;
    /// Every view `user` may use ([`ScopeUser::may_use`]), by `(position, id)`.
    async fn list_views(&self, user: &ScopeUser) -> StoreResult<Vec<View>>;
    /// Every view, whoever owns it, by `(position, id)` (what a status or a custom
    /// field's deletion checks for use).
    async fn all_views(&self) -> StoreResult<Vec<View>>;
}

/// What tickets are made of: the statuses ([`crate::status`]) and the custom fields
/// ([`crate::custom_field`]) an installation defines. A new store holds the five default
/// statuses ([`crate::status::Status::default_of`]) and no field. They write no events.
#[async_trait]
pub trait SchemaStore: Send + Sync {
    /// A number that moves whenever a status, custom field, calendar, SLA policy or rule
    /// is written or imported, through any handle or instance on this store. Read before
    /// them, it tells a copy of them whether it is still current
    /// ([`crate::Helpdesk::ticket_schema`] keeps one per instance): a copy read after
    /// the stamp was `n` holds every such write that made it `n` or less.
    async fn schema_stamp(&self) -> StoreResult<u64>;
    /// Every status, in list order ([`crate::status::sort_statuses`]).
    async fn list_statuses(&self) -> StoreResult<Vec<Status>>;
    /// Inserts a status unless its category holds `limit` statuses already, counted in
    /// the same operation; returns whether it inserted. Its key taken: `Conflict::Key`.
    async fn insert_status(&self, status: &Status, limit: usize) -> StoreResult<bool>;
    /// Replaces a status's labels, position, `active` and `updated_at` (key and category
    /// are kept as stored). `NotFound` if absent.
    async fn update_status(&self, status: &Status) -> StoreResult<()>;
    /// Deletes a status. `NotFound` if absent; a default status: `Conflict::Default`; a
    /// status some ticket has: `Conflict::InUse`, checked in the same operation.
    async fn delete_status(&self, id: Uuid) -> StoreResult<()>;
    /// Every custom field, by position then key.
    async fn list_fields(&self) -> StoreResult<Vec<CustomField>>;
    /// Inserts a field unless it is active and `limit` active fields exist already,
    /// counted in the same operation; returns whether it inserted. Its key taken:
    /// `Conflict::Key`.
    async fn insert_field(&self, field: &CustomField, limit: usize) -> StoreResult<bool>;
    /// Replaces a field's label, options, flags, position, `active` and `updated_at`
    /// (key and type are kept as stored), unless that activates it while `limit` active
    /// fields exist (then `false`, writing nothing). `NotFound` if absent.
    async fn update_field(&self, field: &CustomField, limit: usize) -> StoreResult<bool>;
    /// Deletes a field. `NotFound` if absent; a field some ticket has a value of:
    /// `Conflict::InUse`, checked in the same operation.
    async fn delete_field(&self, id: Uuid) -> StoreResult<()>;
}

/// Business-hours calendars ([`crate::calendar`]). They write no events.
#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// Inserts a calendar unless `limit` calendars exist already, counted in the same
    /// operation (concurrent inserts never pass the limit together); returns whether it
    /// inserted. Its id taken: `Conflict::Unique`.
    async fn insert_calendar(&self, c: &Calendar, limit: usize) -> StoreResult<bool>;
    /// Replaces a calendar's name, timezone, hours, holidays and `updated_at`.
    /// `NotFound` if absent.
    async fn update_calendar(&self, c: &Calendar) -> StoreResult<()>;
    /// Deletes a calendar; returns whether there was one.
    async fn delete_calendar(&self, id: Uuid) -> StoreResult<bool>;
    /// A calendar by id.
    async fn get_calendar(&self, id: Uuid) -> StoreResult<Option<Calendar>>;
    /// Every calendar, by `(name, id)`.
    async fn list_calendars(&self) -> StoreResult<Vec<Calendar>>;
}

/// CSAT surveys ([`crate::csat`]). A survey is inserted with the change that resolves
/// its ticket ([`Effects::surveys`], written by every effects writer: one per
/// `(ticket_id, cycle)`, a duplicate skipped) and deleted with its ticket.
#[async_trait]
pub trait CsatStore: Send + Sync {
    /// The survey whose token hashes to `token_hash`.
    async fn get_survey_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<crate::csat::Survey>>;
    /// A ticket's surveys, by cycle.
    async fn list_ticket_surveys(&self, ticket_id: Uuid) -> StoreResult<Vec<crate::csat::Survey>>;
    /// Writes an answer: the survey's `rating`, `comment` and `responded_at` as given
    /// (the rest is kept as stored), with `fx`. `NotFound` if absent.
    async fn respond_survey(&self, survey: &crate::csat::Survey, fx: &Effects) -> StoreResult<()>;
    /// The surveys a report counts ([`crate::csat::SurveyQuery::matches`]), by id.
    async fn list_surveys(
        &self,
        q: &crate::csat::SurveyQuery,
    ) -> StoreResult<Vec<crate::csat::Survey>>;
}

/// Macros ([`crate::macros`]). They write no events.
#[async_trait]
pub trait MacroStore: Send + Sync {
    /// Inserts a macro unless `limit` macros exist already, counted in the same
    /// operation (concurrent inserts never pass the limit together); returns whether it
    /// inserted. Its id taken: `Conflict::Unique`.
    async fn insert_macro(&self, m: &Macro, limit: usize) -> StoreResult<bool>;
    /// Replaces a macro's name, actions, position and `updated_at`. `NotFound` if absent.
    async fn update_macro(&self, m: &Macro) -> StoreResult<()>;
    /// Deletes a macro; returns whether there was one.
    async fn delete_macro(&self, id: Uuid) -> StoreResult<bool>;
    /// A macro by id.
    async fn get_macro(&self, id: Uuid) -> StoreResult<Option<Macro>>;
    /// Every macro, by `(position, id)`.
    async fn list_macros(&self) -> StoreResult<Vec<Macro>>;
}

/// SLA policies (API-workflow.md "SLA policies"). Saving one writes no events; core
/// settles every ticket's SLA again afterwards.
#[async_trait]
pub trait SlaStore: Send + Sync {
    /// Every policy, by `(position, id)`.
    async fn list_sla_policies(&self) -> StoreResult<Vec<SlaPolicy>>;
    /// Inserts a policy unless `limit` exist already (counted in the same operation);
    /// returns whether it did.
    async fn insert_sla_policy(&self, policy: &SlaPolicy, limit: usize) -> StoreResult<bool>;
    /// Replaces a policy. `NotFound` if absent.
    async fn update_sla_policy(&self, policy: &SlaPolicy) -> StoreResult<()>;
    /// Deletes a policy; returns whether it existed.
    async fn delete_sla_policy(&self, id: Uuid) -> StoreResult<bool>;
}

/// Mailboxes ([`crate::mailbox`]). Addresses are unique (`Conflict::Address`, stored
/// lower-cased, so compared case-insensitively), and one mailbox at most is the default:
/// writing one with `is_default` clears the flag of the others in the same operation.
/// They write no events.
#[async_trait]
pub trait MailboxStore: Send + Sync {
    /// Inserts a mailbox. Its address taken: `Conflict::Address`; its id taken:
    /// `Conflict::Unique`.
    async fn insert_mailbox(&self, m: &Mailbox) -> StoreResult<()>;
    /// Replaces a mailbox, except its IMAP `state` while it stays IMAP on the same
    /// folder ([`crate::mailbox::Inbound::same_folder`] of the stored and the new
    /// inbound): that one is kept as stored (the poller writes it, see
    /// [`MailboxStore::set_mailbox_imap_state`]), so an admin's change read before a
    /// poll does not undo it. `NotFound` if absent; its address taken by another:
    /// `Conflict::Address`.
    async fn update_mailbox(&self, m: &Mailbox) -> StoreResult<()>;
    /// Deletes a mailbox; returns whether there was one. `Conflict::InUse` (deleting
    /// nothing) while a ticket names it ([`Ticket::mailbox_id`]), checked in the same
    /// operation.
    async fn delete_mailbox(&self, id: Uuid) -> StoreResult<bool>;
    /// A mailbox by id.
    async fn get_mailbox(&self, id: Uuid) -> StoreResult<Option<Mailbox>>;
    /// A mailbox by its (lower-case) address.
    async fn get_mailbox_by_address(&self, address: &str) -> StoreResult<Option<Mailbox>>;
    /// Every mailbox, by `(address, id)` ([`crate::mailbox::sort_mailboxes`]).
    async fn list_mailboxes(&self) -> StoreResult<Vec<Mailbox>>;
    /// Writes the IMAP poller's state of a mailbox, nothing else (so it never races an
    /// admin's change of the rest). `NotFound` if absent; `false` (writing nothing) if
    /// its inbound is no longer IMAP.
    async fn set_mailbox_imap_state(&self, id: Uuid, state: &ImapState) -> StoreResult<bool>;
    /// Takes or renews the IMAP poller's lease on a mailbox, so one instance polls it:
    /// granted (`true`, now held by `holder` until `until`) when nobody holds it, its
    /// lease ended at or before `now`, or `holder` holds it already; else `false`,
    /// writing nothing. Of concurrent takers one wins. A lease `until` `now` releases
    /// it. The lease goes with the mailbox. `NotFound` if the mailbox is absent.
    async fn lease_mailbox(
        &self,
        id: Uuid,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The email channel's records ([`crate::email`]): inbound records with their bytes,
/// the index of every Message-ID ingested or sent, the outbox, suppressions. Inbound
/// records, new outbound mail, suppressions and bounces are written as
/// [`MailEffects`](crate::email::MailEffects) with the change that makes them.
///
/// Message-IDs are compared lower-cased; lists are newest first by `(time, id)` (cursor
/// key: the time in microseconds), up to `limit + 1`.
#[async_trait]
pub trait EmailStore: Send + Sync {
    /// An inbound record.
    async fn get_inbound(&self, id: Uuid) -> StoreResult<Option<InboundRecord>>;
    /// The inbound record of `mailbox_id` with this dedupe key.
    async fn find_inbound(
        &self,
        mailbox_id: Uuid,
        dedupe_key: &str,
    ) -> StoreResult<Option<InboundRecord>>;
    /// The bytes an inbound record was made from.
    async fn inbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>>;
    /// A mailbox's inbound records (with this result, if given), newest first by
    /// `(received_at, id)`.
    async fn list_inbound(
        &self,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<InboundRecord>>;
    /// Every inbound record and outbound mail whose Message-ID is `internet_message_id`
    /// (compared lower-cased), inbound first, each way oldest first.
    async fn mail_by_message_id(&self, internet_message_id: &str) -> StoreResult<Vec<MailRef>>;
    /// A ticket's newest inbound mail with a Message-ID, and its newest outbound mail
    /// that is not `suppressed`.
    async fn ticket_mail(&self, ticket_id: Uuid) -> StoreResult<TicketMail>;
    /// Claims up to `limit` outbound mails that are `pending` or `failed` with
    /// `next_attempt_at` ≤ `now`, oldest due first, by setting their `next_attempt_at`
    /// to `lease_until`; concurrent claimers never get the same mail.
    async fn claim_outbound(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>>;
    /// Replaces an outbound mail's state and writes `fx` (its events, the suppressions
    /// a rejection made) in the same operation. `NotFound` if absent.
    async fn update_outbound(&self, mail: &OutboundMail, fx: &Effects) -> StoreResult<()>;
    /// An outbound mail.
    async fn get_outbound(&self, id: Uuid) -> StoreResult<Option<OutboundMail>>;
    /// The bytes of an outbound mail.
    async fn outbound_raw(&self, id: Uuid) -> StoreResult<Option<Vec<u8>>>;
    /// A mailbox's outbound mail matching `query`, newest first by `(created_at, id)`.
    async fn list_outbound(
        &self,
        mailbox_id: Uuid,
        query: &OutboundQuery,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<OutboundMail>>;
    /// How many auto-replies to `address` (in `To`) were recorded at or after `since`,
    /// over all mailboxes.
    async fn count_auto_replies(&self, address: &str, since: DateTime<Utc>) -> StoreResult<usize>;
    /// The suppression of an address (lower-case).
    async fn get_suppression(&self, address: &str) -> StoreResult<Option<Suppression>>;
    /// Suppressions by address ascending, after the address `after` (the last of the
    /// previous page), up to `limit + 1`.
    async fn list_suppressions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Suppression>>;
    /// Removes an address's suppression; returns whether there was one.
    async fn delete_suppression(&self, address: &str) -> StoreResult<bool>;
}

/// Rules ([`crate::rule`]): triggers and automations, their run log, and the
/// automations' edge state. They write no events.
#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Inserts a rule unless `limit` rules exist already, counted in the same operation;
    /// returns whether it inserted. Its id taken: `Conflict::Unique`.
    async fn insert_rule(&self, r: &Rule, limit: usize) -> StoreResult<bool>;
    /// Replaces a rule's name, active flag, position, condition, actions and
    /// `updated_at` (`kind` is fixed). `NotFound` if absent.
    async fn update_rule(&self, r: &Rule) -> StoreResult<()>;
    /// Deletes a rule with its runs and edge state; returns whether there was one.
    async fn delete_rule(&self, id: Uuid) -> StoreResult<bool>;
    /// A rule by id.
    async fn get_rule(&self, id: Uuid) -> StoreResult<Option<Rule>>;
    /// Every rule, by `(position, id)`.
    async fn list_rules(&self) -> StoreResult<Vec<Rule>>;
    /// Records a run, then prunes the rule's log to its newest `keep` runs (by `(at,
    /// id)`), in one operation.
    async fn insert_rule_run(&self, run: &RuleRun, keep: usize) -> StoreResult<()>;
    /// A rule's runs, newest first (by `(at, id)` descending), at most `limit`.
    async fn list_rule_runs(&self, rule_id: Uuid, limit: usize) -> StoreResult<Vec<RuleRun>>;
    /// Whether the ticket is inside the automation's condition (its edge state).
    async fn rule_inside(&self, rule_id: Uuid, ticket_id: Uuid) -> StoreResult<bool>;
    /// Puts the ticket inside the automation's condition, or takes it out.
    async fn set_rule_inside(
        &self,
        rule_id: Uuid,
        ticket_id: Uuid,
        inside: bool,
    ) -> StoreResult<()>;
    /// Takes every ticket out of the automation's condition (it was made, re-activated or
    /// its condition changed: every matching ticket enters anew).
    async fn clear_rule_inside(&self, rule_id: Uuid) -> StoreResult<()>;
}

/// A change to the members of a ticket's conversation made with the ticket's update
/// ([`TicketStore::update_ticket`]): a new assignee or CC joins, a removed CC leaves.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Adds `member` unless they are one already.
    Join {
        /// Who joins, and when.
        member: Member,
        /// Written only when they join (`conversation.member_added`).
        event: crate::event::NewEvent,
    },
    /// Removes `user_id` if they are a member.
    Leave {
        /// Who leaves.
        user_id: Uuid,
        /// Written only when they left (`conversation.member_removed`).
        event: crate::event::NewEvent,
    },
}

impl MemberChange {
    /// The effects to write when the change happened: `fx`, then its event.
    pub fn effects_with(&self, fx: &Effects) -> Effects {
        let mut all = fx.clone();
        all.push(match self {
            MemberChange::Join { event, .. } | MemberChange::Leave { event, .. } => event.clone(),
        });
        all
    }
}

/// One question of [`UserStore::recent_attempts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptWindow {
    /// What is counted (an opaque key made by [`crate::limit`]).
    pub key: String,
    /// Attempts at this time or earlier do not count.
    pub since: DateTime<Utc>,
    /// At most this many times are returned.
    pub limit: usize,
}

/// Tickets and their timelines. A ticket's `organization_id` must name an existing
/// organization, checked in the writing operation (one deleted meanwhile: `NotFound`).
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Creates a ticket with the next number (1, 2, 3, ...: never reused, no gaps under
    /// concurrency), its conversation, a [`Participant`] per conversation member (as
    /// [`Participant::joined`]), attaches its attachments, writes `effects(&ticket)`.
    /// Returns the ticket with its number.
    async fn create_ticket(
        &self,
        new: &TicketInsert,
        effects: EffectsFn<'_, Ticket>,
    ) -> StoreResult<Ticket>;
    /// Writes a ticket under its version check (see [`Ticket::version`]) and its effects,
    /// with a change to its conversation's members when given: a join adds a user who
    /// is not a member as [`ConversationStore::add_member`] does, a leave removes one
    /// who is as [`ConversationStore::remove_member`] does, and the change's event is
    /// written only then. One atomic operation, so a new assignee or CC is a member from
    /// the moment they are one, and a removed CC no longer. `NotFound` if absent.
    async fn update_ticket(
        &self,
        ticket: &Ticket,
        change: Option<&MemberChange>,
        fx: &Effects,
    ) -> StoreResult<()>;
    /// Deletes a ticket, its timeline, its conversation with messages and participants,
    /// and its and its messages' attachments with their blobs. In the same operation,
    /// the tickets merged into it lose their `merged_into_id`, and the ticket it was
    /// merged into loses it from `merged_ids` (their `version` moves on, `updated_at`
    /// stays), those merged meanwhile included. Its CSAT surveys go with it, and rules
    /// forget it: its runs and its automations' edge state go too.
    async fn delete_ticket(&self, id: Uuid, fx: &Effects) -> StoreResult<()>;
    /// Writes several tickets (a merge or an unmerge: the source and its target), each
    /// under its version check as [`TicketStore::update_ticket`] does, and the effects:
    /// all or nothing. `NotFound` if one is absent.
    async fn update_tickets(&self, tickets: &[Ticket], fx: &Effects) -> StoreResult<()>;
    /// A ticket by id.
    async fn get_ticket(&self, id: Uuid) -> StoreResult<Option<Ticket>>;
    /// A ticket by number.
    async fn get_ticket_by_number(&self, number: i64) -> StoreResult<Option<Ticket>>;
    /// Tickets matching the query ([`TicketQuery::matches`] and
    /// [`TicketQuery::after_cursor`]) in its order, up to `limit + 1`.
    async fn list_tickets(&self, query: &TicketQuery) -> StoreResult<Vec<Ticket>>;
    /// Claims up to `limit` tickets whose [`crate::schedule::next_due_at`] is at or
    /// before `now` and that no other claim holds (a hold ends at its `hold_until`), the
    /// earliest due first, and holds each until `hold_until`. Every ticket write keeps
    /// the due instant with the record (atomically, an import included), and concurrent
    /// claimers never get the same ticket (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Uuid>>;
    /// A ticket's timeline, oldest first by `(at, id)`, after the cursor (key: `at` in
    /// microseconds), up to `limit + 1`.
    async fn list_ticket_events(
        &self,
        ticket_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<TicketEvent>>;
}

/// Conversations, members, messages and read state.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Inserts a conversation with a participant per member ([`Participant::joined`]).
    /// A direct conversation whose `direct_key` exists: `Conflict::Direct`.
    async fn create_conversation(&self, conv: &Conversation, fx: &Effects) -> StoreResult<()>;
    /// The direct conversation with this key.
    async fn find_direct(&self, direct_key: &str) -> StoreResult<Option<Conversation>>;
    /// A conversation with its members.
    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>>;
    /// A conversation with `user_id`'s participant record in it, if any: what a message
    /// page and a read mark read. The record is never newer than the conversation (a
    /// read mark writes it under its version check against that conversation): read
    /// first here, or both in one snapshot by a store that reads them at once.
    async fn get_conversation_as(
        &self,
        id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<(Conversation, Option<Participant>)>> {
        let participant = self.get_participant(id, user_id).await?;
        let Some(conversation) = self.get_conversation(id).await? else {
            return Ok(None);
        };
        Ok(Some((conversation, participant)))
    }
    /// Sets the title.
    async fn set_conversation_title(&self, id: Uuid, title: &str, fx: &Effects) -> StoreResult<()>;
    /// Adds a member and moves their participant record as [`Participant::joined`].
    /// Returns false (writing nothing) if they are a member already.
    async fn add_member(&self, id: Uuid, member: Member, fx: &Effects) -> StoreResult<bool>;
    /// Removes a member (their participant record stays). Returns false (writing
    /// nothing) if they were not a member.
    async fn remove_member(&self, id: Uuid, user_id: Uuid, fx: &Effects) -> StoreResult<bool>;
    /// Conversations `user_id` is a member of, of `kind` if given, by latest activity
    /// ([`Conversation::activity_at`] in microseconds, id) descending, after the cursor,
    /// up to `limit + 1`.
    async fn list_conversations(
        &self,
        user_id: Uuid,
        kind: Option<ConversationKind>,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Conversation>>;
    /// Every conversation `user_id` is a member of, any order.
    async fn member_conversations(&self, user_id: Uuid) -> StoreResult<Vec<Conversation>>;

    /// Appends a message: locks the conversation, applies
    /// [`crate::message::apply_append`], counts the reply on the parent with
    /// [`Message::count_reply`] (parent missing or in another conversation:
    /// `NotFound`), attaches the attachments, writes
    /// `ticket_update` under its version check, and `effects(&message)`.
    async fn append_message(
        &self,
        new: &MessageAppend,
        effects: EffectsFn<'_, Message>,
    ) -> StoreResult<Message>;
    /// A message by id, if it belongs to the conversation.
    async fn get_message(&self, conversation_id: Uuid, id: Uuid) -> StoreResult<Option<Message>>;
    /// A message by seq.
    async fn get_message_by_seq(
        &self,
        conversation_id: Uuid,
        seq: u64,
    ) -> StoreResult<Option<Message>>;
    /// A page of messages, ascending by seq, at most `limit`, internal notes only when
    /// `include_internal` (the limit counts the returned messages).
    async fn list_messages(
        &self,
        conversation_id: Uuid,
        range: MessageRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>>;
    /// A page of the messages of several conversations (a ticket's and those of the
    /// tickets merged into it), ordered by `(created_at, id)` ascending, at most
    /// `limit`, internal notes only when `include_internal`; see [`AcrossRange`] for
    /// which. Unknown conversations add nothing.
    async fn list_messages_across(
        &self,
        conversation_ids: &[Uuid],
        range: AcrossRange,
        include_internal: bool,
        limit: usize,
    ) -> StoreResult<Vec<Message>>;
    /// Every descendant of a message with its depth (1: direct reply), ascending by seq.
    async fn descendants(
        &self,
        conversation_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Vec<(Message, u32)>>;
    /// Replaces a message's `content`, `edited_at` and `deleted_at`.
    async fn update_message(&self, message: &Message, fx: &Effects) -> StoreResult<()>;
    /// How many messages `user_id` sent with `seq` ≤ `seq`.
    async fn own_count_upto(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
        seq: u64,
    ) -> StoreResult<u64>;
    /// A participant record.
    async fn get_participant(
        &self,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Option<Participant>>;
    /// Every participant record of a conversation.
    async fn participants(&self, conversation_id: Uuid) -> StoreResult<Vec<Participant>>;
    /// The delivery watermarks (`delivered_seq`) of these users in a conversation, of
    /// those with a participant record, in any order: all a delivery needs of their
    /// records, for a group's thousand members in one read. The default reads the
    /// records, one by one for a handful of users, else the conversation's.
    async fn delivery_watermarks(
        &self,
        conversation_id: Uuid,
        user_ids: &[Uuid],
    ) -> StoreResult<Vec<(Uuid, u64)>> {
        if user_ids.len() <= WATERMARKS_READ_ONE_BY_ONE {
            let mut found = Vec::with_capacity(user_ids.len());
            for &user_id in user_ids {
                if let Some(p) = self.get_participant(conversation_id, user_id).await? {
                    found.push((user_id, p.delivered_seq));
                }
            }
            return Ok(found);
        }
        let wanted: std::collections::HashSet<&Uuid> = user_ids.iter().collect();
        Ok((self.participants(conversation_id).await?.into_iter())
            .filter(|p| wanted.contains(&p.user_id))
            .map(|p| (p.user_id, p.delivered_seq))
            .collect())
    }
    /// A user's participant records in these conversations.
    async fn participants_of(
        &self,
        user_id: Uuid,
        conversation_ids: &[Uuid],
    ) -> StoreResult<Vec<Participant>>;
    /// Writes a participant's read state under its version check (see
    /// [`Participant::version`]): every field except `delivered_seq` and
    /// `delivered_marks`, which only move forward through `advance_delivered`, and
    /// `sent_count`, which only `append_message` moves. `delivered_seq` rises to
    /// `last_read_seq` if below.
    async fn put_read_state(&self, participant: &Participant, fx: &Effects) -> StoreResult<()>;
    /// Raises members' delivery watermarks in one conversation, each to its `seq` if
    /// below (recording [`crate::receipt::Mark`] `{seq, at}`), creating a participant
    /// record where absent, writing each one's `fx` only if it moved, all in one write
    /// (a message pushed to a group's members is one write, not one per member). Returns
    /// for each whether it moved. An advance named twice applies in order.
    async fn advance_delivered(
        &self,
        conversation_id: Uuid,
        at: DateTime<Utc>,
        advances: &[DeliveryAdvance],
    ) -> StoreResult<Vec<bool>>;
}

/// A member's delivery watermark to raise: see
/// [`ConversationStore::advance_delivered`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAdvance {
    /// The member.
    pub user_id: Uuid,
    /// The highest message `seq` that reached them.
    pub seq: u64,
    /// Written only if the watermark moves.
    pub fx: Effects,
    /// The member's delivery watermark as the caller read it (without a lock), if it
    /// did: a store may raise it from there where it still stands, instead of reading
    /// the record again under a lock. A stale one changes nothing but the cost.
    pub from: Option<u64>,
}

/// Notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// A user's notifications, newest first by `(created_at, id)` (cursor key:
    /// `created_at` in microseconds), unread ones only if asked, up to `limit + 1`.
    async fn list_notifications(
        &self,
        user_id: Uuid,
        unread_only: bool,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Notification>>;
    /// How many unread notifications a user has.
    async fn unread_notifications(&self, user_id: Uuid) -> StoreResult<u64>;
    /// Marks one of the user's notifications read (keeping an earlier `read_at`);
    /// `None` if it is not theirs.
    async fn mark_notification_read(
        &self,
        user_id: Uuid,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Notification>>;
    /// Marks all of a user's notifications read; returns how many changed.
    async fn mark_all_notifications_read(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Deletes the notifications read before `before` (the retention window); unread
    /// ones stay whatever their age. Returns how many went.
    async fn prune_read_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// The knowledge base.
#[async_trait]
pub trait KbStore: Send + Sync {
    /// A number that moves whenever an article is written or imported, through any
    /// handle or instance on this store, as [`SchemaStore::schema_stamp`] does for the
    /// schema: what tells a copy of search answers whether it is still current.
    async fn kb_stamp(&self) -> StoreResult<u64>;
    /// Inserts an article. Slug taken: `Conflict::Slug`.
    async fn insert_article(&self, article: &Article, fx: &Effects) -> StoreResult<()>;
    /// Replaces an article. `NotFound` if absent; slug taken by another: `Conflict::Slug`.
    async fn update_article(&self, article: &Article, fx: &Effects) -> StoreResult<()>;
    /// Deletes an article. `NotFound` if absent.
    async fn delete_article(&self, id: Uuid, fx: &Effects) -> StoreResult<()>;
    /// An article by id.
    async fn get_article(&self, id: Uuid) -> StoreResult<Option<Article>>;
    /// An article by slug.
    async fn get_article_by_slug(&self, slug: &str) -> StoreResult<Option<Article>>;
    /// Articles matching [`ArticleQuery::matches`], newest first, up to `limit + 1`.
    async fn list_articles(&self, query: &ArticleQuery) -> StoreResult<Vec<Article>>;
    /// Every article (published only if asked), any order.
    async fn all_articles(&self, published_only: bool) -> StoreResult<Vec<Article>>;
    /// Tags with article counts (published articles only if asked), sorted by tag.
    async fn tag_counts(&self, published_only: bool) -> StoreResult<Vec<TagCount>>;
    /// Ranked search. The default ranks [`all_articles`](KbStore::all_articles) with
    /// [`crate::search`]; backends with an index of their own override it and must give
    /// the same answers to the conformance cases.
    async fn search_articles(&self, query: &SearchQuery) -> StoreResult<Vec<SearchHit>> {
        let articles = self.all_articles(!query.include_drafts).await?;
        Ok(crate::search::rank(articles, query))
    }
}

/// Attachments and blob chunks.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Writes chunk `index` of a blob (overwriting).
    async fn put_blob_chunk(&self, blob_id: Uuid, index: u32, data: &[u8]) -> StoreResult<()>;
    /// Reads chunk `index` of a blob.
    async fn get_blob_chunk(&self, blob_id: Uuid, index: u32) -> StoreResult<Option<Vec<u8>>>;
    /// Deletes every chunk of a blob.
    async fn delete_blob(&self, blob_id: Uuid) -> StoreResult<()>;
    /// Inserts attachment metadata (its chunks are written before).
    async fn insert_attachment(&self, attachment: &Attachment, fx: &Effects) -> StoreResult<()>;
    /// Attachment metadata by id.
    async fn get_attachment(&self, id: Uuid) -> StoreResult<Option<Attachment>>;
    /// Attachments of a parent, by `(created_at, id)` ascending.
    async fn list_attachments(&self, parent: AttachmentParent) -> StoreResult<Vec<Attachment>>;
    /// Unattached attachments created before `before`.
    async fn unattached_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<Attachment>>;
    /// Deletes an attachment's metadata and blob.
    async fn delete_attachment(&self, id: Uuid) -> StoreResult<()>;
}

/// The event log.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends effects on their own (changes with no record of their own, e.g. a test
    /// webhook event).
    async fn append_effects(&self, fx: &Effects) -> StoreResult<()>;
    /// Events with id greater than `after` (all if `None`), ascending, at most `limit`.
    /// Never skips an event that becomes visible later with a lower id.
    async fn events_after(&self, after: Option<EventId>, limit: usize) -> StoreResult<Vec<Event>>;
    /// The newest event id (pruned or not: ids never go back).
    async fn last_event_id(&self) -> StoreResult<Option<EventId>>;
    /// Prunes the log to the retention window: deletes the events that happened before
    /// `before`, except those a webhook delivery names (its manual redelivery sends
    /// them again), in batches so writers are never held long, and remembers the
    /// highest id deleted ([`EventStore::events_pruned_through`]). Returns how many
    /// went.
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// The highest event id pruned so far (`None`: nothing yet). A reader resuming
    /// after an older id has missed events for good.
    async fn events_pruned_through(&self) -> StoreResult<Option<EventId>>;
    /// Returns when other processes may have appended events (PostgreSQL: a
    /// `NOTIFY`). The default never returns: single-process stores are woken by the
    /// library itself.
    async fn wait_for_external_events(&self) -> StoreResult<()> {
        std::future::pending().await
    }
}

/// Webhook endpoints and deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Inserts an endpoint.
    async fn insert_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// Replaces an endpoint. `NotFound` if absent.
    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// Deletes an endpoint and its deliveries. `NotFound` if absent.
    async fn delete_webhook(&self, id: Uuid) -> StoreResult<()>;
    /// An endpoint.
    async fn get_webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>>;
    /// Every endpoint, by `(created_at, id)`.
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    /// Claims up to `limit` deliveries that are `pending` or `failed` with
    /// `next_attempt_at` ≤ `now` and whose endpoint is active, oldest due first, by
    /// setting their `next_attempt_at` to `lease_until`; concurrent claimers never get
    /// the same delivery.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Replaces a delivery's state. `NotFound` if absent.
    async fn update_delivery(&self, delivery: &Delivery) -> StoreResult<()>;
    /// A delivery.
    async fn get_delivery(&self, id: Uuid) -> StoreResult<Option<Delivery>>;
    /// An endpoint's deliveries, newest first by `(created_at, id)` (cursor key:
    /// `created_at` in microseconds), up to `limit + 1`.
    async fn list_deliveries(
        &self,
        webhook_id: Uuid,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>>;
}

/// The archive: every record in a stable order, and verbatim inserts (export/import,
/// see [`crate::archive`]).
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Up to `limit` records of `kind` in archive order ([`Record::key`] ascending),
    /// strictly after `after` (a record of the same kind; `None`: from the first).
    /// Reads a page at a time: never holds more than a page in memory.
    async fn export_records(
        &self,
        kind: RecordKind,
        after: Option<&Record>,
        limit: usize,
    ) -> StoreResult<Vec<Record>>;
    /// Writes records exactly as given, in order (ids, numbers, seqs, event ids,
    /// versions and counters included), with whatever indexes and counters the backend
    /// derives from them, so the store then behaves as the exporting one did. Records
    /// arrive in archive order, each after those it refers to; the header and end lines
    /// are ignored. Meant for an empty store (the caller checks): over existing records the
    /// outcome is unspecified, with one exception: the store's own default group (which
    /// every store has from its start). An imported group with `is_default` takes its
    /// place: the store's default group, if it has another id, is deleted and its
    /// memberships move to the imported group. Each call is atomic. One field is derived, not copied:
    /// a message's `internal_reply_count` is counted from the internal replies imported
    /// after it (archives written before the field existed lack it).
    async fn import_records(&self, records: &[Record]) -> StoreResult<()>;
}

/// The ephemeral channel beside the log: signals (typing, presence, heartbeats) that
/// reach every instance sharing the store, this one included, and are kept nowhere.
/// Best effort: a signal lost on the way is a lost hint. Single-process stores deliver
/// in process ([`support::SignalBus`]).
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Sends `signal` to the subscribers of every instance (PostgreSQL: `NOTIFY`, outside
    /// any transaction).
    async fn publish(&self, signal: &Signal) -> StoreResult<()>;
    /// The signals published from now on, on any instance.
    async fn subscribe_signals(&self) -> StoreResult<SignalReceiver>;
}

/// A subscription to the ephemeral channel ([`EphemeralStore::subscribe_signals`]).
pub type SignalReceiver = broadcast::Receiver<Signal>;

/// Everything a backend provides. Implemented for every type that implements all the
/// aggregate traits.
pub trait Store:
    MetaStore
    + UserStore
    + ApiKeyStore
    + GroupStore
    + OrganizationStore
    + CannedReplyStore
    + ViewStore
    + SchemaStore
    + MacroStore
    + SlaStore
    + MailboxStore
    + EmailStore
    + CalendarStore
    + CsatStore
    + RuleStore
    + TicketStore
    + ConversationStore
    + NotificationStore
    + KbStore
    + AttachmentStore
    + EventStore
    + WebhookStore
    + ArchiveStore
    + EphemeralStore
    + 'static
{
}

impl<T> Store for T where
    T: MetaStore
        + UserStore
        + ApiKeyStore
        + GroupStore
        + OrganizationStore
        + CannedReplyStore
        + ViewStore
        + ViewStore
        + SchemaStore
        + MacroStore
        + SlaStore
        + MailboxStore
        + EmailStore
        + CalendarStore
        + CsatStore
        + RuleStore
        + TicketStore
        + ConversationStore
        + NotificationStore
        + KbStore
        + AttachmentStore
        + EventStore
        + WebhookStore
        + ArchiveStore
        + EphemeralStore
        + 'static
{
}
