//! Key encodings: fixed-width big-endian parts so that byte order is sort order, and the
//! names of the trees a store keeps.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The trees of a store, by position in [`TREE_NAMES`]. Every transaction spans all of
/// them (sled 0.34 serialises transactions anyway, so a wide one costs nothing extra).
pub(crate) mod tree {
    /// Schema version, counters (ticket number, event id, users, unread notifications),
    /// settings, the default group's id, and the webhook list (read inside every event-writing transaction).
    pub const META: usize = 0;
    /// user id → User.
    pub const USERS: usize = 1;
    /// email → user id.
    pub const USER_EMAILS: usize = 2;
    /// `c|created|id`, `r|role|created|id`, `o|organization|created|id`, `S|id`
    /// (active staff).
    pub const USER_IDX: usize = 3;
    /// session id → Session.
    pub const SESSIONS: usize = 4;
    /// `user|session` → ().
    pub const USER_SESSIONS: usize = 5;
    /// ticket id → Ticket.
    pub const TICKETS: usize = 6;
    /// number → ticket id.
    pub const TICKET_NUMBERS: usize = 7;
    /// `dimension|sort|key|id` → ().
    pub const TICKET_IDX: usize = 8;
    /// `ticket|at|id` → TicketEvent.
    pub const TICKET_EVENTS: usize = 9;
    /// conversation id → Conversation.
    pub const CONVS: usize = 10;
    /// direct key → conversation id.
    pub const DIRECT: usize = 11;
    /// `member|kind-or-*|activity|conversation` → ().
    pub const CONV_IDX: usize = 12;
    /// `conversation|seq` → Message.
    pub const MESSAGES: usize = 13;
    /// message id → `conversation|seq`.
    pub const MESSAGE_IDS: usize = 14;
    /// `conversation|seq` → () for non-internal messages.
    pub const PUBLIC_MSGS: usize = 15;
    /// `conversation|sender|seq` → sender ordinal.
    pub const OWN_MSGS: usize = 16;
    /// `conversation|parent seq|child seq` → ().
    pub const CHILDREN: usize = 17;
    /// `conversation|user` → Participant.
    pub const PARTICIPANTS: usize = 18;
    /// notification id → Notification.
    pub const NOTIFS: usize = 19;
    /// `a|user|created|id` (all), `u|user|created|id` (unread) → ().
    pub const NOTIF_IDX: usize = 20;
    /// article id → Article.
    pub const ARTICLES: usize = 21;
    /// slug → article id.
    pub const ARTICLE_SLUGS: usize = 22;
    /// `a|created|id`, `s|status|...`, `t|tag|...`, `T|status|tag|...` → ().
    pub const ARTICLE_IDX: usize = 23;
    /// tag → (count, published count).
    pub const ARTICLE_TAGS: usize = 24;
    /// `term|0|article id` → (): the inverted search index.
    pub const SEARCH: usize = 25;
    /// attachment id → Attachment.
    pub const ATTACHMENTS: usize = 26;
    /// `T|ticket|created|id`, `M|conversation|message|created|id`, `U|created|id` → ().
    pub const ATT_IDX: usize = 27;
    /// `blob|chunk index` → bytes.
    pub const BLOBS: usize = 28;
    /// event id → Event.
    pub const EVENTS: usize = 29;
    /// delivery id → Delivery.
    pub const DELIVERIES: usize = 30;
    /// `webhook|created|id` → ().
    pub const DELIVERY_IDX: usize = 31;
    /// `next attempt|event id|id` → () for pending and failed deliveries that are due.
    pub const DELIVERY_DUE: usize = 32;
    /// `key|at|id` → (): counted attempts (failed logins, signups) by key.
    pub const ATTEMPTS: usize = 33;
    /// `at|id` → the `ATTEMPTS` key: the same attempts by time, to forget old ones.
    pub const ATTEMPTS_BY_TIME: usize = 34;
    /// group id → Group.
    pub const GROUPS: usize = 35;
    /// lowercased group name → group id.
    pub const GROUP_NAMES: usize = 36;
    /// group id → its memberships in joining order (one record: a short list, read
    /// inside transactions).
    pub const GROUP_MEMBERS: usize = 37;
    /// user id → the ids of the user's groups (one record, read inside transactions).
    pub const USER_GROUPS: usize = 38;
    /// group id → how many tickets it holds (a counter, so deleting checks it).
    pub const GROUP_TICKETS: usize = 39;
    /// API key id → ApiKey.
    pub const API_KEYS: usize = 40;
    /// token hash → API key id.
    pub const API_KEY_HASHES: usize = 41;
    /// user id → the ids of the user's API keys (one record, at most 50, read inside
    /// transactions: the per-user limit is counted there).
    pub const USER_API_KEYS: usize = 42;
    /// organization id → Organization.
    pub const ORGS: usize = 43;
    /// lowercased organization name → organization id: unique names, and the list
    /// order (names are unique, so the name alone orders them).
    pub const ORG_NAMES: usize = 44;
    /// domain → the id of the organization listing it.
    pub const ORG_DOMAINS: usize = 45;
    /// `organization|ticket` → (): the tickets naming an organization.
    pub const ORG_TICKETS: usize = 46;
    /// organization id → a counter that moves whenever a user or ticket starts or stops
    /// naming it (so deleting it checks that what it read is still all).
    pub const ORG_VERSIONS: usize = 47;
    /// canned reply id → CannedReply.
    pub const CANNED: usize = 48;
    /// shortcut → canned reply id: unique shortcuts, and the list order.
    pub const CANNED_SHORTCUTS: usize = 49;
    /// `g` (the global replies) or `o|owner` (an owner's personal and group replies; the
    /// nil id for the system) → how many there are (counters, read inside the insert's
    /// transaction: the limits are counted there).
    pub const CANNED_COUNTS: usize = 50;
    /// group id → how many group canned replies it holds (a counter, so deleting the
    /// group checks it).
    pub const GROUP_CANNED: usize = 51;
    /// view id → View.
    pub const VIEWS: usize = 52;
    /// `g` (the global views) or `o|owner` (an owner's personal and group views; the nil
    /// id for the system) → how many there are (counters, read inside the insert's
    /// transaction: the limits are counted there).
    pub const VIEW_COUNTS: usize = 53;
    /// group id → how many group views it holds (a counter, so deleting the group
    /// checks it).
    pub const GROUP_VIEWS: usize = 54;
    /// status id → Status.
    pub const STATUSES: usize = 55;
    /// status key → status id: unique keys.
    pub const STATUS_KEYS: usize = 56;
    /// category name → how many statuses it holds (a counter, read inside the insert's
    /// transaction: the limit is counted there).
    pub const STATUS_COUNTS: usize = 57;
    /// status key → how many tickets have it (a counter, so deleting a status checks it).
    pub const STATUS_TICKETS: usize = 58;
    /// custom field id → CustomField.
    pub const FIELDS: usize = 59;
    /// custom field key → field id: unique keys.
    pub const FIELD_KEYS: usize = 60;
    /// `active` → how many fields are active (a counter, read inside the writing
    /// transaction: the limit is counted there).
    pub const FIELD_COUNTS: usize = 61;
    /// custom field key → how many tickets have a value of it (a counter, so deleting a
    /// field checks it).
    pub const FIELD_TICKETS: usize = 62;
    /// macro id → Macro (their number is `macro_count` in `META`).
    pub const MACROS: usize = 63;
    /// `due instant|ticket id` → (): the tickets something is due on
    /// ([`helpdesk_core::schedule::next_due_at`]), earliest first.
    pub const DUE: usize = 64;
    /// SLA policy id → SlaPolicy (their number is `sla_policy_count` in `META`).
    pub const SLA_POLICIES: usize = 65;
    /// calendar id → Calendar (their number is `calendar_count` in `META`).
    pub const CALENDARS: usize = 66;
    /// survey id → Survey (CSAT).
    pub const SURVEYS: usize = 67;
    /// token hash → survey id.
    pub const SURVEY_TOKENS: usize = 68;
    /// `ticket|cycle` → survey id: one survey per ticket and cycle, a ticket's surveys
    /// in order.
    pub const TICKET_SURVEYS: usize = 69;
    /// rule id → Rule (triggers and automations).
    pub const RULES: usize = 70;
    /// (rule, at micros, run id) → RuleRun, oldest first.
    pub const RULE_RUNS: usize = 71;
    /// `i` (rule, ticket) → (): inside an automation's condition; `r` (ticket, run key)
    /// → (): a run of the ticket (to forget a deleted ticket's runs).
    pub const RULE_STATE: usize = 72;
    /// mailbox id → Mailbox (the default one's id is `default_mailbox` in `META`).
    pub const MAILBOXES: usize = 73;
    /// address → mailbox id: unique addresses.
    pub const MAILBOX_ADDRESSES: usize = 74;
    /// inbound record id → InboundRecord.
    pub const INBOUND: usize = 75;
    /// inbound record id → the bytes received (kept out of the records: lists never
    /// load them).
    pub const INBOUND_RAW: usize = 76;
    /// `mailbox|dedupe key` → inbound record id: one record per mail and mailbox.
    pub const INBOUND_KEYS: usize = 77;
    /// `l|mailbox|received|id` (a mailbox's list), `t|ticket|received|id` (a ticket's
    /// inbound mail with a Message-ID) → ().
    pub const INBOUND_IDX: usize = 78;
    /// `lower-cased Message-ID|0 (inbound) or 1 (outbound)|at|id` → (): every mail
    /// ingested or sent by its Message-ID.
    pub const MAIL_IDS: usize = 79;
    /// outbound mail id → OutboundMail.
    pub const OUTBOUND: usize = 80;
    /// outbound mail id → its bytes.
    pub const OUTBOUND_RAW: usize = 81;
    /// `l|mailbox|created|id` (a mailbox's outbox), `t|ticket|created|id` (a ticket's),
    /// `a|address|created|id` (auto-replies by `To` address) → ().
    pub const OUTBOUND_IDX: usize = 82;
    /// `next attempt|id` → () for pending and failed outbound mail (the due queue).
    pub const OUTBOUND_DUE: usize = 83;
    /// address → Suppression.
    pub const SUPPRESSIONS: usize = 84;
    /// mailbox id → how many tickets name it (a counter, so deleting it checks it).
    pub const MAILBOX_TICKETS: usize = 85;
    /// mailbox id → the IMAP poller's lease: holder id (16 bytes), until (Unix µs, i64
    /// big-endian).
    pub const MAILBOX_LEASES: usize = 86;
    /// How many trees.
    pub const COUNT: usize = 87;
}

/// Tree names on disk, indexed by the constants of [`tree`].
pub(crate) const TREE_NAMES: [&str; tree::COUNT] = [
    "meta",
    "users",
    "user_emails",
    "user_idx",
    "sessions",
    "user_sessions",
    "tickets",
    "ticket_numbers",
    "ticket_idx",
    "ticket_events",
    "conversations",
    "direct",
    "conversation_idx",
    "messages",
    "message_ids",
    "public_messages",
    "own_messages",
    "children",
    "participants",
    "notifications",
    "notification_idx",
    "articles",
    "article_slugs",
    "article_idx",
    "article_tags",
    "search",
    "attachments",
    "attachment_idx",
    "blobs",
    "events",
    "deliveries",
    "delivery_idx",
    "delivery_due",
    "attempts",
    "attempts_by_time",
    "groups",
    "group_names",
    "group_members",
    "user_groups",
    "group_tickets",
    "api_keys",
    "api_key_hashes",
    "user_api_keys",
    "organizations",
    "organization_names",
    "organization_domains",
    "organization_tickets",
    "organization_versions",
    "canned_replies",
    "canned_shortcuts",
    "canned_counts",
    "group_canned_replies",
    "views",
    "view_counts",
    "group_views",
    "statuses",
    "status_keys",
    "status_counts",
    "status_tickets",
    "custom_fields",
    "custom_field_keys",
    "custom_field_counts",
    "custom_field_tickets",
    "macros",
    "due",
    "sla_policies",
    "calendars",
    "surveys",
    "survey_tokens",
    "ticket_surveys",
    "rules",
    "rule_runs",
    "rule_state",
    "mailboxes",
    "mailbox_addresses",
    "inbound_mail",
    "inbound_raw",
    "inbound_keys",
    "inbound_idx",
    "mail_ids",
    "outbound_mail",
    "outbound_raw",
    "outbound_idx",
    "outbound_due",
    "email_suppressions",
    "mailbox_tickets",
    "mailbox_leases",
];

/// Records deleted per transaction when pruning the event log and read notifications.
pub(crate) const PRUNE_BATCH: usize = 1000;

/// A key built from parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Key(pub Vec<u8>);

impl Key {
    /// An empty key.
    pub fn new() -> Self {
        Key(Vec::with_capacity(48))
    }
    /// Appends raw bytes.
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Appends one byte (a tag naming an index dimension).
    pub fn tag(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    /// Appends a uuid (16 bytes; byte order is `Uuid`'s order).
    pub fn id(self, id: Uuid) -> Self {
        self.raw(id.as_bytes())
    }
    /// Appends a u64, big-endian.
    pub fn u64(self, n: u64) -> Self {
        self.raw(&n.to_be_bytes())
    }
    /// Appends a u32, big-endian.
    pub fn u32(self, n: u32) -> Self {
        self.raw(&n.to_be_bytes())
    }
    /// Appends an i64 so that byte order is numeric order.
    pub fn i64(self, n: i64) -> Self {
        self.u64(i64_sortable(n))
    }
    /// Appends a time in microseconds (the cursor key unit).
    pub fn micros(self, t: DateTime<Utc>) -> Self {
        self.i64(t.timestamp_micros())
    }
    /// Appends a time exactly (seconds, then nanoseconds).
    pub fn exact_time(self, t: DateTime<Utc>) -> Self {
        self.i64(t.timestamp()).u32(t.timestamp_subsec_nanos())
    }
    /// Appends a string with a length prefix, so that a prefix ending after it matches
    /// this string exactly.
    pub fn str(self, s: &str) -> Self {
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.u32(len).raw(s.as_bytes())
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Maps an i64 to a u64 with the same order.
pub(crate) fn i64_sortable(n: i64) -> u64 {
    (n as u64) ^ (1 << 63)
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Reads a uuid from the last 16 bytes of a key.
pub(crate) fn trailing_id(key: &[u8]) -> Option<Uuid> {
    let start = key.len().checked_sub(16)?;
    Uuid::from_slice(&key[start..]).ok()
}

/// Reads a big-endian u64 at the end of a key.
pub(crate) fn trailing_u64(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[start..].try_into().ok()?))
}

/// Reads a big-endian u64 value.
pub(crate) fn u64_value(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i64_order_is_byte_order() {
        let ns = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ns.windows(2) {
            assert!(Key::new().i64(w[0]).0 < Key::new().i64(w[1]).0);
        }
    }

    #[test]
    fn prefix_end_skips_max_bytes() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_end(&[255]), None);
    }
}
