//! The email channel's store contract ([`crate::store::EmailStore`]): inbound records
//! written with the change they made (and refused whole as duplicates), the Message-ID
//! index, the outbox and its claims, auto-reply counts, suppressions and bounces, the
//! mail fields of tickets and messages, mailboxes in use, and an archive round trip.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::mailboxes::{imap, new};
use super::{Who, World, expect_err};
use crate::conversation::Conversation;
use crate::email::*;
use crate::error::{Conflict, StoreError};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::message::MessageAppend;
use crate::page::Cursor;
use crate::principal::Principal;
use crate::store::Store;
use crate::ticket::{Channel, Ticket, TicketInsert, TicketQuery};

/// A world with a customer, an admin and a mailbox.
struct Mail {
    w: World,
    cust: Who,
    admin: Who,
    mailbox: Uuid,
}

async fn setup(store: Arc<dyn Store>) -> Mail {
    let w = World::new(store);
    let admin = w.admin().await;
    let cust = w.customer().await;
    let mailbox =
        w.hd.create_mailbox(&admin.p, new("support@example.com", imap()))
            .await
            .unwrap()
            .mailbox
            .id;
    Mail {
        w,
        cust,
        admin,
        mailbox,
    }
}

impl Mail {
    async fn other_mailbox(&self, address: &str) -> Uuid {
        self.w
            .hd
            .create_mailbox(&self.admin.p, new(address, imap()))
            .await
            .unwrap()
            .mailbox
            .id
    }

    fn now(&self) -> DateTime<Utc> {
        self.w.hd.now()
    }

    /// A ticket insert copied from a ticket opened through the library (fresh ids).
    async fn insert(&self, channel: Channel, mailbox_id: Option<Uuid>) -> TicketInsert {
        let t = self.w.ticket(&self.cust, "Template").await;
        let conv = self
            .w
            .store
            .get_conversation(t.conversation_id)
            .await
            .unwrap()
            .unwrap();
        let id = Uuid::now_v7();
        let conversation_id = Uuid::now_v7();
        TicketInsert {
            ticket: Ticket {
                id,
                number: 0,
                subject: "By mail".into(),
                conversation_id,
                channel,
                mailbox_id,
                version: 1,
                ..t
            },
            conversation: Conversation {
                id: conversation_id,
                ticket_id: Some(id),
                last_message_at: None,
                last_seq: 0,
                last_public_seq: 0,
                public_count: 0,
                ..conv
            },
            attachment_ids: vec![],
        }
    }

    fn append(&self, t: &Ticket) -> MessageAppend {
        MessageAppend {
            id: Uuid::now_v7(),
            conversation_id: t.conversation_id,
            sender_id: self.cust.id(),
            content: "More by mail".into(),
            parent_id: None,
            attachment_ids: vec![],
            internal: false,
            created_at: self.now(),
            join_sender: false,
            ticket_update: None,
            channel: Channel::Email,
            base: None,
        }
    }
}

fn inbound(mailbox_id: Uuid, message_id: Option<&str>, at: DateTime<Utc>) -> InboundRecord {
    let key = dedupe_key(message_id, &format!("{:064x}", at.timestamp_micros()));
    InboundRecord {
        id: Uuid::now_v7(),
        mailbox_id,
        internet_message_id: message_id.map(str::to_string),
        dedupe_key: key,
        from: Some("someone@example.org".into()),
        to: vec!["support@example.com".into()],
        cc: vec![],
        subject: "Help".into(),
        size: 3,
        via: InboundVia::Smtp,
        auto: false,
        result: InboundResult::Ignored,
        reason: Some(IgnoreReason::NoSender),
        ticket_id: None,
        message_id: None,
        left_out: vec![],
        references: vec!["a@example.org".into()],
        received_at: at,
    }
}

fn raw_of(r: &InboundRecord) -> Arc<[u8]> {
    // Not UTF-8 on purpose: raw mail is bytes.
    let mut b = format!("Subject: {}\r\n\r\n", r.id).into_bytes();
    b.extend_from_slice(&[0xff, 0xfe, 0x00, 0x80, b'\n']);
    b.into()
}

fn with_inbound(r: &InboundRecord) -> Effects {
    Effects {
        mail: MailEffects {
            inbound: Some(InboundWrite {
                record: r.clone(),
                raw: raw_of(r),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn outbound(
    mailbox_id: Uuid,
    kind: OutboundKind,
    ticket_id: Option<Uuid>,
    to: &str,
    at: DateTime<Utc>,
) -> OutboundMail {
    let id = Uuid::now_v7();
    OutboundMail {
        id,
        mailbox_id,
        kind,
        ticket_id,
        message_id: None,
        notification_id: None,
        to: vec![to.into()],
        cc: vec!["copy@example.org".into()],
        subject: "Re: [#1] Help".into(),
        internet_message_id: format!("{id}@example.com"),
        references: vec![],
        status: OutboundStatus::Pending,
        attempts: 0,
        last_smtp_code: None,
        last_error: None,
        rejected: vec![],
        next_attempt_at: Some(at),
        sent_at: None,
        created_at: at,
    }
}

fn out_raw(m: &OutboundMail) -> Arc<[u8]> {
    let mut b = format!("Message-ID: <{}>\r\n\r\n", m.internet_message_id).into_bytes();
    b.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
    b.into()
}

fn with_outbound(ms: &[OutboundMail]) -> Effects {
    Effects {
        mail: MailEffects {
            outbound: ms
                .iter()
                .map(|m| OutboundWrite {
                    mail: m.clone(),
                    raw: out_raw(m),
                })
                .collect(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn suppression(address: &str, detail: &str, at: DateTime<Utc>) -> Suppression {
    Suppression {
        address: address.into(),
        reason: SuppressionReason::Bounce,
        detail: detail.into(),
        outbound_id: None,
        created_at: at,
    }
}

fn with_suppressions(xs: &[Suppression]) -> Effects {
    Effects {
        mail: MailEffects {
            suppressions: xs.to_vec(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn email_event(at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        EventKind::TicketUpdated,
        at,
        Audience::nobody(),
        serde_json::json!({"mail": true}),
    )
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Uuid) -> Vec<Uuid> {
    items.iter().map(id).collect()
}

/// An inbound record written through `append_effects`, `create_ticket` and
/// `append_message` reads back with its bytes, by id and by its mailbox's dedupe key.
pub async fn inbound_records_are_written_with_their_change(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let t0 = m.now();

    // Through append_effects (an ignored mail).
    let a = inbound(m.mailbox, Some("A@Example.org"), t0);
    store.append_effects(&with_inbound(&a)).await.unwrap();
    assert_eq!(store.get_inbound(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store
            .find_inbound(m.mailbox, "a@example.org")
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.inbound_raw(a.id).await.unwrap().as_deref(),
        Some(&raw_of(&a)[..])
    );
    assert_eq!(store.get_inbound(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.inbound_raw(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        store
            .find_inbound(m.mailbox, "b@example.org")
            .await
            .unwrap(),
        None
    );

    // Through create_ticket: the record names the ticket the store made.
    let ins = m.insert(Channel::Email, Some(m.mailbox)).await;
    let mut b = inbound(m.mailbox, None, t0 + Duration::seconds(1));
    b.result = InboundResult::TicketCreated;
    b.reason = None;
    let b2 = b.clone();
    let ticket = store
        .create_ticket(&ins, &move |t: &Ticket| {
            let mut r = b2.clone();
            r.ticket_id = Some(t.id);
            with_inbound(&r)
        })
        .await
        .unwrap();
    b.ticket_id = Some(ticket.id);
    assert_eq!(store.get_inbound(b.id).await.unwrap(), Some(b.clone()));
    assert!(b.dedupe_key.starts_with("sha256:"));
    assert_eq!(
        store.find_inbound(m.mailbox, &b.dedupe_key).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(
        store.inbound_raw(b.id).await.unwrap().as_deref(),
        Some(&raw_of(&b)[..])
    );

    // Through append_message: the record names the message.
    let mut c = inbound(m.mailbox, Some("c@example.org"), t0 + Duration::seconds(2));
    c.result = InboundResult::MessageAdded;
    c.reason = None;
    c.ticket_id = Some(ticket.id);
    let c2 = c.clone();
    let msg = store
        .append_message(&m.append(&ticket), &move |msg| {
            let mut r = c2.clone();
            r.message_id = Some(msg.id);
            with_inbound(&r)
        })
        .await
        .unwrap();
    c.message_id = Some(msg.id);
    assert_eq!(store.get_inbound(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        store.inbound_raw(c.id).await.unwrap().as_deref(),
        Some(&raw_of(&c)[..])
    );
    // The message was written too, with its channel.
    let stored = store
        .get_message(ticket.conversation_id, msg.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.channel, Channel::Email);

    // Large raw bytes come back byte for byte.
    let big = inbound(
        m.mailbox,
        Some("big@example.org"),
        t0 + Duration::seconds(3),
    );
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let fx = Effects {
        mail: MailEffects {
            inbound: Some(InboundWrite {
                record: big.clone(),
                raw: bytes.clone().into(),
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    store.append_effects(&fx).await.unwrap();
    assert_eq!(store.inbound_raw(big.id).await.unwrap(), Some(bytes));
}

/// A mailbox's inbound records list newest first by `(received_at, id)`, filtered by
/// result, in cursor pages of `limit + 1`; another mailbox's are not in them.
pub async fn inbound_records_list_newest_first_in_pages(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let t0 = m.now();
    let mut all = Vec::new();
    for i in 0..7i64 {
        // Pairs share a time: the id breaks the tie.
        let mut r = inbound(
            m.mailbox,
            Some(&format!("m{i}@x")),
            t0 + Duration::seconds(i / 2),
        );
        if i % 3 == 0 {
            r.result = InboundResult::Bounce;
            r.reason = None;
        }
        store.append_effects(&with_inbound(&r)).await.unwrap();
        all.push(r);
    }
    let elsewhere = inbound(other, Some("m0@x"), t0);
    store
        .append_effects(&with_inbound(&elsewhere))
        .await
        .unwrap();
    all.sort_by_key(|r| std::cmp::Reverse((r.received_at, r.id)));
    let want = ids(&all, |r| r.id);

    let page = store.list_inbound(m.mailbox, None, None, 3).await.unwrap();
    assert_eq!(ids(&page, |r| r.id), want[..4]);
    let last = &page[2];
    let cursor = Cursor::new(last.received_at.timestamp_micros(), last.id);
    let page2 = store
        .list_inbound(m.mailbox, None, Some(cursor), 3)
        .await
        .unwrap();
    assert_eq!(ids(&page2, |r| r.id), want[3..7]);
    let last = &page2[2];
    let cursor = Cursor::new(last.received_at.timestamp_micros(), last.id);
    let page3 = store
        .list_inbound(m.mailbox, None, Some(cursor), 3)
        .await
        .unwrap();
    assert_eq!(ids(&page3, |r| r.id), want[6..]);

    let bounces = store
        .list_inbound(m.mailbox, Some(InboundResult::Bounce), None, 10)
        .await
        .unwrap();
    let want_b: Vec<Uuid> = all
        .iter()
        .filter(|r| r.result == InboundResult::Bounce)
        .map(|r| r.id)
        .collect();
    assert_eq!(want_b.len(), 3);
    assert_eq!(ids(&bounces, |r| r.id), want_b);
    assert!(
        store
            .list_inbound(m.mailbox, Some(InboundResult::TicketCreated), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = store.list_inbound(other, None, None, 10).await.unwrap();
    assert_eq!(ids(&theirs, |r| r.id), vec![elsewhere.id]);
}

/// A mail its mailbox has already fails the whole operation with `Duplicate`: no
/// ticket, message, event, outbound mail or suppression is written. The same mail to
/// another mailbox is new there.
pub async fn duplicate_mail_writes_nothing(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let t0 = m.now();
    let first = inbound(m.mailbox, Some("dup@example.org"), t0);
    store.append_effects(&with_inbound(&first)).await.unwrap();
    let events_before = m.w.events().await.len();

    // The same dedupe key (the Message-ID, whatever its case) with other writes.
    let mut again = inbound(
        m.mailbox,
        Some("DUP@example.org"),
        t0 + Duration::seconds(1),
    );
    assert_eq!(again.dedupe_key, first.dedupe_key);
    let out = outbound(m.mailbox, OutboundKind::AutoReply, None, "a@x.org", t0);
    let mut fx = with_inbound(&again);
    fx.mail.outbound = with_outbound(std::slice::from_ref(&out)).mail.outbound;
    fx.mail.suppressions = vec![suppression("s@x.org", "5.1.1", t0)];
    fx.events.push(email_event(t0));
    expect_err!(
        store.append_effects(&fx).await,
        StoreError::Conflict(Conflict::Duplicate)
    );
    assert_eq!(store.get_inbound(again.id).await.unwrap(), None);
    assert_eq!(store.inbound_raw(again.id).await.unwrap(), None);
    assert_eq!(store.get_outbound(out.id).await.unwrap(), None);
    assert_eq!(store.get_suppression("s@x.org").await.unwrap(), None);
    assert_eq!(m.w.events().await.len(), events_before);
    assert_eq!(
        store
            .find_inbound(m.mailbox, &first.dedupe_key)
            .await
            .unwrap(),
        Some(first.clone())
    );

    // Through create_ticket: no ticket.
    let ins = m.insert(Channel::Email, Some(m.mailbox)).await;
    let tickets_before = store
        .list_tickets(&TicketQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let events_before = m.w.events().await.len();
    again.id = Uuid::now_v7();
    let again2 = again.clone();
    let out2 = out.clone();
    expect_err!(
        store
            .create_ticket(&ins, &move |_t: &Ticket| {
                let mut fx = with_inbound(&again2);
                fx.mail.outbound = with_outbound(std::slice::from_ref(&out2)).mail.outbound;
                fx.events.push(email_event(t0));
                fx
            })
            .await,
        StoreError::Conflict(Conflict::Duplicate)
    );
    assert_eq!(store.get_ticket(ins.ticket.id).await.unwrap(), None);
    assert_eq!(
        store.get_conversation(ins.conversation.id).await.unwrap(),
        None
    );
    let tickets_after = store
        .list_tickets(&TicketQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(tickets_after, tickets_before);
    assert_eq!(m.w.events().await.len(), events_before);
    assert_eq!(store.get_outbound(out.id).await.unwrap(), None);
    assert_eq!(store.get_inbound(again.id).await.unwrap(), None);

    // Through append_message: no message, the conversation unchanged.
    let t = m.w.ticket(&m.cust, "On the web").await;
    let conv_before = store
        .get_conversation(t.conversation_id)
        .await
        .unwrap()
        .unwrap();
    let events_before = m.w.events().await.len();
    let app = m.append(&t);
    again.id = Uuid::now_v7();
    let again3 = again.clone();
    expect_err!(
        store
            .append_message(&app, &move |_msg| {
                let mut fx = with_inbound(&again3);
                fx.events.push(email_event(t0));
                fx
            })
            .await,
        StoreError::Conflict(Conflict::Duplicate)
    );
    assert_eq!(
        store.get_message(t.conversation_id, app.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_conversation(t.conversation_id).await.unwrap(),
        Some(conv_before)
    );
    assert_eq!(m.w.events().await.len(), events_before);
    assert_eq!(store.get_inbound(again.id).await.unwrap(), None);

    // The same mail in another mailbox is accepted.
    let there = inbound(other, Some("dup@example.org"), t0);
    store.append_effects(&with_inbound(&there)).await.unwrap();
    assert_eq!(
        store.find_inbound(other, "dup@example.org").await.unwrap(),
        Some(there)
    );
    assert_eq!(
        store
            .find_inbound(m.mailbox, "dup@example.org")
            .await
            .unwrap(),
        Some(first)
    );
}

/// The Message-ID index finds inbound and outbound mail case-insensitively, inbound
/// first; a ticket's newest mail each way is what a reply follows.
pub async fn message_ids_and_ticket_mail(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let t0 = m.now();
    let ticket = m.w.ticket(&m.cust, "Threaded").await;

    // The same Message-ID received by two mailboxes and (oddly) sent once.
    let mut a = inbound(
        m.mailbox,
        Some("Thread@Example.org"),
        t0 + Duration::seconds(2),
    );
    a.ticket_id = Some(ticket.id);
    let b = inbound(other, Some("thread@example.ORG"), t0 + Duration::seconds(1));
    store.append_effects(&with_inbound(&a)).await.unwrap();
    store.append_effects(&with_inbound(&b)).await.unwrap();
    let mut sent = outbound(
        m.mailbox,
        OutboundKind::Reply,
        Some(ticket.id),
        "c@x.org",
        t0,
    );
    sent.internet_message_id = "THREAD@example.org".into();
    store
        .append_effects(&with_outbound(std::slice::from_ref(&sent)))
        .await
        .unwrap();
    let found = store
        .mail_by_message_id("thread@EXAMPLE.org")
        .await
        .unwrap();
    assert_eq!(
        found,
        vec![
            MailRef {
                mailbox_id: other,
                ticket_id: None,
                outbound_id: None,
            },
            MailRef {
                mailbox_id: m.mailbox,
                ticket_id: Some(ticket.id),
                outbound_id: None,
            },
            MailRef {
                mailbox_id: m.mailbox,
                ticket_id: Some(ticket.id),
                outbound_id: Some(sent.id),
            },
        ]
    );
    assert!(
        store
            .mail_by_message_id("nobody@example.org")
            .await
            .unwrap()
            .is_empty()
    );

    // ticket_mail: the newest inbound with a Message-ID, the newest outbound not
    // suppressed.
    let mut newer = inbound(m.mailbox, Some("newer@x"), t0 + Duration::seconds(5));
    newer.ticket_id = Some(ticket.id);
    let mut no_id = inbound(m.mailbox, None, t0 + Duration::seconds(9));
    no_id.ticket_id = Some(ticket.id);
    store.append_effects(&with_inbound(&newer)).await.unwrap();
    store.append_effects(&with_inbound(&no_id)).await.unwrap();
    let later = outbound(
        m.mailbox,
        OutboundKind::Reply,
        Some(ticket.id),
        "c@x.org",
        t0 + Duration::seconds(3),
    );
    let mut suppressed = outbound(
        m.mailbox,
        OutboundKind::Reply,
        Some(ticket.id),
        "c@x.org",
        t0 + Duration::seconds(8),
    );
    suppressed.status = OutboundStatus::Suppressed;
    suppressed.next_attempt_at = None;
    store
        .append_effects(&with_outbound(&[later.clone(), suppressed]))
        .await
        .unwrap();
    let tm = store.ticket_mail(ticket.id).await.unwrap();
    assert_eq!(tm.inbound, Some(newer));
    assert_eq!(tm.outbound, Some(later.clone()));
    // Another ticket has none.
    assert_eq!(
        store.ticket_mail(Uuid::now_v7()).await.unwrap(),
        TicketMail::default()
    );
    // The mail found by its Message-ID knows its outbound id.
    let found = store
        .mail_by_message_id(&later.internet_message_id.to_uppercase())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].outbound_id, Some(later.id));
}

/// The outbox: claims take queued mail that is due, oldest due first, and lease it;
/// updates replace the state and write their effects; reads and lists.
pub async fn outbox_claims_updates_and_lists(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let t0 = m.now();
    let ticket = m.w.ticket(&m.cust, "Replies").await;
    let at = |s: i64| t0 + Duration::seconds(s);
    let mut mails = Vec::new();
    for (i, status) in [
        OutboundStatus::Pending,
        OutboundStatus::Failed,
        OutboundStatus::Sent,
        OutboundStatus::Dead,
        OutboundStatus::Pending,
        OutboundStatus::Suppressed,
    ]
    .into_iter()
    .enumerate()
    {
        let ticket_id = (i % 2 == 0).then_some(ticket.id);
        let mut x = outbound(
            m.mailbox,
            OutboundKind::Reply,
            ticket_id,
            "c@x.org",
            at(i as i64),
        );
        x.status = status;
        x.next_attempt_at = Some(at(10 - i as i64));
        mails.push(x);
    }
    // Due later than now.
    mails[4].next_attempt_at = Some(at(100));
    let theirs = outbound(other, OutboundKind::Notification, None, "n@x.org", at(0));
    let mut fx = with_outbound(&mails);
    fx.mail
        .outbound
        .extend(with_outbound(std::slice::from_ref(&theirs)).mail.outbound);
    store.append_effects(&fx).await.unwrap();
    for x in mails.iter().chain([&theirs]) {
        assert_eq!(store.get_outbound(x.id).await.unwrap().as_ref(), Some(x));
        assert_eq!(
            store.outbound_raw(x.id).await.unwrap().as_deref(),
            Some(&out_raw(x)[..])
        );
    }
    assert_eq!(store.get_outbound(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(store.outbound_raw(Uuid::now_v7()).await.unwrap(), None);

    // Claims: pending/failed, due by now, oldest due first; the lease hides them.
    let lease = at(60);
    let claimed = store.claim_outbound(at(20), lease, 10).await.unwrap();
    assert_eq!(
        ids(&claimed, |x| x.id),
        vec![theirs.id, mails[1].id, mails[0].id]
    );
    for c in &claimed {
        assert_eq!(c.next_attempt_at, Some(lease));
        assert_eq!(
            store
                .get_outbound(c.id)
                .await
                .unwrap()
                .unwrap()
                .next_attempt_at,
            Some(lease)
        );
    }
    assert!(
        store
            .claim_outbound(at(59), at(70), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let limited = store.claim_outbound(at(60), at(70), 1).await.unwrap();
    assert_eq!(limited.len(), 1);
    assert!(
        store
            .claim_outbound(at(60), at(70), 0)
            .await
            .unwrap()
            .is_empty()
    );

    // update_outbound: replaces the state, writes events and suppressions with it.
    let mut sent = mails[0].clone();
    sent.status = OutboundStatus::Sent;
    sent.attempts = 1;
    sent.last_smtp_code = Some(250);
    sent.sent_at = Some(at(61));
    sent.next_attempt_at = None;
    sent.rejected = vec![Rejected {
        address: "copy@example.org".into(),
        code: 550,
        text: "no such user".into(),
    }];
    let events_before = m.w.events().await.len();
    let mut fx = with_suppressions(&[Suppression {
        reason: SuppressionReason::Rejected,
        outbound_id: Some(sent.id),
        ..suppression("copy@example.org", "550 no such user", at(61))
    }]);
    fx.events.push(email_event(at(61)));
    store.update_outbound(&sent, &fx).await.unwrap();
    assert_eq!(
        store.get_outbound(sent.id).await.unwrap(),
        Some(sent.clone())
    );
    assert_eq!(m.w.events().await.len(), events_before + 1);
    assert_eq!(
        store
            .get_suppression("copy@example.org")
            .await
            .unwrap()
            .map(|s| s.reason),
        Some(SuppressionReason::Rejected)
    );
    // A sent mail is never claimed again.
    let later = store.claim_outbound(at(1000), at(1100), 10).await.unwrap();
    assert!(!later.iter().any(|x| x.id == sent.id));
    // Absent: NotFound, and its effects are not written.
    let ghost = outbound(m.mailbox, OutboundKind::Reply, None, "g@x.org", at(0));
    let events_before = m.w.events().await.len();
    expect_err!(
        store
            .update_outbound(&ghost, &Effects::event(email_event(at(62))))
            .await,
        StoreError::NotFound
    );
    assert_eq!(m.w.events().await.len(), events_before);

    // Lists: newest first by (created_at, id), filters, pages.
    let mut mine: Vec<OutboundMail> = Vec::new();
    for x in &mails {
        mine.push(store.get_outbound(x.id).await.unwrap().unwrap());
    }
    mine.sort_by_key(|x| std::cmp::Reverse((x.created_at, x.id)));
    let want = ids(&mine, |x| x.id);
    let all = OutboundQuery::default();
    let page = store.list_outbound(m.mailbox, &all, None, 4).await.unwrap();
    assert_eq!(ids(&page, |x| x.id), want[..5]);
    let last = &page[3];
    let cursor = Cursor::new(last.created_at.timestamp_micros(), last.id);
    let page2 = store
        .list_outbound(m.mailbox, &all, Some(cursor), 4)
        .await
        .unwrap();
    assert_eq!(ids(&page2, |x| x.id), want[4..]);
    let q = OutboundQuery {
        statuses: vec![OutboundStatus::Sent, OutboundStatus::Dead],
        ticket_id: None,
    };
    let got = store.list_outbound(m.mailbox, &q, None, 10).await.unwrap();
    let want_q: Vec<Uuid> = mine.iter().filter(|x| q.matches(x)).map(|x| x.id).collect();
    assert_eq!(want_q.len(), 3);
    assert_eq!(ids(&got, |x| x.id), want_q);
    let q = OutboundQuery {
        statuses: vec![],
        ticket_id: Some(ticket.id),
    };
    let got = store.list_outbound(m.mailbox, &q, None, 10).await.unwrap();
    assert_eq!(
        ids(&got, |x| x.id),
        vec![mails[4].id, mails[2].id, mails[0].id]
    );
    let got = store
        .list_outbound(other, &OutboundQuery::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&got, |x| x.id), vec![theirs.id]);
}

/// Concurrent claimers never get the same outbound mail, and together get them all.
pub async fn concurrent_outbox_claimers_never_share(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let t0 = m.now();
    let mails: Vec<OutboundMail> = (0..40)
        .map(|i| {
            outbound(
                m.mailbox,
                OutboundKind::Notification,
                None,
                "n@x.org",
                t0 + Duration::milliseconds(i),
            )
        })
        .collect();
    store.append_effects(&with_outbound(&mails)).await.unwrap();
    let now = t0 + Duration::seconds(1);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_outbound(now, now + Duration::hours(1), 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|x| x.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "an outbound mail was claimed twice"
    );
    assert_eq!(unique.len(), mails.len());
}

/// Auto-replies to an address since a time are counted over all mailboxes; other kinds
/// and other addresses are not.
pub async fn auto_replies_are_counted_per_address(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let t0 = m.now();
    let at = |s: i64| t0 + Duration::seconds(s);
    let xs = vec![
        outbound(m.mailbox, OutboundKind::AutoReply, None, "a@x.org", at(0)),
        outbound(m.mailbox, OutboundKind::AutoReply, None, "a@x.org", at(10)),
        outbound(other, OutboundKind::AutoReply, None, "a@x.org", at(20)),
        outbound(m.mailbox, OutboundKind::Reply, None, "a@x.org", at(30)),
        outbound(
            m.mailbox,
            OutboundKind::Notification,
            None,
            "a@x.org",
            at(30),
        ),
        outbound(m.mailbox, OutboundKind::AutoReply, None, "b@x.org", at(30)),
    ];
    store.append_effects(&with_outbound(&xs)).await.unwrap();
    assert_eq!(store.count_auto_replies("a@x.org", at(0)).await.unwrap(), 3);
    assert_eq!(
        store.count_auto_replies("a@x.org", at(10)).await.unwrap(),
        2
    );
    assert_eq!(
        store.count_auto_replies("a@x.org", at(11)).await.unwrap(),
        1
    );
    assert_eq!(
        store.count_auto_replies("a@x.org", at(21)).await.unwrap(),
        0
    );
    assert_eq!(store.count_auto_replies("b@x.org", at(0)).await.unwrap(), 1);
    assert_eq!(store.count_auto_replies("c@x.org", at(0)).await.unwrap(), 0);
    // The copied address is not the one answered.
    assert_eq!(
        store
            .count_auto_replies("copy@example.org", at(0))
            .await
            .unwrap(),
        0
    );
}

/// Suppressions written by effects (the first per address stays), read, listed by
/// address in pages, deleted; a bounce turns outbound mail `bounced`.
pub async fn suppressions_and_bounces(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let t0 = m.now();
    let first = suppression("b@x.org", "5.1.1 first", t0);
    store
        .append_effects(&with_suppressions(&[
            first.clone(),
            suppression("c@x.org", "5.1.1", t0),
            suppression("a@x.org", "5.2.2", t0),
        ]))
        .await
        .unwrap();
    store
        .append_effects(&with_suppressions(&[
            suppression("b@x.org", "5.1.1 second", t0 + Duration::seconds(1)),
            suppression("d@x.org", "5.0.0", t0 + Duration::seconds(1)),
        ]))
        .await
        .unwrap();
    assert_eq!(store.get_suppression("b@x.org").await.unwrap(), Some(first));
    assert_eq!(store.get_suppression("e@x.org").await.unwrap(), None);
    let addrs = |xs: Vec<Suppression>| xs.into_iter().map(|x| x.address).collect::<Vec<_>>();
    assert_eq!(
        addrs(store.list_suppressions(None, 2).await.unwrap()),
        vec!["a@x.org", "b@x.org", "c@x.org"]
    );
    assert_eq!(
        addrs(store.list_suppressions(Some("b@x.org"), 2).await.unwrap()),
        vec!["c@x.org", "d@x.org"]
    );
    assert_eq!(
        addrs(store.list_suppressions(Some("d@x.org"), 2).await.unwrap()),
        Vec::<String>::new()
    );
    assert!(store.delete_suppression("b@x.org").await.unwrap());
    assert!(!store.delete_suppression("b@x.org").await.unwrap());
    assert_eq!(store.get_suppression("b@x.org").await.unwrap(), None);
    assert_eq!(
        addrs(store.list_suppressions(None, 10).await.unwrap()),
        vec!["a@x.org", "c@x.org", "d@x.org"]
    );
    // Deleted, it may be written again.
    let again = suppression("b@x.org", "5.1.1 third", t0 + Duration::seconds(2));
    store
        .append_effects(&with_suppressions(std::slice::from_ref(&again)))
        .await
        .unwrap();
    assert_eq!(store.get_suppression("b@x.org").await.unwrap(), Some(again));

    // Bounced: the mail turns bounced and is no longer due; a missing id is skipped.
    let mut sent = outbound(m.mailbox, OutboundKind::Reply, None, "b@x.org", t0);
    sent.status = OutboundStatus::Failed;
    let keep = outbound(m.mailbox, OutboundKind::Reply, None, "c@x.org", t0);
    store
        .append_effects(&with_outbound(&[sent.clone(), keep.clone()]))
        .await
        .unwrap();
    let report = inbound(m.mailbox, Some("dsn@x.org"), t0);
    let mut fx = with_inbound(&InboundRecord {
        result: InboundResult::Bounce,
        reason: None,
        ..report
    });
    fx.mail.bounced = vec![sent.id, Uuid::now_v7()];
    store.append_effects(&fx).await.unwrap();
    let got = store.get_outbound(sent.id).await.unwrap().unwrap();
    assert_eq!(got.status, OutboundStatus::Bounced);
    assert_eq!(got.next_attempt_at, None);
    assert_eq!(
        store.get_outbound(keep.id).await.unwrap(),
        Some(keep.clone())
    );
    let claimed = store
        .claim_outbound(t0 + Duration::hours(1), t0 + Duration::hours(2), 10)
        .await
        .unwrap();
    assert_eq!(ids(&claimed, |x| x.id), vec![keep.id]);
}

/// Tickets keep their channel, mailbox and follow-up; messages their channel; lists
/// filter by channel and mailbox; a mailbox a ticket names cannot be deleted.
pub async fn tickets_carry_their_mail_fields(store: Arc<dyn Store>) {
    let m = setup(store.clone()).await;
    let other = m.other_mailbox("other@example.com").await;
    let web = m.w.ticket(&m.cust, "On the web").await;
    assert_eq!(web.channel, Channel::Web);
    assert_eq!(web.mailbox_id, None);

    let mut ins = m.insert(Channel::Email, Some(m.mailbox)).await;
    ins.ticket.follow_up_of = Some(web.id);
    let mail = store
        .create_ticket(&ins, &|_| Effects::none())
        .await
        .unwrap();
    let got = store.get_ticket(mail.id).await.unwrap().unwrap();
    assert_eq!(got, mail);
    assert_eq!(
        (got.channel, got.mailbox_id, got.follow_up_of),
        (Channel::Email, Some(m.mailbox), Some(web.id))
    );

    // A message keeps its channel.
    let msg = store
        .append_message(&m.append(&mail), &|_| Effects::none())
        .await
        .unwrap();
    assert_eq!(msg.channel, Channel::Email);
    assert_eq!(
        store
            .get_message(mail.conversation_id, msg.id)
            .await
            .unwrap()
            .unwrap()
            .channel,
        Channel::Email
    );

    // Filters.
    let list = |q: TicketQuery| {
        let store = store.clone();
        async move {
            store
                .list_tickets(&TicketQuery { limit: 100, ..q })
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect::<HashSet<Uuid>>()
        }
    };
    let email = list(TicketQuery {
        channel: Some(Channel::Email),
        ..Default::default()
    })
    .await;
    assert_eq!(email, HashSet::from([mail.id]));
    let webs = list(TicketQuery {
        channel: Some(Channel::Web),
        ..Default::default()
    })
    .await;
    assert!(webs.contains(&web.id) && !webs.contains(&mail.id));
    let by_box = list(TicketQuery {
        mailbox_id: Some(m.mailbox),
        ..Default::default()
    })
    .await;
    assert_eq!(by_box, HashSet::from([mail.id]));
    assert!(
        list(TicketQuery {
            mailbox_id: Some(other),
            ..Default::default()
        })
        .await
        .is_empty()
    );

    // In use: the mailbox stays.
    expect_err!(
        store.delete_mailbox(m.mailbox).await,
        StoreError::Conflict(Conflict::InUse)
    );
    assert!(store.get_mailbox(m.mailbox).await.unwrap().is_some());

    // The ticket moves to the other mailbox: the first is free, the other in use.
    let mut moved = got.clone();
    moved.mailbox_id = Some(other);
    moved.version += 1;
    store
        .update_ticket(&moved, None, &Effects::none())
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(mail.id).await.unwrap(),
        Some(moved.clone())
    );
    assert_eq!(
        list(TicketQuery {
            mailbox_id: Some(other),
            ..Default::default()
        })
        .await,
        HashSet::from([mail.id])
    );
    assert!(
        list(TicketQuery {
            mailbox_id: Some(m.mailbox),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    expect_err!(
        store.delete_mailbox(other).await,
        StoreError::Conflict(Conflict::InUse)
    );
    assert!(store.delete_mailbox(m.mailbox).await.unwrap());
    assert!(!store.delete_mailbox(m.mailbox).await.unwrap());

    // Without a mailbox (and after a ticket is deleted), the other is free too.
    let mut off = moved.clone();
    off.mailbox_id = None;
    off.version += 1;
    store
        .update_ticket(&off, None, &Effects::none())
        .await
        .unwrap();
    assert!(store.delete_mailbox(other).await.unwrap());

    let third = m.other_mailbox("third@example.com").await;
    let ins = m.insert(Channel::Email, Some(third)).await;
    let t3 = store
        .create_ticket(&ins, &|_| Effects::none())
        .await
        .unwrap();
    expect_err!(
        store.delete_mailbox(third).await,
        StoreError::Conflict(Conflict::InUse)
    );
    store.delete_ticket(t3.id, &Effects::none()).await.unwrap();
    assert!(store.delete_mailbox(third).await.unwrap());
}

/// Inbound records (with their bytes), outbound mail (with its bytes) and suppressions
/// survive an archive round trip, and the store's rules hold over them.
pub async fn mail_survives_an_archive_round_trip(store: Arc<dyn Store>) {
    let source = setup(crate::testkit::memory()).await;
    let src = source.w.store.clone();
    let t0 = source.now();
    let ticket = source.w.ticket(&source.cust, "Archived").await;
    let mut a = inbound(source.mailbox, Some("arch@x.org"), t0);
    a.ticket_id = Some(ticket.id);
    let b = inbound(source.mailbox, None, t0 + Duration::seconds(1));
    src.append_effects(&with_inbound(&a)).await.unwrap();
    let big: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 256) as u8).collect();
    src.append_effects(&Effects {
        mail: MailEffects {
            inbound: Some(InboundWrite {
                record: b.clone(),
                raw: big.clone().into(),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let mut sent = outbound(
        source.mailbox,
        OutboundKind::Reply,
        Some(ticket.id),
        "c@x.org",
        t0,
    );
    sent.status = OutboundStatus::Sent;
    sent.next_attempt_at = None;
    sent.sent_at = Some(t0);
    let due = outbound(
        source.mailbox,
        OutboundKind::AutoReply,
        None,
        "a@x.org",
        t0 + Duration::seconds(1),
    );
    src.append_effects(&with_outbound(&[sent.clone(), due.clone()]))
        .await
        .unwrap();
    let a_id = a.id;
    let sup = suppression("gone@x.org", "5.1.1", t0);
    src.append_effects(&with_suppressions(std::slice::from_ref(&sup)))
        .await
        .unwrap();

    let mut archive = Vec::new();
    source
        .w
        .hd
        .export_archive(&Principal::system(), &mut archive, &|_| {})
        .await
        .unwrap();
    let target = World::new(store.clone());
    target
        .hd
        .import_archive(&Principal::system(), &archive[..], &|_| {})
        .await
        .unwrap();
    assert_eq!(store.get_inbound(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.inbound_raw(a.id).await.unwrap().as_deref(),
        Some(&raw_of(&a)[..])
    );
    assert_eq!(store.inbound_raw(b.id).await.unwrap(), Some(big));
    assert_eq!(
        store.get_outbound(sent.id).await.unwrap(),
        Some(sent.clone())
    );
    assert_eq!(
        store.outbound_raw(due.id).await.unwrap().as_deref(),
        Some(&out_raw(&due)[..])
    );
    assert_eq!(
        store.get_suppression(&sup.address).await.unwrap(),
        Some(sup)
    );
    let mut again = Vec::new();
    target
        .hd
        .export_archive(&Principal::system(), &mut again, &|_| {})
        .await
        .unwrap();
    assert_eq!(archive, again);

    // The indexes hold over imported records.
    assert_eq!(
        store
            .find_inbound(source.mailbox, "arch@x.org")
            .await
            .unwrap(),
        Some(a.clone())
    );
    expect_err!(
        store
            .append_effects(&with_inbound(&InboundRecord {
                id: Uuid::now_v7(),
                ..a.clone()
            }))
            .await,
        StoreError::Conflict(Conflict::Duplicate)
    );
    assert_eq!(
        store.mail_by_message_id("ARCH@x.org").await.unwrap().len(),
        1
    );
    assert_eq!(
        store.ticket_mail(ticket.id).await.unwrap(),
        TicketMail {
            inbound: Some(a),
            outbound: Some(sent),
        }
    );
    let claimed = store
        .claim_outbound(t0 + Duration::hours(1), t0 + Duration::hours(2), 10)
        .await
        .unwrap();
    assert_eq!(ids(&claimed, |x| x.id), vec![due.id]);
    assert_eq!(store.count_auto_replies("a@x.org", t0).await.unwrap(), 1);
    let listed = store
        .list_inbound(source.mailbox, None, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&listed, |r| r.id), vec![b.id, a_id]);
}
