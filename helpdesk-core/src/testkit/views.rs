//! Views: who uses and who writes each scope (the rules canned replies share), the
//! checks on their input (condition problems at their JSON paths), the limits per owner
//! and global, the list by position, and groups that hold views.

use std::sync::Arc;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::condition::TicketFacts;
use crate::condition::arbitrary::Pools;
use crate::group::{Access, NewGroup};
use crate::ownership::ItemScope;
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{Priority, Ticket, TicketFilter, TicketPatch, TicketSort};
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

/// Every ticket `who` can see, in `sort` order (all pages of the ticket list).
async fn visible(w: &World, who: &Who, sort: TicketSort) -> Vec<Ticket> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_tickets(
                &who.p,
                TicketFilter {
                    sort,
                    cursor,
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Every ticket of a view for `who`, read `per_page` at a time through the cursor.
async fn view_all(w: &World, who: &Who, id: Uuid, per_page: usize) -> Vec<Ticket> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.view_tickets(&who.p, id, cursor, Some(per_page))
                .await
                .unwrap();
        assert!(page.items.len() <= per_page);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// The expected tickets of a view for `who`: those they see that match its filter, in
/// its order.
async fn expected(w: &World, who: &Who, view: &View) -> Vec<Uuid> {
    let now = w.hd.now();
    visible(w, who, view.sort)
        .await
        .into_iter()
        .filter(|t| view.filter.matches(&TicketFacts::of(t, now)))
        .map(|t| t.id)
        .collect()
}

fn ids(tickets: &[Ticket]) -> Vec<Uuid> {
    tickets.iter().map(|t| t.id).collect()
}

/// A helpdesk with two groups (the agent in one), three customers and `n` tickets with
/// varied priority, status, assignee, tags and group (changes the status table refuses
/// are skipped).
struct Fixture {
    w: World,
    admin: Who,
    agent: Who,
    pools: Pools,
}

async fn fixture(store: Arc<dyn Store>, n: usize) -> Fixture {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let billing = billing(&w, &admin, &agent).await;
    let hidden =
        w.hd.create_group(
            &admin.p,
            NewGroup {
                name: "Hidden".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let customers = [w.customer().await, w.customer().await, w.customer().await];
    let tags = ["vip", "billing", "bug"];
    let priorities = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];
    let statuses = [
        StatusCategory::Open,
        StatusCategory::Pending,
        StatusCategory::OnHold,
        StatusCategory::Resolved,
        StatusCategory::Closed,
    ];
    for i in 0..n {
        let t = w
            .ticket(&customers[i % 3], &format!("Ticket {i} about Billing"))
            .await;
        let patch = TicketPatch {
            priority: Some(priorities[i % 4]),
            tags: Some(
                tags.iter()
                    .enumerate()
                    .filter(|(k, _)| (i >> k) & 1 == 1)
                    .map(|(_, t)| t.to_string())
                    .collect(),
            ),
            group_id: match i % 3 {
                0 => None,
                1 => Some(billing),
                _ => Some(hidden),
            },
            ..Default::default()
        };
        w.hd.update_ticket(&admin.p, t.id, patch).await.unwrap();
        let assignee = match i % 4 {
            0 => None,
            1 => Some(admin.id()),
            _ => Some(agent.id()),
        };
        let _ =
            w.hd.update_ticket(
                &admin.p,
                t.id,
                TicketPatch {
                    assignee_id: Some(assignee),
                    ..Default::default()
                },
            )
            .await;
        let _ =
            w.hd.update_ticket(
                &admin.p,
                t.id,
                TicketPatch {
                    status: Some(statuses[(i / 2) % 5].into()),
                    ..Default::default()
                },
            )
            .await;
    }
    let pools = Pools {
        users: [&admin, &agent]
            .into_iter()
            .chain(customers.iter())
            .map(|u| u.id())
            .collect(),
        groups: vec![billing, hidden],
        organizations: vec![],
        tags: tags.iter().map(|t| t.to_string()).collect(),
        words: vec!["Billing".into(), "ticket".into(), "nothing".into()],
    };
    Fixture {
        w,
        admin,
        agent,
        pools,
    }
}

/// A view's tickets are those the caller can see that match its filter, in its sort,
/// paged by the cursor; counts are exact and follow changes at once; a view one may not
/// use: `NotFound`; a bad limit: invalid.
pub async fn view_tickets_respect_visibility_sort_and_cursor(store: Arc<dyn Store>) {
    let f = fixture(store, 24).await;
    let (w, admin, agent) = (&f.w, &f.admin, &f.agent);
    let filter = json!({
        "all": [{"field": "status", "op": "in", "value": ["open", "pending", "on_hold"]}],
        "any": [{"field": "tags", "op": "contains", "value": "vip"},
                {"field": "priority", "op": "gt", "value": "normal"}]
    });
    let v =
        w.hd.create_view(
            &admin.p,
            NewView {
                filter: Some(filter),
                sort: Some(TicketSort::PriorityDesc),
                ..new_view("Hot", ItemScope::Global, None)
            },
        )
        .await
        .unwrap();
    for who in [admin, agent] {
        let want = expected(w, who, &v).await;
        assert!(!want.is_empty());
        for per_page in [1, 2, 5, 200] {
            assert_eq!(ids(&view_all(w, who, v.id, per_page).await), want);
        }
    }
    // The agent sees fewer: the hidden group's tickets are not theirs.
    let (all, theirs) = (expected(w, admin, &v).await, expected(w, agent, &v).await);
    assert!(theirs.len() < all.len());
    assert!(theirs.iter().all(|t| all.contains(t)));

    let counts = w.hd.view_counts(&agent.p).await.unwrap();
    assert_eq!(counts, vec![(v.id, theirs.len() as u64)]);
    let counts = w.hd.view_counts(&admin.p).await.unwrap();
    assert_eq!(counts, vec![(v.id, all.len() as u64)]);
    // A change shows at once.
    let first =
        w.hd.view_tickets(&admin.p, v.id, None, Some(1))
            .await
            .unwrap();
    w.hd.update_ticket(
        &admin.p,
        first.items[0].id,
        TicketPatch {
            status: Some(StatusCategory::Resolved.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let counts = w.hd.view_counts(&admin.p).await.unwrap();
    assert_eq!(counts, vec![(v.id, all.len() as u64 - 1)]);

    let mine = make(w, agent, "mine", ItemScope::Personal, None).await;
    expect_err!(
        w.hd.view_tickets(&admin.p, mine.id, None, None).await,
        Error::NotFound
    );
    assert_eq!(
        field_of(w.hd.view_tickets(&agent.p, mine.id, None, Some(0)).await),
        "limit"
    );
    // `{}`: every visible ticket, newest first.
    assert_eq!(
        ids(&view_all(w, agent, mine.id, 7).await),
        ids(&visible(w, agent, TicketSort::CreatedAtDesc).await)
    );
    let counts = w.hd.view_counts(&agent.p).await.unwrap();
    assert_eq!(counts.len(), 2);
    let customer = w.customer().await;
    expect_err!(w.hd.view_counts(&customer.p).await, Error::Forbidden(_));
    expect_err!(
        w.hd.view_tickets(&customer.p, v.id, None, None).await,
        Error::Forbidden(_)
    );
}

/// The property: for random conditions ([`crate::condition::arbitrary`]) over random
/// tickets on the store under test, a view's pages hold exactly the tickets the caller
/// sees for which [`crate::condition::Condition::matches`] holds, in the view's order,
/// and its count is their number: what the store filters (the pushdown of
/// [`store_query`]) agrees with the in-core evaluator.
pub async fn view_tickets_agree_with_the_evaluator(store: Arc<dyn Store>) {
    let f = fixture(store, 30).await;
    let (w, admin, agent) = (&f.w, &f.admin, &f.agent);
    let strategy = (
        crate::condition::arbitrary::condition(&f.pools),
        proptest::sample::select(TicketSort::ALL.to_vec()),
        1usize..6,
    );
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    for case in 0..64 {
        let (filter, sort, per_page) = strategy.new_tree(&mut runner).unwrap().current();
        let v =
            w.hd.create_view(
                &admin.p,
                NewView {
                    filter: Some(filter.clone()),
                    sort: Some(sort),
                    ..new_view(&format!("case {case}"), ItemScope::Global, None)
                },
            )
            .await
            .unwrap_or_else(|e| panic!("case {case}: {filter}: {e:?}"));
        for who in [admin, agent] {
            let want = expected(w, who, &v).await;
            let got = ids(&view_all(w, who, v.id, per_page).await);
            assert_eq!(got, want, "case {case}: {filter} sorted {sort:?}");
            let counts = w.hd.view_counts(&who.p).await.unwrap();
            assert_eq!(
                counts.iter().find(|(id, _)| *id == v.id).map(|c| c.1),
                Some(want.len() as u64),
                "case {case}: {filter}"
            );
        }
        w.hd.delete_view(&admin.p, v.id).await.unwrap();
    }
}
