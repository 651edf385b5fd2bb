//! Behaviour of the sled backend that the shared conformance suite cannot see: crash
//! safety under SIGKILL, the schema version check, persistence across reopening, chunked
//! blobs, and the search index agreeing with `search::rank`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::attachment::{Attachment, CHUNK_SIZE};
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::{Audience, Effects, NewEvent};
use helpdesk_core::group::Access;
use helpdesk_core::kb::{Article, ArticleStatus, SearchQuery};
use helpdesk_core::message::{Message, MessageAppend, MessageRange};
use helpdesk_core::principal::Role;
use helpdesk_core::search;
use helpdesk_core::status::StatusCategory;
use helpdesk_core::store::{
    AttachmentStore, ConversationStore, EmailStore, EventStore, GroupStore, KbStore, MetaStore,
    Store, TicketStore, UserStore, WebhookStore,
};
use helpdesk_core::ticket::TicketQuery;
use helpdesk_core::ticket::{Priority, Ticket, TicketInsert};
use helpdesk_core::user::User;
use helpdesk_core::webhook::Webhook;
use helpdesk_store_sled::{META_TREE, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SledStore};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn conversation(id: Uuid, members: &[Uuid], at: DateTime<Utc>) -> Conversation {
    Conversation {
        id,
        kind: ConversationKind::Group,
        title: Some("crash".into()),
        ticket_id: None,
        members: members
            .iter()
            .map(|u| Member {
                user_id: *u,
                joined_at: at,
            })
            .collect(),
        created_by: members[0],
        created_at: at,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    }
}

fn new_message(conv: Uuid, sender: Uuid, content: String, at: DateTime<Utc>) -> MessageAppend {
    MessageAppend {
        id: Uuid::now_v7(),
        conversation_id: conv,
        sender_id: sender,
        content,
        parent_id: None,
        attachment_ids: Vec::new(),
        internal: false,
        created_at: at,
        join_sender: false,
        channel: Default::default(),
        ticket_update: None,
        base: None,
    }
}

fn message_event(m: &Message) -> Effects {
    Effects::event(NewEvent::new(
        helpdesk_core::event::EventKind::MessageCreated,
        m.created_at,
        Audience::conversation(m.conversation_id, false),
        json!({ "seq": m.seq }),
    ))
}

fn user(email: &str, role: Role, at: DateTime<Utc>) -> User {
    User {
        id: Uuid::now_v7(),
        email: email.into(),
        name: email.into(),
        role,
        is_active: true,
        password_hash: Some("x".into()),
        organization_id: None,
        is_org_manager: false,
        is_service: false,
        read_receipts: Default::default(),
        email_notifications: false,
        created_at: at,
        updated_at: at,
    }
}

fn article(
    slug: &str,
    title: &str,
    body: &str,
    tags: &[&str],
    status: ArticleStatus,
    at: DateTime<Utc>,
) -> Article {
    Article {
        id: Uuid::now_v7(),
        slug: slug.into(),
        title: title.into(),
        body: body.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        status,
        author_id: Uuid::now_v7(),
        created_at: at,
        updated_at: at,
        published_at: None,
    }
}

// ---------------------------------------------------------------------------------------
// Crash safety: a child process appends messages and prints each acknowledged seq; the
// parent kills it with SIGKILL mid-stream and checks the reopened database.

const CHILD_ENV: &str = "HELPDESK_SLED_CRASH_CHILD";
const CRASH_CONV: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_c0de);
const WRITERS: u64 = 4;

fn writer_id(i: u64) -> Uuid {
    Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0100 + u128::from(i))
}

/// The child's body: does nothing unless started by `acknowledged_writes_survive_sigkill`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    rt().block_on(async move {
        let store = SledStore::open(&dir).expect("child opens the store");
        if store.get_conversation(CRASH_CONV).await.unwrap().is_none() {
            let members: Vec<Uuid> = (0..WRITERS).map(writer_id).collect();
            store
                .create_conversation(&conversation(CRASH_CONV, &members, t0()), &Effects::none())
                .await
                .unwrap();
        }
        // Several writers at once, so acknowledgements also come out of shared flushes.
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let content = format!("w{w}-{n}-{}", Uuid::now_v7());
                    let new = new_message(CRASH_CONV, writer_id(w), content.clone(), Utc::now());
                    let m = store.append_message(&new, &message_event).await.unwrap();
                    println!("ack {} {}", m.seq, content);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn check_after_crash(dir: &Path, acked: &BTreeMap<u64, String>) {
    rt().block_on(async {
        let store = SledStore::open(dir).expect("reopen after kill");
        let conv = store
            .get_conversation(CRASH_CONV)
            .await
            .unwrap()
            .expect("conversation");
        let last = *acked.keys().next_back().unwrap();
        assert!(
            conv.last_seq >= last,
            "acknowledged seq {last} lost (last_seq {})",
            conv.last_seq
        );
        let mut seen = 0u64;
        let mut sent: BTreeMap<Uuid, u64> = BTreeMap::new();
        loop {
            let page = store
                .list_messages(CRASH_CONV, MessageRange::After(seen), true, 200)
                .await
                .expect("every message decodes");
            if page.is_empty() {
                break;
            }
            for m in page {
                seen += 1;
                assert_eq!(m.seq, seen, "seqs are dense");
                let n = sent
                    .entry(m.sender_id.expect("a user sent it"))
                    .or_default();
                *n += 1;
                assert_eq!(m.sender_ordinal, *n);
                if let Some(content) = acked.get(&m.seq) {
                    assert_eq!(&m.content, content, "seq {} holds another message", m.seq);
                }
            }
        }
        assert_eq!(seen, conv.last_seq, "message count equals last_seq");
        assert_eq!(conv.public_count, conv.last_seq);
        let last_event = store.last_event_id().await.unwrap().map_or(0, |e| e.0);
        assert_eq!(
            last_event, conv.last_seq,
            "one event per message, none half-written"
        );
        for (user, n) in &sent {
            let p = store
                .get_participant(CRASH_CONV, *user)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(p.sent_count, *n);
            assert_eq!(
                store
                    .own_count_upto(CRASH_CONV, *user, u64::MAX)
                    .await
                    .unwrap(),
                *n
            );
        }
    });
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    for round in 0..4 {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let want = 40 + round * 30;
        let mut got = 0;
        for line in stdout.lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("ack ") else {
                continue;
            };
            let (seq, content) = rest.split_once(' ').unwrap();
            acked.insert(seq.parse().unwrap(), content.to_string());
            got += 1;
            if got >= want {
                break;
            }
        }
        assert_eq!(got, want, "the child stopped early");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check_after_crash(dir.path(), &acked);
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn newer_schema_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    {
        // The dropped store's own threads may hold the lock a moment longer.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let db = loop {
            match sled::open(dir.path()) {
                Ok(db) => break db,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("sled::open: {e}"),
            }
        };
        let meta = db.open_tree(META_TREE).unwrap();
        meta.insert(SCHEMA_VERSION_KEY, b"99").unwrap();
        db.flush().unwrap();
    }
    match SledStore::open(dir.path()) {
        Err(StoreError::Corrupt(msg)) => {
            assert!(msg.contains("99"), "{msg}");
            assert!(msg.contains(&SCHEMA_VERSION.to_string()), "{msg}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

/// The database at `dir` through sled itself, once the store that had it lets go.
fn open_raw(dir: &Path) -> sled::Db {
    // The dropped store's own threads may hold the lock a moment longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("sled::open: {e}"),
        }
    }
}

#[test]
fn version_1_database_recounts_internal_replies() {
    let dir = tempfile::tempdir().unwrap();
    let conv = Uuid::now_v7();
    let (customer, agent) = (Uuid::now_v7(), Uuid::now_v7());
    let reply = |parent: Uuid, internal: bool| MessageAppend {
        parent_id: Some(parent),
        internal,
        ..new_message(conv, agent, "reply".into(), t0())
    };
    let (question, answer, note) = rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        s.create_conversation(
            &conversation(conv, &[customer, agent], t0()),
            &Effects::none(),
        )
        .await
        .unwrap();
        let none = |_: &Message| Effects::none();
        let q = new_message(conv, customer, "question".into(), t0());
        let q = s.append_message(&q, &none).await.unwrap();
        let answer = s.append_message(&reply(q.id, false), &none).await.unwrap();
        let note = s.append_message(&reply(q.id, true), &none).await.unwrap();
        s.append_message(&reply(answer.id, true), &none)
            .await
            .unwrap();
        (q.id, answer.id, note.id)
    });
    {
        // Rewrite it as version 1 wrote it: no `internal_reply_count` in any message,
        // except a wrong one where a migration cut short might have left it.
        let db = open_raw(dir.path());
        let messages = db.open_tree("messages").unwrap();
        for item in messages.iter() {
            let (k, v) = item.unwrap();
            let mut m: serde_json::Value = serde_json::from_slice(&v).unwrap();
            let fields = m.as_object_mut().unwrap();
            assert!(fields.remove("internal_reply_count").is_some());
            if fields["id"] == json!(answer) {
                fields.insert("internal_reply_count".into(), json!(7));
            }
            messages.insert(k, serde_json::to_vec(&m).unwrap()).unwrap();
        }
        let meta = db.open_tree(META_TREE).unwrap();
        meta.insert(SCHEMA_VERSION_KEY, b"1").unwrap();
        db.flush().unwrap();
    }
    let counts = || {
        rt().block_on(async {
            let s = SledStore::open(dir.path()).unwrap();
            let mut out = Vec::new();
            for id in [question, answer, note] {
                let m = s.get_message(conv, id).await.unwrap().unwrap();
                out.push((
                    m.reply_count,
                    m.internal_reply_count,
                    m.for_reader(false).reply_count,
                ));
            }
            out
        })
    };
    let want = vec![(2, 1, 1), (1, 1, 0), (0, 0, 0)];
    assert_eq!(counts(), want, "migrated on opening");
    let version = open_raw(dir.path())
        .open_tree(META_TREE)
        .unwrap()
        .get(SCHEMA_VERSION_KEY)
        .unwrap();
    assert_eq!(
        version.as_deref(),
        Some(SCHEMA_VERSION.to_string().as_bytes())
    );
    assert_eq!(counts(), want, "and the same once migrated");
}

#[test]
fn version_2_database_gets_the_default_group() {
    let dir = tempfile::tempdir().unwrap();
    let at = t0();
    let (customer, agent, admin) = (
        user("carol@example.com", Role::Customer, at),
        user("andy@example.com", Role::Agent, at + Duration::seconds(1)),
        user("ada@example.com", Role::Admin, at + Duration::seconds(2)),
    );
    let conv = Uuid::now_v7();
    let ticket_id = Uuid::now_v7();
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        for u in [&customer, &agent, &admin] {
            s.insert_user(u, &Effects::none()).await.unwrap();
        }
        let group = s.default_group().await.unwrap().id;
        let ticket = Ticket {
            id: ticket_id,
            number: 0,
            subject: "Printer".into(),
            description: "On fire".into(),
            status: StatusCategory::Closed.into(),
            status_category: StatusCategory::Closed,
            status_changed_at: None,
            priority: Priority::Normal,
            requester_id: customer.id,
            assignee_id: None,
            tags: vec![],
            conversation_id: conv,
            group_id: group,
            organization_id: None,
            cc: vec![],
            followers: vec![],
            fields: Default::default(),
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: Some(at),
            merged_into_id: None,
            merged_ids: vec![],
            pre_merge_status: None,
            snooze: None,
            sla: Default::default(),
            automation_at: None,
            channel: Default::default(),
            mailbox_id: None,
            follow_up_of: None,
            resolved_count: 0,
            version: 1,
        };
        let new = TicketInsert {
            ticket,
            conversation: Conversation {
                kind: ConversationKind::Ticket,
                ticket_id: Some(ticket_id),
                ..conversation(conv, &[customer.id], at)
            },
            attachment_ids: Vec::new(),
        };
        s.create_ticket(&new, &|_| Effects::none()).await.unwrap();
    });
    {
        // Rewrite it as version 2 wrote it: no groups, no memberships, tickets without
        // `group_id` and without group index entries.
        let db = open_raw(dir.path());
        for name in [
            "groups",
            "group_names",
            "group_members",
            "user_groups",
            "group_tickets",
        ] {
            db.drop_tree(name).unwrap();
        }
        let tickets = db.open_tree("tickets").unwrap();
        for item in tickets.iter() {
            let (k, v) = item.unwrap();
            let mut t: serde_json::Value = serde_json::from_slice(&v).unwrap();
            assert!(t.as_object_mut().unwrap().remove("group_id").is_some());
            tickets.insert(k, serde_json::to_vec(&t).unwrap()).unwrap();
        }
        let idx = db.open_tree("ticket_idx").unwrap();
        for k in idx.scan_prefix(b"g").keys() {
            idx.remove(k.unwrap()).unwrap();
        }
        let meta = db.open_tree(META_TREE).unwrap();
        meta.remove(b"default_group").unwrap();
        meta.insert(SCHEMA_VERSION_KEY, b"2").unwrap();
        db.flush().unwrap();
    }
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        let groups = s.list_groups().await.unwrap();
        assert_eq!(groups.len(), 1);
        let support = s.default_group().await.unwrap();
        assert_eq!(support, groups[0]);
        assert_eq!(support.name, "Support");
        let t = s.get_ticket(ticket_id).await.unwrap().unwrap();
        assert_eq!(t.group_id, support.id);
        let query = TicketQuery {
            group_ids: Some(vec![support.id]),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.list_tickets(&query).await.unwrap(), vec![t]);
        let members = s.group_members(support.id).await.unwrap();
        let who: Vec<(Uuid, Access, DateTime<Utc>)> = members
            .iter()
            .map(|m| (m.user_id, m.access, m.created_at))
            .collect();
        assert_eq!(
            who,
            vec![
                (agent.id, Access::Full, agent.created_at),
                (admin.id, Access::Full, admin.created_at)
            ]
        );
        assert!(s.user_memberships(customer.id).await.unwrap().is_empty());
        // The migrated ticket counts: its group cannot be deleted (it is the default
        // anyway), and a customer promoted now joins it.
        let mut promoted = customer.clone();
        promoted.role = Role::Agent;
        s.update_user(&promoted, &Effects::none()).await.unwrap();
        assert_eq!(s.user_memberships(customer.id).await.unwrap().len(), 1);
    });
    let version = open_raw(dir.path())
        .open_tree(META_TREE)
        .unwrap()
        .get(SCHEMA_VERSION_KEY)
        .unwrap();
    assert_eq!(
        version.as_deref(),
        Some(SCHEMA_VERSION.to_string().as_bytes())
    );
}

/// Schema 6: in a store of schema 5 the members of a large group had entries by activity
/// like any other; opening it moves them to the wide entries, and the group keeps its
/// place in its members' lists.
#[test]
fn wide_conversations_migrate_from_schema_5() {
    let dir = tempfile::tempdir().unwrap();
    let crowd: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    let (a, b) = (crowd[0], crowd[1]);
    let (small, wide) = (Uuid::now_v7(), Uuid::now_v7());
    let at = t0() + Duration::seconds(10);
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        (s.create_conversation(&conversation(small, &[a, b], t0()), &Effects::none()))
            .await
            .unwrap();
        (s.create_conversation(&conversation(wide, &crowd, t0()), &Effects::none()))
            .await
            .unwrap();
        let none = |_: &Message| Effects::none();
        (s.append_message(&new_message(wide, b, "hello".into(), at), &none))
            .await
            .unwrap();
    });
    {
        // Rewrite its members' entries as schema 5 wrote them: member, `*`, activity
        // (microseconds, sign bit flipped, big-endian), conversation.
        let db = open_raw(dir.path());
        let idx = db.open_tree("conversation_idx").unwrap();
        let micros = (at.timestamp_micros() as u64) ^ (1 << 63);
        for user in &crowd {
            let mut wide_key = user.as_bytes().to_vec();
            wide_key.push(b'w');
            wide_key.extend_from_slice(wide.as_bytes());
            let kind = idx.remove(&wide_key).unwrap().expect("a wide entry");
            let mut old = user.as_bytes().to_vec();
            old.push(b'*');
            old.extend_from_slice(&micros.to_be_bytes());
            old.extend_from_slice(wide.as_bytes());
            idx.insert(old, kind).unwrap();
        }
        let meta = db.open_tree(META_TREE).unwrap();
        meta.insert(SCHEMA_VERSION_KEY, b"5").unwrap();
        db.flush().unwrap();
    }
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        let listed = |user: Uuid| {
            let s = s.clone();
            async move {
                (s.list_conversations(user, None, None, 10)
                    .await
                    .unwrap()
                    .iter())
                .map(|c| c.id)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(listed(a).await, vec![wide, small]);
        assert_eq!(listed(crowd[7]).await, vec![wide]);
        // A later message elsewhere puts that conversation first.
        let later = new_message(small, a, "later".into(), at + Duration::seconds(1));
        let none = |_: &Message| Effects::none();
        s.append_message(&later, &none).await.unwrap();
        assert_eq!(listed(a).await, vec![small, wide]);
    });
    let idx = open_raw(dir.path()).open_tree("conversation_idx").unwrap();
    let old_entries = (idx.iter().keys())
        .filter(|k| k.as_ref().unwrap().ends_with(wide.as_bytes()))
        .filter(|k| k.as_ref().unwrap()[16] == b'*')
        .count();
    assert_eq!(
        old_entries, 0,
        "no entry by activity is left for the wide group"
    );
}

#[test]
fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let at = t0();
    let alice = user("alice@example.com", Role::Customer, at);
    let agent = user("agent@example.com", Role::Agent, at);
    let conv_id = Uuid::now_v7();
    let ticket_id = Uuid::now_v7();
    let hook = Webhook {
        id: Uuid::now_v7(),
        url: "https://example.com/hook".into(),
        events: vec!["*".into()],
        description: String::new(),
        active: true,
        secret: "whsec_x".into(),
        previous_secret: None,
        created_at: at,
        updated_at: at,
    };
    let art = article(
        "reset",
        "Reset your password",
        "Click forgot password.",
        &["account"],
        ArticleStatus::Published,
        at,
    );
    let new_ticket = |id: Uuid, conv: Uuid, group_id: Uuid| TicketInsert {
        ticket: Ticket {
            id,
            number: 0,
            subject: "Printer".into(),
            description: "On fire".into(),
            status: StatusCategory::Open.into(),
            status_category: StatusCategory::Open,
            status_changed_at: None,
            priority: Priority::High,
            requester_id: alice.id,
            assignee_id: None,
            tags: vec!["hardware".into()],
            conversation_id: conv,
            group_id,
            organization_id: None,
            cc: vec![],
            followers: vec![],
            fields: Default::default(),
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            merged_into_id: None,
            merged_ids: Vec::new(),
            pre_merge_status: None,
            snooze: None,
            sla: Default::default(),
            automation_at: None,
            channel: Default::default(),
            mailbox_id: None,
            follow_up_of: None,
            resolved_count: 0,
            version: 1,
        },
        conversation: Conversation {
            kind: ConversationKind::Ticket,
            ticket_id: Some(id),
            ..conversation(conv, &[alice.id], at)
        },
        attachment_ids: Vec::new(),
    };
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        s.insert_user(&alice, &Effects::none()).await.unwrap();
        s.insert_user(&agent, &Effects::none()).await.unwrap();
        s.insert_webhook(&hook).await.unwrap();
        let group = s.default_group().await.unwrap().id;
        let t = s
            .create_ticket(&new_ticket(ticket_id, conv_id, group), &|_| Effects::none())
            .await
            .unwrap();
        assert_eq!(t.number, 1);
        for i in 0..3 {
            let m = new_message(
                conv_id,
                alice.id,
                format!("m{i}"),
                at + Duration::seconds(i),
            );
            s.append_message(&m, &message_event).await.unwrap();
        }
        s.insert_article(&art, &Effects::none()).await.unwrap();
        s.put_setting_if_absent("jwt", "secret").await.unwrap();
    });
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            s.get_user_by_email("alice@example.com").await.unwrap(),
            Some(alice.clone())
        );
        assert_eq!(s.count_users().await.unwrap(), 2);
        assert_eq!(s.staff_ids().await.unwrap(), vec![agent.id]);
        assert_eq!(
            s.get_ticket_by_number(1).await.unwrap().unwrap().id,
            ticket_id
        );
        let conv = s.get_conversation(conv_id).await.unwrap().unwrap();
        assert_eq!(conv.last_seq, 3);
        let msgs = s
            .list_messages(conv_id, MessageRange::Latest, false, 10)
            .await
            .unwrap();
        assert_eq!(
            msgs.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
            ["m0", "m1", "m2"]
        );
        assert_eq!(
            s.get_setting("jwt").await.unwrap().as_deref(),
            Some("secret")
        );
        assert_eq!(
            s.get_article_by_slug("reset").await.unwrap(),
            Some(art.clone())
        );
        let hits = s
            .search_articles(&SearchQuery {
                q: "passwords".into(),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(hits.len(), 1);
        // Counters carry on where they stopped.
        assert_eq!(s.last_event_id().await.unwrap().map(|e| e.0), Some(3));
        let deliveries = s.list_deliveries(hook.id, None, 10).await.unwrap();
        assert_eq!(deliveries.len(), 3);
        let group = s.default_group().await.unwrap().id;
        let t2 = s
            .create_ticket(&new_ticket(Uuid::now_v7(), Uuid::now_v7(), group), &|_| {
                Effects::none()
            })
            .await
            .unwrap();
        assert_eq!(t2.number, 2);
        let m = new_message(conv_id, alice.id, "m3".into(), at + Duration::seconds(9));
        let m = s.append_message(&m, &message_event).await.unwrap();
        assert_eq!(m.seq, 4);
        assert_eq!(s.last_event_id().await.unwrap().map(|e| e.0), Some(4));
    });
}

/// A mail of the default `--mail-max-size` (40 MiB) is written inside its operation's
/// transaction, and its bytes come back exactly, also after reopening the database.
#[test]
fn forty_mib_mail_survives_reopening() {
    use helpdesk_core::email::{InboundRecord, InboundResult, InboundVia, InboundWrite};
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..40 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mailbox_id = Uuid::now_v7();
    let record = InboundRecord {
        id: Uuid::now_v7(),
        mailbox_id,
        internet_message_id: Some("big@example.org".into()),
        dedupe_key: "big@example.org".into(),
        from: Some("a@example.org".into()),
        to: vec![],
        cc: vec![],
        subject: "Big".into(),
        size: bytes.len() as u64,
        via: InboundVia::Smtp,
        auto: false,
        result: InboundResult::Ignored,
        reason: None,
        ticket_id: None,
        message_id: None,
        left_out: vec![],
        references: vec![],
        received_at: t0(),
    };
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        let mut fx = Effects::none();
        fx.mail.inbound = Some(InboundWrite {
            record: record.clone(),
            raw: bytes.clone().into(),
        });
        s.append_effects(&fx).await.unwrap();
        assert!(s.inbound_raw(record.id).await.unwrap() == Some(bytes.clone()));
    });
    rt().block_on(async {
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            s.get_inbound(record.id).await.unwrap(),
            Some(record.clone())
        );
        assert!(s.inbound_raw(record.id).await.unwrap() == Some(bytes));
        let listed = s.list_inbound(mailbox_id, None, None, 10).await.unwrap();
        assert_eq!(listed, vec![record]);
    });
}

#[test]
fn big_blob_round_trips_through_chunks() {
    rt().block_on(async {
        let s = SledStore::temporary().unwrap();
        let id = Uuid::now_v7();
        let chunks = 8 * 1024 * 1024 / CHUNK_SIZE;
        let chunk = |i: usize| -> Vec<u8> {
            (0..CHUNK_SIZE)
                .map(|j| ((i * 31 + j * 7) % 251) as u8)
                .collect()
        };
        for i in 0..chunks {
            s.put_blob_chunk(id, i as u32, &chunk(i)).await.unwrap();
        }
        s.insert_attachment(
            &Attachment {
                id,
                filename: "big.bin".into(),
                content_type: "application/octet-stream".into(),
                size: (chunks * CHUNK_SIZE) as u64,
                sha256: String::new(),
                uploaded_by: Uuid::now_v7(),
                created_at: t0(),
                parent: None,
            },
            &Effects::none(),
        )
        .await
        .unwrap();
        // One chunk in memory at a time.
        for i in 0..chunks {
            let got = s.get_blob_chunk(id, i as u32).await.unwrap().unwrap();
            assert!(got == chunk(i), "chunk {i} differs");
        }
        assert_eq!(s.get_blob_chunk(id, chunks as u32).await.unwrap(), None);
        assert_eq!(
            s.unattached_before(t0() + Duration::seconds(1))
                .await
                .unwrap()
                .len(),
            1
        );
        s.delete_attachment(id).await.unwrap();
        assert_eq!(s.get_attachment(id).await.unwrap(), None);
        assert_eq!(s.get_blob_chunk(id, 0).await.unwrap(), None);
    });
}

#[test]
fn search_index_agrees_with_rank() {
    rt().block_on(async {
        let s = SledStore::temporary().unwrap();
        let at = t0();
        let docs = [
            (
                "a",
                "Reset your password",
                "Use the forgot password link to reset it.",
                vec!["account"],
                ArticleStatus::Published,
            ),
            (
                "b",
                "Printer setup",
                "Install the printer driver, then reset the spooler.",
                vec!["hardware"],
                ArticleStatus::Published,
            ),
            (
                "c",
                "Passwords policy",
                "Passwords expire every 90 days. Resetting is free.",
                vec!["account", "policy"],
                ArticleStatus::Draft,
            ),
            (
                "d",
                "VPN",
                "Connect to the VPN before printing <b>anything</b> & more.",
                vec!["network"],
                ArticleStatus::Published,
            ),
            (
                "e",
                "Account lockout",
                "Too many password attempts lock the account.",
                vec!["account"],
                ArticleStatus::Published,
            ),
        ];
        let mut arts = Vec::new();
        for (i, (slug, title, body, tags, status)) in docs.iter().enumerate() {
            let a = article(
                slug,
                title,
                body,
                tags,
                *status,
                at + Duration::minutes(i as i64),
            );
            s.insert_article(&a, &Effects::none()).await.unwrap();
            arts.push(a);
        }
        // An edit must move the index too.
        let mut b = arts[1].clone();
        b.body = "Install the driver.".into();
        s.update_article(&b, &Effects::none()).await.unwrap();
        s.delete_article(arts[4].id, &Effects::none())
            .await
            .unwrap();
        for q in [
            "password",
            "reset",
            "printer",
            "account password",
            "anything",
            "driver spooler",
            "",
            "zzz",
        ] {
            for include_drafts in [false, true] {
                for tag in [None, Some("account".to_string())] {
                    let query = SearchQuery {
                        q: q.into(),
                        tag,
                        include_drafts,
                        limit: 10,
                    };
                    let all = s.all_articles(!include_drafts).await.unwrap();
                    assert_eq!(
                        s.search_articles(&query).await.unwrap(),
                        search::rank(all, &query),
                        "{query:?}"
                    );
                }
            }
        }
        let counts = s.tag_counts(false).await.unwrap();
        let account = counts.iter().find(|c| c.tag == "account").unwrap();
        assert_eq!(account.count, 2);
    });
}

#[test]
fn concurrent_appends_share_flushes_and_get_dense_seqs() {
    rt().block_on(async {
        let s = SledStore::temporary().unwrap();
        let conv = Uuid::now_v7();
        let u = Uuid::now_v7();
        s.create_conversation(&conversation(conv, &[u], t0()), &Effects::none())
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..64 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let m = new_message(conv, u, format!("{i}"), t0());
                s.append_message(&m, &message_event).await.unwrap().seq
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=64).collect::<Vec<u64>>());
        let events = s.events_after(None, 100).await.unwrap();
        assert_eq!(events.len(), 64);
        assert!(events.windows(2).all(|w| w[0].id.0 + 1 == w[1].id.0));
    });
}

#[allow(dead_code)]
fn assert_store<S: Store>() {}
#[test]
fn sled_store_is_a_store() {
    assert_store::<SledStore>();
}

// The shared conformance suite: every behaviour all backends must have.
helpdesk_core::store_conformance!(|| async {
    std::sync::Arc::new(
        helpdesk_store_sled::SledStore::temporary().expect("a temporary sled store"),
    ) as std::sync::Arc<dyn helpdesk_core::store::Store>
});
