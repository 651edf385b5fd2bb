//! What nearly every request asks the store, kept a moment per instance: the user of a
//! live session ([`crate::store::UserStore::live_session_user`]), a user's group
//! memberships ([`crate::store::GroupStore::user_memberships`]) and the default group
//! with its members, where new tickets go ([`crate::store::GroupStore::default_group_members`]).
//!
//! An entry lives [`TTL`]. A change that can take access away or move new tickets, made
//! through this instance (logout, the reuse of a rotated refresh token, any change of a
//! user, a new user, an organization's deletion, a membership change, a group's
//! creation, change or deletion, an import),
//! clears every entry at once: it takes effect here at once and on every other instance
//! sharing the store within [`TTL`], inside API.md's one-second bound on revocation.
//! Time here is the machine's monotonic clock, not the injected one: the bound is about
//! instances, not about the helpdesk's notion of now.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::group::{Group, Membership};
use crate::user::User;

/// How long an entry is trusted: what a change made on another instance can take to be
/// in force here.
pub const TTL: Duration = Duration::from_millis(500);

/// Entries per map before it is emptied (a crude bound on memory; a full map is rare,
/// and an empty one only costs a read each).
const CAPACITY: usize = 50_000;

/// The maps, and the generation [`AccessCache::clear`] moves.
#[derive(Debug, Default)]
pub(crate) struct AccessCache {
    generation: AtomicU64,
    sessions: Entries<Option<User>>,
    memberships: Entries<Arc<[Membership]>>,
    /// Under [`DEFAULT_GROUP`], the only key.
    default_group: Entries<Arc<(Group, Vec<Membership>)>>,
}

/// The key of the one entry of [`AccessCache::default_group`].
const DEFAULT_GROUP: Uuid = Uuid::nil();

/// The generation at the start of a store read ([`AccessCache::generation`]): a clear
/// while the read runs makes its answer stale, and it is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Generation(u64);

impl AccessCache {
    /// Read before asking the store, and given back with its answer.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The user of session `sid` as read within [`TTL`] (`Some(None)`: no live session).
    pub fn session(&self, sid: Uuid) -> Option<Option<User>> {
        self.sessions.get(sid)
    }

    /// Keeps what the store said of session `sid`.
    pub fn put_session(&self, read: Generation, sid: Uuid, user: Option<User>) {
        self.sessions.put(self.current(read), sid, user);
    }

    /// `user_id`'s memberships as read within [`TTL`].
    pub fn memberships(&self, user_id: Uuid) -> Option<Arc<[Membership]>> {
        self.memberships.get(user_id)
    }

    /// Keeps `user_id`'s memberships.
    pub fn put_memberships(&self, read: Generation, user_id: Uuid, m: Arc<[Membership]>) {
        self.memberships.put(self.current(read), user_id, m);
    }

    /// The default group and its members as read within [`TTL`].
    pub fn default_group(&self) -> Option<Arc<(Group, Vec<Membership>)>> {
        self.default_group.get(DEFAULT_GROUP)
    }

    /// Keeps the default group and its members.
    pub fn put_default_group(&self, read: Generation, g: Arc<(Group, Vec<Membership>)>) {
        self.default_group.put(self.current(read), DEFAULT_GROUP, g);
    }

    /// Forgets every entry: a change made here that can take access away.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.clear();
        self.memberships.clear();
        self.default_group.clear();
    }

    /// Whether no clear came since `read`, asked under the map's lock by
    /// [`Entries::put`] (a clear moves the generation before it empties the maps).
    fn current(&self, read: Generation) -> impl Fn() -> bool + '_ {
        move || self.generation() == read
    }
}

/// One map: each entry with the instant it was read.
#[derive(Debug)]
struct Entries<V>(Mutex<HashMap<Uuid, (Instant, V)>>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Mutex::new(HashMap::new()))
    }
}

impl<V: Clone> Entries<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, V)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, k: Uuid) -> Option<V> {
        let map = self.lock();
        let (at, v) = map.get(&k)?;
        (at.elapsed() < TTL).then(|| v.clone())
    }

    fn put(&self, current: impl Fn() -> bool, k: Uuid, v: V) {
        let mut map = self.lock();
        if !current() {
            return;
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(k, (Instant::now(), v));
    }

    fn clear(&self) {
        self.lock().clear();
    }
}
