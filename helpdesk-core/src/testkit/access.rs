//! Access through groups: agents see only their groups' tickets, at their level; admins
//! see all; the ticket's events, conversation and notifications follow the same rule,
//! and losing access takes effect at once.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{World, expect_err};
use crate::Error;
use crate::group::{Access, Group, NewGroup};
use crate::message::NewMessage;
use crate::page::PageRequest;
use crate::store::Store;
use crate::testkit::Who;
use crate::ticket::{NewTicket, Ticket, TicketFilter, TicketPatch};

/// A second group, Billing, with `members` at their levels; they leave the default
/// group, so that Billing alone is theirs.
async fn billing(w: &World, admin: &Who, members: &[(&Who, Access)]) -> Group {
    let g =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Billing".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let support = w.store.default_group().await.unwrap();
    for (who, access) in members {
        w.hd.put_membership(&admin.p, g.id, who.id(), *access)
            .await
            .unwrap();
        w.hd.remove_membership(&admin.p, support.id, who.id())
            .await
            .unwrap();
    }
    g
}

/// A customer's ticket that staff put in `group`.
async fn ticket_in(w: &World, admin: &Who, customer: &Who, group: &Group) -> Ticket {
    w.hd.create_ticket(
        &admin.p,
        NewTicket {
            requester_id: Some(customer.id()),
            group_id: Some(group.id),
            ..NewTicket::new("Invoice", "Wrong amount")
        },
    )
    .await
    .unwrap()
}

async fn listed(w: &World, who: &Who, filter: TicketFilter) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> =
        w.hd.list_tickets(&who.p, filter)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|t| t.id)
            .collect();
    ids.sort();
    ids
}

/// Whom the `notification.created` events among `events` are for, in order.
fn notified(events: &[crate::event::Event]) -> Vec<Uuid> {
    events
        .iter()
        .filter(|e| e.kind == crate::event::EventKind::NotificationCreated)
        .flat_map(|e| e.audience.users.iter().copied())
        .collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

/// A second group isolates its tickets on every path: lists, direct reads by id and
/// by number, timelines, attachments, the conversation and its messages; admins see
/// everything, the requester their own.
pub async fn a_second_group_isolates_its_tickets(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (support_agent, billing_agent) = (w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let g = billing(&w, &admin, &[(&billing_agent, Access::Full)]).await;
    let in_support = w.ticket(&customer, "Printer").await;
    let in_billing = ticket_in(&w, &admin, &customer, &g).await;
    w.send(&customer, in_billing.conversation_id, "Please fix")
        .await;

    let all = TicketFilter::default;
    assert_eq!(listed(&w, &support_agent, all()).await, vec![in_support.id]);
    assert_eq!(listed(&w, &billing_agent, all()).await, vec![in_billing.id]);
    let both = sorted(vec![in_support.id, in_billing.id]);
    assert_eq!(listed(&w, &admin, all()).await, both);
    assert_eq!(listed(&w, &customer, all()).await, both);
    let only_billing = || TicketFilter {
        group_ids: vec![g.id],
        ..Default::default()
    };
    assert!(listed(&w, &support_agent, only_billing()).await.is_empty());
    assert_eq!(
        listed(&w, &admin, only_billing()).await,
        vec![in_billing.id]
    );
    expect_err!(
        w.hd.list_tickets(&customer.p, only_billing()).await,
        Error::Forbidden(_)
    );

    let outsider = &support_agent.p;
    let (t, conv) = (in_billing.id, in_billing.conversation_id);
    expect_err!(w.hd.get_ticket(outsider, t).await, Error::NotFound);
    expect_err!(
        w.hd.get_ticket_by_number(outsider, in_billing.number).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.ticket_events(outsider, t, PageRequest::default())
            .await,
        Error::NotFound
    );
    expect_err!(w.hd.ticket_attachments(outsider, t).await, Error::NotFound);
    expect_err!(w.hd.get_conversation(outsider, conv).await, Error::NotFound);
    expect_err!(
        w.hd.list_messages(outsider, conv, Default::default()).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.send_message(outsider, conv, NewMessage::text("Me too"))
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.update_ticket(outsider, t, TicketPatch::default())
            .await,
        Error::NotFound
    );
    w.hd.get_ticket(&billing_agent.p, t).await.unwrap();
    w.hd.get_conversation(&billing_agent.p, conv).await.unwrap();
    w.hd.get_ticket(&admin.p, t).await.unwrap();
}

/// `read` sees, `reply` also posts (public messages and internal notes), `full` also
/// changes the ticket; only `full` members and admins may be its assignee.
pub async fn levels_limit_what_staff_do(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (reader, replier, owner) = (w.agent().await, w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let g = billing(
        &w,
        &admin,
        &[
            (&reader, Access::Read),
            (&replier, Access::Reply),
            (&owner, Access::Full),
        ],
    )
    .await;
    let t = ticket_in(&w, &admin, &customer, &g).await;
    let conv = t.conversation_id;

    w.hd.get_ticket(&reader.p, t.id).await.unwrap();
    w.hd.list_messages(&reader.p, conv, Default::default())
        .await
        .unwrap();
    expect_err!(
        w.hd.send_message(&reader.p, conv, NewMessage::text("Hi"))
            .await,
        Error::Forbidden(_)
    );
    let tags = || TicketPatch {
        tags: Some(vec!["vip".into()]),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_ticket(&reader.p, t.id, tags()).await,
        Error::Forbidden(_)
    );

    w.send(&replier, conv, "On it").await;
    let note = NewMessage {
        internal: true,
        ..NewMessage::text("Looks like a refund")
    };
    w.hd.send_message(&replier.p, conv, note).await.unwrap();
    expect_err!(
        w.hd.update_ticket(&replier.p, t.id, tags()).await,
        Error::Forbidden(_)
    );

    w.hd.update_ticket(&owner.p, t.id, tags()).await.unwrap();
    let assign = |who: &Who| TicketPatch {
        assignee_id: Some(Some(who.id())),
        ..Default::default()
    };
    for not_full in [&reader, &replier] {
        expect_err!(
            w.hd.update_ticket(&owner.p, t.id, assign(not_full)).await,
            Error::Validation(f) if f[0].field == "assignee_id"
        );
    }
    let assigned = w.hd.update_ticket(&owner.p, t.id, assign(&owner)).await;
    assert_eq!(assigned.unwrap().assignee_id, Some(owner.id()));
    w.hd.update_ticket(&owner.p, t.id, assign(&admin))
        .await
        .unwrap();
    expect_err!(
        w.hd.create_ticket(
            &admin.p,
            NewTicket {
                requester_id: Some(customer.id()),
                group_id: Some(g.id),
                assignee_id: Some(reader.id()),
                ..NewTicket::new("Another", "x")
            },
        )
        .await,
        Error::Validation(f) if f[0].field == "assignee_id"
    );
}

/// A ticket's events reach the requester, admins and its group's members, nobody
/// else; a new unassigned ticket notifies its group's `full` members only.
pub async fn ticket_events_and_notifications_follow_the_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (outsider, reader, owner) = (w.agent().await, w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let g = billing(
        &w,
        &admin,
        &[(&reader, Access::Read), (&owner, Access::Full)],
    )
    .await;
    let before = w.last_event().await;
    let t = ticket_in(&w, &admin, &customer, &g).await;
    let events = w.store.events_after(before, 100).await.unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::TicketCreated)
        .expect("ticket.created");
    for (who, sees) in [
        (&customer, true),
        (&admin, true),
        (&reader, true),
        (&owner, true),
        (&outsider, false),
    ] {
        assert_eq!(
            w.hd.may_see(&who.p, created).await.unwrap(),
            sees,
            "{}",
            who.email()
        );
    }
    let told = notified(&events);
    assert_eq!(told, vec![owner.id()], "the group's full members only");
    let _ = t;
}

/// Where new tickets go follows a change made on this instance at once, though it keeps
/// the default group and its members a moment: a new default group gets the next
/// ticket, and a new agent (who joins it) hears of the next unassigned one.
pub async fn new_tickets_follow_the_default_group_at_once(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let open = |w: &World| {
        let (hd, p) = (w.hd.clone(), customer.p);
        async move {
            hd.create_ticket(&p, NewTicket::new("Printer", "It jams"))
                .await
                .unwrap()
        }
    };
    let support = w.store.default_group().await.unwrap();
    assert_eq!(open(&w).await.group_id, support.id);
    let g =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Front desk".into(),
                is_default: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(open(&w).await.group_id, g.id);
    let agent = w.agent().await;
    let before = w.last_event().await;
    let t = open(&w).await;
    let told = notified(&w.store.events_after(before, 100).await.unwrap());
    assert!(told.contains(&agent.id()), "{t:?}");
    let back = crate::group::GroupPatch {
        is_default: Some(true),
        ..Default::default()
    };
    w.hd.update_group(&admin.p, support.id, back).await.unwrap();
    assert_eq!(open(&w).await.group_id, support.id);
}

/// Losing access takes effect at once: an agent removed from the group no longer
/// sees the ticket, its conversation (though still a member of it), its events, or
/// its unread messages.
pub async fn losing_access_hides_the_ticket_everywhere(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let g = billing(&w, &admin, &[(&agent, Access::Reply)]).await;
    let t = ticket_in(&w, &admin, &customer, &g).await;
    let conv = t.conversation_id;
    let looking = w.send(&agent, conv, "Looking").await;
    w.send(&customer, conv, "Thanks").await;
    let receipts = |events: &[crate::event::Event]| -> Vec<crate::event::Event> {
        let receipt = |e: &&crate::event::Event| {
            matches!(
                e.kind,
                crate::event::EventKind::MessageDelivered | crate::event::EventKind::MessageRead
            )
        };
        events.iter().filter(receipt).cloned().collect()
    };
    // While the agent may read the conversation, the customer's receipts of their
    // message reach them...
    let before = w.last_event().await;
    w.hd.mark_delivered(&customer.p, conv, looking.message.seq)
        .await
        .unwrap();
    let told = receipts(&w.store.events_after(before, 100).await.unwrap());
    assert!(!told.is_empty(), "the delivery is news for its sender");
    for e in &told {
        assert!(w.hd.may_see(&agent.p, e).await.unwrap(), "{}", e.kind);
    }
    let before = w.last_event().await;
    let mine = |w: &World, who: &Who| {
        let p = who.p;
        let hd = w.hd.clone();
        async move {
            hd.list_conversations(&p, Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|v| v.conversation.id)
                .collect::<Vec<Uuid>>()
        }
    };
    assert!(mine(&w, &agent).await.contains(&conv));
    assert_eq!(
        w.hd.unread_overview(&agent.p).await.unwrap().total_unread,
        1
    );

    w.hd.remove_membership(&admin.p, g.id, agent.id())
        .await
        .unwrap();
    w.send(&customer, conv, "Still there?").await;
    expect_err!(w.hd.get_ticket(&agent.p, t.id).await, Error::NotFound);
    expect_err!(w.hd.get_conversation(&agent.p, conv).await, Error::NotFound);
    assert!(!mine(&w, &agent).await.contains(&conv));
    assert_eq!(
        w.hd.unread_overview(&agent.p).await.unwrap().total_unread,
        0
    );
    let later = w.store.events_after(before, 100).await.unwrap();
    let message = later
        .iter()
        .find(|e| e.kind == crate::event::EventKind::MessageCreated)
        .expect("message.created");
    assert!(!w.hd.may_see(&agent.p, message).await.unwrap());
    assert!(w.hd.may_see(&customer.p, message).await.unwrap());
    // ...and once they may not, their message's receipts (written before the loss or
    // after it) tell them nothing more.
    w.hd.mark_read_up_to(&customer.p, conv, looking.message.id)
        .await
        .unwrap();
    let told = receipts(&w.store.events_after(None, 1000).await.unwrap());
    assert!(
        told.iter()
            .any(|e| e.kind == crate::event::EventKind::MessageRead)
    );
    for e in &told {
        assert!(
            !w.hd.may_see(&agent.p, e).await.unwrap(),
            "{} leaked",
            e.kind
        );
    }
}

/// Moving a ticket (`full` on its group, or an admin): it goes to the other group's
/// members, an assignee without `full` there is unassigned and that group's `full`
/// members are told; the timeline records it; the old group's members hear of it last;
/// a group with tickets moved into it is in use, and free again once they move out.
pub async fn moving_a_ticket_hands_it_to_the_other_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (mover, billing_owner, billing_reader) =
        (w.agent().await, w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let g = billing(
        &w,
        &admin,
        &[
            (&billing_owner, Access::Full),
            (&billing_reader, Access::Read),
        ],
    )
    .await;
    let t = w.ticket(&customer, "Refund").await;
    let assign = TicketPatch {
        assignee_id: Some(Some(mover.id())),
        ..Default::default()
    };
    w.hd.update_ticket(&mover.p, t.id, assign).await.unwrap();
    let move_to = |group_id| TicketPatch {
        group_id: Some(group_id),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_ticket(&customer.p, t.id, move_to(g.id)).await,
        Error::ForbiddenField(f) if f == "group_id"
    );
    expect_err!(
        w.hd.update_ticket(&mover.p, t.id, move_to(crate::clock::new_id()))
            .await,
        Error::Validation(f) if f[0].field == "group_id"
    );

    let before = w.last_event().await;
    let moved =
        w.hd.update_ticket(&mover.p, t.id, move_to(g.id))
            .await
            .unwrap();
    assert_eq!((moved.group_id, moved.assignee_id), (g.id, None));
    expect_err!(w.hd.get_ticket(&mover.p, t.id).await, Error::NotFound);
    w.hd.get_ticket(&billing_reader.p, t.id).await.unwrap();
    let timeline =
        w.hd.ticket_events(&admin.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let moved_entry = timeline
        .iter()
        .find(|e| e.kind == crate::ticket::TimelineKind::GroupChanged)
        .expect("group_changed");
    assert_eq!(moved_entry.data["to"], serde_json::json!(g.id));
    let theirs =
        w.hd.ticket_events(&customer.p, t.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    assert!(
        theirs.iter().all(|e| !e.kind.is_staff_only()),
        "customers never see the group in the timeline"
    );
    let events = w.store.events_after(before, 100).await.unwrap();
    let updated = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::TicketUpdated)
        .expect("ticket.updated");
    for who in [&mover, &billing_owner, &billing_reader, &customer] {
        assert!(
            w.hd.may_see(&who.p, updated).await.unwrap(),
            "{}",
            who.email()
        );
    }
    let told = notified(&events);
    assert_eq!(told, vec![billing_owner.id()]);

    // The reader may not move it; its owner may, and a move of nothing else is not the
    // customer's business.
    let temp =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Temp".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    expect_err!(
        w.hd.update_ticket(&billing_reader.p, t.id, move_to(temp.id))
            .await,
        Error::Forbidden(_)
    );
    let before = w.last_event().await;
    w.hd.update_ticket(&billing_owner.p, t.id, move_to(temp.id))
        .await
        .unwrap();
    let events = w.store.events_after(before, 100).await.unwrap();
    let updated = events
        .iter()
        .find(|e| e.kind == crate::event::EventKind::TicketUpdated)
        .expect("ticket.updated");
    assert!(!w.hd.may_see(&customer.p, updated).await.unwrap());
    assert!(w.hd.may_see(&billing_owner.p, updated).await.unwrap());
    expect_err!(w.hd.delete_group(&admin.p, temp.id).await, Error::InUse(_));
    w.hd.update_ticket(&admin.p, t.id, move_to(g.id))
        .await
        .unwrap();
    w.hd.delete_group(&admin.p, temp.id).await.unwrap();
    let in_billing = TicketFilter {
        group_ids: vec![g.id],
        ..Default::default()
    };
    assert_eq!(listed(&w, &admin, in_billing).await, vec![t.id]);
}

/// Customers never see a ticket's group in events: their live stream carries the
/// ticket without `group_id`, staff's (and the log, which webhooks read) with it.
pub async fn customers_never_see_the_group_in_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let customer = w.customer().await;
    let theirs = w.hd.subscribe_as(&customer.p).await.unwrap();
    let ours = w.hd.subscribe_as(&agent.p).await.unwrap();
    let t = w.ticket(&customer, "Where is my group").await;
    let theirs = first_ticket_created(theirs).await;
    let ours = first_ticket_created(ours).await;
    assert_eq!(theirs.data["ticket"]["id"], serde_json::json!(t.id));
    assert!(theirs.data["ticket"].get("group_id").is_none());
    assert_eq!(
        ours.data["ticket"]["group_id"],
        serde_json::json!(t.group_id)
    );
}

/// The first `ticket.created` of a live stream, within ten seconds.
async fn first_ticket_created(
    stream: impl futures_util::Stream<Item = Result<Arc<crate::event::Event>, crate::event::LiveError>>,
) -> Arc<crate::event::Event> {
    use futures_util::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let e = stream.next().await.expect("open").expect("an event");
            if e.kind == crate::event::EventKind::TicketCreated {
                return e;
            }
        }
    });
    found.await.expect("ticket.created within 10 s")
}

/// Losing `full` access unassigns the agent from the group's tickets that are not
/// closed (an `assigned` entry by the admin); so does a role change that ends it.
pub async fn losing_full_access_unassigns(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (owner, other) = (w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let g = billing(&w, &admin, &[(&owner, Access::Full)]).await;
    let assign = |who: &Who| TicketPatch {
        assignee_id: Some(Some(who.id())),
        ..Default::default()
    };
    let status = |s: crate::status::StatusCategory| TicketPatch {
        status: Some(s.into()),
        ..Default::default()
    };
    let open = ticket_in(&w, &admin, &customer, &g).await;
    let closed = ticket_in(&w, &admin, &customer, &g).await;
    for t in [&open, &closed] {
        w.hd.update_ticket(&owner.p, t.id, assign(&owner))
            .await
            .unwrap();
    }
    use crate::status::StatusCategory::{Closed, Resolved};
    for s in [Resolved, Closed] {
        w.hd.update_ticket(&owner.p, closed.id, status(s))
            .await
            .unwrap();
    }
    w.hd.put_membership(&admin.p, g.id, owner.id(), Access::Reply)
        .await
        .unwrap();
    let assignee = |id| {
        let hd = w.hd.clone();
        let p = admin.p;
        async move { hd.get_ticket(&p, id).await.unwrap().assignee_id }
    };
    assert_eq!(assignee(open.id).await, None);
    assert_eq!(assignee(closed.id).await, Some(owner.id()));
    let timeline =
        w.hd.ticket_events(&admin.p, open.id, PageRequest::default())
            .await
            .unwrap()
            .items;
    let last = timeline.last().expect("entries");
    assert_eq!(last.kind, crate::ticket::TimelineKind::Assigned);
    assert_eq!(last.actor_id, Some(admin.id()));

    // A role change to customer ends every membership, and with it the assignments.
    let in_support = w.ticket(&customer, "Printer").await;
    w.hd.update_ticket(&other.p, in_support.id, assign(&other))
        .await
        .unwrap();
    w.hd.update_user(
        &admin.p,
        other.id(),
        crate::user::UserPatch {
            role: Some(crate::Role::Customer),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(assignee(in_support.id).await, None);
}

/// Presence follows access: an agent who lost access to a ticket stays a member of its
/// conversation, but no longer hears of its customer's presence, nor they of theirs.
pub async fn presence_contacts_follow_access(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let agent = w.agent().await;
    let t = w.ticket(&customer, "Printer").await;
    w.send(&agent, t.conversation_id, "On it").await;
    let everyone = |_: Uuid| true;
    let of = |who: Uuid| w.hd.contacts(who, everyone);
    assert!(of(customer.id()).await.unwrap().contains(&agent.id()));
    assert!(of(agent.id()).await.unwrap().contains(&customer.id()));
    // Only the candidates a server names are checked and returned.
    assert!(
        w.hd.contacts(customer.id(), |u| u != agent.id())
            .await
            .unwrap()
            .is_empty()
    );
    let support = w.store.default_group().await.unwrap();
    w.hd.remove_membership(&admin.p, support.id, agent.id())
        .await
        .unwrap();
    assert!(!of(customer.id()).await.unwrap().contains(&agent.id()));
    assert!(!of(agent.id()).await.unwrap().contains(&customer.id()));
    // A direct conversation still makes them contacts.
    w.direct(&agent, &customer).await;
    assert!(of(customer.id()).await.unwrap().contains(&agent.id()));
}

/// Two instances over one store: a logout, a deactivation or a lost membership made
/// through one is in force there at once, and on the other, which had just let the
/// same token and membership through, within [`crate::access_cache::TTL`].
pub async fn revocation_reaches_every_instance_within_the_ttl(store: Arc<dyn Store>) {
    let w = World::new(store);
    let other =
        crate::Helpdesk::with_clock(w.store.clone(), crate::Config::for_tests(), w.clock.clone());
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let g = billing(&w, &admin, &[(&agent, Access::Reply)]).await;
    let t = ticket_in(&w, &admin, &customer, &g).await;
    let past_ttl = || tokio::time::sleep(crate::access_cache::TTL + Duration::from_millis(50));

    let token = w.hd.issue_tokens(agent.id()).await.unwrap().access_token;
    let p = w.hd.authenticate(&token).await.unwrap();
    other.authenticate(&token).await.unwrap();
    w.hd.logout(&p).await.unwrap();
    expect_err!(w.hd.authenticate(&token).await, Error::Unauthorized);
    past_ttl().await;
    expect_err!(other.authenticate(&token).await, Error::Unauthorized);

    let token = w.hd.issue_tokens(agent.id()).await.unwrap().access_token;
    w.hd.authenticate(&token).await.unwrap();
    other.authenticate(&token).await.unwrap();
    let off = crate::user::UserPatch {
        is_active: Some(false),
        ..Default::default()
    };
    w.hd.update_user(&admin.p, agent.id(), off).await.unwrap();
    expect_err!(w.hd.authenticate(&token).await, Error::Unauthorized);
    past_ttl().await;
    expect_err!(other.authenticate(&token).await, Error::Unauthorized);
    let on = crate::user::UserPatch {
        is_active: Some(true),
        ..Default::default()
    };
    w.hd.update_user(&admin.p, agent.id(), on).await.unwrap();

    w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    other.get_ticket(&agent.p, t.id).await.unwrap();
    w.hd.remove_membership(&admin.p, g.id, agent.id())
        .await
        .unwrap();
    expect_err!(w.hd.get_ticket(&agent.p, t.id).await, Error::NotFound);
    past_ttl().await;
    expect_err!(other.get_ticket(&agent.p, t.id).await, Error::NotFound);
}
