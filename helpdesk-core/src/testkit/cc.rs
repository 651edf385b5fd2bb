//! CC and followers: a CC is a member of the ticket's conversation with the requester's
//! rights but changing the ticket, and loses access the moment they are removed;
//! followers are staff who hear of a ticket's changes, never shown to customers.

use std::sync::Arc;

use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::event::EventKind;
use crate::group::{Access, NewGroup};
use crate::message::NewMessage;
use crate::notification::{NotificationFilter, NotificationKind};
use crate::page::PageRequest;
use crate::receipt::MessageStatus;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{CcTarget, TicketFilter, TicketPatch, TimelineKind};

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

async fn listed(w: &World, who: &Who, filter: TicketFilter) -> Vec<Uuid> {
    w.hd.list_tickets(&who.p, filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// A CC added by email (any case) sees the ticket and its public conversation, is a
/// member who counts for read ticks, hears of status changes and public messages, and
/// may post but not change the ticket or add CCs.
pub async fn a_cc_is_a_member_with_the_requesters_rights(store: Arc<dyn Store>) {
    let w = World::new(store);
    let requester = w.customer().await;
    let cc = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&requester, "Printer").await;
    let before = w.last_event().await;
    let after =
        w.hd.add_cc(&agent.p, t.id, CcTarget::Email(cc.email().to_uppercase()))
            .await
            .unwrap();
    assert_eq!(after.cc, vec![cc.id()]);
    assert!(after.updated_at >= t.updated_at);
    let kinds = w.event_kinds_after(before).await;
    for kind in [
        "ticket.updated",
        "conversation.member_added",
        "notification.created",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    assert_eq!(
        notified(&w, &cc).await,
        vec![NotificationKind::TicketCcAdded]
    );
    let timeline =
        w.hd.ticket_events(&requester.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let entry = timeline.last().unwrap();
    assert_eq!(entry.kind, TimelineKind::CcAdded);
    assert_eq!(entry.data["user_id"], serde_json::json!(cc.id()));

    // They see it, on every path.
    assert_eq!(w.hd.get_ticket(&cc.p, t.id).await.unwrap().id, t.id);
    assert_eq!(listed(&w, &cc, TicketFilter::default()).await, vec![t.id]);
    let mine = TicketFilter {
        cc: Some(cc.id()),
        ..Default::default()
    };
    assert_eq!(listed(&w, &requester, mine.clone()).await, vec![t.id]);
    assert_eq!(listed(&w, &agent, mine).await, vec![t.id]);
    let conv =
        w.hd.get_conversation(&cc.p, t.conversation_id)
            .await
            .unwrap();
    assert!(conv.conversation.is_member(cc.id()));

    // A public reply reaches them; an internal note neither reaches nor shows.
    let reply = w.send(&agent, t.conversation_id, "On it").await;
    w.note(&agent, t.conversation_id, "Toner again").await;
    let seen =
        w.hd.list_messages(&cc.p, t.conversation_id, Default::default())
            .await
            .unwrap()
            .items;
    assert!(seen.iter().all(|m| !m.message.internal));
    assert_eq!(seen.len(), 1);
    assert_eq!(
        notified(&w, &cc).await,
        vec![
            NotificationKind::TicketMessage,
            NotificationKind::TicketCcAdded
        ]
    );

    // Read ticks wait for every member, the CC too.
    w.hd.mark_all_read(&requester.p, t.conversation_id)
        .await
        .unwrap();
    let status = || async {
        w.hd.get_message(&agent.p, t.conversation_id, reply.message.id)
            .await
            .unwrap()
            .status
    };
    assert_ne!(status().await, Some(MessageStatus::Read));
    w.hd.mark_all_read(&cc.p, t.conversation_id).await.unwrap();
    assert_eq!(status().await, Some(MessageStatus::Read));

    // They may post publicly, not internally; not change the ticket, not add CCs.
    w.send(&cc, t.conversation_id, "Thanks").await;
    let note = NewMessage {
        internal: true,
        ..NewMessage::text("psst")
    };
    expect_err!(
        w.hd.send_message(&cc.p, t.conversation_id, note).await,
        Error::ForbiddenField(_)
    );
    let resolve = TicketPatch {
        status: Some(StatusCategory::Resolved.into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_ticket(&cc.p, t.id, resolve.clone()).await,
        Error::Forbidden(_)
    );
    let other = w.customer().await;
    expect_err!(
        w.hd.add_cc(&cc.p, t.id, CcTarget::User(other.id())).await,
        Error::Forbidden(_)
    );

    // A status change reaches them like the requester.
    w.hd.update_ticket(&requester.p, t.id, resolve)
        .await
        .unwrap();
    assert_eq!(
        notified(&w, &cc).await.first(),
        Some(&NotificationKind::TicketStatusChanged)
    );
}

/// Who may be CC'd, and by whom: an active customer other than the requester; staff
/// with `reply` or more copy anyone, `read` nobody; the requester (without an
/// organization) nobody, with one answer whether or not the user exists; a closed
/// ticket or a second time: conflicts.
pub async fn cc_rules(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let cc = w.customer().await;
    let reader = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    w.hd.put_membership(&admin.p, support.id, reader.id(), Access::Read)
        .await
        .unwrap();
    let t = w.ticket(&requester, "Printer").await;

    let refused = |r: crate::Result<crate::ticket::Ticket>| match r {
        Err(Error::Validation(f)) => f[0].message.clone(),
        other => panic!("expected validation_failed, got {other:?}"),
    };
    // The requester may copy only their own organization's customers: here, nobody,
    // and a stranger's email answers the same as a customer's.
    let a = refused(
        w.hd.add_cc(&requester.p, t.id, CcTarget::User(cc.id()))
            .await,
    );
    let b = refused(
        w.hd.add_cc(
            &requester.p,
            t.id,
            CcTarget::Email("nobody@example.com".into()),
        )
        .await,
    );
    assert_eq!(a, b);
    expect_err!(
        w.hd.add_cc(&reader.p, t.id, CcTarget::User(cc.id())).await,
        Error::Forbidden(_)
    );
    // Not a customer, the requester, inactive, unknown: invalid.
    let agent = w.agent().await;
    for target in [agent.id(), requester.id(), Uuid::now_v7()] {
        refused(w.hd.add_cc(&admin.p, t.id, CcTarget::User(target)).await);
    }
    let gone = w.customer().await;
    w.hd.update_user(
        &admin.p,
        gone.id(),
        crate::user::UserPatch {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    refused(w.hd.add_cc(&admin.p, t.id, CcTarget::User(gone.id())).await);

    w.hd.add_cc(&admin.p, t.id, CcTarget::User(cc.id()))
        .await
        .unwrap();
    expect_err!(
        w.hd.add_cc(&admin.p, t.id, CcTarget::User(cc.id())).await,
        Error::Conflict(_)
    );
    // Removing someone who is not a CC: not found.
    expect_err!(
        w.hd.remove_cc(&admin.p, t.id, gone.id()).await,
        Error::NotFound
    );
    // At most 50.
    for _ in 0..49 {
        let more = w.customer().await;
        w.hd.add_cc(&admin.p, t.id, CcTarget::User(more.id()))
            .await
            .unwrap();
    }
    let one_too_many = w.customer().await;
    refused(
        w.hd.add_cc(&admin.p, t.id, CcTarget::User(one_too_many.id()))
            .await,
    );
    // A closed ticket takes no new CC.
    let closed = w.ticket(&requester, "Done").await;
    for to in [StatusCategory::Resolved, StatusCategory::Closed] {
        w.hd.update_ticket(
            &admin.p,
            closed.id,
            TicketPatch {
                status: Some(to.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    expect_err!(
        w.hd.add_cc(&admin.p, closed.id, CcTarget::User(cc.id()))
            .await,
        Error::TicketClosed
    );
}

/// A removed CC (by staff, or by themself) loses the ticket at once on every path; the
/// `ticket.updated` of their removal is the last event they see about it; their
/// messages stay.
pub async fn a_removed_cc_loses_access_at_once(store: Arc<dyn Store>) {
    let w = World::new(store);
    let requester = w.customer().await;
    let cc = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&requester, "Printer").await;
    w.hd.add_cc(&agent.p, t.id, CcTarget::User(cc.id()))
        .await
        .unwrap();
    let said = w.send(&cc, t.conversation_id, "Me too").await;
    let before = w.last_event().await;
    w.hd.remove_cc(&cc.p, t.id, cc.id()).await.unwrap();
    expect_err!(w.hd.get_ticket(&cc.p, t.id).await, Error::NotFound);
    expect_err!(
        w.hd.get_conversation(&cc.p, t.conversation_id).await,
        Error::NotFound
    );
    assert!(listed(&w, &cc, TicketFilter::default()).await.is_empty());
    let events = w.store.events_after(before, 100).await.unwrap();
    let updated = events
        .iter()
        .find(|e| e.kind == EventKind::TicketUpdated)
        .expect("ticket.updated");
    assert_eq!(updated.data["changes"], serde_json::json!(["cc"]));
    assert!(w.hd.may_see(&cc.p, updated).await.unwrap());
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::ConversationMemberRemoved)
    );
    let timeline =
        w.hd.ticket_events(&requester.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    assert_eq!(timeline.last().unwrap().kind, TimelineKind::CcRemoved);
    // Later events about the ticket do not reach them, and their message stays.
    let before = w.last_event().await;
    w.send(&agent, t.conversation_id, "Fixed").await;
    for e in w.store.events_after(before, 100).await.unwrap() {
        assert!(!w.hd.may_see(&cc.p, &e).await.unwrap(), "{:?}", e.kind);
    }
    let kept =
        w.hd.get_message(&requester.p, t.conversation_id, said.message.id)
            .await
            .unwrap();
    assert_eq!(kept.message.sender_id, Some(cc.id()));
    // Removed by staff: the same; another CC may not remove a CC.
    let a = w.customer().await;
    let b = w.customer().await;
    for who in [&a, &b] {
        w.hd.add_cc(&agent.p, t.id, CcTarget::User(who.id()))
            .await
            .unwrap();
    }
    expect_err!(
        w.hd.remove_cc(&a.p, t.id, b.id()).await,
        Error::Forbidden(_)
    );
    w.hd.remove_cc(&requester.p, t.id, b.id()).await.unwrap();
    expect_err!(w.hd.get_ticket(&b.p, t.id).await, Error::NotFound);
    assert_eq!(w.hd.get_ticket(&a.p, t.id).await.unwrap().cc, vec![a.id()]);
}

/// Followers: staff who see the ticket follow themselves; `full` makes others follow;
/// they hear of status changes and every message (notes too); customers never see
/// them and following leaves `updated_at` alone.
pub async fn followers_hear_of_the_ticket_and_stay_hidden(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let owner = w.agent().await;
    let reader = w.agent().await;
    let outsider = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    w.hd.put_membership(&admin.p, support.id, reader.id(), Access::Read)
        .await
        .unwrap();
    w.hd.remove_membership(&admin.p, support.id, outsider.id())
        .await
        .unwrap();
    let t = w.ticket(&requester, "Printer").await;

    expect_err!(
        w.hd.follow(&requester.p, t.id, requester.id()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.follow(&outsider.p, t.id, outsider.id()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.follow(&reader.p, t.id, owner.id()).await,
        Error::Forbidden(_)
    );
    let before = w.last_event().await;
    let after = w.hd.follow(&reader.p, t.id, reader.id()).await.unwrap();
    assert_eq!(after.followers, vec![reader.id()]);
    assert_eq!(after.updated_at, t.updated_at, "following changes nothing");
    expect_err!(
        w.hd.follow(&reader.p, t.id, reader.id()).await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.follow(&owner.p, t.id, outsider.id()).await,
        Error::Validation(_)
    );
    let events = w.store.events_after(before, 100).await.unwrap();
    let updated = events
        .iter()
        .find(|e| e.kind == EventKind::TicketUpdated)
        .expect("ticket.updated");
    assert_eq!(updated.data["changes"], serde_json::json!(["followers"]));
    assert!(w.hd.may_see(&owner.p, updated).await.unwrap());
    assert!(!w.hd.may_see(&requester.p, updated).await.unwrap());
    let theirs =
        w.hd.ticket_events(&requester.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    assert!(theirs.iter().all(|e| e.kind != TimelineKind::FollowerAdded));
    let ours =
        w.hd.ticket_events(&owner.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    assert!(ours.iter().any(|e| e.kind == TimelineKind::FollowerAdded));
    let staff_json = serde_json::to_value(crate::schema::ticket_json_for(
        &after,
        crate::principal::TicketView::Staff,
        &crate::schema::TicketSchema::defaults(w.hd.now()),
    ))
    .unwrap();
    assert_eq!(staff_json["followers"], serde_json::json!([reader.id()]));
    let customer_json = serde_json::to_value(crate::schema::ticket_json_for(
        &after,
        crate::principal::TicketView::Customer,
        &crate::schema::TicketSchema::defaults(w.hd.now()),
    ))
    .unwrap();
    assert!(customer_json.get("followers").is_none());

    // A note and a status change reach the follower, who is not a member.
    w.hd.follow(&owner.p, t.id, admin.id()).await.unwrap();
    w.note(&owner, t.conversation_id, "Toner again").await;
    w.hd.update_ticket(
        &owner.p,
        t.id,
        TicketPatch {
            status: Some(StatusCategory::Pending.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        notified(&w, &reader).await,
        vec![
            NotificationKind::TicketStatusChanged,
            NotificationKind::TicketMessage
        ]
    );
    let conv =
        w.hd.get_conversation(&owner.p, t.conversation_id)
            .await
            .unwrap();
    assert!(!conv.conversation.is_member(reader.id()));
    let mine = TicketFilter {
        follower: Some(reader.id()),
        ..Default::default()
    };
    assert_eq!(listed(&w, &reader, mine.clone()).await, vec![t.id]);
    expect_err!(
        w.hd.list_tickets(&requester.p, mine).await,
        Error::Forbidden(_)
    );
    // Unfollowing: oneself, or `full`; not following: not found.
    expect_err!(
        w.hd.unfollow(&reader.p, t.id, admin.id()).await,
        Error::Forbidden(_)
    );
    w.hd.unfollow(&owner.p, t.id, admin.id()).await.unwrap();
    expect_err!(
        w.hd.unfollow(&owner.p, t.id, admin.id()).await,
        Error::NotFound
    );
    w.hd.unfollow(&reader.p, t.id, reader.id()).await.unwrap();
    assert!(
        w.hd.get_ticket(&owner.p, t.id)
            .await
            .unwrap()
            .followers
            .is_empty()
    );
}

/// Losing access stops following: a member removed from the group, and followers
/// without access to the group a ticket moves to.
pub async fn losing_access_unfollows(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let requester = w.customer().await;
    let a = w.agent().await;
    let b = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    let t = w.ticket(&requester, "Printer").await;
    w.hd.follow(&a.p, t.id, a.id()).await.unwrap();
    w.hd.follow(&b.p, t.id, b.id()).await.unwrap();
    w.hd.remove_membership(&admin.p, support.id, a.id())
        .await
        .unwrap();
    assert_eq!(
        w.hd.get_ticket(&admin.p, t.id).await.unwrap().followers,
        vec![b.id()]
    );
    let billing =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Billing".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.hd.follow(&admin.p, t.id, admin.id()).await.unwrap();
    let moved =
        w.hd.update_ticket(
            &admin.p,
            t.id,
            TicketPatch {
                group_id: Some(billing.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.followers, vec![admin.id()]);
    let timeline =
        w.hd.ticket_events(&admin.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let removed: Vec<_> = timeline
        .iter()
        .filter(|e| e.kind == TimelineKind::FollowerRemoved)
        .map(|e| e.data["user_id"].clone())
        .collect();
    assert_eq!(
        removed,
        vec![serde_json::json!(a.id()), serde_json::json!(b.id())]
    );
}

/// The store removes a member with the ticket's write, atomically: not on a version
/// conflict, and the event only when they were a member.
pub async fn store_update_ticket_leaves_atomically(store: Arc<dyn Store>) {
    use crate::event::{Audience, Effects, NewEvent};
    use crate::store::MemberChange;
    let w = World::new(store.clone());
    let c = w.customer().await;
    let cc = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&c, "Leave").await;
    let t =
        w.hd.add_cc(&agent.p, t.id, CcTarget::User(cc.id()))
            .await
            .unwrap();
    let now = w.hd.now();
    let leave = MemberChange::Leave {
        user_id: cc.id(),
        event: NewEvent::new(
            EventKind::ConversationMemberRemoved,
            now,
            Audience::users([cc.id()]),
            serde_json::json!({"conversation_id": t.conversation_id, "user_id": cc.id()}),
        ),
    };
    let members = |id: Uuid| {
        let store = store.clone();
        async move {
            let conv = store.get_conversation(id).await.unwrap().unwrap();
            conv.members.iter().map(|m| m.user_id).collect::<Vec<_>>()
        }
    };
    let removed_events = || async {
        w.events()
            .await
            .into_iter()
            .filter(|e| e.kind == EventKind::ConversationMemberRemoved)
            .count()
    };
    let mut stale = t.clone();
    stale.cc.clear();
    stale.version = t.version + 2;
    let e = store
        .update_ticket(&stale, Some(&leave), &Effects::none())
        .await
        .unwrap_err();
    assert!(e.is_conflict(crate::Conflict::Version), "{e:?}");
    assert_eq!(members(t.conversation_id).await, vec![c.id(), cc.id()]);
    assert_eq!(removed_events().await, 0);
    let mut next = t.clone();
    next.cc.clear();
    next.version = t.version + 1;
    store
        .update_ticket(&next, Some(&leave), &Effects::none())
        .await
        .unwrap();
    assert_eq!(members(t.conversation_id).await, vec![c.id()]);
    assert_eq!(removed_events().await, 1);
    let mut again = next.clone();
    again.version += 1;
    store
        .update_ticket(&again, Some(&leave), &Effects::none())
        .await
        .unwrap();
    assert_eq!(removed_events().await, 1, "a non-member leaves no event");
}
