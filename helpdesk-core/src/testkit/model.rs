//! The model-based property test: random sequences of operations applied to a backend
//! and to the in-memory store (the reference model), their observable state compared
//! after each step.
//!
//! Each case builds two [`Helpdesk`]s on one [`ManualClock`]: one over a fresh
//! [`MemoryStore`], one over a fresh store of the backend under test. Both get the same
//! users (an admin, two agents, three customers), then the same operations, one at a
//! time. Ids are made by the library, so they differ between the two sides: every
//! object an operation creates is recorded per side, in creation order, and operations
//! refer to objects by their position in those lists. Every rendered result has its ids
//! replaced by labels (`U0`, `T3`, `C2`, `M5`, `A1`, `F0`; `?` for ids the test does not
//! track, such as notification ids), so the two sides' answers compare as strings.
//!
//! After each operation the two answers must be equal: both `Ok` with the same value
//! (text byte for byte), or both `Err` with the same error. A store failure (`Other`,
//! `Corrupt`, `Unavailable`) or an `Internal` error is a failure even if both sides agree:
//! it would be a 500. Then, every `check_every` steps and after the last one, the
//! observable state of both sides is compared: each user's ticket list, conversation
//! list (unread counts, last message), unread overview and notifications; every
//! conversation (as an admin sees it) with all its messages as stored; every message's
//! receipts; every ticket's timeline and attachments; the users; KB lists, tags and
//! searches; ticket and user text filters for fixed case-mapping probes; the event log.
//! Reads that count as delivery (message pages, single messages, threads) are
//! operations of their own, so the comparison itself changes nothing.
//!
//! Known differences between the stores are left out of the comparison, narrowly,
//! unless `HELPDESK_MODEL_STRICT` is set: see [`strict`].
//!
//! Text comes from generators of arbitrary Unicode with C0 controls (U+0000 included),
//! tab, newline and carriage return, case-mapping traps (`Σ`/`ς`, `İ`, `ß`/`ẞ`, the
//! Kelvin sign), combining marks, emoji, and lengths at each limit (200/201 characters,
//! 20,000/20,001, 32,000/32,001) in one- to four-byte characters. Whatever one backend
//! accepts, the other must accept and give back unchanged; what one refuses, the other
//! must refuse with the same error.
//!
//! A failing case is shrunk by proptest to a short sequence and reported with the step,
//! the operation and both sides' answers. [`ModelConfig::from_env`] reads the bounds:
//! `HELPDESK_MODEL_CASES` (cases), `HELPDESK_MODEL_OPS` (most operations per case),
//! `HELPDESK_MODEL_CHECK_EVERY` (steps between full state comparisons),
//! `HELPDESK_MODEL_SEED` (a fixed seed, to replay a run) and
//! `HELPDESK_MODEL_SHRINK_SECS` (time allowed for shrinking a failure). The
//! operations and their weights are [`op`]; each step's answer and the state checks
//! are compared as `Debug` renderings with ids labelled, so new fields are compared
//! without changes here.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use futures_util::StreamExt;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use uuid::Uuid;

use super::{IntoTestStore, PASSWORD, Skip, Who};
use crate::clock::ManualClock;
use crate::conversation::ConversationFilter;
use crate::conversation::{ConversationKind, NewConversation};
use crate::error::{Error, StoreError};
use crate::kb::ArticleFilter;
use crate::kb::ArticleSearch;
use crate::kb::{ArticlePatch, ArticleStatus, NewArticle};
use crate::message::{MessagePageQuery, MessageRange, NewMessage};
use crate::notification::{NotificationFilter, NotificationList};
use crate::page::PageRequest;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::ticket::{NewTicket, Priority, Ticket, TicketFilter, TicketPatch, TicketSort};
use crate::user::UserFilter;
use crate::user::{NewUser, ProfilePatch, UserPatch};
use crate::{Config, Helpdesk, Principal, Role};

/// Environment variable: how many cases to run.
pub const CASES_VAR: &str = "HELPDESK_MODEL_CASES";
/// Environment variable: the most operations in one case.
pub const OPS_VAR: &str = "HELPDESK_MODEL_OPS";
/// Environment variable: steps between two full state comparisons.
pub const CHECK_EVERY_VAR: &str = "HELPDESK_MODEL_CHECK_EVERY";
/// Environment variable: a fixed seed (a number) to replay a run.
pub const SEED_VAR: &str = "HELPDESK_MODEL_SEED";
/// Environment variable: when set, the known differences between the stores are
/// compared too (see [`strict`]), so the run fails until they are fixed.
pub const STRICT_VAR: &str = "HELPDESK_MODEL_STRICT";

/// Whether the known differences are compared (`HELPDESK_MODEL_STRICT` set). They are
/// left out otherwise, narrowly, so that everything else stays checked:
/// - KB search snippets: compared by their marked words only. PostgreSQL's `ts_headline`
///   keeps the text before the first word (`"😀 café"` → `"😀 <mark>café</mark>"`),
///   the core's snippets start at the first word (`"<mark>café</mark>"`).
/// - Case-insensitive text filters (tickets' and users' `q`): a filter holding `İ` or
///   `Σ` is not compared, and records holding them are left out of filtered lists.
///   Rust's `to_lowercase` (the memory and sled stores) maps `İ` to `i̇` (two
///   characters) and a word-final `Σ` to `ς`; PostgreSQL's `lower()` maps them to `i`
///   and `σ`. So `q = "İ"` finds the user named "admin" on PostgreSQL only, and
///   `q = "ΚΟΣ"` finds "ΚΟΣΜΟΣ" on PostgreSQL only.
/// - KB search: a query with anything but letters, digits, spaces and plain
///   punctuation is not compared, and articles with such text are left out of the
///   hits. PostgreSQL's text-search parser reads `<b>` as an HTML tag, `a@b.com` as one
///   e-mail token, `example.com` as a host, `x-1` as a compound (and its parts), where
///   the core's search splits words at every non-alphanumeric character: for the title
///   `"<b>bold</b> password"` and the query `"<b>bold</b>"` the core marks `b`, `bold`,
///   `b`, PostgreSQL `bold` only.
pub fn strict() -> bool {
    std::env::var_os(STRICT_VAR).is_some()
}

/// Text on which the stores' case-insensitive matching is known to differ.
fn case_trap(text: &str) -> bool {
    !strict() && text.contains(['İ', 'Σ'])
}

/// Text that the stores' full-text search is known to read differently.
fn search_trap(text: &str) -> bool {
    !strict()
        && (case_trap(text)
            || text
                .chars()
                .any(|c| !(c.is_alphanumeric() || c.is_whitespace() || ",;:!?()\"'".contains(c))))
}

fn article_search_trap(a: &crate::kb::Article) -> bool {
    search_trap(&a.title) || search_trap(&a.body) || a.tags.iter().any(|t| search_trap(t))
}

/// Not compared: a known difference (see [`strict`]).
const KNOWN: &str = "not compared: a known difference between the stores";
/// Environment variable: seconds allowed for shrinking a failing case.
pub const SHRINK_SECS_VAR: &str = "HELPDESK_MODEL_SHRINK_SECS";

/// The bounds of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    /// Random cases (each with fresh stores).
    pub cases: u32,
    /// The most operations in one case.
    pub max_ops: usize,
    /// Compare the full observable state after every this many steps (and after the
    /// last); each operation's own answer is compared at every step.
    pub check_every: usize,
    /// A fixed seed, else a random one.
    pub seed: Option<u64>,
    /// Time allowed for shrinking a failure, in seconds.
    pub shrink_secs: u32,
}

impl ModelConfig {
    /// The given defaults, overridden by the environment variables of this module.
    pub fn from_env(cases: u32, max_ops: usize) -> Self {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            let v = std::env::var(name).ok()?;
            match v.trim().parse() {
                Ok(x) => Some(x),
                Err(_) => panic!("{name}={v:?} is not a number"),
            }
        }
        ModelConfig {
            cases: var(CASES_VAR).unwrap_or(cases),
            max_ops: var::<usize>(OPS_VAR).unwrap_or(max_ops).max(1),
            check_every: var::<usize>(CHECK_EVERY_VAR).unwrap_or(1).max(1),
            seed: var(SEED_VAR),
            shrink_secs: var(SHRINK_SECS_VAR).unwrap_or(300),
        }
    }
}

/// Runs the model test: `config.cases` random operation sequences, each on a fresh
/// store from `factory` and a fresh [`MemoryStore`], compared step by step. Panics with
/// the shrunk sequence and the first difference when the backend and the model
/// disagree. A factory that answers [`Skip`] makes the run print why and pass.
pub fn check_against_memory<F, Fut, T>(factory: F, config: ModelConfig)
where
    F: Fn() -> Fut,
    Fut: Future<Output = T>,
    T: IntoTestStore,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(Skip(reason)) = rt.block_on(async { factory().await.into_test_store() }) {
        println!("skipped: {reason}");
        return;
    }
    let runner_config = RunnerConfig {
        cases: config.cases,
        failure_persistence: None,
        max_shrink_time: config.shrink_secs.saturating_mul(1000),
        max_shrink_iters: 100_000,
        ..RunnerConfig::default()
    };
    let mut runner = match config.seed {
        Some(seed) => TestRunner::new_with_rng(
            runner_config,
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed)),
        ),
        None => TestRunner::new(runner_config),
    };
    let started = std::time::Instant::now();
    let tally = Tally::default();
    let result = runner.run(&vec(op(), 1..=config.max_ops), |ops| {
        rt.block_on(async {
            let made = std::time::Instant::now();
            let backend = match factory().await.into_test_store() {
                Ok(ts) => ts,
                Err(Skip(reason)) => return Err(TestCaseError::reject(reason)),
            };
            *tally.1.lock().expect("tally") += made.elapsed();
            let outcome = run_case(backend.store.clone(), &ops, config.check_every, &tally).await;
            drop(backend);
            outcome
        })
    });
    match result {
        Ok(()) => println!(
            "model: {} cases, no difference ({:.1?}, of which {:.1?} making stores); \
             operations run (ok / refused / nothing to act on or not compared):\n{}",
            config.cases,
            started.elapsed(),
            tally.1.lock().expect("tally"),
            tally.report()
        ),
        Err(TestError::Fail(why, ops)) => panic!(
            "the backend differs from the in-memory model.\n{why}\n\nshrunk operations \
             ({} of them):\n{}",
            ops.len(),
            ops.iter()
                .enumerate()
                .map(|(i, op)| format!("  {i:>2}: {op:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Err(TestError::Abort(why)) => panic!("model test aborted: {why}"),
    }
}

/// How many operations of each kind ran, and how they ended, to see what a run covered.
#[derive(Default)]
struct Tally(
    std::sync::Mutex<std::collections::BTreeMap<String, [u64; 3]>>,
    /// Time spent making the backend's stores.
    std::sync::Mutex<std::time::Duration>,
);

impl Tally {
    fn count(&self, op: &Op, answer: &str) {
        let kind: String = format!("{op:?}")
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        let slot = if answer == NOTHING || answer == KNOWN {
            2
        } else if answer.starts_with("Err(") {
            1
        } else {
            0
        };
        self.0.lock().expect("tally").entry(kind).or_default()[slot] += 1;
    }

    fn report(&self) -> String {
        self.0
            .lock()
            .expect("tally")
            .iter()
            .map(|(k, [ok, err, none])| format!("  {k:<18} {ok:>5} / {err:>5} / {none:>5}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&seed.wrapping_add(i as u64).to_le_bytes());
    }
    bytes
}

// ---------------------------------------------------------------------------------------
// Generated inputs

/// Generated text. Its `Debug` abbreviates long strings (the lengths are what matter).
#[derive(Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.chars().count();
        if n <= 80 {
            return write!(f, "{:?}", self.0);
        }
        let head: String = self.0.chars().take(12).collect();
        let tail: String = self.0.chars().skip(n - 6).collect();
        write!(
            f,
            "{head:?}…{tail:?} ({n} chars, {} bytes, {} distinct)",
            self.0.len(),
            {
                let mut cs: Vec<char> = self.0.chars().collect();
                cs.sort_unstable();
                cs.dedup();
                cs.len()
            }
        )
    }
}

/// Characters worth meeting: refused controls, allowed whitespace, invisible and
/// private-use ones, case-mapping traps, combining marks, emoji, HTML and LIKE
/// metacharacters.
const SPECIAL: &[char] = &[
    '\0',
    '\u{1}',
    '\u{8}',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{1f}',
    '\t',
    '\n',
    '\r',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{200b}',
    '\u{200d}',
    '\u{2028}',
    '\u{202e}',
    '\u{feff}',
    '\u{fffd}',
    '\u{fffe}',
    '\u{e000}',
    '\u{10ffff}',
    'Σ',
    'σ',
    'ς',
    'İ',
    'ı',
    'I',
    'i',
    'ß',
    'ẞ',
    'ǅ',
    '\u{212a}',
    'Å',
    'ﬃ',
    'é',
    '\u{301}',
    '😀',
    '👍',
    '\u{1f3fb}',
    '中',
    'ا',
    '&',
    '<',
    '>',
    '"',
    '\'',
    '\\',
    '%',
    '_',
    '@',
    '-',
    '.',
    ' ',
    '#',
    '*',
];

/// Words for KB search and ticket text, in several cases and forms.
const WORDS: &[&str] = &[
    "password",
    "passwords",
    "Password",
    "reset",
    "resetting",
    "printer",
    "PRINTER",
    "login",
    "logging",
    "invoice",
    "the",
    "a",
    "Straße",
    "STRASSE",
    "ΣΟΦΟΣ",
    "σοφός",
    "ΚΟΣΜΟΣ",
    "Κόσμος",
    "İstanbul",
    "istanbul",
    "café",
    "cafe\u{301}",
    "naïve",
    "日本語",
    "😀",
    "<b>bold</b>",
    "50%_off",
    "@agent1@example.com",
    "@customer3@example.com",
];

const SEPARATORS: &[&str] = &[" ", " ", ", ", ".\n", "\t", "-", "  ", "\r\n"];

/// Lengths at and around each text limit.
const EDGE_LENGTHS: &[usize] = &[
    1, 49, 50, 51, 199, 200, 201, 19_999, 20_000, 20_001, 31_999, 32_000, 32_001,
];
const FILLS: &[char] = &['a', 'é', '中', '😀', ' ', 'Σ', '\u{301}', '\n'];

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => (0x20u8..0x7f).prop_map(char::from),
        2 => select(SPECIAL),
        1 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        3 => vec(any_char(), 0..16).prop_map(|cs| Text(cs.into_iter().collect())),
        6 => vec((select(WORDS), select(SEPARATORS)), 1..6).prop_map(|ws| {
            Text(ws.into_iter().flat_map(|(w, s)| [w, s]).collect())
        }),
        2 => (select(EDGE_LENGTHS), select(FILLS), any::<bool>(), any_char()).prop_map(
            |(n, fill, pad, last)| {
                let mut s: String = std::iter::repeat_n(fill, n.saturating_sub(1)).collect();
                s.push(if pad { fill } else { last });
                if pad {
                    s = format!(" {s}\n");
                }
                Text(s)
            }
        ),
        1 => select(&["", " ", "\t\n\r", "  padded  ", "x"][..]).prop_map(|s| Text(s.into())),
    ]
}

fn tags() -> impl Strategy<Value = Vec<Text>> {
    let tag = prop_oneof![
        12 => select(&[
            "billing", "Billing ", "urgent", "ß", "ẞ", "İstanbul", "σοφός", "a b", "x.y",
            "日本", "ǅ", "\u{212a}elvin", "ΣΟΦΟΣ",
        ][..]).prop_map(|s| Text(s.into())),
        1 => select(&["bad/tag", "e\u{301}", "", "😀"][..]).prop_map(|s| Text(s.into())),
        1 => text(),
    ];
    vec(tag, 0..3)
}

/// Text to look for: given outright, or cut from an existing ticket's subject or
/// article's title (on the model's side) and case-changed.
#[derive(Debug, Clone)]
pub enum Query {
    /// This text.
    Text(Text),
    /// The first characters of a word of a ticket's subject, case-changed.
    FromTicket(Index, Index, usize, Case),
    /// The start of a word of an article's title, case-changed.
    FromArticle(Index, Index, usize, Case),
}

/// How a cut query's case is changed.
#[derive(Debug, Clone, Copy)]
pub enum Case {
    /// Unchanged.
    Same,
    /// `to_uppercase`.
    Upper,
    /// `to_lowercase`.
    Lower,
}

fn query() -> impl Strategy<Value = Query> {
    let case = prop_oneof![Just(Case::Same), Just(Case::Upper), Just(Case::Lower)];
    prop_oneof![
        2 => text().prop_map(Query::Text),
        2 => (any::<Index>(), any::<Index>(), prop_oneof![1usize..8, Just(100)], case.clone())
            .prop_map(|(t, s, n, c)| Query::FromTicket(t, s, n, c)),
        1 => (any::<Index>(), any::<Index>(), prop_oneof![1usize..8, Just(100)], case)
            .prop_map(|(a, s, n, c)| Query::FromArticle(a, s, n, c)),
    ]
}

/// One generated operation. Users are `0..6` (admin, two agents, three customers);
/// other objects are positions in the lists of objects created so far.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Op {
    /// Moves the shared clock on by this many microseconds.
    Tick(i64),
    CreateTicket {
        actor: Actor,
        subject: Text,
        description: Text,
        priority: Option<Priority>,
        tags: Vec<Text>,
        requester: Option<usize>,
        assignee: Option<usize>,
        attachment: Option<Index>,
    },
    UpdateTicket {
        actor: Actor,
        ticket: Index,
        subject: Option<Text>,
        description: Option<Text>,
        status: Option<StatusCategory>,
        priority: Option<Priority>,
        assignee: Option<Option<usize>>,
        tags: Option<Vec<Text>>,
    },
    DeleteTicket {
        actor: Actor,
        ticket: Index,
    },
    ListTickets {
        actor: Actor,
        q: Option<Query>,
        tag: Option<Text>,
        statuses: Vec<StatusCategory>,
        sort: TicketSort,
        page: usize,
    },
    CreateDirect {
        actor: Actor,
        other: usize,
    },
    CreateGroup {
        actor: Actor,
        others: Vec<usize>,
        title: Text,
    },
    Rename {
        actor: Actor,
        conversation: Index,
        title: Text,
    },
    AddMember {
        actor: Actor,
        conversation: Index,
        user: usize,
    },
    RemoveMember {
        actor: Actor,
        conversation: Index,
        user: usize,
    },
    Send {
        actor: Actor,
        conversation: Index,
        content: Text,
        /// A message of this conversation, or (`true`) of any.
        parent: Option<(Index, bool)>,
        internal: bool,
        attachment: Option<Index>,
    },
    Edit {
        actor: Actor,
        message: Index,
        content: Text,
    },
    DeleteMessage {
        actor: Actor,
        message: Index,
    },
    ListMessages {
        actor: Actor,
        conversation: Index,
        around: Option<(Index, bool)>,
        page: usize,
    },
    GetMessage {
        actor: Actor,
        message: Index,
    },
    Thread {
        actor: Actor,
        message: Index,
    },
    Receipts {
        actor: Actor,
        message: Index,
    },
    MarkRead {
        actor: Actor,
        message: Index,
    },
    MarkReadUpTo {
        actor: Actor,
        message: Index,
    },
    MarkAllRead {
        actor: Actor,
        conversation: Index,
    },
    /// One of the actor's notifications (by position in their list), or all.
    MarkNotification {
        actor: Actor,
        which: Option<Index>,
    },
    CreateArticle {
        actor: Actor,
        title: Text,
        body: Text,
        slug: Option<Text>,
        tags: Vec<Text>,
        publish: bool,
    },
    UpdateArticle {
        actor: Actor,
        article: Index,
        title: Option<Text>,
        body: Option<Text>,
        slug: Option<Text>,
        status: Option<ArticleStatus>,
    },
    DeleteArticle {
        actor: Actor,
        article: Index,
    },
    /// `actor: None` is an anonymous reader.
    SearchKb {
        actor: Option<usize>,
        q: Query,
        tag: Option<Text>,
    },
    GetArticle {
        actor: Option<usize>,
        article: Index,
        by_slug: bool,
    },
    Upload {
        actor: Actor,
        filename: Text,
        content_type: Text,
        bytes: Vec<u8>,
        ticket: Option<Index>,
    },
    GetAttachment {
        actor: Actor,
        attachment: Index,
    },
    Sweep,
    RenameUser {
        actor: Actor,
        name: Text,
    },
    ListUsers {
        actor: Actor,
        q: Option<Query>,
    },
    SetActive {
        user: usize,
        active: bool,
    },
}

const USERS: usize = 6;
const ROLES: [Role; USERS] = [
    Role::Admin,
    Role::Agent,
    Role::Agent,
    Role::Customer,
    Role::Customer,
    Role::Customer,
];

fn user() -> impl Strategy<Value = usize> {
    0..USERS
}

/// Who acts: a user, a member of the conversation the operation is about (of the
/// ticket's conversation for ticket operations), or the sender of its message.
#[derive(Debug, Clone)]
pub enum Actor {
    /// This user.
    User(usize),
    /// A member of the operation's conversation, by position.
    Member(Index),
    /// The sender of the operation's message (else the first member).
    Sender,
}

fn plain_actor() -> impl Strategy<Value = Actor> {
    user().prop_map(Actor::User)
}

fn staff_actor() -> impl Strategy<Value = Actor> {
    prop_oneof![3 => (0..3usize).prop_map(Actor::User), 1 => plain_actor()]
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        2 => plain_actor(),
        3 => any::<Index>().prop_map(Actor::Member),
        1 => Just(Actor::Sender),
    ]
}

fn status() -> impl Strategy<Value = StatusCategory> {
    select(
        &[
            StatusCategory::Open,
            StatusCategory::Pending,
            StatusCategory::OnHold,
            StatusCategory::Resolved,
            StatusCategory::Closed,
        ][..],
    )
}

fn priority() -> impl Strategy<Value = Priority> {
    select(
        &[
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ][..],
    )
}

fn sort() -> impl Strategy<Value = TicketSort> {
    select(
        &[
            TicketSort::CreatedAt,
            TicketSort::CreatedAtDesc,
            TicketSort::UpdatedAt,
            TicketSort::UpdatedAtDesc,
            TicketSort::Priority,
            TicketSort::PriorityDesc,
        ][..],
    )
}

fn page() -> impl Strategy<Value = usize> {
    prop_oneof![Just(1usize), Just(2), Just(3), Just(200)]
}

/// The operation generator: writes weighted above reads, messages above the rest.
pub fn op() -> impl Strategy<Value = Op> {
    let tick = select(&[1i64, 1_000, 1_000_000, 90_000_000_000][..]).prop_map(Op::Tick);
    let create_ticket = (
        plain_actor(),
        text(),
        text(),
        proptest::option::of(priority()),
        tags(),
        proptest::option::weighted(0.1, user()),
        proptest::option::weighted(0.3, prop_oneof![3 => 1..3usize, 1 => user()]),
        proptest::option::weighted(0.2, any::<Index>()),
    )
        .prop_map(
            |(actor, subject, description, priority, tags, requester, assignee, attachment)| {
                Op::CreateTicket {
                    actor,
                    subject,
                    description,
                    priority,
                    tags,
                    requester,
                    assignee,
                    attachment,
                }
            },
        );
    let update_ticket = (
        actor(),
        any::<Index>(),
        proptest::option::weighted(0.2, text()),
        proptest::option::weighted(0.2, text()),
        proptest::option::weighted(0.6, status()),
        proptest::option::weighted(0.3, priority()),
        proptest::option::weighted(0.3, proptest::option::of(user())),
        proptest::option::weighted(0.2, tags()),
    )
        .prop_map(
            |(actor, ticket, subject, description, status, priority, assignee, tags)| {
                Op::UpdateTicket {
                    actor,
                    ticket,
                    subject,
                    description,
                    status,
                    priority,
                    assignee,
                    tags,
                }
            },
        );
    let delete_ticket = (staff_actor(), any::<Index>())
        .prop_map(|(actor, ticket)| Op::DeleteTicket { actor, ticket });
    let list_tickets = (
        plain_actor(),
        proptest::option::weighted(0.6, query()),
        proptest::option::weighted(
            0.3,
            tags().prop_map(|mut t| t.pop().unwrap_or(Text("billing".into()))),
        ),
        vec(status(), 0..3),
        sort(),
        page(),
    )
        .prop_map(|(actor, q, tag, statuses, sort, page)| Op::ListTickets {
            actor,
            q,
            tag,
            statuses,
            sort,
            page,
        });
    let create_direct =
        (plain_actor(), user()).prop_map(|(actor, other)| Op::CreateDirect { actor, other });
    let create_group =
        (plain_actor(), vec(user(), 0..4), text()).prop_map(|(actor, others, title)| {
            Op::CreateGroup {
                actor,
                others,
                title,
            }
        });
    let rename =
        (actor(), any::<Index>(), text()).prop_map(|(actor, conversation, title)| Op::Rename {
            actor,
            conversation,
            title,
        });
    let add_member =
        (actor(), any::<Index>(), user()).prop_map(|(actor, conversation, user)| Op::AddMember {
            actor,
            conversation,
            user,
        });
    let remove_member =
        (actor(), any::<Index>(), user()).prop_map(|(actor, conversation, user)| {
            Op::RemoveMember {
                actor,
                conversation,
                user,
            }
        });
    let send = (
        actor(),
        any::<Index>(),
        text(),
        proptest::option::weighted(0.4, (any::<Index>(), proptest::bool::weighted(0.15))),
        proptest::bool::weighted(0.25),
        proptest::option::weighted(0.15, any::<Index>()),
    )
        .prop_map(
            |(actor, conversation, content, parent, internal, attachment)| Op::Send {
                actor,
                conversation,
                content,
                parent,
                internal,
                attachment,
            },
        );
    let edit = (actor(), any::<Index>(), text()).prop_map(|(actor, message, content)| Op::Edit {
        actor,
        message,
        content,
    });
    let delete_message =
        (actor(), any::<Index>()).prop_map(|(actor, message)| Op::DeleteMessage { actor, message });
    let list_messages = (
        actor(),
        any::<Index>(),
        proptest::option::weighted(0.3, (any::<Index>(), any::<bool>())),
        page(),
    )
        .prop_map(|(actor, conversation, around, page)| Op::ListMessages {
            actor,
            conversation,
            around,
            page,
        });
    let message_op = (0..6u8, actor(), any::<Index>()).prop_map(|(k, actor, message)| match k {
        0 => Op::GetMessage { actor, message },
        1 => Op::Thread { actor, message },
        2 => Op::Receipts { actor, message },
        3 => Op::MarkRead { actor, message },
        _ => Op::MarkReadUpTo { actor, message },
    });
    let mark_all = (actor(), any::<Index>()).prop_map(|(actor, conversation)| Op::MarkAllRead {
        actor,
        conversation,
    });
    let mark_notification = (
        plain_actor(),
        proptest::option::weighted(0.7, any::<Index>()),
    )
        .prop_map(|(actor, which)| Op::MarkNotification { actor, which });
    let slug = prop_oneof![
        3 => select(&["reset-password", "printer", "a", "x-1", "Bad Slug", "-x", "0190b6c2-7c4d-7c4d-8c4d-0190b6c2a4f1"][..])
            .prop_map(|s| Text(s.into())),
        1 => text(),
    ];
    let create_article = (
        staff_actor(),
        text(),
        text(),
        proptest::option::weighted(0.3, slug.clone()),
        tags(),
        any::<bool>(),
    )
        .prop_map(
            |(actor, title, body, slug, tags, publish)| Op::CreateArticle {
                actor,
                title,
                body,
                slug,
                tags,
                publish,
            },
        );
    let update_article = (
        staff_actor(),
        any::<Index>(),
        proptest::option::weighted(0.3, text()),
        proptest::option::weighted(0.3, text()),
        proptest::option::weighted(0.2, slug),
        proptest::option::weighted(
            0.4,
            select(&[ArticleStatus::Draft, ArticleStatus::Published][..]),
        ),
    )
        .prop_map(
            |(actor, article, title, body, slug, status)| Op::UpdateArticle {
                actor,
                article,
                title,
                body,
                slug,
                status,
            },
        );
    let delete_article = (staff_actor(), any::<Index>())
        .prop_map(|(actor, article)| Op::DeleteArticle { actor, article });
    let search = (
        proptest::option::weighted(0.7, user()),
        query(),
        proptest::option::weighted(
            0.2,
            tags().prop_map(|mut t| t.pop().unwrap_or(Text("billing".into()))),
        ),
    )
        .prop_map(|(actor, q, tag)| Op::SearchKb { actor, q, tag });
    let get_article = (
        proptest::option::weighted(0.7, user()),
        any::<Index>(),
        any::<bool>(),
    )
        .prop_map(|(actor, article, by_slug)| Op::GetArticle {
            actor,
            article,
            by_slug,
        });
    let upload = (
        actor(),
        text(),
        prop_oneof![
            3 => select(&["text/plain", "image/png", "application/octet-stream", "TEXT/Plain; charset=utf-8", ""][..])
                .prop_map(|s| Text(s.into())),
            1 => text(),
        ],
        vec(any::<u8>(), 0..48),
        proptest::option::weighted(0.3, any::<Index>()),
    )
        .prop_map(|(actor, filename, content_type, bytes, ticket)| Op::Upload {
            actor,
            filename,
            content_type,
            bytes,
            ticket,
        });
    let get_attachment = (plain_actor(), any::<Index>())
        .prop_map(|(actor, attachment)| Op::GetAttachment { actor, attachment });
    let rename_user =
        (plain_actor(), text()).prop_map(|(actor, name)| Op::RenameUser { actor, name });
    let list_users = (plain_actor(), proptest::option::weighted(0.6, query()))
        .prop_map(|(actor, q)| Op::ListUsers { actor, q });
    let set_active = (3..USERS, proptest::bool::weighted(0.7))
        .prop_map(|(user, active)| Op::SetActive { user, active });
    prop_oneof![
        3 => tick,
        6 => create_ticket,
        5 => update_ticket,
        1 => delete_ticket,
        3 => list_tickets,
        2 => create_direct,
        2 => create_group,
        1 => rename,
        2 => add_member,
        1 => remove_member,
        10 => send,
        2 => edit,
        1 => delete_message,
        3 => list_messages,
        5 => message_op,
        2 => mark_all,
        2 => mark_notification,
        3 => create_article,
        2 => update_article,
        1 => delete_article,
        3 => search,
        1 => get_article,
        2 => upload,
        1 => get_attachment,
        1 => Just(Op::Sweep),
        1 => rename_user,
        1 => list_users,
        1 => set_active,
    ]
}

// ---------------------------------------------------------------------------------------
// Running a case

/// One side of the comparison: a helpdesk and what was created on it, in order.
struct Side {
    hd: Helpdesk,
    store: Arc<dyn Store>,
    users: Vec<Who>,
    tickets: Vec<Uuid>,
    conversations: Vec<Uuid>,
    /// `(conversation, message)`.
    messages: Vec<(Uuid, Uuid)>,
    articles: Vec<Uuid>,
    attachments: Vec<Uuid>,
    labels: HashMap<Uuid, String>,
}

impl Side {
    async fn new(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> Result<Side, Error> {
        let hd = Helpdesk::with_clock(store.clone(), Config::for_tests(), clock);
        let mut side = Side {
            hd,
            store,
            users: Vec::new(),
            tickets: Vec::new(),
            conversations: Vec::new(),
            messages: Vec::new(),
            articles: Vec::new(),
            attachments: Vec::new(),
            labels: HashMap::new(),
        };
        for (i, role) in ROLES.into_iter().enumerate() {
            let email = format!("{}{i}@example.com", role.as_str());
            let user = side
                .hd
                .create_user(
                    &Principal::system(),
                    NewUser::new(&email, &format!("{} {i}", role.as_str()), role, PASSWORD),
                )
                .await?;
            side.labels.insert(user.id, format!("U{i}"));
            side.users.push(Who {
                p: Principal::user(user.id, user.role),
                user,
            });
        }
        Ok(side)
    }

    fn who(&self, i: usize) -> &Who {
        &self.users[i % self.users.len()]
    }

    fn add_ticket(&mut self, t: &Ticket) {
        self.labels.insert(t.id, format!("T{}", self.tickets.len()));
        self.tickets.push(t.id);
        self.add_conversation(t.conversation_id);
    }

    fn add_conversation(&mut self, id: Uuid) {
        self.labels
            .insert(id, format!("C{}", self.conversations.len()));
        self.conversations.push(id);
    }

    fn add(&mut self, id: Uuid, prefix: &str) {
        let list = match prefix {
            "A" => &mut self.articles,
            _ => &mut self.attachments,
        };
        self.labels.insert(id, format!("{prefix}{}", list.len()));
        list.push(id);
    }

    /// `value` rendered with `Debug`, its ids replaced by labels.
    fn render<T: fmt::Debug>(&self, value: &T) -> String {
        normalise(&self.labels, &format!("{value:?}"))
    }

    /// A result rendered; a store failure or internal error is marked as a server error.
    fn outcome<T: fmt::Debug>(&self, r: &Result<T, Error>) -> String {
        match r {
            Ok(v) => format!("Ok({})", self.render(v)),
            Err(e) if is_server_error(e) => format!("{SERVER_ERROR} {}", self.render(e)),
            Err(e) => format!("Err({})", self.render(e)),
        }
    }
}

const SERVER_ERROR: &str = "SERVER ERROR (a 500):";

fn is_server_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Internal(_)
            | Error::Store(
                StoreError::Other(_) | StoreError::Corrupt(_) | StoreError::Unavailable(_)
            )
    )
}

/// Replaces every hyphenated UUID in `s` by its label (`?` when unknown).
fn normalise(labels: &HashMap<Uuid, String>, s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut last) = (0, 0);
    while i + 36 <= b.len() {
        let is_uuid = (0..36).all(|k| match k {
            8 | 13 | 18 | 23 => b[i + k] == b'-',
            _ => b[i + k].is_ascii_hexdigit(),
        });
        if is_uuid {
            // ASCII bytes never sit inside a multi-byte character: these are boundaries.
            out.push_str(&s[last..i]);
            let label = Uuid::parse_str(&s[i..i + 36])
                .ok()
                .and_then(|u| labels.get(&u).cloned());
            out.push_str(label.as_deref().unwrap_or("?"));
            i += 36;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

fn pick(list: &[Uuid], i: &Index) -> Option<Uuid> {
    (!list.is_empty()).then(|| *i.get(list))
}

/// The first `len` characters of a word of `s` (or from a character position, for text
/// without spaces), case-changed.
fn cut(s: &str, start: &Index, len: usize, case: Case) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let piece: String = if words.len() > 1 {
        start.get(&words).chars().take(len).collect()
    } else {
        let chars: Vec<char> = s.chars().collect();
        if chars.is_empty() {
            return String::new();
        }
        let from = start.index(chars.len());
        chars[from..(from + len).min(chars.len())].iter().collect()
    };
    match case {
        Case::Same => piece,
        Case::Upper => piece.to_uppercase(),
        Case::Lower => piece.to_lowercase(),
    }
}

/// The query text of `q`, cut from the model's records.
async fn resolve(model: &Side, q: &Query) -> Result<String, Error> {
    Ok(match q {
        Query::Text(t) => t.0.clone(),
        Query::FromTicket(t, start, len, case) => match pick(&model.tickets, t) {
            Some(id) => match model.store.get_ticket(id).await? {
                Some(t) => cut(&t.subject, start, *len, *case),
                None => "gone".into(),
            },
            None => "nothing".into(),
        },
        Query::FromArticle(a, start, len, case) => match pick(&model.articles, a) {
            Some(id) => match model.store.get_article(id).await? {
                Some(a) => cut(&a.title, start, *len, *case),
                None => "gone".into(),
            },
            None => "nothing".into(),
        },
    })
}

/// What an operation needs from the model before it runs on both sides.
#[derive(Default)]
struct Resolved {
    /// The acting user's position.
    actor: usize,
    q: Option<String>,
    /// The position of the notification to mark in the actor's list.
    notification: Option<usize>,
}

impl Op {
    fn actor(&self) -> Option<&Actor> {
        match self {
            Op::CreateTicket { actor, .. }
            | Op::UpdateTicket { actor, .. }
            | Op::DeleteTicket { actor, .. }
            | Op::ListTickets { actor, .. }
            | Op::CreateDirect { actor, .. }
            | Op::CreateGroup { actor, .. }
            | Op::Rename { actor, .. }
            | Op::AddMember { actor, .. }
            | Op::RemoveMember { actor, .. }
            | Op::Send { actor, .. }
            | Op::Edit { actor, .. }
            | Op::DeleteMessage { actor, .. }
            | Op::ListMessages { actor, .. }
            | Op::GetMessage { actor, .. }
            | Op::Thread { actor, .. }
            | Op::Receipts { actor, .. }
            | Op::MarkRead { actor, .. }
            | Op::MarkReadUpTo { actor, .. }
            | Op::MarkAllRead { actor, .. }
            | Op::MarkNotification { actor, .. }
            | Op::CreateArticle { actor, .. }
            | Op::UpdateArticle { actor, .. }
            | Op::DeleteArticle { actor, .. }
            | Op::Upload { actor, .. }
            | Op::GetAttachment { actor, .. }
            | Op::RenameUser { actor, .. }
            | Op::ListUsers { actor, .. } => Some(actor),
            _ => None,
        }
    }
}

/// The conversation an operation is about (a ticket's own), and its message's sender.
async fn context(model: &Side, op: &Op) -> Result<(Option<Uuid>, Option<Uuid>), Error> {
    let ticket = match op {
        Op::UpdateTicket { ticket, .. } | Op::DeleteTicket { ticket, .. } => Some(ticket),
        Op::Upload { ticket, .. } => ticket.as_ref(),
        _ => None,
    };
    if let Some(t) = ticket.and_then(|t| pick(&model.tickets, t)) {
        let conv = model.store.get_ticket(t).await?.map(|t| t.conversation_id);
        return Ok((conv, None));
    }
    let conversation = match op {
        Op::Rename { conversation, .. }
        | Op::AddMember { conversation, .. }
        | Op::RemoveMember { conversation, .. }
        | Op::Send { conversation, .. }
        | Op::ListMessages { conversation, .. }
        | Op::MarkAllRead { conversation, .. } => pick(&model.conversations, conversation),
        _ => None,
    };
    if conversation.is_some() {
        return Ok((conversation, None));
    }
    let message = match op {
        Op::Edit { message, .. }
        | Op::DeleteMessage { message, .. }
        | Op::GetMessage { message, .. }
        | Op::Thread { message, .. }
        | Op::Receipts { message, .. }
        | Op::MarkRead { message, .. }
        | Op::MarkReadUpTo { message, .. } => {
            (!model.messages.is_empty()).then(|| *message.get(&model.messages))
        }
        _ => None,
    };
    Ok(match message {
        Some((c, m)) => (
            Some(c),
            model
                .store
                .get_message(c, m)
                .await?
                .and_then(|m| m.sender_id),
        ),
        None => (None, None),
    })
}

async fn resolve_actor(model: &Side, op: &Op) -> Result<usize, Error> {
    let position = |id: Uuid| model.users.iter().position(|w| w.id() == id);
    let member = match op.actor() {
        None => return Ok(0),
        Some(Actor::User(u)) => return Ok(u % USERS),
        Some(Actor::Member(i)) => Some(i),
        Some(Actor::Sender) => None,
    };
    let (conversation, sender) = context(model, op).await?;
    if member.is_none()
        && let Some(u) = sender.and_then(position)
    {
        return Ok(u);
    }
    let members = match conversation {
        Some(c) => model
            .store
            .get_conversation(c)
            .await?
            .map(|c| c.members)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(match (member, members.is_empty()) {
        (_, true) => member.map_or(0, |i| i.index(USERS)),
        (Some(i), false) => position(i.get(&members).user_id).unwrap_or(0),
        (None, false) => position(members[0].user_id).unwrap_or(0),
    })
}

async fn resolve_op(model: &Side, op: &Op) -> Result<Resolved, Error> {
    let mut r = Resolved {
        actor: resolve_actor(model, op).await?,
        ..Default::default()
    };
    match op {
        Op::ListTickets { q: Some(q), .. }
        | Op::ListUsers { q: Some(q), .. }
        | Op::SearchKb { q, .. } => r.q = Some(resolve(model, q).await?),
        Op::MarkNotification { which: Some(i), .. } => {
            let NotificationList { page, .. } = model
                .hd
                .list_notifications(
                    &model.who(r.actor).p,
                    NotificationFilter {
                        limit: Some(200),
                        ..Default::default()
                    },
                )
                .await?;
            if !page.items.is_empty() {
                r.notification = Some(i.index(page.items.len()));
            }
        }
        _ => {}
    }
    Ok(r)
}

const NOTHING: &str = "nothing to act on yet";

/// Applies `op` to one side, recording what it creates; the answer rendered.
async fn apply(s: &mut Side, op: &Op, r: &Resolved) -> String {
    macro_rules! out {
        ($e:expr) => {{
            let result = $e;
            s.outcome(&result)
        }};
    }
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(x) => x,
                None => return NOTHING.to_string(),
            }
        };
    }
    let text = |t: &Text| t.0.clone();
    match op {
        Op::Tick(_) => "ticked".into(),
        Op::CreateTicket {
            actor: _,
            subject,
            description,
            priority,
            tags,
            requester,
            assignee,
            attachment,
        } => {
            let input = NewTicket {
                subject: text(subject),
                description: text(description),
                priority: *priority,
                tags: tags.iter().map(text).collect(),
                attachment_ids: attachment
                    .as_ref()
                    .and_then(|i| pick(&s.attachments, i))
                    .into_iter()
                    .collect(),
                requester_id: requester.map(|u| s.who(u).id()),
                assignee_id: assignee.map(|u| s.who(u).id()),
                group_id: None,
                organization_id: None,
                fields: Default::default(),
                mailbox_id: None,
            };
            let p = s.who(r.actor).p;
            let result = s.hd.create_ticket(&p, input).await;
            if let Ok(t) = &result {
                s.add_ticket(t);
            }
            out!(result)
        }
        Op::UpdateTicket {
            actor: _,
            ticket,
            subject,
            description,
            status,
            priority,
            assignee,
            tags,
        } => {
            let id = need!(pick(&s.tickets, ticket));
            let patch = TicketPatch {
                subject: subject.as_ref().map(text),
                description: description.as_ref().map(text),
                status: status.map(Into::into),
                priority: *priority,
                assignee_id: assignee.map(|a| a.map(|u| s.who(u).id())),
                tags: tags.as_ref().map(|t| t.iter().map(text).collect()),
                group_id: None,
                organization_id: None,
                fields: Default::default(),
                mailbox_id: None,
            };
            out!(s.hd.update_ticket(&s.who(r.actor).p, id, patch).await)
        }
        Op::DeleteTicket { actor: _, ticket } => {
            let id = need!(pick(&s.tickets, ticket));
            out!(s.hd.delete_ticket(&s.who(r.actor).p, id).await)
        }
        Op::ListTickets {
            actor: _,
            q,
            tag,
            statuses,
            sort,
            page,
        } => {
            let q = q.as_ref().and(r.q.clone());
            if q.as_deref().is_some_and(case_trap) {
                return KNOWN.into();
            }
            if q.is_some() && !strict() {
                // One page, without the records on which matching is known to differ.
                let filter = TicketFilter {
                    categories: statuses.clone(),
                    tag: tag.as_ref().map(text),
                    q,
                    sort: *sort,
                    limit: Some(200),
                    ..Default::default()
                };
                return out!(s.hd.list_tickets(&s.who(r.actor).p, filter).await.map(|p| {
                    p.items
                        .into_iter()
                        .filter(|t| !case_trap(&t.subject) && !case_trap(&t.description))
                        .collect::<Vec<_>>()
                }));
            }
            // Walks every page: each page and the walk's end are compared.
            let mut pages = Vec::new();
            let mut cursor = None;
            loop {
                let filter = TicketFilter {
                    categories: statuses.clone(),
                    tag: tag.as_ref().map(text),
                    q: q.clone(),
                    sort: *sort,
                    cursor,
                    limit: Some(*page),
                    ..Default::default()
                };
                let result = s.hd.list_tickets(&s.who(r.actor).p, filter).await;
                pages.push(s.outcome(&result));
                match result {
                    Ok(p) if p.next_cursor.is_some() && pages.len() < 64 => {
                        cursor = p.next_cursor;
                    }
                    _ => break,
                }
            }
            pages.join("\n")
        }
        Op::CreateDirect { actor: _, other } => {
            let input = NewConversation {
                kind: ConversationKind::Direct,
                title: None,
                member_ids: vec![s.who(*other).id()],
            };
            let result = s.hd.create_conversation(&s.who(r.actor).p, input).await;
            if let Ok((v, true)) = &result {
                s.add_conversation(v.conversation.id);
            }
            out!(result)
        }
        Op::CreateGroup {
            actor: _,
            others,
            title,
        } => {
            let input = NewConversation {
                kind: ConversationKind::Group,
                title: Some(text(title)),
                member_ids: others.iter().map(|u| s.who(*u).id()).collect(),
            };
            let result = s.hd.create_conversation(&s.who(r.actor).p, input).await;
            if let Ok((v, true)) = &result {
                s.add_conversation(v.conversation.id);
            }
            out!(result)
        }
        Op::Rename {
            actor: _,
            conversation,
            title,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            out!(
                s.hd.rename_conversation(&s.who(r.actor).p, c, &title.0)
                    .await
            )
        }
        Op::AddMember {
            actor: _,
            conversation,
            user,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            out!(
                s.hd.add_member(&s.who(r.actor).p, c, s.who(*user).id())
                    .await
            )
        }
        Op::RemoveMember {
            actor: _,
            conversation,
            user,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            out!(
                s.hd.remove_member(&s.who(r.actor).p, c, s.who(*user).id())
                    .await
            )
        }
        Op::Send {
            actor: _,
            conversation,
            content,
            parent,
            internal,
            attachment,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            // A parent from anywhere: one in another conversation must be refused alike.
            let parent_id = parent.as_ref().and_then(|(i, anywhere)| {
                let candidates: Vec<Uuid> = s
                    .messages
                    .iter()
                    .filter(|(pc, _)| *anywhere || *pc == c)
                    .map(|(_, m)| *m)
                    .collect();
                pick(&candidates, i)
            });
            let input = NewMessage {
                content: text(content),
                parent_id,
                attachment_ids: attachment
                    .as_ref()
                    .and_then(|i| pick(&s.attachments, i))
                    .into_iter()
                    .collect(),
                internal: *internal,
            };
            let result = s.hd.send_message(&s.who(r.actor).p, c, input).await;
            if let Ok(v) = &result {
                s.labels
                    .insert(v.message.id, format!("M{}", s.messages.len()));
                s.messages.push((c, v.message.id));
            }
            out!(result)
        }
        Op::Edit {
            actor: _,
            message,
            content,
        } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.edit_message(&s.who(r.actor).p, c, m, &content.0).await)
        }
        Op::DeleteMessage { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.delete_message(&s.who(r.actor).p, c, m).await)
        }
        Op::ListMessages {
            actor: _,
            conversation,
            around,
            page,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            let mut q = MessagePageQuery {
                limit: Some(*page),
                ..Default::default()
            };
            if let Some((i, before)) = around
                && !s.messages.is_empty()
            {
                let m = i.get(&s.messages).1;
                if *before {
                    q.before = Some(m);
                } else {
                    q.after = Some(m);
                }
            }
            let first = s.hd.list_messages(&s.who(r.actor).p, c, q).await;
            let mut pages = vec![s.outcome(&first)];
            // Then one page further along the cursor, if any.
            if let Ok(p) = &first
                && let Some(cursor) = p.next_cursor
            {
                let next = MessagePageQuery {
                    cursor: Some(cursor),
                    limit: Some(*page),
                    ..Default::default()
                };
                let second = s.hd.list_messages(&s.who(r.actor).p, c, next).await;
                pages.push(s.outcome(&second));
            }
            pages.join("\n")
        }
        Op::GetMessage { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.get_message(&s.who(r.actor).p, c, m).await)
        }
        Op::Thread { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.thread(&s.who(r.actor).p, c, m).await)
        }
        Op::Receipts { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.receipts(&s.who(r.actor).p, c, m).await)
        }
        Op::MarkRead { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.mark_read(&s.who(r.actor).p, c, m).await)
        }
        Op::MarkReadUpTo { actor: _, message } => {
            let (c, m) = *need!((!s.messages.is_empty()).then(|| message.get(&s.messages)));
            out!(s.hd.mark_read_up_to(&s.who(r.actor).p, c, m).await)
        }
        Op::MarkAllRead {
            actor: _,
            conversation,
        } => {
            let c = need!(pick(&s.conversations, conversation));
            out!(s.hd.mark_all_read(&s.who(r.actor).p, c).await)
        }
        Op::MarkNotification { actor: _, which } => {
            let p = s.who(r.actor).p;
            if which.is_none() {
                return out!(s.hd.mark_all_notifications_read(&p).await);
            }
            let n = need!(r.notification);
            let listed =
                s.hd.list_notifications(
                    &p,
                    NotificationFilter {
                        limit: Some(200),
                        ..Default::default()
                    },
                )
                .await;
            let id = match &listed {
                Ok(list) => need!(list.page.items.get(n)).id,
                Err(_) => return out!(listed),
            };
            // CSAT tokens are random on each side: compared as present or not.
            out!(s.hd.mark_notification_read(&p, id).await.map(|mut n| {
                n.data.csat_token = n.data.csat_token.as_ref().map(|_| "?".into());
                n
            }))
        }
        Op::CreateArticle {
            actor: _,
            title,
            body,
            slug,
            tags,
            publish,
        } => {
            let input = NewArticle {
                title: text(title),
                body: text(body),
                slug: slug.as_ref().map(text),
                tags: tags.iter().map(text).collect(),
                status: Some(if *publish {
                    ArticleStatus::Published
                } else {
                    ArticleStatus::Draft
                }),
            };
            let result = s.hd.create_article(&s.who(r.actor).p, input).await;
            if let Ok(a) = &result {
                s.add(a.id, "A");
            }
            out!(result)
        }
        Op::UpdateArticle {
            actor: _,
            article,
            title,
            body,
            slug,
            status,
        } => {
            let id = need!(pick(&s.articles, article));
            let patch = ArticlePatch {
                title: title.as_ref().map(text),
                body: body.as_ref().map(text),
                slug: slug.as_ref().map(text),
                tags: None,
                status: *status,
            };
            out!(s.hd.update_article(&s.who(r.actor).p, id, patch).await)
        }
        Op::DeleteArticle { actor: _, article } => {
            let id = need!(pick(&s.articles, article));
            out!(s.hd.delete_article(&s.who(r.actor).p, id).await)
        }
        Op::SearchKb { actor, tag, .. } => {
            let viewer = actor.map(|u| s.who(u).p);
            let q = r.q.clone().unwrap_or_default();
            if search_trap(&q) {
                return KNOWN.into();
            }
            let result =
                s.hd.search_articles(
                    viewer.as_ref(),
                    ArticleSearch {
                        tag: tag.as_ref().map(text),
                        ..ArticleSearch::new(&q)
                    },
                )
                .await
                .map(search_hits);
            out!(result)
        }
        Op::GetArticle {
            actor,
            article,
            by_slug,
        } => {
            let id = need!(pick(&s.articles, article));
            let viewer = actor.map(|u| s.who(u).p);
            let key = if *by_slug {
                match s.store.get_article(id).await {
                    Ok(Some(a)) => a.slug,
                    _ => "gone".into(),
                }
            } else {
                id.to_string()
            };
            out!(s.hd.get_article(viewer.as_ref(), &key).await)
        }
        Op::Upload {
            actor: _,
            filename,
            content_type,
            bytes,
            ticket,
        } => {
            let ticket_id = match ticket {
                Some(i) => Some(need!(pick(&s.tickets, i))),
                None => None,
            };
            let body = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
                Bytes::copy_from_slice(bytes),
            )]);
            let result =
                s.hd.upload(
                    &s.who(r.actor).p,
                    &filename.0,
                    &content_type.0,
                    ticket_id,
                    body,
                )
                .await;
            if let Ok(a) = &result {
                s.add(a.id, "F");
            }
            out!(result)
        }
        Op::GetAttachment {
            actor: _,
            attachment,
        } => {
            let id = need!(pick(&s.attachments, attachment));
            let result = match s.hd.attachment_content(&s.who(r.actor).p, id).await {
                Ok((a, stream)) => {
                    let chunks: Vec<_> = stream.collect().await;
                    let mut bytes = Vec::new();
                    let mut failed = None;
                    for c in chunks {
                        match c {
                            Ok(b) => bytes.extend_from_slice(&b),
                            Err(e) => failed = Some(e),
                        }
                    }
                    match failed {
                        Some(e) => Err(e),
                        None => Ok((a, bytes)),
                    }
                }
                Err(e) => Err(e),
            };
            out!(result)
        }
        Op::Sweep => out!(s.hd.sweep_unattached().await),
        Op::RenameUser { actor: _, name } => {
            let patch = ProfilePatch {
                name: Some(text(name)),
                ..Default::default()
            };
            out!(
                s.hd.update_me(&s.who(r.actor).p, patch)
                    .await
                    .map(public_user)
            )
        }
        Op::ListUsers { actor: _, q } => {
            let q = q.as_ref().and(r.q.clone());
            if q.as_deref().is_some_and(case_trap) {
                return KNOWN.into();
            }
            out!(
                s.hd.list_users(
                    &s.who(r.actor).p,
                    UserFilter {
                        q,
                        limit: Some(200),
                        ..Default::default()
                    }
                )
                .await
                .map(|p| {
                    p.items
                        .into_iter()
                        .filter(|u| !case_trap(&u.name) && !case_trap(&u.email))
                        .map(public_user)
                        .collect::<Vec<_>>()
                })
            )
        }
        Op::SetActive { user, active } => {
            let patch = UserPatch {
                is_active: Some(*active),
                ..Default::default()
            };
            let admin = s.users[0].p;
            out!(
                s.hd.update_user(&admin, s.who(*user).id(), patch)
                    .await
                    .map(public_user)
            )
        }
    }
}

/// What of a user is observable (not the password hash, salted differently per side).
fn public_user(u: crate::user::User) -> impl fmt::Debug {
    (
        u.id,
        u.email,
        u.name,
        u.role,
        u.is_active,
        u.created_at,
        u.updated_at,
    )
}

/// Search hits without their scores (the stores' ranking functions differ in scale, not
/// in order); snippets by their marked words unless [`strict`].
fn search_hits(hits: Vec<crate::kb::SearchHit>) -> Vec<(Uuid, String, String)> {
    let strict = strict();
    hits.into_iter()
        .filter(|h| !article_search_trap(&h.article))
        .map(|h| {
            let snippet = if strict {
                h.snippet
            } else {
                marked_words(&h.snippet).join(" | ")
            };
            (h.article.id, h.article.slug, snippet)
        })
        .collect()
}

/// The words a snippet marks, in order.
fn marked_words(snippet: &str) -> Vec<&str> {
    snippet
        .split("<mark>")
        .skip(1)
        .map(|rest| rest.split("</mark>").next().unwrap_or(rest))
        .collect()
}

/// Fixed KB searches compared in every state check.
const KB_QUERIES: &[&str] = &["password", "printer reset", "straße", "σοφός café"];

/// Fixed ticket and user text filters compared in every state check: case-mapping
/// traps for the generated words (final sigma, dotted capital I, sharp s, the Kelvin
/// sign, combining accents).
const TEXT_PROBES: &[&str] = &[
    "ΚΟΣ", "κοσ", "ς", "İ", "i\u{307}", "istanbul", "ss", "ß", "ẞ", "\u{212a}", "k", "é",
    "e\u{301}", "ǅ", "ǆ", "😀",
];

/// The observable state of one side: `(what, rendered)` in a fixed order.
async fn snapshot(s: &Side) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let admin = s.users[0].p;
    for (i, u) in s.users.iter().enumerate() {
        let filter = TicketFilter {
            limit: Some(200),
            ..Default::default()
        };
        let r = s.hd.list_tickets(&u.p, filter).await;
        out.push((format!("tickets seen by U{i}"), s.outcome(&r)));
        let r =
            s.hd.list_conversations(
                &u.p,
                ConversationFilter {
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await;
        out.push((format!("conversations of U{i}"), s.outcome(&r)));
        let r = s.hd.unread_overview(&u.p).await.map(|o| {
            let mut rows: Vec<String> = o
                .conversations
                .iter()
                .map(|c| s.render(&(c.conversation_id, c.unread_count)))
                .collect();
            rows.sort();
            (o.total_unread, rows)
        });
        out.push((format!("unread overview of U{i}"), s.outcome(&r)));
        let r =
            s.hd.list_notifications(
                &u.p,
                NotificationFilter {
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .map(|mut list| {
                // CSAT tokens are random on each side: compared as present or not.
                for n in &mut list.page.items {
                    n.data.csat_token = n.data.csat_token.as_ref().map(|_| "?".into());
                }
                list
            });
        out.push((format!("notifications of U{i}"), s.outcome(&r)));
    }
    for (i, c) in s.conversations.iter().enumerate() {
        let r = s.hd.get_conversation(&admin, *c).await;
        out.push((format!("conversation C{i} (admin)"), s.outcome(&r)));
        let r = s
            .store
            .list_messages(*c, MessageRange::Latest, true, 100_000)
            .await
            .map_err(Error::from);
        out.push((format!("stored messages of C{i}"), s.outcome(&r)));
    }
    for (i, (c, m)) in s.messages.iter().enumerate() {
        let r = s.hd.receipts(&admin, *c, *m).await;
        out.push((format!("receipts of M{i} (admin)"), s.outcome(&r)));
    }
    for (i, t) in s.tickets.iter().enumerate() {
        let r =
            s.hd.ticket_events(
                &admin,
                *t,
                PageRequest {
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await;
        out.push((format!("timeline of T{i}"), s.outcome(&r)));
        let r = s.hd.ticket_attachments(&admin, *t).await;
        out.push((format!("attachments of T{i}"), s.outcome(&r)));
    }
    for (i, a) in s.attachments.iter().enumerate() {
        let r = s.store.get_attachment(*a).await.map_err(Error::from);
        out.push((format!("attachment F{i}"), s.outcome(&r)));
    }
    let r =
        s.hd.list_users(
            &admin,
            UserFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .map(|p| p.items.into_iter().map(public_user).collect::<Vec<_>>());
    out.push(("users".into(), s.outcome(&r)));
    for q in TEXT_PROBES.iter().filter(|q| !case_trap(q)) {
        let filter = TicketFilter {
            q: Some(q.to_string()),
            limit: Some(200),
            ..Default::default()
        };
        let r = s.hd.list_tickets(&admin, filter).await.map(|p| {
            p.items
                .into_iter()
                .filter(|t| !case_trap(&t.subject) && !case_trap(&t.description))
                .map(|t| t.id)
                .collect::<Vec<_>>()
        });
        out.push((format!("tickets matching {q:?}"), s.outcome(&r)));
        let r =
            s.hd.list_users(
                &admin,
                UserFilter {
                    q: Some(q.to_string()),
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .map(|p| {
                p.items
                    .into_iter()
                    .filter(|u| !case_trap(&u.name) && !case_trap(&u.email))
                    .map(|u| u.id)
                    .collect::<Vec<_>>()
            });
        out.push((format!("users matching {q:?}"), s.outcome(&r)));
    }
    for (who, viewer) in [("anonymous", None), ("admin", Some(&admin))] {
        let r =
            s.hd.list_articles(
                viewer,
                ArticleFilter {
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await;
        out.push((format!("articles for {who}"), s.outcome(&r)));
        let r = s.hd.kb_tags(viewer).await;
        out.push((format!("KB tags for {who}"), s.outcome(&r)));
        for q in KB_QUERIES {
            let r =
                s.hd.search_articles(viewer, ArticleSearch::new(*q))
                    .await
                    .map(search_hits);
            out.push((format!("KB search {q:?} for {who}"), s.outcome(&r)));
        }
    }
    let r = s
        .store
        .events_after(None, 1_000_000)
        .await
        .map_err(Error::from)
        .map(|events| {
            events
                .into_iter()
                .map(|mut e| {
                    // A `csat_requested` notification's random token, as above.
                    if let Some(t) = e.data.pointer_mut("/data/csat_token") {
                        *t = "?".into();
                    }
                    (e.kind, e.at, e.audience, e.data, e.only_webhook)
                })
                .collect::<Vec<_>>()
        });
    out.push(("event log".into(), s.outcome(&r)));
    out
}

/// Where two renderings first differ, with some context, for the failure message.
fn difference(a: &str, b: &str) -> String {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or(a.len().min(b.len()));
    let ctx = |s: &str| {
        let start = s[..at.min(s.len())]
            .char_indices()
            .rev()
            .nth(150)
            .map_or(0, |(i, _)| i);
        let piece: String = s[start..].chars().take(400).collect();
        piece
    };
    format!(
        "first difference at byte {at} (lengths {} and {}):\n  memory:  …{}…\n  backend: …{}…",
        a.len(),
        b.len(),
        ctx(a),
        ctx(b)
    )
}

async fn run_case(
    backend: Arc<dyn Store>,
    ops: &[Op],
    check_every: usize,
    tally: &Tally,
) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap(),
    ));
    let fail = |e: Error| TestCaseError::fail(format!("setting up: {e:?}"));
    let mut model = Side::new(Arc::new(MemoryStore::new()), clock.clone())
        .await
        .map_err(fail)?;
    let mut other = Side::new(backend, clock.clone()).await.map_err(fail)?;
    for (step, op) in ops.iter().enumerate() {
        if let Op::Tick(micros) = op {
            clock.advance(Duration::microseconds(*micros));
        }
        let resolved = resolve_op(&model, op)
            .await
            .map_err(|e| TestCaseError::fail(format!("step {step}: resolving {op:?}: {e:?}")))?;
        let expected = apply(&mut model, op, &resolved).await;
        let got = apply(&mut other, op, &resolved).await;
        tally.count(op, &expected);
        if expected != got || got.contains(SERVER_ERROR) || expected.contains(SERVER_ERROR) {
            return Err(TestCaseError::fail(format!(
                "step {step}: {op:?}\nanswers differ or one is a server error: {}",
                difference(&expected, &got)
            )));
        }
        if (step + 1) % check_every == 0 || step + 1 == ops.len() {
            let (a, b) = (snapshot(&model).await, snapshot(&other).await);
            for ((what, x), (_, y)) in a.iter().zip(&b) {
                if x != y || x.contains(SERVER_ERROR) || y.contains(SERVER_ERROR) {
                    return Err(TestCaseError::fail(format!(
                        "after step {step} ({op:?}): {what} differs: {}",
                        difference(x, y)
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_replaces_known_ids_and_hides_others() {
        let known = Uuid::now_v7();
        let unknown = Uuid::now_v7();
        let labels = HashMap::from([(known, "T0".to_string())]);
        let s = format!("a{known}é{unknown}\"{known}");
        assert_eq!(normalise(&labels, &s), "aT0é?\"T0");
        assert_eq!(normalise(&labels, "no ids, 0123"), "no ids, 0123");
    }

    #[test]
    fn long_text_is_abbreviated_in_reports() {
        let t = Text("é".repeat(32_001));
        let shown = format!("{t:?}");
        assert!(shown.contains("32001 chars"), "{shown}");
        assert!(shown.len() < 200, "{shown}");
    }
}
