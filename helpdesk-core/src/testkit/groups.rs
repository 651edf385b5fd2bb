//! Groups and memberships: the default group every store starts with, names, the flag
//! that only moves, deletion rules, memberships and their events, staff joining the
//! default group, tickets' groups.

use std::sync::Arc;

use super::{World, expect_err};
use crate::Error;
use crate::group::{Access, GroupPatch, NewGroup};
use crate::principal::Principal;
use crate::store::Store;
use crate::ticket::{NewTicket, TicketQuery};
use crate::user::UserPatch;
use crate::{Conflict, Role, StoreError};

fn new_group(name: &str) -> NewGroup {
    NewGroup {
        name: name.into(),
        ..Default::default()
    }
}

/// A new group `name` that takes the default flag.
async fn new_default_group(w: &World, admin: &Principal, name: &str) -> crate::group::Group {
    let input = NewGroup {
        is_default: true,
        ..new_group(name)
    };
    w.hd.create_group(admin, input).await.unwrap()
}

/// A new store has exactly one group, the default `Support`, and new tickets go there.
pub async fn store_starts_with_the_default_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let groups = w.store.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Support");
    assert!(groups[0].is_default);
    assert_eq!(groups[0].description, "");
    assert_eq!(w.store.default_group().await.unwrap(), groups[0]);
    let c = w.customer().await;
    let t = w.ticket(&c, "Where does it go?").await;
    assert_eq!(t.group_id, groups[0].id);
    let stored = w.store.get_ticket(t.id).await.unwrap().unwrap();
    assert_eq!(stored.group_id, groups[0].id);
}

/// The default group with its members in one call: the same as the two reads apart, and
/// an empty list for a default group nobody has joined yet.
pub async fn store_default_group_members_as_read_apart(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    w.hd.put_membership(&admin.p, support.id, agent.id(), Access::Read)
        .await
        .unwrap();
    let (group, members) = w.store.default_group_members().await.unwrap();
    assert_eq!(group, support);
    assert_eq!(members, w.store.group_members(support.id).await.unwrap());
    let levels: Vec<_> = members.iter().map(|m| (m.user_id, m.access)).collect();
    assert_eq!(
        levels,
        vec![(admin.id(), Access::Full), (agent.id(), Access::Read)]
    );
    let billing = new_default_group(&w, &admin.p, "Billing").await;
    let (group, members) = w.store.default_group_members().await.unwrap();
    assert_eq!((group, members), (billing, Vec::new()));
}

/// Names: trimmed, 1..=100 characters, unique case-insensitively; descriptions up to
/// 1000; groups listed by name case-insensitively; admins write, staff read.
pub async fn names_are_unique_and_groups_listed_by_name(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let billing =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "  billing ".into(),
                description: Some("Money".into()),
                is_default: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(billing.name, "billing");
    assert_eq!(billing.description, "Money");
    assert!(!billing.is_default);
    expect_err!(
        w.hd.create_group(&admin.p, new_group("BILLING")).await,
        Error::NameTaken
    );
    expect_err!(
        w.hd.create_group(&admin.p, new_group("support")).await,
        Error::NameTaken
    );
    expect_err!(
        w.hd.create_group(&admin.p, new_group(" ")).await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.create_group(&admin.p, new_group(&"x".repeat(101)))
            .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.create_group(
            &admin.p,
            NewGroup {
                description: Some("d".repeat(1001)),
                ..new_group("Long")
            }
        )
        .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.create_group(&agent.p, new_group("Agents")).await,
        Error::Forbidden(_)
    );
    let zeta =
        w.hd.create_group(&admin.p, new_group("Zeta"))
            .await
            .unwrap();
    let alpha =
        w.hd.create_group(&admin.p, new_group("alpha"))
            .await
            .unwrap();
    let names: Vec<String> =
        w.hd.list_groups(&agent.p)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
    assert_eq!(names, ["alpha", "billing", "Support", "Zeta"]);
    expect_err!(w.hd.list_groups(&customer.p).await, Error::Forbidden(_));
    expect_err!(
        w.hd.get_group(&customer.p, zeta.id).await,
        Error::Forbidden(_)
    );
    // Renaming to a taken name is refused; to another case of its own name is fine.
    expect_err!(
        w.hd.update_group(
            &admin.p,
            alpha.id,
            GroupPatch {
                name: Some("ZETA".into()),
                ..Default::default()
            }
        )
        .await,
        Error::NameTaken
    );
    let renamed =
        w.hd.update_group(
            &admin.p,
            alpha.id,
            GroupPatch {
                name: Some("Alpha".into()),
                description: Some("First".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(w.hd.get_group(&agent.p, alpha.id).await.unwrap(), renamed);
    // The store refuses a taken name by itself.
    let mut clash = renamed.clone();
    clash.id = crate::clock::new_id();
    let err = w.store.insert_group(&clash, &|_| Default::default()).await;
    assert!(
        matches!(err, Err(StoreError::Conflict(Conflict::Name))),
        "{err:?}"
    );
}

/// The default flag only moves: to a group created or patched with it, atomically, and
/// never away by `false`; the default group cannot be deleted, nor a group holding any
/// ticket (closed ones too); an empty group can, with its memberships.
pub async fn default_flag_moves_and_deletion_rules(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let support = w.store.default_group().await.unwrap();
    expect_err!(
        w.hd.update_group(
            &admin.p,
            support.id,
            GroupPatch {
                is_default: Some(false),
                ..Default::default()
            }
        )
        .await,
        Error::Validation(_)
    );
    let billing = new_default_group(&w, &admin.p, "Billing").await;
    assert!(billing.is_default);
    assert_eq!(w.store.default_group().await.unwrap().id, billing.id);
    let groups = w.store.list_groups().await.unwrap();
    assert_eq!(groups.iter().filter(|g| g.is_default).count(), 1);
    // New tickets go to the new default; a new agent joins it.
    let c = w.customer().await;
    let t = w.ticket(&c, "Invoice").await;
    assert_eq!(t.group_id, billing.id);
    let late = w.agent().await;
    let mine = w.hd.my_groups(&late.p).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].group.id, billing.id);
    assert_eq!(mine[0].access, Access::Full);
    // Back to Support by a patch.
    w.hd.update_group(
        &admin.p,
        support.id,
        GroupPatch {
            is_default: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let groups = w.store.list_groups().await.unwrap();
    let flagged: Vec<_> = groups
        .iter()
        .filter(|g| g.is_default)
        .map(|g| g.id)
        .collect();
    assert_eq!(flagged, vec![support.id]);
    // The store refuses to unflag the default group by itself.
    let mut unflagged = w.store.default_group().await.unwrap();
    unflagged.is_default = false;
    let err = w
        .store
        .update_group(&unflagged, &|_| Default::default())
        .await;
    assert!(
        matches!(err, Err(StoreError::Conflict(Conflict::Default))),
        "{err:?}"
    );
    // Deleting.
    expect_err!(
        w.hd.delete_group(&admin.p, support.id).await,
        Error::Conflict(_)
    );
    expect_err!(
        w.hd.delete_group(&admin.p, billing.id).await,
        Error::InUse(_)
    );
    expect_err!(
        w.hd.delete_group(&agent.p, billing.id).await,
        Error::Forbidden(_)
    );
    let empty =
        w.hd.create_group(&admin.p, new_group("Empty"))
            .await
            .unwrap();
    w.hd.put_membership(&admin.p, empty.id, agent.id(), Access::Read)
        .await
        .unwrap();
    w.hd.delete_group(&admin.p, empty.id).await.unwrap();
    expect_err!(w.hd.get_group(&agent.p, empty.id).await, Error::NotFound);
    assert!(
        w.store
            .user_memberships(agent.id())
            .await
            .unwrap()
            .iter()
            .all(|m| m.group_id != empty.id)
    );
    expect_err!(w.hd.delete_group(&admin.p, empty.id).await, Error::NotFound);
}

/// Staff join the group that is default as `full` when created or promoted; a demotion
/// to customer ends every membership; customers are never members.
pub async fn staff_join_the_default_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let support = w.store.default_group().await.unwrap();
    let members = w.hd.group_members(&agent.p, support.id).await.unwrap();
    let who: Vec<_> = members.iter().map(|m| (m.user_id, m.access)).collect();
    assert_eq!(
        who,
        vec![(admin.id(), Access::Full), (agent.id(), Access::Full)]
    );
    assert!(
        w.store
            .user_memberships(customer.id())
            .await
            .unwrap()
            .is_empty()
    );
    let other =
        w.hd.create_group(&admin.p, new_group("Other"))
            .await
            .unwrap();
    w.hd.put_membership(&admin.p, other.id, agent.id(), Access::Reply)
        .await
        .unwrap();
    // Demoted: every membership ends.
    w.hd.update_user(
        &admin.p,
        agent.id(),
        UserPatch {
            role: Some(Role::Customer),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        w.store
            .user_memberships(agent.id())
            .await
            .unwrap()
            .is_empty()
    );
    // Promoted: joins the default group as full, joined now.
    w.tick();
    for who in [&agent, &customer] {
        w.hd.update_user(
            &admin.p,
            who.id(),
            UserPatch {
                role: Some(Role::Agent),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mine = w.store.user_memberships(who.id()).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].group_id, support.id);
        assert_eq!(mine[0].access, Access::Full);
        assert_eq!(mine[0].created_at, w.hd.now());
    }
    // Agent to admin is no role change for groups: nothing moves.
    w.hd.put_membership(&admin.p, support.id, customer.id(), Access::Read)
        .await
        .unwrap();
    w.hd.update_user(
        &admin.p,
        customer.id(),
        UserPatch {
            role: Some(Role::Admin),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mine = w.store.user_memberships(customer.id()).await.unwrap();
    assert_eq!(mine[0].access, Access::Read);
    // No events come with the user writes: only the explicit membership (the other
    // put changed a level).
    let added = w
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == crate::event::EventKind::GroupMemberAdded)
        .count();
    assert_eq!(added, 1);
    assert!(
        w.events()
            .await
            .iter()
            .all(|e| e.kind != crate::event::EventKind::GroupMemberRemoved)
    );
}

/// Putting and removing memberships: admins only, active staff only, unknown users
/// 404, 201-or-200 (new or not), joining order kept across level changes, not a member
/// 404; each change writes its event to staff.
pub async fn memberships_put_and_remove(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let second = w.agent().await;
    let customer = w.customer().await;
    let g =
        w.hd.create_group(&admin.p, new_group("Tier 2"))
            .await
            .unwrap();
    let mark = w.last_event().await;
    w.tick();
    let (m, new) =
        w.hd.put_membership(&admin.p, g.id, second.id(), Access::Read)
            .await
            .unwrap();
    assert!(new);
    assert_eq!(m.access, Access::Read);
    w.tick();
    w.hd.put_membership(&admin.p, g.id, agent.id(), Access::Full)
        .await
        .unwrap();
    w.tick();
    let (changed, new) =
        w.hd.put_membership(&admin.p, g.id, second.id(), Access::Reply)
            .await
            .unwrap();
    assert!(!new);
    assert_eq!(changed.access, Access::Reply);
    assert_eq!(changed.created_at, m.created_at, "joining time kept");
    let members = w.hd.group_members(&agent.p, g.id).await.unwrap();
    let who: Vec<_> = members.iter().map(|m| (m.user_id, m.access)).collect();
    assert_eq!(
        who,
        vec![(second.id(), Access::Reply), (agent.id(), Access::Full)]
    );
    // The same level again changes nothing and writes nothing.
    let before = w.last_event().await;
    let (_, new) =
        w.hd.put_membership(&admin.p, g.id, second.id(), Access::Reply)
            .await
            .unwrap();
    assert!(!new);
    assert_eq!(w.last_event().await, before);
    expect_err!(
        w.hd.put_membership(&admin.p, g.id, customer.id(), Access::Read)
            .await,
        Error::Validation(_)
    );
    expect_err!(
        w.hd.put_membership(&admin.p, g.id, crate::clock::new_id(), Access::Read)
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.put_membership(&admin.p, crate::clock::new_id(), agent.id(), Access::Read)
            .await,
        Error::NotFound
    );
    expect_err!(
        w.hd.put_membership(&agent.p, g.id, agent.id(), Access::Read)
            .await,
        Error::Forbidden(_)
    );
    w.hd.update_user(
        &admin.p,
        second.id(),
        UserPatch {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(
        w.hd.put_membership(&admin.p, g.id, second.id(), Access::Full)
            .await,
        Error::Validation(_)
    );
    w.hd.remove_membership(&admin.p, g.id, second.id())
        .await
        .unwrap();
    expect_err!(
        w.hd.remove_membership(&admin.p, g.id, second.id()).await,
        Error::NotFound
    );
    let kinds = w.event_kinds_after(mark).await;
    assert_eq!(
        kinds,
        [
            "group.member_added",
            "group.member_added",
            "group.member_updated",
            "group.member_removed"
        ]
    );
    let events = w.store.events_after(mark, 10).await.unwrap();
    assert!(events.iter().all(|e| e.audience.staff));
    assert_eq!(events[3].data["access"], "reply");
    assert_eq!(events[3].data["user_id"], serde_json::json!(second.id()));
    assert_eq!(events[3].data["group_id"], serde_json::json!(g.id));
    // The caller's groups, by name, with levels.
    let mine = w.hd.my_groups(&agent.p).await.unwrap();
    let names: Vec<_> = mine
        .iter()
        .map(|ga| (ga.group.name.as_str(), ga.access))
        .collect();
    assert_eq!(names, [("Support", Access::Full), ("Tier 2", Access::Full)]);
    expect_err!(w.hd.my_groups(&customer.p).await, Error::Forbidden(_));
}

/// Group writes write their events: created, updated (both groups when the flag moves),
/// deleted.
pub async fn group_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let mark = w.last_event().await;
    let g = w.hd.create_group(&admin.p, new_group("Ops")).await.unwrap();
    w.hd.update_group(
        &admin.p,
        g.id,
        GroupPatch {
            is_default: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let other =
        w.hd.create_group(&admin.p, new_group("Spare"))
            .await
            .unwrap();
    w.hd.delete_group(&admin.p, other.id).await.unwrap();
    let events = w.store.events_after(mark, 10).await.unwrap();
    let kinds: Vec<String> = events.iter().map(|e| e.kind.to_string()).collect();
    assert_eq!(
        kinds,
        [
            "group.created",
            "group.updated",
            "group.updated",
            "group.created",
            "group.deleted"
        ]
    );
    assert_eq!(events[0].data["group"]["name"], "Ops");
    assert_eq!(events[1].data["group"]["is_default"], true);
    assert_eq!(events[2].data["group"]["name"], "Support");
    assert_eq!(events[2].data["group"]["is_default"], false);
    assert_eq!(events[4].data["group_id"], serde_json::json!(other.id));
}

/// Staff choose a ticket's group; customers may not (`forbidden_field`); an unknown
/// group is invalid; the list filters by groups (none given: any; empty: nothing).
pub async fn tickets_belong_to_a_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let c = w.customer().await;
    let g =
        w.hd.create_group(&admin.p, new_group("Billing"))
            .await
            .unwrap();
    let support = w.store.default_group().await.unwrap();
    let in_group = |group_id| NewTicket {
        requester_id: Some(c.id()),
        group_id,
        ..NewTicket::new("Invoice", "Wrong amount")
    };
    let t =
        w.hd.create_ticket(&agent.p, in_group(Some(g.id)))
            .await
            .unwrap();
    assert_eq!(t.group_id, g.id);
    expect_err!(
        w.hd.create_ticket(
            &c.p,
            NewTicket {
                group_id: Some(g.id),
                ..NewTicket::new("Mine", "x")
            }
        )
            .await,
        Error::ForbiddenField(f) if f == "group_id"
    );
    expect_err!(
        w.hd.create_ticket(&agent.p, in_group(Some(crate::clock::new_id())))
            .await,
        Error::Validation(f) if f[0].field == "group_id"
    );
    let plain = w.ticket(&c, "Default").await;
    let query = |groups: Option<Vec<uuid::Uuid>>| TicketQuery {
        group_ids: groups,
        limit: 10,
        ..Default::default()
    };
    let ids = |ts: Vec<crate::ticket::Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(w
            .store
            .list_tickets(&query(Some(vec![g.id])))
            .await
            .unwrap()),
        vec![t.id]
    );
    assert_eq!(
        ids(w
            .store
            .list_tickets(&query(Some(vec![support.id])))
            .await
            .unwrap()),
        vec![plain.id]
    );
    assert_eq!(
        w.store
            .list_tickets(&query(Some(vec![g.id, support.id])))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(w.store.list_tickets(&query(None)).await.unwrap().len(), 2);
    assert!(
        w.store
            .list_tickets(&query(Some(vec![])))
            .await
            .unwrap()
            .is_empty()
    );
    // A group holding a ticket is in use; once the ticket is gone it can go.
    expect_err!(w.hd.delete_group(&admin.p, g.id).await, Error::InUse(_));
    w.hd.delete_ticket(&admin.p, t.id).await.unwrap();
    w.hd.delete_group(&admin.p, g.id).await.unwrap();
    // The store refuses a ticket in a group that does not exist.
    let system = Principal::system();
    expect_err!(
        w.hd.create_ticket(&system, in_group(Some(g.id))).await,
        Error::Validation(_)
    );
}
