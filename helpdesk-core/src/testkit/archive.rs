//! The archive (export/import): export → import → export gives the same lines on every
//! backend and across backends (the memory store is the reference), pages resume
//! exactly, an imported store keeps working (logins, numbers, seqs, event ids, unread
//! counts, search, attachment bytes, webhooks), and bad archives fail clearly.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;

use super::{PASSWORD, Who, World, expect_err, memory};
use crate::apikey::NewApiKey;
use crate::archive::{ArchiveSummary, Record, RecordKind};
use crate::canned_reply::{CannedReplyFilter, NewCannedReply};
use crate::kb::ArticleSearch;
use crate::kb::{ArticleStatus, NewArticle};
use crate::message::NewMessage;
use crate::notification::{NotificationFilter, NotificationList};
use crate::organization::{NewOrganization, OrganizationFilter, Sharing};
use crate::ownership::ItemScope;
use crate::page::PageRequest;
use crate::principal::Principal;
use crate::scope::{Scope, Scopes};
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::TicketPatch;
use crate::user::{UserFilter, UserPatch};
use crate::webhook::NewWebhook;
use crate::{Config, Error};

/// A world whose webhooks may point at this machine (nothing is sent in these cases).
fn world(store: Arc<dyn Store>) -> World {
    World::with_config(
        store,
        Config {
            webhooks_allow_private: true,
            ..Config::for_tests()
        },
    )
}

/// What [`populate`] made.
struct Populated {
    agent: Who,
    customer: Who,
    ticket_conversation: uuid::Uuid,
    attachment: uuid::Uuid,
    bytes: Vec<u8>,
    /// The token of the agent's API key (used once, so it has a `last_used_at`).
    key_token: String,
}

fn one_piece(
    bytes: &[u8],
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + use<> {
    futures_util::stream::iter(vec![Ok(Bytes::copy_from_slice(bytes))])
}

/// A store with a record of every kind: settings, sessions, an organization with its
/// customer as manager, tickets with timelines,
/// replies, internal notes, edits and deletions, read and delivery state,
/// notifications (some read), articles, attachments over several chunks, webhooks with
/// deliveries, a deleted ticket (so the number counter runs ahead of the tickets), an
/// API key that was used, and a canned reply of each scope.
async fn populate(w: &World) -> Populated {
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    w.store
        .put_setting_if_absent("archive_test", "kept")
        .await
        .unwrap();
    w.hd.login(customer.email(), PASSWORD).await.unwrap();
    let acme =
        w.hd.create_organization(
            &admin.p,
            NewOrganization {
                name: "Acme".into(),
                domains: vec!["acme.com".into(), "acme.example".into()],
                sharing: Sharing::Managers,
            },
        )
        .await
        .unwrap();
    w.hd.update_user(
        &admin.p,
        customer.id(),
        UserPatch {
            organization_id: Some(Some(acme.id)),
            is_org_manager: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let hook =
        w.hd.create_webhook(
            &admin.p,
            NewWebhook {
                url: "http://127.0.0.1:9/in".into(),
                events: vec!["*".into()],
                description: Some("all".into()),
                active: None,
            },
        )
        .await
        .unwrap();
    // Statuses and custom fields of their own, and a ticket with a value.
    w.hd.create_status(
        &admin.p,
        crate::status::NewStatus {
            key: "waiting_for_parts".into(),
            category: crate::status::StatusCategory::OnHold,
            agent_label: "Waiting for parts".into(),
            customer_label: Some("Waiting".into()),
            position: None,
            active: None,
        },
    )
    .await
    .unwrap();
    w.hd.create_field(
        &admin.p,
        crate::custom_field::NewCustomField {
            key: "platforms".into(),
            field_type: crate::custom_field::FieldType::Multiselect,
            label: "Platforms".into(),
            options: vec!["web".into(), "api".into()],
            customer_visible: Some(true),
            customer_editable: Some(true),
            required_on_create: None,
            required_on_resolve: None,
            position: None,
            active: None,
        },
    )
    .await
    .unwrap();
    w.tick();
    let ticket = w.ticket(&customer, "Printer on fire").await;
    let ticket =
        w.hd.update_ticket(
            &admin.p,
            ticket.id,
            crate::ticket::TicketPatch {
                status: Some(crate::status::StatusKey::new("waiting_for_parts")),
                fields: serde_json::from_value(serde_json::json!({"platforms": ["api"]})).unwrap(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let bytes: Vec<u8> = (0..600_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let att =
        w.hd.upload(
            &customer.p,
            "log.bin",
            "application/octet-stream",
            Some(ticket.id),
            one_piece(&bytes),
        )
        .await
        .unwrap();
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        ticket.id,
        TicketPatch {
            assignee_id: Some(Some(agent.id())),
            status: Some(StatusCategory::Pending.into()),
            tags: Some(vec!["hardware".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let conv = ticket.conversation_id;
    w.tick();
    let first = w.send(&customer, conv, "It is still burning").await;
    let loose =
        w.hd.upload(
            &agent.p,
            "fix.txt",
            "text/plain",
            None,
            one_piece(b"unplug it"),
        )
        .await
        .unwrap();
    w.tick();
    w.hd.send_message(
        &agent.p,
        conv,
        NewMessage {
            content: format!("Try this @{}", customer.email()),
            parent_id: Some(first.message.id),
            attachment_ids: vec![loose.id],
            internal: false,
        },
    )
    .await
    .unwrap();
    w.note(&agent, conv, "Customer sounds calm").await;
    let edited = w.send(&customer, conv, "typo hre").await;
    w.hd.edit_message(&customer.p, conv, edited.message.id, "typo here")
        .await
        .unwrap();
    let doomed = w.send(&customer, conv, "oops").await;
    w.hd.delete_message(&customer.p, conv, doomed.message.id)
        .await
        .unwrap();
    w.hd.mark_read_up_to(&customer.p, conv, first.message.id)
        .await
        .unwrap();
    w.hd.mark_delivered(&agent.p, conv, 3).await.unwrap();
    let direct = w.direct(&admin, &customer).await;
    w.send(&admin, direct, "Hello from the admin").await;
    let group = w.group(&admin, &[&agent], "Ops").await;
    w.send(&agent, group, "Standup?").await;
    w.hd.mark_all_read(&admin.p, group).await.unwrap();
    let NotificationList { page, .. } =
        w.hd.list_notifications(&customer.p, NotificationFilter::default())
            .await
            .unwrap();
    if let Some(n) = page.items.first() {
        w.hd.mark_notification_read(&customer.p, n.id)
            .await
            .unwrap();
    }
    w.hd.create_article(
        &agent.p,
        NewArticle {
            title: "Resetting passwords".into(),
            body: "Open **settings**, then reset your password.".into(),
            slug: None,
            tags: vec!["account".into(), "howto".into()],
            status: Some(ArticleStatus::Published),
        },
    )
    .await
    .unwrap();
    w.hd.create_article(
        &agent.p,
        NewArticle {
            title: "Draft notes".into(),
            body: "Not yet.".into(),
            slug: Some("draft-notes".into()),
            tags: vec!["howto".into()],
            status: None,
        },
    )
    .await
    .unwrap();
    let gone = w.ticket(&customer, "Duplicate").await;
    w.hd.delete_ticket(&admin.p, gone.id).await.unwrap();
    w.hd.test_webhook(&admin.p, hook.id).await.unwrap();
    let key =
        w.hd.create_api_key(
            &agent.p,
            agent.id(),
            NewApiKey {
                name: "export".into(),
                scopes: Scopes::one(Scope::TicketsRead).with(Scope::KbRead),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    w.hd.authenticate(key.token.expose()).await.unwrap();
    let escalations =
        w.hd.create_group(
            &admin.p,
            crate::group::NewGroup {
                name: "Escalations".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    w.hd.put_membership(
        &admin.p,
        escalations,
        agent.id(),
        crate::group::Access::Read,
    )
    .await
    .unwrap();
    for (who, shortcut, scope, group_id) in [
        (&agent, "thanks", ItemScope::Personal, None),
        (&admin, "escalate", ItemScope::Group, Some(escalations)),
        (&admin, "closing", ItemScope::Global, None),
    ] {
        w.hd.create_canned_reply(
            &who.p,
            NewCannedReply {
                title: format!("Canned {shortcut}"),
                shortcut: shortcut.into(),
                body: "Dear {{requester.name}}, about #{{ ticket.number }}".into(),
                scope,
                group_id,
            },
        )
        .await
        .unwrap();
    }
    for (who, name, scope, group_id) in [
        (&agent, "Mine", ItemScope::Personal, None),
        (&admin, "Escalated", ItemScope::Group, Some(escalations)),
    ] {
        w.hd.create_view(
            &who.p,
            crate::view::NewView {
                name: name.into(),
                scope,
                group_id,
                filter: Some(serde_json::json!({
                    "all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}],
                    "any": [{"field": "hours_since_created", "op": "gt", "value": 1.5}]
                })),
                sort: Some(crate::ticket::TicketSort::PriorityDesc),
                position: None,
            },
        )
        .await
        .unwrap();
    }
    // A macro, and its run on the ticket: timeline entries with `via`.
    let triage =
        w.hd.create_macro(
            &admin.p,
            crate::macros::NewMacro {
                name: "Triage".into(),
                actions: serde_json::json!([
                    {"action": "set_priority", "value": "high"},
                    {"action": "add_tags", "value": ["triaged"]},
                    {"action": "notify", "to": "requester", "value": "Looked at"}
                ]),
                position: None,
            },
        )
        .await
        .unwrap();
    w.tick();
    w.hd.apply_macro(&admin.p, ticket.id, triage.id)
        .await
        .unwrap();
    // A calendar, and an SLA policy counting in it: the tickets carry their SLA history
    // and due times, and one is snoozed (the scheduler's due instants come back with the
    // records).
    let office = w
        .hd
        .create_calendar(
            &admin.p,
            crate::calendar::NewCalendar {
                name: "Office".into(),
                timezone: "Europe/Berlin".into(),
                hours: serde_json::json!({"mon": [["09:00", "17:00"]], "sat": [["10:00", "24:00"]]}),
                holidays: Some(serde_json::json!(["2026-12-25"])),
            },
        )
        .await
        .unwrap();
    w.hd.create_sla_policy(
        &admin.p,
        crate::sla_policy::NewSlaPolicy {
            name: "Standard".into(),
            position: None,
            active: None,
            condition: Some(serde_json::json!({"all": [{"field": "priority", "op": "ne", "value": "low"}]})),
            calendar_id: Some(office.id),
            targets: serde_json::json!({"first_response": {"high": 30}, "resolution": {"high": 600}}),
            warn_percent: Some(Some(50)),
        },
    )
    .await
    .unwrap();
    let later = w.ticket(&customer, "Snoozed for later").await;
    w.hd.snooze_ticket(
        &admin.p,
        later.id,
        w.hd.now() + chrono::Duration::hours(3),
        false,
    )
    .await
    .unwrap();
    // The ticket resolved: a CSAT survey, answered.
    w.tick();
    w.hd.update_ticket(
        &agent.p,
        ticket.id,
        TicketPatch {
            status: Some(StatusCategory::Resolved.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = super::csat::latest_token(w, &customer)
        .await
        .expect("a survey");
    w.hd.respond_csat(&token, 4, Some("Quick")).await.unwrap();
    // A rule (inactive, so that it changes nothing the cases do later). Its runs and
    // edge state are not archived.
    w.hd.create_rule(
        &admin.p,
        crate::rule::NewRule {
            name: "Escalate".into(),
            kind: crate::rule::RuleKind::Trigger,
            active: Some(false),
            position: None,
            condition: Some(serde_json::json!({"all": [
                {"field": "event", "op": "eq", "value": "ticket.updated"},
                {"field": "priority", "op": "eq", "value": "urgent"}
            ]})),
            actions: serde_json::json!([{"action": "add_tags", "value": ["escalated"]}]),
        },
    )
    .await
    .unwrap();
    // A mailbox (its secret archived with it).
    let mailbox =
        w.hd.create_mailbox(
            &admin.p,
            crate::mailbox::NewMailbox {
                address: "support@example.com".into(),
                name: "Support".into(),
                group_id: None,
                is_default: Some(true),
                inbound: serde_json::json!({"kind": "webhook", "provider": "raw"}),
                outbound: None,
                auto_reply: None,
            },
        )
        .await
        .unwrap()
        .mailbox;
    // Mail: inbound records and outbound mail with their bytes (not UTF-8), suppressions.
    populate_mail(w, mailbox.id, &customer, ticket.id).await;
    Populated {
        key_token: key.token.expose().to_string(),
        agent,
        customer,
        ticket_conversation: conv,
        attachment: att.id,
        bytes,
    }
}

/// Three inbound records, three outbound mails (one of them bounced), three
/// suppressions.
async fn populate_mail(w: &World, mailbox_id: uuid::Uuid, customer: &Who, ticket_id: uuid::Uuid) {
    use crate::email::*;
    let at = w.hd.now();
    for i in 0..3u8 {
        let id = uuid::Uuid::now_v7();
        let message_id = format!("in{i}@example.org");
        let record = InboundRecord {
            id,
            mailbox_id,
            internet_message_id: (i != 1).then(|| message_id.clone()),
            dedupe_key: dedupe_key((i != 1).then_some(message_id.as_str()), "00ff"),
            from: Some(customer.email().to_string()),
            to: vec!["support@example.com".into()],
            cc: vec![],
            subject: format!("Mail {i}"),
            size: 4,
            via: InboundVia::Http,
            auto: i == 2,
            result: InboundResult::MessageAdded,
            reason: None,
            ticket_id: Some(ticket_id),
            message_id: None,
            left_out: vec![],
            references: vec![],
            received_at: at + chrono::Duration::seconds(i64::from(i)),
        };
        let out_id = uuid::Uuid::now_v7();
        let mail = OutboundMail {
            id: out_id,
            mailbox_id,
            kind: OutboundKind::Reply,
            ticket_id: Some(ticket_id),
            message_id: None,
            notification_id: None,
            to: vec![customer.email().to_string()],
            cc: vec![],
            subject: "Re: [#1] By mail".into(),
            internet_message_id: format!("{out_id}@example.com"),
            references: vec![message_id.clone()],
            status: OutboundStatus::Pending,
            attempts: 0,
            last_smtp_code: None,
            last_error: None,
            rejected: vec![],
            next_attempt_at: Some(at),
            sent_at: None,
            created_at: at,
        };
        let fx = crate::event::Effects {
            mail: MailEffects {
                inbound: Some(InboundWrite {
                    record,
                    raw: vec![b'S', 0xff, i, 0x80].into(),
                }),
                outbound: vec![OutboundWrite {
                    mail,
                    raw: vec![0xfe, i, b'\n'].into(),
                }],
                suppressions: vec![Suppression {
                    address: format!("gone{i}@example.org"),
                    reason: SuppressionReason::Bounce,
                    detail: "5.1.1 unknown".into(),
                    outbound_id: None,
                    created_at: at,
                }],
                bounced: if i == 2 { vec![out_id] } else { vec![] },
            },
            ..Default::default()
        };
        w.store.append_effects(&fx).await.unwrap();
    }
}

async fn export(w: &World) -> Vec<u8> {
    let mut out = Vec::new();
    w.hd.export_archive(&Principal::system(), &mut out, &|_| {})
        .await
        .expect("export");
    out
}

async fn import(w: &World, archive: &[u8]) -> crate::Result<ArchiveSummary> {
    w.hd.import_archive(&Principal::system(), archive, &|_| {})
        .await
}

/// Fails at the first line that differs, naming it.
fn assert_same_lines(expected: &[u8], actual: &[u8]) {
    let e: Vec<&[u8]> = expected.split(|b| *b == b'\n').collect();
    let a: Vec<&[u8]> = actual.split(|b| *b == b'\n').collect();
    for (i, (x, y)) in e.iter().zip(a.iter()).enumerate() {
        assert!(
            x == y,
            "line {} differs:\nexpected {}\n  actual {}",
            i + 1,
            String::from_utf8_lossy(&x[..x.len().min(600)]),
            String::from_utf8_lossy(&y[..y.len().min(600)]),
        );
    }
    assert_eq!(e.len(), a.len(), "the archives have different lengths");
}

/// Every kind of record is in the archive of a populated store.
fn assert_every_kind(archive: &[u8]) {
    for kind in RecordKind::ALL {
        let needle = format!("{{\"type\":\"{}\",", kind.as_str());
        assert!(
            archive
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "no {} record in the archive",
            kind.as_str()
        );
    }
}

/// The backend's export, imported into the reference store, exports the same lines.
pub async fn export_round_trips_through_memory(store: Arc<dyn Store>) {
    let w = world(store);
    populate(&w).await;
    let a = export(&w).await;
    assert_every_kind(&a);
    let m = world(memory());
    let summary = import(&m, &a).await.expect("import into memory");
    assert_eq!(summary.bytes, a.len() as u64);
    assert_same_lines(&a, &export(&m).await);
}

/// The reference store's export, imported into the backend, exports the same lines.
pub async fn import_then_export_is_identity(store: Arc<dyn Store>) {
    let m = world(memory());
    populate(&m).await;
    let a = export(&m).await;
    let w = world(store);
    import(&w, &a).await.expect("import");
    assert_same_lines(&a, &export(&w).await);
}

/// Paging through a kind two records at a time gives what one big page gives.
pub async fn store_export_pages_resume_after_a_record(store: Arc<dyn Store>) {
    let w = world(store.clone());
    populate(&w).await;
    for kind in RecordKind::ALL {
        let all = store.export_records(kind, None, 100_000).await.unwrap();
        let mut paged: Vec<Record> = Vec::new();
        loop {
            let page = store.export_records(kind, paged.last(), 2).await.unwrap();
            assert!(page.len() <= 2);
            let done = page.len() < 2;
            paged.extend(page);
            if done {
                break;
            }
        }
        assert_eq!(all, paged, "{} pages", kind.as_str());
        let keys: Vec<_> = all.iter().map(|r| r.key()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{} in archive order", kind.as_str());
    }
}

/// After an import, the store carries on where the exported one stopped.
pub async fn imported_store_keeps_working(store: Arc<dyn Store>) {
    let m = world(memory());
    let made = populate(&m).await;
    let a = export(&m).await;
    let w = world(store);
    import(&w, &a).await.expect("import");

    // API keys came along (their hashes: the token works).
    let p =
        w.hd.authenticate(&made.key_token)
            .await
            .expect("key after import");
    assert_eq!(p.user_id(), made.agent.id());
    // Password hashes and sessions came along.
    w.hd.login(made.customer.email(), PASSWORD)
        .await
        .expect("login after import");
    // Unread counts and read state are the same.
    for who in [&made.agent, &made.customer] {
        assert_eq!(
            w.hd.unread_overview(&who.p).await.unwrap(),
            m.hd.unread_overview(&who.p).await.unwrap()
        );
    }
    // Attachment bytes are the same.
    let (_, stream) =
        w.hd.attachment_content(&made.customer.p, made.attachment)
            .await
            .unwrap();
    let mut got = Vec::new();
    let mut stream = Box::pin(stream);
    while let Some(piece) = stream.next().await {
        got.extend_from_slice(&piece.unwrap());
    }
    assert_eq!(got, made.bytes);
    // Search indexes were built.
    let hits =
        w.hd.search_articles(Some(&made.agent.p), ArticleSearch::new("password"))
            .await
            .unwrap();
    assert_eq!(hits.len(), 1);
    // The organization keeps its members, its domains and its names.
    let orgs =
        w.hd.list_organizations(
            &made.agent.p,
            OrganizationFilter {
                q: Some("acme".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(orgs.items.len(), 1);
    let acme = &orgs.items[0];
    let members =
        w.hd.list_users(
            &made.agent.p,
            UserFilter {
                organization_id: Some(acme.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    assert!(members.items[0].is_org_manager);
    assert_eq!(
        w.store
            .organization_by_domain("acme.example")
            .await
            .unwrap()
            .as_ref(),
        Some(acme)
    );
    expect_err!(
        w.hd.create_organization(
            &Principal::system(),
            NewOrganization {
                name: "ACME".into(),
                ..Default::default()
            }
        )
        .await,
        Error::NameTaken
    );
    // Canned replies came along, with their shortcuts still taken.
    let canned = |hd: &crate::Helpdesk| {
        let (hd, p) = (hd.clone(), made.agent.p);
        async move {
            hd.list_canned_replies(&p, CannedReplyFilter::default())
                .await
                .unwrap()
                .items
        }
    };
    let listed = canned(&w.hd).await;
    assert_eq!(listed, canned(&m.hd).await);
    assert_eq!(listed.len(), 3);
    expect_err!(
        w.hd.create_canned_reply(
            &Principal::system(),
            NewCannedReply {
                title: "Copy".into(),
                shortcut: "thanks".into(),
                body: "Copy".into(),
                scope: ItemScope::Global,
                group_id: None,
            }
        )
        .await,
        Error::ShortcutTaken
    );
    // A group holding nothing but a group reply is in use.
    let escalations = w
        .store
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.name == "Escalations")
        .unwrap();
    expect_err!(
        w.hd.delete_group(&Principal::system(), escalations.id)
            .await,
        Error::InUse(_)
    );
    // Numbers, seqs and event ids go on from the imported counters.
    let last_event = w.last_event().await.expect("imported events");
    w.tick();
    let t = w.ticket(&made.customer, "After the move").await;
    assert_eq!(
        t.number, 4,
        "ticket 2 was deleted (its number is not reused), 3 is the snoozed one"
    );
    let before =
        m.hd.list_messages(&made.agent.p, made.ticket_conversation, Default::default())
            .await
            .unwrap();
    let last_seq = before.items.last().map(|v| v.message.seq).unwrap();
    let sent = w
        .send(&made.agent, made.ticket_conversation, "Still here")
        .await;
    assert_eq!(sent.message.seq, last_seq + 1);
    let new_events = w.store.events_after(Some(last_event), 100).await.unwrap();
    assert!(!new_events.is_empty());
    assert!(new_events.iter().all(|e| e.id > last_event));
    // The imported webhook still gets deliveries for new events.
    let hooks = w.hd.list_webhooks(&Principal::system()).await.unwrap();
    let deliveries =
        w.hd.list_deliveries(
            &Principal::system(),
            hooks[0].id,
            PageRequest {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        deliveries
            .items
            .iter()
            .any(|d| d.event_id == new_events[0].id)
    );
}

/// An import into a store that holds data is refused before anything is written.
pub async fn import_refuses_non_empty_store(store: Arc<dyn Store>) {
    let m = world(memory());
    populate(&m).await;
    let a = export(&m).await;
    let w = world(store);
    let someone = w.customer().await;
    expect_err!(import(&w, &a).await, Error::Conflict(_));
    let users =
        w.hd.list_users(
            &Principal::system(),
            UserFilter {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(users.items.len(), 1);
    assert_eq!(users.items[0].id, someone.id());
    expect_err!(
        w.hd.import_archive(&someone.p, &a[..], &|_| {}).await,
        Error::Forbidden(_)
    );
    // An admin's own canned reply is data too.
    let w2 = world(memory());
    let admin = w2.admin().await;
    w2.hd
        .create_canned_reply(
            &admin.p,
            NewCannedReply {
                title: "Mine".into(),
                shortcut: "thanks".into(),
                body: "Thanks".into(),
                scope: ItemScope::Personal,
                group_id: None,
            },
        )
        .await
        .unwrap();
    expect_err!(
        w2.hd.import_archive(&admin.p, &a[..], &|_| {}).await,
        Error::Conflict(_)
    );
}

/// A cut archive, a foreign file and a malformed line fail with what is wrong.
pub async fn bad_archives_fail_clearly(store: Arc<dyn Store>) {
    let m = world(memory());
    populate(&m).await;
    let a = export(&m).await;
    let w = world(store.clone());

    let err = import(&w, b"hello\n").await.unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");

    let err = import(&w, b"{\"type\":\"user\",\"record\":{}}\n")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");

    let header_only = a.split(|b| *b == b'\n').next().unwrap();
    let mut two = header_only.to_vec();
    two.extend_from_slice(b"\n{\"type\":\"nonsense\"}\n");
    let err = import(&w, &two).await.unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");

    let w2 = world(memory());
    let cut = &a[..a.len() / 2];
    let cut = &cut[..cut.iter().rposition(|b| *b == b'\n').unwrap() + 1];
    let err = import(&w2, cut).await.unwrap_err();
    assert!(err.to_string().contains("cut short"), "{err}");
}

/// Text written before the text rule (a store may hold U+0000 or another refused control
/// character): the import refuses it naming the line and the field, on every store
/// alike; asked to, it replaces each such character with U+FFFD and says how many.
pub async fn import_applies_the_text_rule(store: Arc<dyn Store>) {
    let m = world(memory());
    let made = populate(&m).await;
    // As an older store may hold it: written past the checks of today.
    for (who, name) in [
        (&made.agent, "Old\u{0}Name"),
        (&made.customer, "Back\u{8}space\u{c}"),
    ] {
        let mut user = m.store.get_user(who.id()).await.unwrap().unwrap();
        user.name = name.to_string();
        m.store
            .update_user(&user, &crate::event::Effects::none())
            .await
            .unwrap();
    }
    let a = export(&m).await;

    let w = world(store.clone());
    let err = import(&w, &a).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("line ") && text.contains("name") && text.contains("U+0000"),
        "{text}"
    );

    let w = world(store);
    let options = crate::archive::ImportOptions {
        replace_refused_text: true,
    };
    let summary =
        w.hd.import_archive_with(&Principal::system(), &a[..], options, &|_| {})
            .await
            .expect("import with replacement");
    assert_eq!(summary.replaced_characters, 3);
    let agent = w.store.get_user(made.agent.id()).await.unwrap().unwrap();
    assert_eq!(agent.name, "Old\u{fffd}Name");
    let customer = w.store.get_user(made.customer.id()).await.unwrap().unwrap();
    assert_eq!(customer.name, "Back\u{fffd}space\u{fffd}");
}
