//! Canned replies: who uses and who writes each scope, the checks on their input,
//! shortcuts unique across scopes (under concurrency too), the limits per owner and
//! global, the list by shortcut with its filters and cursor, rendering for a ticket, and
//! groups that hold replies.

use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::archive::Record;
use crate::canned_reply::*;
use crate::group::{Access, NewGroup};
use crate::ownership::{ItemScope, ScopeUser};
use crate::store::Store;
use crate::ticket::TicketPatch;
use crate::{Conflict, Error, NameCursor, Principal, StoreError};

fn new_reply(shortcut: &str, scope: ItemScope, group_id: Option<Uuid>) -> NewCannedReply {
    NewCannedReply {
        title: format!("About {shortcut}"),
        shortcut: shortcut.into(),
        body: "Hello {{requester.name}}".into(),
        scope,
        group_id,
    }
}

async fn make(
    w: &World,
    who: &Who,
    shortcut: &str,
    scope: ItemScope,
    group_id: Option<Uuid>,
) -> CannedReply {
    w.hd.create_canned_reply(&who.p, new_reply(shortcut, scope, group_id))
        .await
        .unwrap_or_else(|e| panic!("create {shortcut}: {e:?}"))
}

/// The shortcuts of every canned reply `p` may use, in list order.
async fn usable(w: &World, p: &Principal) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_canned_replies(
                p,
                CannedReplyFilter {
                    cursor,
                    limit: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.items.into_iter().map(|r| r.shortcut));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
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

/// Personal replies are their owner's alone (admins included: 404 for others); group
/// replies the group's members' at any level and admins'; global ones all staff's. A
/// membership's end hides the group's replies at once. Customers: `Forbidden` on every
/// operation.
pub async fn scopes_decide_who_uses_a_reply(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (member, outsider) = (w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let group = billing(&w, &admin, &member).await;
    let mine = make(&w, &member, "mine", ItemScope::Personal, None).await;
    let team = make(&w, &admin, "team", ItemScope::Group, Some(group)).await;
    let all = make(&w, &admin, "all", ItemScope::Global, None).await;
    let boss = make(&w, &admin, "boss", ItemScope::Personal, None).await;
    assert_eq!(
        (mine.owner_id, team.owner_id, team.group_id),
        (Some(member.id()), Some(admin.id()), Some(group))
    );

    assert_eq!(usable(&w, &member.p).await, ["all", "mine", "team"]);
    assert_eq!(usable(&w, &outsider.p).await, ["all"]);
    assert_eq!(usable(&w, &admin.p).await, ["all", "boss", "team"]);
    for (who, r, sees) in [
        (&member, &mine, true),
        (&member, &team, true),
        (&member, &boss, false),
        (&outsider, &mine, false),
        (&outsider, &team, false),
        (&outsider, &all, true),
        (&admin, &mine, false),
        (&admin, &team, true),
    ] {
        let got = w.hd.get_canned_reply(&who.p, r.id).await;
        if sees {
            assert_eq!(&got.unwrap(), r);
        } else {
            expect_err!(got, Error::NotFound);
        }
    }
    expect_err!(
        w.hd.get_canned_reply(&admin.p, Uuid::now_v7()).await,
        Error::NotFound
    );

    w.hd.remove_membership(&admin.p, group, member.id())
        .await
        .unwrap();
    assert_eq!(usable(&w, &member.p).await, ["all", "mine"]);
    expect_err!(
        w.hd.get_canned_reply(&member.p, team.id).await,
        Error::NotFound
    );

    let c = &customer.p;
    expect_err!(
        w.hd.list_canned_replies(c, CannedReplyFilter::default())
            .await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.get_canned_reply(c, all.id).await, Error::Forbidden(_));
    expect_err!(
        w.hd.create_canned_reply(c, new_reply("mine2", ItemScope::Personal, None))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.update_canned_reply(c, all.id, CannedReplyPatch::default())
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.delete_canned_reply(c, all.id).await,
        Error::Forbidden(_)
    );
    let t = w.ticket(&customer, "Help").await;
    expect_err!(
        w.hd.render_canned_reply(c, all.id, t.id).await,
        Error::Forbidden(_)
    );
}

/// Writes: personal replies by their owner, group replies by the group's members (any
/// level) and admins, global ones by admins (an agent: `Forbidden`, to create, change
/// or delete one). ItemScope, group and owner stay; `updated_at` moves with a change, and
/// only then. Canned replies write no events.
pub async fn scopes_decide_who_writes_a_reply(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (member, outsider) = (w.agent().await, w.agent().await);
    let group = billing(&w, &admin, &member).await;
    let before = w.last_event().await;

    expect_err!(
        w.hd.create_canned_reply(&member.p, new_reply("g", ItemScope::Global, None))
            .await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_canned_reply(&outsider.p, new_reply("t", ItemScope::Group, Some(group)))
            .await,
        Error::Forbidden(_)
    );
    let mine = make(&w, &member, "mine", ItemScope::Personal, None).await;
    let team = make(&w, &member, "team", ItemScope::Group, Some(group)).await;
    let all = make(&w, &admin, "all", ItemScope::Global, None).await;
    let theirs = make(&w, &admin, "theirs", ItemScope::Group, Some(group)).await;

    // A member (at `read`) changes an admin's group reply; the owner stays.
    w.tick();
    let changed =
        w.hd.update_canned_reply(
            &member.p,
            theirs.id,
            CannedReplyPatch {
                title: Some("Renamed".into()),
                body: Some("New {{agent.name}}".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        changed,
        CannedReply {
            title: "Renamed".into(),
            body: "New {{agent.name}}".into(),
            updated_at: w.hd.now(),
            ..theirs.clone()
        }
    );
    assert_eq!(
        w.hd.get_canned_reply(&admin.p, theirs.id).await.unwrap(),
        changed
    );
    // Nothing to change: `updated_at` stays.
    w.tick();
    let same =
        w.hd.update_canned_reply(
            &member.p,
            theirs.id,
            CannedReplyPatch {
                title: Some(" Renamed ".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(same, changed);

    // Global: admins only.
    let patch = || CannedReplyPatch {
        title: Some("x".into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_canned_reply(&member.p, all.id, patch()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.delete_canned_reply(&member.p, all.id).await,
        Error::Forbidden(_)
    );
    w.hd.update_canned_reply(&admin.p, all.id, patch())
        .await
        .unwrap();
    // Not usable: not writable either, and not found.
    for (who, r) in [(&outsider, &team), (&outsider, &mine), (&admin, &mine)] {
        expect_err!(
            w.hd.update_canned_reply(&who.p, r.id, patch()).await,
            Error::NotFound
        );
        expect_err!(
            w.hd.delete_canned_reply(&who.p, r.id).await,
            Error::NotFound
        );
    }
    // An admin demoted since their principal was made writes no global reply.
    let former = w.admin().await;
    w.hd.update_user(
        &admin.p,
        former.id(),
        crate::user::UserPatch {
            role: Some(crate::Role::Agent),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    expect_err!(
        w.hd.delete_canned_reply(&former.p, all.id).await,
        Error::Forbidden(_)
    );

    w.hd.delete_canned_reply(&member.p, mine.id).await.unwrap();
    expect_err!(
        w.hd.get_canned_reply(&member.p, mine.id).await,
        Error::NotFound
    );
    expect_err!(
        w.hd.delete_canned_reply(&member.p, mine.id).await,
        Error::NotFound
    );
    w.hd.delete_canned_reply(&admin.p, team.id).await.unwrap();
    w.hd.delete_canned_reply(&admin.p, all.id).await.unwrap();
    let events = w.event_kinds_after(before).await;
    assert!(events.is_empty(), "{events:?}");
}

/// Titles 1..=100 characters (trimmed), shortcuts `^[a-z0-9_-]{1,32}$`, bodies
/// 1..=32,000 characters of text with known placeholders only, `group_id` exactly for
/// group replies and naming a group: else invalid, naming the field, and nothing is
/// stored.
pub async fn input_is_checked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let group = billing(&w, &admin, &agent).await;
    let create = |input: NewCannedReply| w.hd.create_canned_reply(&agent.p, input);
    let base = || new_reply("ok", ItemScope::Personal, None);
    let cases: Vec<(NewCannedReply, &str)> = vec![
        (
            NewCannedReply {
                title: "  ".into(),
                ..base()
            },
            "title",
        ),
        (
            NewCannedReply {
                title: "é".repeat(101),
                ..base()
            },
            "title",
        ),
        (
            NewCannedReply {
                title: "bell\u{7}".into(),
                ..base()
            },
            "title",
        ),
        (
            NewCannedReply {
                shortcut: "Hello".into(),
                ..base()
            },
            "shortcut",
        ),
        (
            NewCannedReply {
                shortcut: "".into(),
                ..base()
            },
            "shortcut",
        ),
        (
            NewCannedReply {
                shortcut: "s".repeat(33),
                ..base()
            },
            "shortcut",
        ),
        (
            NewCannedReply {
                shortcut: "a b".into(),
                ..base()
            },
            "shortcut",
        ),
        (
            NewCannedReply {
                body: " \n\t".into(),
                ..base()
            },
            "body",
        ),
        (
            NewCannedReply {
                body: "é".repeat(32_001),
                ..base()
            },
            "body",
        ),
        (
            NewCannedReply {
                body: "Dear {{customer.name}}".into(),
                ..base()
            },
            "body",
        ),
        (
            NewCannedReply {
                body: "nul\u{0}".into(),
                ..base()
            },
            "body",
        ),
        (new_reply("g", ItemScope::Group, None), "group_id"),
        (new_reply("p", ItemScope::Personal, Some(group)), "group_id"),
        (
            new_reply("u", ItemScope::Group, Some(Uuid::now_v7())),
            "group_id",
        ),
    ];
    for (input, field) in cases {
        assert_eq!(field_of(create(input.clone()).await), field, "{input:?}");
    }
    // An admin naming a group for a global reply: invalid too.
    assert_eq!(
        field_of(
            w.hd.create_canned_reply(&admin.p, new_reply("x", ItemScope::Global, Some(group)))
                .await
        ),
        "group_id"
    );
    assert!(usable(&w, &agent.p).await.is_empty());

    let longest = create(NewCannedReply {
        title: format!("  {}  ", "é".repeat(100)),
        shortcut: "z".repeat(32),
        body: format!("{{{{ ticket.number }}}}{}", "é".repeat(32_000 - 19)),
        ..base()
    })
    .await
    .unwrap();
    assert_eq!(longest.title, "é".repeat(100));
    assert_eq!(longest.body.chars().count(), 32_000);
    for (patch, field) in [
        (
            CannedReplyPatch {
                title: Some("".into()),
                ..Default::default()
            },
            "title",
        ),
        (
            CannedReplyPatch {
                shortcut: Some("UPPER".into()),
                ..Default::default()
            },
            "shortcut",
        ),
        (
            CannedReplyPatch {
                body: Some("{{ ticket.id }}".into()),
                ..Default::default()
            },
            "body",
        ),
    ] {
        assert_eq!(
            field_of(w.hd.update_canned_reply(&agent.p, longest.id, patch).await),
            field
        );
    }
    assert_eq!(
        w.hd.get_canned_reply(&agent.p, longest.id).await.unwrap(),
        longest
    );
}

/// A shortcut is unique across every scope, whoever can see the other reply: creating
/// or renaming onto a taken one is `ShortcutTaken`, and of concurrent creators of one
/// shortcut exactly one wins. A deleted reply frees its shortcut.
pub async fn shortcuts_are_unique_across_scopes(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (a, b) = (w.agent().await, w.agent().await);
    let group = billing(&w, &admin, &b).await;
    let hello = make(&w, &a, "hello", ItemScope::Personal, None).await;
    for (who, scope, g) in [
        (&b, ItemScope::Personal, None),
        (&b, ItemScope::Group, Some(group)),
        (&admin, ItemScope::Global, None),
    ] {
        expect_err!(
            w.hd.create_canned_reply(&who.p, new_reply("hello", scope, g))
                .await,
            Error::ShortcutTaken
        );
    }
    let other = make(&w, &b, "other", ItemScope::Group, Some(group)).await;
    let rename = |s: &str| CannedReplyPatch {
        shortcut: Some(s.into()),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_canned_reply(&b.p, other.id, rename("hello"))
            .await,
        Error::ShortcutTaken
    );
    // Its own shortcut is no conflict; a free one is taken over.
    w.hd.update_canned_reply(&a.p, hello.id, rename("hello"))
        .await
        .unwrap();
    w.tick();
    w.hd.update_canned_reply(&a.p, hello.id, rename("hi"))
        .await
        .unwrap();
    make(&w, &b, "hello", ItemScope::Personal, None).await;
    w.hd.delete_canned_reply(&b.p, other.id).await.unwrap();
    make(&w, &admin, "other", ItemScope::Global, None).await;

    // Concurrent creators of one shortcut, in every scope: one wins.
    let mut tasks = Vec::new();
    for n in 0..9 {
        let (hd, who) = (w.hd.clone(), [&a, &b, &admin][n % 3].p);
        let input = match n % 3 {
            0 => new_reply("race", ItemScope::Personal, None),
            1 => new_reply("race", ItemScope::Group, Some(group)),
            _ => new_reply("race", ItemScope::Global, None),
        };
        tasks.push(tokio::spawn(async move {
            hd.create_canned_reply(&who, input).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::ShortcutTaken) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    // Concurrent renames onto one free shortcut: one wins.
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(
            make(&w, &a, &format!("r{n}"), ItemScope::Personal, None)
                .await
                .id,
        );
    }
    let mut tasks = Vec::new();
    for id in ids {
        let (hd, p) = (w.hd.clone(), a.p);
        tasks.push(tokio::spawn(async move {
            hd.update_canned_reply(&p, id, rename("renamed")).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(Error::ShortcutTaken) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let page =
        w.hd.list_canned_replies(
            &a.p,
            CannedReplyFilter {
                shortcut: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

/// Replies of `owner` (`None`: global) made as an archive would bring them.
async fn import(w: &World, owner: &Who, scope: ItemScope, group: Option<Uuid>, n: usize) {
    let records: Vec<Record> = (0..n)
        .map(|i| {
            Record::CannedReply(CannedReply {
                id: crate::clock::new_id(),
                title: format!("Imported {i}"),
                shortcut: format!(
                    "{}-{}-{i}",
                    &scope.as_str()[..1],
                    &owner.id().simple().to_string()[24..]
                ),
                body: "x".into(),
                scope,
                group_id: group,
                owner_id: Some(owner.id()),
                created_at: w.hd.now(),
                updated_at: w.hd.now(),
            })
        })
        .collect();
    for chunk in records.chunks(500) {
        w.store.import_records(chunk).await.unwrap();
    }
}

/// At most 1,000 personal and group replies per owner, together, and 1,000 global ones:
/// one more is invalid (`scope`), and a deletion makes room. Imported replies count.
pub async fn limits_per_owner_and_global(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (full, other) = (w.agent().await, w.agent().await);
    let group = billing(&w, &admin, &full).await;
    import(&w, &full, ItemScope::Personal, None, 500).await;
    import(
        &w,
        &full,
        ItemScope::Group,
        Some(group),
        MAX_PER_OWNER - 501,
    )
    .await;
    let last = make(&w, &full, "last", ItemScope::Personal, None).await;
    for (scope, g) in [(ItemScope::Personal, None), (ItemScope::Group, Some(group))] {
        assert_eq!(
            field_of(
                w.hd.create_canned_reply(&full.p, new_reply("over", scope, g))
                    .await
            ),
            "scope"
        );
    }
    // Another owner, and the global replies, count apart.
    make(&w, &other, "others", ItemScope::Personal, None).await;
    make(&w, &admin, "global-1", ItemScope::Global, None).await;
    w.hd.delete_canned_reply(&full.p, last.id).await.unwrap();
    make(&w, &full, "again", ItemScope::Group, Some(group)).await;

    import(&w, &admin, ItemScope::Global, None, MAX_GLOBAL - 2).await;
    let g = make(&w, &admin, "global-last", ItemScope::Global, None).await;
    assert_eq!(
        field_of(
            w.hd.create_canned_reply(&admin.p, new_reply("over", ItemScope::Global, None))
                .await
        ),
        "scope"
    );
    make(&w, &admin, "admins-own", ItemScope::Personal, None).await;
    w.hd.delete_canned_reply(&admin.p, g.id).await.unwrap();
    make(&w, &admin, "global-again", ItemScope::Global, None).await;
}

/// The store counts a limit inside the insert: concurrent inserts never pass it.
pub async fn store_limits_hold_under_concurrency(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let agent = w.agent().await;
    let reply = |n: usize, scope: ItemScope| CannedReply {
        id: crate::clock::new_id(),
        title: "t".into(),
        shortcut: format!("{}-{n}", scope.as_str()),
        body: "b".into(),
        scope,
        group_id: None,
        owner_id: Some(agent.id()),
        created_at: w.hd.now(),
        updated_at: w.hd.now(),
    };
    let mut tasks = Vec::new();
    for n in 0..24 {
        let scope = if n % 2 == 0 {
            ItemScope::Personal
        } else {
            ItemScope::Global
        };
        let (store, r) = (store.clone(), reply(n, scope));
        tasks.push(tokio::spawn(async move {
            (scope, store.insert_canned_reply(&r, 5).await.unwrap())
        }));
    }
    let (mut personal, mut global) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            (ItemScope::Personal, true) => personal += 1,
            (_, true) => global += 1,
            _ => {}
        }
    }
    assert_eq!((personal, global), (5, 5));
}

/// The list: the caller's usable replies by shortcut (byte order), a shortcut prefix
/// compared case-insensitively, a scope, pages that walk every reply once.
pub async fn list_filters_orders_and_pages(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (agent, other) = (w.agent().await, w.agent().await);
    let group = billing(&w, &admin, &agent).await;
    make(&w, &agent, "b-thanks", ItemScope::Personal, None).await;
    make(&w, &agent, "ab", ItemScope::Group, Some(group)).await;
    make(&w, &admin, "a_bye", ItemScope::Global, None).await;
    make(&w, &agent, "a-hello", ItemScope::Personal, None).await;
    make(&w, &admin, "c1", ItemScope::Global, None).await;
    make(&w, &other, "a-other", ItemScope::Personal, None).await;
    let list = |shortcut: Option<&str>, scope: Option<ItemScope>| {
        let p = agent.p;
        let hd = w.hd.clone();
        let shortcut = shortcut.map(String::from);
        async move {
            hd.list_canned_replies(
                &p,
                CannedReplyFilter {
                    shortcut,
                    scope,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.shortcut)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(None, None).await,
        ["a-hello", "a_bye", "ab", "b-thanks", "c1"]
    );
    assert_eq!(list(Some("A"), None).await, ["a-hello", "a_bye", "ab"]);
    assert_eq!(list(Some(" AB "), None).await, ["ab"]);
    assert_eq!(list(Some("a-"), None).await, ["a-hello"]);
    assert!(list(Some("zz"), None).await.is_empty());
    assert!(list(Some("ä"), None).await.is_empty());
    assert_eq!(list(Some("  "), None).await.len(), 5);
    assert_eq!(list(None, Some(ItemScope::Global)).await, ["a_bye", "c1"]);
    assert_eq!(
        list(Some("a"), Some(ItemScope::Personal)).await,
        ["a-hello"]
    );
    assert_eq!(list(None, Some(ItemScope::Group)).await, ["ab"]);

    // Pages of two walk every reply once; the cursor's shortcut need not exist.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_canned_replies(
                &agent.p,
                CannedReplyFilter {
                    cursor: cursor.clone(),
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|r| r.shortcut));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["a-hello", "a_bye", "ab", "b-thanks", "c1"]);
    let after =
        w.hd.list_canned_replies(
            &agent.p,
            CannedReplyFilter {
                cursor: Some(NameCursor::new("aa", Uuid::nil())),
                shortcut: Some("a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let after: Vec<String> = after.items.into_iter().map(|r| r.shortcut).collect();
    assert_eq!(after, ["ab"]);
    let past =
        w.hd.list_canned_replies(
            &agent.p,
            CannedReplyFilter {
                cursor: Some(NameCursor::new("b", Uuid::nil())),
                shortcut: Some("a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(past.items.is_empty() && past.next_cursor.is_none());
    for bad in [Some(0), Some(201)] {
        assert_eq!(
            field_of(
                w.hd.list_canned_replies(
                    &agent.p,
                    CannedReplyFilter {
                        limit: bad,
                        ..Default::default()
                    }
                )
                .await
            ),
            "limit"
        );
    }
    assert_eq!(
        field_of(
            w.hd.list_canned_replies(
                &agent.p,
                CannedReplyFilter {
                    shortcut: Some("a\u{1}".into()),
                    ..Default::default()
                }
            )
            .await
        ),
        "shortcut"
    );
}

/// Rendering fills the placeholders (spaces inside allowed) with the ticket's number
/// and subject, its requester's name and the caller's name, as plain text (a value is
/// not read again). A ticket the caller cannot see, or none: invalid (`ticket_id`); a
/// reply the caller may not use: `NotFound`. Members at `read` render.
pub async fn render_fills_placeholders(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let (member, outsider) = (w.agent().await, w.agent().await);
    let customer = w.customer().await;
    let group = billing(&w, &admin, &member).await;
    let reply =
        w.hd.create_canned_reply(
            &admin.p,
            NewCannedReply {
                body: "Hi {{ requester.name }}, #{{ticket.number}} ({{ticket.subject}}) is \
                       fixed. {{agent.name  }}"
                    .into(),
                ..new_reply("fixed", ItemScope::Global, None)
            },
        )
        .await
        .unwrap();
    w.ticket(&customer, "First").await;
    let t = w.ticket(&customer, "Printer {{agent.name}} on fire").await;
    w.hd.update_ticket(
        &admin.p,
        t.id,
        TicketPatch {
            group_id: Some(group),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got =
        w.hd.render_canned_reply(&member.p, reply.id, t.id)
            .await
            .unwrap();
    assert_eq!(
        got,
        format!(
            "Hi {}, #2 (Printer {{{{agent.name}}}} on fire) is fixed. {}",
            customer.user.name, member.user.name
        )
    );
    let by_admin =
        w.hd.render_canned_reply(&admin.p, reply.id, t.id)
            .await
            .unwrap();
    assert!(by_admin.ends_with(&admin.user.name), "{by_admin}");
    // The outsider sees the reply but not the ticket.
    for ticket in [t.id, Uuid::now_v7()] {
        assert_eq!(
            field_of(
                w.hd.render_canned_reply(&outsider.p, reply.id, ticket)
                    .await
            ),
            "ticket_id"
        );
    }
    let private = make(&w, &member, "private", ItemScope::Personal, None).await;
    expect_err!(
        w.hd.render_canned_reply(&admin.p, private.id, t.id).await,
        Error::NotFound
    );
    assert_eq!(
        w.hd.render_canned_reply(&member.p, private.id, t.id)
            .await
            .unwrap(),
        format!("Hello {}", customer.user.name)
    );
}

/// A group holding group canned replies cannot be deleted (`InUse`) until they are; a
/// reply made into a group deleted meanwhile is refused by the store (`NotFound`).
pub async fn groups_holding_canned_replies_are_in_use(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let admin = w.admin().await;
    let member = w.agent().await;
    let group = billing(&w, &admin, &member).await;
    let r = make(&w, &member, "team", ItemScope::Group, Some(group)).await;
    expect_err!(w.hd.delete_group(&admin.p, group).await, Error::InUse(_));
    w.hd.delete_canned_reply(&member.p, r.id).await.unwrap();
    w.hd.delete_group(&admin.p, group).await.unwrap();
    let late = CannedReply {
        id: crate::clock::new_id(),
        shortcut: "late".into(),
        ..r
    };
    expect_err!(
        store.insert_canned_reply(&late, MAX_PER_OWNER).await,
        StoreError::NotFound
    );
    assert_eq!(
        field_of(
            w.hd.create_canned_reply(&admin.p, new_reply("late", ItemScope::Group, Some(group)))
                .await
        ),
        "group_id"
    );
}

/// The store's canned replies: round trip, updates keep scope, group, owner and
/// creation, unknown ids, taken shortcuts and ids.
pub async fn store_canned_replies_round_trip(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let agent = w.agent().await;
    let r = CannedReply {
        id: crate::clock::new_id(),
        title: "Title".into(),
        shortcut: "one".into(),
        body: "Body {{ticket.subject}}".into(),
        scope: ItemScope::Personal,
        group_id: None,
        owner_id: Some(agent.id()),
        created_at: w.hd.now(),
        updated_at: w.hd.now(),
    };
    assert!(store.insert_canned_reply(&r, 10).await.unwrap());
    assert_eq!(store.get_canned_reply(r.id).await.unwrap(), Some(r.clone()));
    let two = CannedReply {
        id: crate::clock::new_id(),
        shortcut: "two".into(),
        ..r.clone()
    };
    assert!(store.insert_canned_reply(&two, 10).await.unwrap());
    expect_err!(
        store
            .insert_canned_reply(
                &CannedReply {
                    id: crate::clock::new_id(),
                    ..r.clone()
                },
                10
            )
            .await,
        StoreError::Conflict(Conflict::Shortcut)
    );
    expect_err!(
        store
            .insert_canned_reply(
                &CannedReply {
                    shortcut: "three".into(),
                    ..r.clone()
                },
                10
            )
            .await,
        StoreError::Conflict(Conflict::Unique)
    );
    w.tick();
    let changed = CannedReply {
        title: "New".into(),
        shortcut: "uno".into(),
        body: "New body".into(),
        updated_at: w.hd.now(),
        ..r.clone()
    };
    // Fixed fields are kept as stored whatever the update says.
    store
        .update_canned_reply(&CannedReply {
            scope: ItemScope::Global,
            owner_id: None,
            created_at: w.hd.now(),
            ..changed.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.get_canned_reply(r.id).await.unwrap(),
        Some(changed.clone())
    );
    // The old shortcut is free, the new one taken.
    let reuse = CannedReply {
        id: crate::clock::new_id(),
        ..r.clone()
    };
    assert!(store.insert_canned_reply(&reuse, 10).await.unwrap());
    expect_err!(
        store
            .update_canned_reply(&CannedReply {
                shortcut: "uno".into(),
                ..two.clone()
            })
            .await,
        StoreError::Conflict(Conflict::Shortcut)
    );
    expect_err!(
        store
            .update_canned_reply(&CannedReply {
                id: Uuid::now_v7(),
                shortcut: "nobody".into(),
                ..r.clone()
            })
            .await,
        StoreError::NotFound
    );
    assert!(store.delete_canned_reply(r.id).await.unwrap());
    assert!(!store.delete_canned_reply(r.id).await.unwrap());
    assert_eq!(store.get_canned_reply(r.id).await.unwrap(), None);
    let q = CannedReplyQuery {
        user: ScopeUser {
            user_id: agent.id(),
            admin: false,
            groups: vec![],
        },
        shortcut_prefix: None,
        scope: None,
        cursor: None,
        limit: 10,
    };
    let listed: Vec<String> = store
        .list_canned_replies(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.shortcut)
        .collect();
    assert_eq!(listed, ["one", "two"]);
    // A full page plus one tells that there is more.
    let q = CannedReplyQuery { limit: 1, ..q };
    assert_eq!(store.list_canned_replies(&q).await.unwrap().len(), 2);
}
