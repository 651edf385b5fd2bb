//! Merging and unmerging tickets (API-workflow.md "Merge"): a merge closes the source
//! and lists it on the target, by reference, so unmerge can undo it; a ticket's messages
//! can be read with those merged into it, along chains, in one order.

use std::sync::Arc;

use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::event::EventKind;
use crate::group::{Access, NewGroup};
use crate::message::MessagePageQuery;
use crate::notification::{NotificationFilter, NotificationKind};
use crate::page::PageRequest;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{Ticket, TicketPatch, TimelineKind};

async fn notified(w: &World, who: &Who) -> Vec<NotificationKind> {
    w.hd.list_notifications(&who.p, NotificationFilter::default())
        .await
        .unwrap()
        .page
        .items
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

async fn timeline(w: &World, who: &Who, t: &Ticket) -> Vec<(TimelineKind, serde_json::Value)> {
    w.hd.ticket_events(&who.p, t.id, PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.kind, e.data))
        .collect()
}

async fn fresh(w: &World, who: &Who, t: &Ticket) -> Ticket {
    w.hd.get_ticket(&who.p, t.id).await.unwrap()
}

async fn set_status(w: &World, who: &Who, t: &Ticket, status: StatusCategory) -> Ticket {
    w.hd.update_ticket(
        &who.p,
        t.id,
        TicketPatch {
            status: Some(status.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The messages of a page across merged tickets, as (conversation, content).
fn contents(page: &crate::page::Page<crate::message::MessageView>) -> Vec<String> {
    page.items
        .iter()
        .map(|v| v.message.content.clone())
        .collect()
}

fn query(limit: usize) -> MessagePageQuery {
    MessagePageQuery {
        before: None,
        after: None,
        cursor: None,
        limit: Some(limit),
    }
}

/// A merge closes the source (status, `closed_at`, `merged_into_id`) and lists it on the
/// target, writes both timelines, `ticket.merged` and both `ticket.updated`, tells the
/// source's requester and assignee with `ticket_merged` (not `ticket_status_changed`),
/// and the source's conversation then refuses posts like any closed ticket's.
pub async fn merge_closes_the_source_and_lists_it_on_the_target(store: Arc<dyn Store>) {
    let w = World::new(store);
    let requester = w.customer().await;
    let agent = w.agent().await;
    let assignee = w.agent().await;
    let source = w.ticket(&requester, "Printer broken").await;
    let source =
        w.hd.update_ticket(
            &agent.p,
            source.id,
            TicketPatch {
                assignee_id: Some(Some(assignee.id())),
                status: Some(StatusCategory::Pending.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let target = w.ticket(&requester, "Printer still broken").await;
    assert_eq!(target.merged_into_id, None);
    assert!(target.merged_ids.is_empty());
    w.tick();
    let before = w.last_event().await;
    let told_before = [
        notified(&w, &requester).await,
        notified(&w, &assignee).await,
    ];
    let merged =
        w.hd.merge_ticket(&agent.p, source.id, target.id)
            .await
            .unwrap();
    assert_eq!(merged.status_category, StatusCategory::Closed);
    assert_eq!(merged.merged_into_id, Some(target.id));
    assert_eq!(merged.closed_at, Some(w.hd.now()));
    assert_eq!(merged.updated_at, w.hd.now());
    assert_eq!(fresh(&w, &agent, &source).await, merged);
    let target_now = fresh(&w, &agent, &target).await;
    assert_eq!(target_now.merged_ids, vec![source.id]);
    assert_eq!(target_now.status_category, StatusCategory::Open);
    assert_eq!(target_now.updated_at, w.hd.now());

    let events: Vec<_> = w
        .events()
        .await
        .into_iter()
        .filter(|e| Some(e.id) > before)
        .collect();
    let merged_event = events
        .iter()
        .find(|e| e.kind == EventKind::TicketMerged)
        .expect("ticket.merged");
    assert_eq!(
        merged_event.data,
        serde_json::json!({"ticket_id": source.id, "into_id": target.id})
    );
    let updates: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::TicketUpdated)
        .map(|e| (e.data["ticket"]["id"].clone(), e.data["changes"].clone()))
        .collect();
    assert!(updates.contains(&(
        serde_json::json!(source.id),
        serde_json::json!(["status", "merged_into_id"])
    )));
    assert!(updates.contains(&(
        serde_json::json!(target.id),
        serde_json::json!(["merged_ids"])
    )));
    // The requester sees the event (the payload shows the new fields too).
    assert!(
        w.hd.may_see(&requester.p, merged_event).await.unwrap(),
        "the requester hears of the merge"
    );

    let source_line = timeline(&w, &agent, &source).await;
    let n = source_line.len();
    assert_eq!(source_line[n - 2].0, TimelineKind::StatusChanged);
    assert_eq!(
        source_line[n - 2].1,
        serde_json::json!({"from": "pending", "to": "closed"})
    );
    assert_eq!(
        source_line[n - 1],
        (
            TimelineKind::Merged,
            serde_json::json!({"into_id": target.id})
        )
    );
    assert_eq!(
        timeline(&w, &agent, &target).await.last().unwrap(),
        &(
            TimelineKind::MergeReceived,
            serde_json::json!({"source_id": source.id})
        )
    );
    // The customer sees merge entries too.
    assert!(
        timeline(&w, &requester, &source)
            .await
            .iter()
            .any(|(k, _)| *k == TimelineKind::Merged)
    );

    // `ticket_merged`, and no `ticket_status_changed`, to the requester and assignee
    // (newest first); nothing to the actor.
    for (who, before) in [&requester, &assignee].into_iter().zip(told_before) {
        let kinds = notified(&w, who).await;
        assert_eq!(kinds.len(), before.len() + 1, "{kinds:?}");
        assert_eq!(kinds[0], NotificationKind::TicketMerged, "{kinds:?}");
    }
    assert!(
        !notified(&w, &agent)
            .await
            .contains(&NotificationKind::TicketMerged)
    );

    // Like any closed ticket: no posts, no status moves.
    expect_err!(
        w.hd.send_message(
            &requester.p,
            source.conversation_id,
            crate::message::NewMessage::text("hello?")
        )
        .await,
        Error::TicketClosed
    );
    expect_err!(
        w.hd.send_message(
            &agent.p,
            source.conversation_id,
            crate::message::NewMessage::text("hello?")
        )
        .await,
        Error::TicketClosed
    );
    expect_err!(
        w.hd.update_ticket(
            &agent.p,
            source.id,
            TicketPatch {
                status: Some(StatusCategory::Open.into()),
                ..Default::default()
            }
        )
        .await,
        Error::InvalidTransition { .. }
    );
}

/// Every refusal of merge and unmerge, each leaving both tickets as they were.
pub async fn merge_refusals(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let other = w.customer().await;
    let agent = w.agent().await;
    let reader = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    w.hd.put_membership(&admin.p, support.id, reader.id(), Access::Read)
        .await
        .unwrap();
    let a = w.ticket(&requester, "A").await;
    let b = w.ticket(&requester, "B").await;
    let foreign = w.ticket(&other, "Someone else's").await;
    let into_err =
        |e: &Error| matches!(e, Error::Validation(f) if f.len() == 1 && f[0].field == "into");

    // `into` the source itself, missing, or invisible: invalid `into`.
    let e = w.hd.merge_ticket(&agent.p, a.id, a.id).await.unwrap_err();
    assert!(into_err(&e), "{e:?}");
    let e =
        w.hd.merge_ticket(&agent.p, a.id, Uuid::now_v7())
            .await
            .unwrap_err();
    assert!(into_err(&e), "{e:?}");
    let elsewhere =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Elsewhere".into(),
                description: None,
                is_default: false,
            },
        )
        .await
        .unwrap();
    let hidden = w.ticket(&requester, "Hidden").await;
    w.hd.update_ticket(
        &admin.p,
        hidden.id,
        TicketPatch {
            group_id: Some(elsewhere.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e =
        w.hd.merge_ticket(&agent.p, a.id, hidden.id)
            .await
            .unwrap_err();
    assert!(into_err(&e), "an invisible target is no ticket: {e:?}");
    // A source the caller cannot see is not found.
    expect_err!(
        w.hd.merge_ticket(&agent.p, hidden.id, a.id).await,
        Error::NotFound
    );

    // Customers (even the requester) and staff without `full` access: forbidden.
    expect_err!(
        w.hd.merge_ticket(&requester.p, a.id, b.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.merge_ticket(&reader.p, a.id, b.id).await,
        Error::Forbidden(_)
    );
    w.hd.put_membership(&admin.p, elsewhere.id, reader.id(), Access::Full)
        .await
        .unwrap();
    // `full` on the source's group only: forbidden for the target.
    let in_elsewhere = w.ticket(&requester, "Elsewhere too").await;
    w.hd.update_ticket(
        &admin.p,
        in_elsewhere.id,
        TicketPatch {
            group_id: Some(elsewhere.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(
        w.hd.merge_ticket(&reader.p, in_elsewhere.id, a.id).await,
        Error::Forbidden(_)
    );

    // Different requesters: conflict.
    expect_err!(
        w.hd.merge_ticket(&agent.p, a.id, foreign.id).await,
        Error::Conflict(_)
    );

    // A closed source or target: ticket_closed.
    let closed = w.ticket(&requester, "Closed").await;
    set_status(&w, &agent, &closed, StatusCategory::Resolved).await;
    let closed = set_status(&w, &agent, &closed, StatusCategory::Closed).await;
    expect_err!(
        w.hd.merge_ticket(&agent.p, a.id, closed.id).await,
        Error::TicketClosed
    );
    expect_err!(
        w.hd.merge_ticket(&agent.p, closed.id, a.id).await,
        Error::TicketClosed
    );
    // A merged source is closed: merging it again is refused, as is merging into it.
    w.hd.merge_ticket(&agent.p, a.id, b.id).await.unwrap();
    let c = w.ticket(&requester, "C").await;
    expect_err!(
        w.hd.merge_ticket(&agent.p, a.id, c.id).await,
        Error::TicketClosed
    );
    expect_err!(
        w.hd.merge_ticket(&agent.p, c.id, a.id).await,
        Error::TicketClosed
    );
    // Nothing of the refusals was written.
    assert_eq!(fresh(&w, &agent, &b).await.merged_ids, vec![a.id]);
    assert!(fresh(&w, &agent, &c).await.merged_ids.is_empty());
    assert_eq!(
        fresh(&w, &agent, &c).await.status_category,
        StatusCategory::Open
    );
    assert_eq!(fresh(&w, &agent, &foreign).await.version, foreign.version);

    // Unmerge: staff with `full` only; a ticket that is not merged (even a closed
    // one): conflict.
    expect_err!(
        w.hd.unmerge_ticket(&requester.p, a.id).await,
        Error::Forbidden(_)
    );
    let support_reader = w.agent().await;
    w.hd.put_membership(&admin.p, support.id, support_reader.id(), Access::Read)
        .await
        .unwrap();
    expect_err!(
        w.hd.unmerge_ticket(&support_reader.p, a.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.unmerge_ticket(&agent.p, b.id).await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.unmerge_ticket(&agent.p, closed.id).await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.unmerge_ticket(&agent.p, Uuid::now_v7()).await,
        Error::NotFound
    );
}

/// A merged into B, then B into C: allowed, A stays merged into B. Unmerging A restores
/// its status from before the merge (with `resolved_at` as it was), clears `closed_at`
/// and `merged_into_id`, takes it off B's list, writes both timelines and
/// `ticket.unmerged`; messages posted to B meanwhile stay on B.
pub async fn merge_chains_and_unmerge(store: Arc<dyn Store>) {
    let w = World::new(store);
    let requester = w.customer().await;
    let agent = w.agent().await;
    let a = w.ticket(&requester, "A").await;
    let a = set_status(&w, &agent, &a, StatusCategory::Resolved).await;
    let resolved_at = a.resolved_at;
    assert!(resolved_at.is_some());
    let b = w.ticket(&requester, "B").await;
    let c = w.ticket(&requester, "C").await;
    w.tick();
    w.hd.merge_ticket(&agent.p, a.id, b.id).await.unwrap();
    w.tick();
    w.send(&requester, b.conversation_id, "posted to B after the merge")
        .await;
    w.tick();
    let b_merged = w.hd.merge_ticket(&agent.p, b.id, c.id).await.unwrap();
    assert_eq!(b_merged.merged_ids, vec![a.id]);
    assert_eq!(b_merged.merged_into_id, Some(c.id));
    assert_eq!(fresh(&w, &agent, &a).await.merged_into_id, Some(b.id));
    assert_eq!(fresh(&w, &agent, &c).await.merged_ids, vec![b.id]);
    // A second source joins the list after the first: oldest first.
    let d = w.ticket(&requester, "D").await;
    w.hd.merge_ticket(&agent.p, d.id, c.id).await.unwrap();
    assert_eq!(fresh(&w, &agent, &c).await.merged_ids, vec![b.id, d.id]);

    w.tick();
    let before = w.last_event().await;
    let a_back = w.hd.unmerge_ticket(&agent.p, a.id).await.unwrap();
    assert_eq!(a_back.status_category, StatusCategory::Resolved);
    assert_eq!(a_back.resolved_at, resolved_at);
    assert_eq!(a_back.closed_at, None);
    assert_eq!(a_back.merged_into_id, None);
    assert_eq!(a_back.updated_at, w.hd.now());
    assert_eq!(fresh(&w, &agent, &a).await, a_back);
    let b_now = fresh(&w, &agent, &b).await;
    assert!(b_now.merged_ids.is_empty());
    assert_eq!(b_now.merged_into_id, Some(c.id), "B stays merged into C");
    assert_eq!(b_now.status_category, StatusCategory::Closed);
    let kinds = w.event_kinds_after(before).await;
    assert!(kinds.contains(&"ticket.unmerged".to_string()), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "ticket.updated").count(),
        2,
        "{kinds:?}"
    );
    let unmerged = w
        .events()
        .await
        .into_iter()
        .find(|e| e.kind == EventKind::TicketUnmerged)
        .unwrap();
    assert_eq!(
        unmerged.data,
        serde_json::json!({"ticket_id": a.id, "into_id": b.id})
    );
    let a_line = timeline(&w, &agent, &a).await;
    let n = a_line.len();
    assert_eq!(
        a_line[n - 2],
        (
            TimelineKind::StatusChanged,
            serde_json::json!({"from": "closed", "to": "resolved"})
        )
    );
    assert_eq!(
        a_line[n - 1],
        (TimelineKind::Unmerged, serde_json::json!({"from_id": b.id}))
    );
    assert_eq!(
        timeline(&w, &agent, &b).await.last().unwrap(),
        &(
            TimelineKind::MergeRemoved,
            serde_json::json!({"source_id": a.id})
        )
    );
    // The message posted to B stays on B; A's conversation takes posts again.
    let b_messages =
        w.hd.list_messages(&agent.p, b.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&b_messages), vec!["posted to B after the merge"]);
    let a_messages =
        w.hd.list_messages(&agent.p, a.conversation_id, query(50))
            .await
            .unwrap();
    assert!(a_messages.items.is_empty());
    w.send(&requester, a.conversation_id, "back on A").await;
    // Unmerged once: not merged any more.
    expect_err!(
        w.hd.unmerge_ticket(&agent.p, a.id).await,
        Error::Conflict(_)
    );
    // A ticket unmerged may be merged again.
    w.hd.merge_ticket(&agent.p, a.id, d.id).await.unwrap_err();
    let e = w.ticket(&requester, "E").await;
    let again = w.hd.merge_ticket(&agent.p, a.id, e.id).await.unwrap();
    assert_eq!(again.merged_into_id, Some(e.id));
}

/// `include_merged` on a ticket's conversation adds the messages of the tickets merged
/// into it along chains, ordered by (`created_at`, `id`), each with its own
/// conversation, seq and read state; pages and `before`/`after` work across them;
/// internal notes only for staff; a merged ticket the caller cannot see adds nothing.
/// Merge and unmerge leave read state alone.
pub async fn include_merged_pages_across_the_chain(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let agent = w.agent().await;
    let a = w.ticket(&requester, "A").await;
    let b = w.ticket(&requester, "B").await;
    let c = w.ticket(&requester, "C").await;
    // Interleaved over the three conversations, one second apart.
    let plan = [
        (&a, "a1", false),
        (&c, "c1", false),
        (&b, "b1", false),
        (&a, "a2 note", true),
        (&c, "c2", false),
        (&b, "b2", false),
        (&a, "a3", false),
    ];
    for (t, text, internal) in plan {
        w.tick();
        if internal {
            w.note(&agent, t.conversation_id, text).await;
        } else {
            w.send(&requester, t.conversation_id, text).await;
        }
    }
    // The agent (a member of A since the note) reads A fully; C is not theirs.
    w.hd.mark_all_read(&agent.p, a.conversation_id)
        .await
        .unwrap();
    let receipts_before = {
        let mut v = Vec::new();
        for t in [&a, &b, &c] {
            v.push(w.store.participants(t.conversation_id).await.unwrap());
        }
        v
    };
    w.tick();
    w.hd.merge_ticket(&agent.p, a.id, b.id).await.unwrap();
    w.hd.merge_ticket(&agent.p, b.id, c.id).await.unwrap();

    let all_staff = ["a1", "c1", "b1", "a2 note", "c2", "b2", "a3"];
    let all_customer = ["a1", "c1", "b1", "c2", "b2", "a3"];
    let page =
        w.hd.list_messages_merged(&agent.p, c.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&page), all_staff);
    assert_eq!(page.next_cursor, None);
    let conv_of = |t: &Ticket| t.conversation_id;
    let first = &page.items[0].message;
    assert_eq!(
        (first.conversation_id, first.seq),
        (conv_of(&a), 1),
        "a message keeps its conversation and seq"
    );
    let customer_page =
        w.hd.list_messages_merged(&requester.p, c.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&customer_page), all_customer);
    // Own messages are read; is_read comes from each message's own conversation.
    assert!(customer_page.items.iter().all(|v| v.is_read));
    let agent_reads: Vec<(String, bool)> = page
        .items
        .iter()
        .map(|v| (v.message.content.clone(), v.is_read))
        .collect();
    assert_eq!(
        agent_reads,
        [
            ("a1", true),
            ("c1", false),
            ("b1", false),
            ("a2 note", true),
            ("c2", false),
            ("b2", false),
            ("a3", true)
        ]
        .map(|(c, r)| (c.to_string(), r))
    );

    // Without include_merged: C's own messages only, in seq order.
    let own =
        w.hd.list_messages(&agent.p, c.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&own), ["c1", "c2"]);
    // From the middle of the chain: B and A.
    let from_b =
        w.hd.list_messages_merged(&requester.p, b.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&from_b), ["a1", "b1", "b2", "a3"]);

    // Paging backwards two at a time with cursors walks the whole chain once.
    let mut walked: Vec<String> = Vec::new();
    let mut q = query(2);
    loop {
        let p =
            w.hd.list_messages_merged(&agent.p, c.conversation_id, q)
                .await
                .unwrap();
        let mut chunk = contents(&p);
        chunk.extend(walked);
        walked = chunk;
        match p.next_cursor {
            Some(cur) => {
                q = MessagePageQuery {
                    cursor: Some(cur),
                    ..query(2)
                }
            }
            None => break,
        }
    }
    assert_eq!(walked, all_staff);

    // before/after may name a message of any conversation of the chain.
    let id_of = |text: &str| {
        page.items
            .iter()
            .find(|v| v.message.content == text)
            .unwrap()
            .message
            .id
    };
    let before_b2 =
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                before: Some(id_of("b2")),
                ..query(3)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&before_b2), ["b1", "a2 note", "c2"]);
    let cursor = before_b2.next_cursor.expect("older ones remain");
    let older =
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                cursor: Some(cursor),
                ..query(3)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&older), ["a1", "c1"]);
    assert_eq!(older.next_cursor, None);
    let after_c1 =
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                after: Some(id_of("c1")),
                ..query(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&after_c1), ["b1", "a2 note"]);
    let newer =
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                cursor: after_c1.next_cursor,
                ..query(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&newer), ["c2", "b2"]);
    let newest =
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                cursor: newer.next_cursor,
                ..query(2)
            },
        )
        .await
        .unwrap();
    assert_eq!(contents(&newest), ["a3"]);
    assert_eq!(newest.next_cursor, None);
    // A customer cannot name an internal note; an unknown message is not found.
    expect_err!(
        w.hd.list_messages_merged(
            &requester.p,
            c.conversation_id,
            MessagePageQuery {
                before: Some(id_of("a2 note")),
                ..query(2)
            },
        )
        .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.list_messages_merged(
            &agent.p,
            c.conversation_id,
            MessagePageQuery {
                after: Some(Uuid::now_v7()),
                ..query(2)
            },
        )
        .await,
        Error::NotFound
    );

    // A merged ticket the caller cannot see adds nothing (the rest of the chain does).
    let elsewhere =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Elsewhere".into(),
                description: None,
                is_default: false,
            },
        )
        .await
        .unwrap();
    w.hd.update_ticket(
        &admin.p,
        b.id,
        TicketPatch {
            group_id: Some(elsewhere.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let without_b =
        w.hd.list_messages_merged(&agent.p, c.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&without_b), ["a1", "c1", "a2 note", "c2", "a3"]);

    // Merge and unmerge left receipts, watermarks and unread counts alone.
    w.hd.unmerge_ticket(&admin.p, a.id).await.unwrap();
    for (t, before) in [&a, &b, &c].into_iter().zip(receipts_before) {
        let mut now = w.store.participants(t.conversation_id).await.unwrap();
        let mut before = before;
        // Listing counts as delivery; compare the read state only.
        let strip = |v: &mut Vec<crate::receipt::Participant>| {
            v.sort_by_key(|p| p.user_id);
            v.iter()
                .map(|p| (p.user_id, p.last_read_seq, p.read_marks.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&mut now), strip(&mut before));
    }
    // After unmerge, C's chain holds B only (B moved away from the agent: nothing).
    let after_unmerge =
        w.hd.list_messages_merged(&admin.p, c.conversation_id, query(50))
            .await
            .unwrap();
    assert_eq!(contents(&after_unmerge), ["c1", "b1", "c2", "b2"]);
}

/// Deleting a ticket that others were merged into leaves them closed with
/// `merged_into_id` null (so they cannot be unmerged); deleting a merged ticket takes it
/// off its target's `merged_ids`.
pub async fn deleting_a_ticket_clears_merge_references(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let a = w.ticket(&requester, "A").await;
    let b = w.ticket(&requester, "B").await;
    let c = w.ticket(&requester, "C").await;
    let d = w.ticket(&requester, "D").await;
    w.hd.merge_ticket(&admin.p, a.id, b.id).await.unwrap();
    w.hd.merge_ticket(&admin.p, c.id, b.id).await.unwrap();
    w.hd.merge_ticket(&admin.p, b.id, d.id).await.unwrap();
    let a_before = fresh(&w, &admin, &a).await;
    w.hd.delete_ticket(&admin.p, b.id).await.unwrap();
    for t in [&a, &c] {
        let now = fresh(&w, &admin, t).await;
        assert_eq!(now.merged_into_id, None);
        assert_eq!(now.status_category, StatusCategory::Closed);
        expect_err!(
            w.hd.unmerge_ticket(&admin.p, t.id).await,
            Error::Conflict(_)
        );
    }
    let a_now = fresh(&w, &admin, &a).await;
    assert_eq!(a_now.updated_at, a_before.updated_at);
    assert!(a_now.version > a_before.version);
    assert!(fresh(&w, &admin, &d).await.merged_ids.is_empty());
    // The tickets changed by the delete still take writes (their versions moved on).
    w.hd.update_ticket(
        &admin.p,
        a.id,
        TicketPatch {
            subject: Some("A, after all".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A merged source deleted leaves its target's list.
    let e = w.ticket(&requester, "E").await;
    let f = w.ticket(&requester, "F").await;
    w.hd.merge_ticket(&admin.p, e.id, f.id).await.unwrap();
    w.hd.delete_ticket(&admin.p, e.id).await.unwrap();
    assert!(fresh(&w, &admin, &f).await.merged_ids.is_empty());
    w.hd.merge_ticket(&admin.p, d.id, f.id).await.unwrap();
    assert_eq!(fresh(&w, &admin, &f).await.merged_ids, vec![d.id]);
}

/// The merge fields live in the ticket record, so an archive carries them: a merge made
/// in the reference store, imported into the store under test, reads back the same and
/// unmerges there to the status from before the merge; the store's export is the same.
pub async fn merges_survive_an_archive_round_trip(store: Arc<dyn Store>) {
    let m = World::new(super::memory());
    let admin = m.admin().await;
    let requester = m.customer().await;
    let a = m.ticket(&requester, "A").await;
    let a = set_status(&m, &admin, &a, StatusCategory::Pending).await;
    let b = m.ticket(&requester, "B").await;
    m.hd.merge_ticket(&admin.p, a.id, b.id).await.unwrap();
    let mut archive = Vec::new();
    m.hd.export_archive(&crate::Principal::system(), &mut archive, &|_| {})
        .await
        .unwrap();

    let w = World::new(store);
    w.hd.import_archive(&crate::Principal::system(), &archive[..], &|_| {})
        .await
        .unwrap();
    for t in [&a, &b] {
        assert_eq!(
            w.store.get_ticket(t.id).await.unwrap(),
            m.store.get_ticket(t.id).await.unwrap()
        );
    }
    let imported = w.store.get_ticket(a.id).await.unwrap().unwrap();
    assert_eq!(imported.merged_into_id, Some(b.id));
    assert_eq!(
        imported.pre_merge_status,
        Some(StatusCategory::Pending.into())
    );
    let mut again = Vec::new();
    w.hd.export_archive(&crate::Principal::system(), &mut again, &|_| {})
        .await
        .unwrap();
    assert!(archive == again, "the store exports what it imported");
    let back = w.hd.unmerge_ticket(&admin.p, a.id).await.unwrap();
    assert_eq!(back.status_category, StatusCategory::Pending);
    assert!(
        w.store
            .get_ticket(b.id)
            .await
            .unwrap()
            .unwrap()
            .merged_ids
            .is_empty()
    );
}
