//! Views: who uses and who writes each scope (the rules canned replies share), the
//! checks on their input (condition problems at their JSON paths), the limits per owner
//! and global, the list by position, and groups that hold views.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::group::{Access, NewGroup};
use crate::ownership::ItemScope;
use crate::store::Store;
use crate::ticket::TicketSort;
use crate::view::*;
use crate::{Error, StoreError};

fn new_view(name: &str, scope: ItemScope, group_id: Option<Uuid>) -> NewView {
    NewView {
        name: name.into(),
        scope,
        group_id,
        filter: None,
        sort: None,
        position: None,
    }
}

async fn make(w: &World, who: &Who, name: &str, scope: ItemScope, group_id: Option<Uuid>) -> View {
    w.hd.create_view(&who.p, new_view(name, scope, group_id))
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
}

/// The names of every view `who` may use, in list order.
async fn usable(w: &World, who: &Who) -> Vec<String> {
    w.hd.list_views(&who.p)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

/// The field a validation error names.
fn field_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    match r {
        Err(Error::Validation(f)) => f[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A second group with `member` in it at `read`.
async fn billing(w: &World, admin: &Who, member: &Who) -> Uuid {
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
    w.hd.put_membership(&admin.p, g.id, member.id(), Access::Read)
        .await
        .unwrap();
    g.id
}

/// Personal views are their owner's alone; group views the group's members' and
/// admins'; global ones all staff's. Writing: global needs an admin, group a member or
/// an admin. Customers: `Forbidden` on every operation; a view one may not use:
/// `NotFound`.
pub async fn view_scopes_decide_use_and_write(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (member, outsider) = (w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let group = billing(&w, &admin, &member).await;

    let mine = make(&w, &member, "mine", ItemScope::Personal, None).await;
    let team = make(&w, &member, "team", ItemScope::Group, Some(group)).await;
    let all = make(&w, &admin, "all", ItemScope::Global, None).await;
    assert_eq!(mine.owner_id, Some(member.id()));
    assert_eq!((mine.position, team.position), (0, 1));

    assert_eq!(usable(&w, &member).await, ["mine", "team", "all"]);
    assert_eq!(usable(&w, &outsider).await, ["all"]);
    assert_eq!(usable(&w, &admin).await, ["team", "all"]);
    expect_err!(w.hd.get_view(&outsider.p, mine.id).await, Error::NotFound);
    expect_err!(w.hd.get_view(&admin.p, mine.id).await, Error::NotFound);
    expect_err!(w.hd.get_view(&outsider.p, team.id).await, Error::NotFound);
    assert_eq!(w.hd.get_view(&admin.p, team.id).await.unwrap(), team);

    expect_err!(
        w.hd.create_view(&outsider.p, new_view("x", ItemScope::Global, None))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_view(&outsider.p, new_view("x", ItemScope::Group, Some(group)))
            .await,
        Error::Forbidden(_)
    );
    let patch = ViewPatch {
        name: Some("renamed".into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_view(&member.p, all.id, patch.clone()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.update_view(&outsider.p, team.id, patch.clone()).await,
        Error::NotFound
    );
    let renamed = w.hd.update_view(&admin.p, team.id, patch).await.unwrap();
    assert_eq!(renamed.name, "renamed");
    assert_eq!(w.hd.get_view(&member.p, team.id).await.unwrap(), renamed);
    expect_err!(
        w.hd.delete_view(&member.p, all.id).await,
        Error::Forbidden(_)
    );

    expect_err!(w.hd.list_views(&customer.p).await, Error::Forbidden(_));
    expect_err!(
        w.hd.create_view(&customer.p, new_view("x", ItemScope::Personal, None))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.get_view(&customer.p, all.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.delete_view(&customer.p, all.id).await,
        Error::Forbidden(_)
    );

    // The membership's end hides the group's views at once.
    w.hd.remove_membership(&admin.p, group, member.id())
        .await
        .unwrap();
    assert_eq!(usable(&w, &member).await, ["mine", "all"]);

    w.hd.delete_view(&member.p, mine.id).await.unwrap();
    expect_err!(w.hd.get_view(&member.p, mine.id).await, Error::NotFound);
    expect_err!(w.hd.delete_view(&member.p, mine.id).await, Error::NotFound);
}

/// Names, positions, group ids and filters are checked; a filter's problems are at its
/// JSON paths, ids it names must exist; defaults are `{}` and `-created_at`.
pub async fn view_input_is_checked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let with = |f: fn(&mut NewView)| {
        let mut v = new_view("v", ItemScope::Personal, None);
        f(&mut v);
        v
    };
    for (input, field) in [
        (with(|v| v.name = " ".into()), "name"),
        (with(|v| v.name = "n".repeat(101)), "name"),
        (with(|v| v.position = Some(-1)), "position"),
        (with(|v| v.group_id = Some(Uuid::nil())), "group_id"),
        (with(|v| v.scope = ItemScope::Group), "group_id"),
        (
            with(|v| {
                v.filter =
                    Some(json!({"all": [{"field": "priority", "op": "contains", "value": "high"}]}))
            }),
            "filter.all[0].op",
        ),
        (
            with(|v| {
                v.filter = Some(
                    json!({"any": [{"field": "status", "op": "eq", "value": "open"}, {"field": "group_id", "op": "eq", "value": Uuid::nil()}]}),
                )
            }),
            "filter.any[1].value",
        ),
    ] {
        assert_eq!(field_of(w.hd.create_view(&agent.p, input).await), field);
    }
    assert_eq!(
        field_of(
            w.hd.create_view(&admin.p, new_view("g", ItemScope::Group, Some(Uuid::nil())))
                .await
        ),
        "group_id"
    );
    let v = make(&w, &agent, "  Defaults ", ItemScope::Personal, None).await;
    assert_eq!(v.name, "Defaults");
    assert!(v.filter.is_empty());
    assert_eq!(v.sort, TicketSort::CreatedAtDesc);
    let filter = json!({"all": [{"field": "priority", "op": "eq", "value": "high"}]});
    let v =
        w.hd.create_view(
            &agent.p,
            NewView {
                filter: Some(filter.clone()),
                sort: Some(TicketSort::Priority),
                position: Some(7),
                ..new_view("High", ItemScope::Personal, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(v.filter.to_json(), filter);
    assert_eq!((v.sort, v.position), (TicketSort::Priority, 7));
    assert_eq!(w.hd.get_view(&agent.p, v.id).await.unwrap(), v);
    assert_eq!(
        field_of(
            w.hd.update_view(
                &agent.p,
                v.id,
                ViewPatch {
                    filter: Some(json!({"all": [{"field": "nope", "op": "eq", "value": 1}]})),
                    ..Default::default()
                }
            )
            .await
        ),
        "filter.all[0].field"
    );
    // Positions and ids order the list.
    assert_eq!(usable(&w, &agent).await, ["Defaults", "High"]);
    let moved =
        w.hd.update_view(
            &agent.p,
            v.id,
            ViewPatch {
                position: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.position, 0);
    // Both at 0 now: by id.
    assert_eq!(usable(&w, &agent).await, ["Defaults", "High"]);
}

/// At most [`MAX_PER_OWNER`] personal and group views per owner, [`MAX_GLOBAL`] global
/// ones: invalid above; deleting one makes room.
pub async fn view_limits_per_owner_and_global(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let mut last = None;
    for i in 0..MAX_PER_OWNER {
        last = Some(make(&w, &agent, &format!("v{i}"), ItemScope::Personal, None).await);
    }
    assert_eq!(
        field_of(
            w.hd.create_view(&agent.p, new_view("over", ItemScope::Personal, None))
                .await
        ),
        "scope"
    );
    // Another owner, and the global ones, count apart.
    make(&w, &admin, "admin's", ItemScope::Personal, None).await;
    for i in 0..MAX_GLOBAL {
        make(&w, &admin, &format!("g{i}"), ItemScope::Global, None).await;
    }
    assert_eq!(
        field_of(
            w.hd.create_view(&admin.p, new_view("over", ItemScope::Global, None))
                .await
        ),
        "scope"
    );
    w.hd.delete_view(&agent.p, last.unwrap().id).await.unwrap();
    make(&w, &agent, "again", ItemScope::Personal, None).await;
}

/// A group holding a view is in use; a view insert naming a missing group: `NotFound`.
pub async fn groups_holding_views_are_in_use(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let member = w.agent().await;
    let group = billing(&w, &admin, &member).await;
    let v = make(&w, &member, "team", ItemScope::Group, Some(group)).await;
    expect_err!(w.hd.delete_group(&admin.p, group).await, Error::InUse(_));
    w.hd.delete_view(&member.p, v.id).await.unwrap();
    w.hd.delete_group(&admin.p, group).await.unwrap();
    let late = View {
        id: crate::clock::new_id(),
        ..v
    };
    expect_err!(
        store.insert_view(&late, MAX_PER_OWNER).await,
        StoreError::NotFound
    );
}

/// The store keeps every field of a view, and an update changes only the mutable ones.
pub async fn store_views_round_trip(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let agent = w.agent().await;
    let v =
        w.hd.create_view(
            &agent.p,
            NewView {
                filter: Some(json!({
                    "all": [{"field": "status", "op": "in", "value": ["open", "pending"]}],
                    "any": [{"field": "tags", "op": "contains", "value": "vip"},
                            {"field": "assignee_id", "op": "is_not_set"}]
                })),
                sort: Some(TicketSort::UpdatedAtDesc),
                ..new_view("Round", ItemScope::Personal, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(store.get_view(v.id).await.unwrap().unwrap(), v);
    let changed = View {
        name: "Changed".into(),
        scope: ItemScope::Global,
        owner_id: None,
        position: 9,
        sort: TicketSort::CreatedAt,
        updated_at: v.updated_at + chrono::Duration::seconds(1),
        ..v.clone()
    };
    store.update_view(&changed).await.unwrap();
    let back = store.get_view(v.id).await.unwrap().unwrap();
    assert_eq!(
        back,
        View {
            scope: v.scope,
            owner_id: v.owner_id,
            ..changed.clone()
        }
    );
    expect_err!(
        store
            .update_view(&View {
                id: Uuid::now_v7(),
                ..changed
            })
            .await,
        StoreError::NotFound
    );
    assert!(store.delete_view(v.id).await.unwrap());
    assert!(!store.delete_view(v.id).await.unwrap());
    assert_eq!(store.get_view(v.id).await.unwrap(), None);
}
