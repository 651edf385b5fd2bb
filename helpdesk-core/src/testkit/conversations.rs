//! Conversations: direct pairs, groups and their membership, who may talk with whom,
//! ticket conversations for staff, and the list by latest activity.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::conversation::ConversationFilter;
use crate::conversation::{Conversation, ConversationKind, Member, NewConversation};
use crate::event::Effects;
use crate::store::Store;
use crate::{Error, Principal};

fn direct_to(other: &Who) -> NewConversation {
    NewConversation {
        kind: ConversationKind::Direct,
        title: None,
        member_ids: vec![other.id()],
    }
}

fn group_with(title: &str, others: &[&Who]) -> NewConversation {
    NewConversation {
        kind: ConversationKind::Group,
        title: Some(title.to_string()),
        member_ids: others.iter().map(|w| w.id()).collect(),
    }
}

async fn listed(w: &World, p: &Principal, kind: Option<ConversationKind>) -> Vec<Uuid> {
    w.hd.list_conversations(
        p,
        ConversationFilter {
            kind,
            limit: Some(200),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .map(|v| v.conversation.id)
    .collect()
}

/// Starting a direct conversation with the same person again, from either side, answers
/// the existing one.
pub async fn direct_is_idempotent(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let (first, created) = w.hd.create_conversation(&c.p, direct_to(&a)).await.unwrap();
    assert!(created);
    assert_eq!(first.conversation.kind, ConversationKind::Direct);
    assert_eq!(first.conversation.title, None);
    let members: HashSet<Uuid> = first
        .conversation
        .members
        .iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(members, HashSet::from([c.id(), a.id()]));
    let (again, created) = w.hd.create_conversation(&c.p, direct_to(&a)).await.unwrap();
    assert!(!created);
    assert_eq!(again.conversation.id, first.conversation.id);
    let (reverse, created) = w.hd.create_conversation(&a.p, direct_to(&c)).await.unwrap();
    assert!(!created);
    assert_eq!(reverse.conversation.id, first.conversation.id);
    assert_eq!(listed(&w, &c.p, None).await, vec![first.conversation.id]);
}

/// Sixteen simultaneous starts of one pair's direct conversation make exactly one.
pub async fn concurrent_direct_creation_makes_one(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let hd = w.hd.clone();
        let (me, other) = if i % 2 == 0 {
            (a.p, b.id())
        } else {
            (b.p, a.id())
        };
        tasks.push(tokio::spawn(async move {
            hd.create_conversation(
                &me,
                NewConversation {
                    kind: ConversationKind::Direct,
                    title: None,
                    member_ids: vec![other],
                },
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for t in tasks {
        let (view, c) = t.await.unwrap();
        ids.insert(view.conversation.id);
        created += c as usize;
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(created, 1);
    assert_eq!(listed(&w, &a.p, None).await.len(), 1);
    assert_eq!(listed(&w, &b.p, None).await.len(), 1);
}

/// A group keeps its title, its creator and its members.
pub async fn group_has_title_and_members(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a1 = w.agent().await;
    let a2 = w.agent().await;
    let (v, created) =
        w.hd.create_conversation(&c.p, group_with("  Launch  ", &[&a1, &a2, &a1]))
            .await
            .unwrap();
    assert!(created);
    let conv = &v.conversation;
    assert_eq!(conv.kind, ConversationKind::Group);
    assert_eq!(conv.title.as_deref(), Some("Launch"));
    assert_eq!(conv.created_by, c.id());
    assert_eq!(conv.ticket_id, None);
    assert_eq!(conv.members.len(), 3);
    assert_eq!(conv.members[0].user_id, c.id());
    for who in [&c, &a1, &a2] {
        let got = w.hd.get_conversation(&who.p, conv.id).await.unwrap();
        assert_eq!(got.conversation.id, conv.id);
        assert_eq!(got.unread_count, 0);
        assert_eq!(got.last_message, None);
    }
    // A second group with the same people is a new group.
    let (v2, created) =
        w.hd.create_conversation(&c.p, group_with("Launch", &[&a1, &a2]))
            .await
            .unwrap();
    assert!(created);
    assert_ne!(v2.conversation.id, conv.id);
}

/// Direct conversations need exactly one other and no title; groups need a title and
/// another member; ticket conversations cannot be started by hand.
pub async fn input_validation(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.agent().await;
    let bad = [
        NewConversation {
            kind: ConversationKind::Direct,
            title: None,
            member_ids: vec![b.id(), d.id()],
        },
        NewConversation {
            kind: ConversationKind::Direct,
            title: None,
            member_ids: vec![],
        },
        NewConversation {
            kind: ConversationKind::Direct,
            title: Some("No".into()),
            member_ids: vec![b.id()],
        },
        NewConversation {
            kind: ConversationKind::Group,
            title: None,
            member_ids: vec![b.id()],
        },
        NewConversation {
            kind: ConversationKind::Group,
            title: Some("   ".into()),
            member_ids: vec![b.id()],
        },
        NewConversation {
            kind: ConversationKind::Group,
            title: Some("Alone".into()),
            member_ids: vec![a.id()],
        },
        NewConversation {
            kind: ConversationKind::Ticket,
            title: Some("T".into()),
            member_ids: vec![b.id()],
        },
        NewConversation {
            kind: ConversationKind::Group,
            title: Some("Ghost".into()),
            member_ids: vec![Uuid::now_v7()],
        },
    ];
    for input in bad {
        let desc = format!("{input:?}");
        match w.hd.create_conversation(&a.p, input).await {
            Err(Error::Validation(_)) => {}
            other => panic!("{desc}: {other:?}"),
        }
    }
    assert!(listed(&w, &a.p, None).await.is_empty());
    expect_err!(
        w.hd.create_conversation(&Principal::system(), direct_to(&b))
            .await,
        Error::Forbidden(_)
    );
}

/// Members rename a group; others cannot see it; direct conversations have no title.
pub async fn rename_by_members_only(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let outsider = w.agent().await;
    let g = w.group(&a, &[&b], "Old").await;
    let v = w.hd.rename_conversation(&b.p, g, "New").await.unwrap();
    assert_eq!(v.conversation.title.as_deref(), Some("New"));
    assert_eq!(
        w.hd.get_conversation(&a.p, g)
            .await
            .unwrap()
            .conversation
            .title
            .as_deref(),
        Some("New")
    );
    expect_err!(
        w.hd.rename_conversation(&outsider.p, g, "Mine").await,
        Error::NotFound
    );
    expect_err!(
        w.hd.rename_conversation(&a.p, g, "  ").await,
        Error::Validation(_)
    );
    let d = w.direct(&a, &b).await;
    expect_err!(
        w.hd.rename_conversation(&a.p, d, "Title").await,
        Error::Forbidden(_)
    );
}

/// Group members add members (customers only staff); a member twice is a conflict.
pub async fn add_member_rules(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let other_customer = w.customer().await;
    let a = w.agent().await;
    let a2 = w.agent().await;
    let outsider = w.agent().await;
    let g = w.group(&c, &[&a], "Help").await;
    let v = w.hd.add_member(&c.p, g, a2.id()).await.unwrap();
    assert!(v.conversation.is_member(a2.id()));
    w.hd.get_conversation(&a2.p, g).await.unwrap();
    expect_err!(
        w.hd.add_member(&c.p, g, other_customer.id()).await,
        Error::Forbidden(_)
    );
    expect_err!(w.hd.add_member(&a.p, g, a2.id()).await, Error::Conflict(_));
    expect_err!(
        w.hd.add_member(&outsider.p, g, outsider.id()).await,
        Error::NotFound
    );
    // Staff may add a customer.
    w.hd.add_member(&a.p, g, other_customer.id()).await.unwrap();
    w.hd.get_conversation(&other_customer.p, g).await.unwrap();
    let d = w.direct(&a, &a2).await;
    expect_err!(
        w.hd.add_member(&a.p, d, outsider.id()).await,
        Error::Forbidden(_)
    );
}

/// A member who leaves no longer sees the group; the others keep it.
pub async fn leaving_a_group(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "Team").await;
    w.hd.remove_member(&b.p, g, b.id()).await.unwrap();
    expect_err!(w.hd.get_conversation(&b.p, g).await, Error::NotFound);
    assert!(listed(&w, &b.p, None).await.is_empty());
    let v = w.hd.get_conversation(&a.p, g).await.unwrap();
    assert!(!v.conversation.is_member(b.id()));
    assert_eq!(v.conversation.members.len(), 2);
    expect_err!(
        w.hd.send_message(&b.p, g, crate::message::NewMessage::text("hi"))
            .await,
        Error::NotFound
    );
    // Rejoining works and the conversation is back in the list.
    w.hd.add_member(&a.p, g, b.id()).await.unwrap();
    assert_eq!(listed(&w, &b.p, None).await, vec![g]);
}

/// The creator removes others; other members may not; removing a non-member is
/// `NotFound`.
pub async fn creator_removes_others(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let g = w.group(&a, &[&b, &c], "Team").await;
    expect_err!(
        w.hd.remove_member(&b.p, g, c.id()).await,
        Error::Forbidden(_)
    );
    w.hd.remove_member(&a.p, g, c.id()).await.unwrap();
    expect_err!(w.hd.get_conversation(&c.p, g).await, Error::NotFound);
    expect_err!(w.hd.remove_member(&a.p, g, c.id()).await, Error::NotFound);
    let d = w.direct(&a, &b).await;
    expect_err!(
        w.hd.remove_member(&a.p, d, b.id()).await,
        Error::Forbidden(_)
    );
}

/// Customers cannot start direct or group conversations with other customers.
pub async fn customer_to_customer_is_forbidden(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c1 = w.customer().await;
    let c2 = w.customer().await;
    let a = w.agent().await;
    expect_err!(
        w.hd.create_conversation(&c1.p, direct_to(&c2)).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.create_conversation(&c1.p, group_with("Us", &[&a, &c2]))
            .await,
        Error::Forbidden(_)
    );
    assert!(listed(&w, &c1.p, None).await.is_empty());
    assert!(listed(&w, &c2.p, None).await.is_empty());
    // Staff may bring customers together.
    w.hd.create_conversation(&a.p, group_with("All", &[&c1, &c2]))
        .await
        .unwrap();
    w.hd.create_conversation(&c1.p, direct_to(&a))
        .await
        .unwrap();
}

/// Staff read ticket conversations they are not in; other conversations stay private,
/// except to admins.
pub async fn staff_read_ticket_conversations(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let a2 = w.agent().await;
    let admin = w.admin().await;
    let t = w.ticket(&c, "Help").await;
    let v =
        w.hd.get_conversation(&a.p, t.conversation_id)
            .await
            .unwrap();
    assert_eq!(v.conversation.kind, ConversationKind::Ticket);
    assert_eq!(v.conversation.ticket_id, Some(t.id));
    let d = w.direct(&c, &a2).await;
    expect_err!(w.hd.get_conversation(&a.p, d).await, Error::NotFound);
    w.hd.get_conversation(&admin.p, d).await.unwrap();
    // Reading is not membership: the ticket does not show in the agent's list.
    assert!(!listed(&w, &a.p, None).await.contains(&t.conversation_id));
    assert!(listed(&w, &c.p, None).await.contains(&t.conversation_id));
}

/// The list is ordered by latest activity, newest first; a new message moves a
/// conversation to the top.
pub async fn list_by_latest_activity(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let c = w.agent().await;
    let d = w.agent().await;
    let x = w.direct(&a, &b).await;
    w.tick();
    let y = w.direct(&a, &c).await;
    w.tick();
    let z = w.group(&a, &[&b, &c, &d], "G").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![z, y, x]);
    w.tick();
    w.send(&b, x, "bump").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![x, z, y]);
    w.tick();
    w.send(&a, y, "me too").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![y, x, z]);
    assert_eq!(listed(&w, &d.p, None).await, vec![z]);
}

/// The kind filter.
pub async fn kind_filter(store: Arc<dyn Store>) {
    let w = World::new(store);
    let c = w.customer().await;
    let a = w.agent().await;
    let b = w.agent().await;
    let t = w.ticket(&c, "T").await;
    let d = w.direct(&c, &a).await;
    let g = w.group(&c, &[&a, &b], "G").await;
    assert_eq!(
        listed(&w, &c.p, Some(ConversationKind::Direct)).await,
        vec![d]
    );
    assert_eq!(
        listed(&w, &c.p, Some(ConversationKind::Group)).await,
        vec![g]
    );
    assert_eq!(
        listed(&w, &c.p, Some(ConversationKind::Ticket)).await,
        vec![t.conversation_id]
    );
    assert_eq!(listed(&w, &c.p, None).await.len(), 3);
}

/// Paging the list returns each conversation once, even with ties in activity.
pub async fn list_pages_without_repeats(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let mut expected = HashSet::new();
    for i in 0..11 {
        if i % 3 == 0 {
            w.tick();
        }
        let other = w.agent().await;
        expected.insert(w.direct(&a, &other).await);
    }
    let seen = paged(&w, &a.p, 4).await;
    assert_eq!(seen.len(), 11);
    assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), expected);
    assert_eq!(seen, listed(&w, &a.p, None).await);
}

/// The whole list, read in pages of `limit`.
async fn paged(w: &World, p: &Principal, limit: usize) -> Vec<Uuid> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            w.hd.list_conversations(
                p,
                ConversationFilter {
                    cursor,
                    limit: Some(limit),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|v| v.conversation.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
}

/// A large group keeps its place in its members' lists by latest activity, through
/// messages, pages, the kind filter, and members joining and leaving (a store may index
/// the members of a large group apart from the others: sled does past 32 members).
pub async fn large_groups_keep_their_place(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.agent().await;
    let b = w.agent().await;
    let mut crowd = Vec::new();
    for _ in 0..40 {
        crowd.push(w.agent().await);
    }
    let x = w.direct(&a, &b).await;
    w.tick();
    let g = w.group(&a, &[&b], "G").await;
    w.tick();
    let y = w.direct(&a, &crowd[0]).await;
    assert_eq!(listed(&w, &a.p, None).await, vec![y, g, x]);
    // It grows large; joining is no activity.
    for c in &crowd {
        w.hd.add_member(&a.p, g, c.id()).await.unwrap();
    }
    assert_eq!(listed(&w, &a.p, None).await, vec![y, g, x]);
    assert_eq!(listed(&w, &crowd[5].p, None).await, vec![g]);
    assert!(
        (store
            .member_conversations(crowd[5].id())
            .await
            .unwrap()
            .iter())
        .any(|c| c.id == g)
    );
    w.tick();
    w.send(&crowd[1], g, "hello all").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![g, y, x]);
    assert_eq!(listed(&w, &crowd[0].p, None).await, vec![g, y]);
    w.tick();
    w.send(&b, x, "bump").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![x, g, y]);
    assert_eq!(paged(&w, &a.p, 1).await, vec![x, g, y]);
    assert_eq!(
        listed(&w, &a.p, Some(ConversationKind::Group)).await,
        vec![g]
    );
    assert_eq!(
        listed(&w, &a.p, Some(ConversationKind::Direct)).await,
        vec![x, y]
    );
    // It shrinks back: those who left no longer list it, those left still do.
    for c in &crowd[1..] {
        w.hd.remove_member(&a.p, g, c.id()).await.unwrap();
    }
    assert_eq!(listed(&w, &crowd[5].p, None).await, Vec::<Uuid>::new());
    assert_eq!(listed(&w, &a.p, None).await, vec![x, g, y]);
    w.tick();
    w.send(&crowd[0], g, "still here").await;
    assert_eq!(listed(&w, &a.p, None).await, vec![g, x, y]);
    assert_eq!(paged(&w, &crowd[0].p, 1).await, vec![g, y]);
}

/// A conversation as seen by each member: the last message and their own unread count.
pub async fn view_has_last_message_and_unread(store: Arc<dyn Store>) {
    let w = World::new(store);
    let a = w.agent().await;
    let b = w.agent().await;
    let d = w.direct(&a, &b).await;
    w.send(&a, d, "one").await;
    let last = w.send(&a, d, "two").await;
    let va = w.hd.get_conversation(&a.p, d).await.unwrap();
    let vb = w.hd.get_conversation(&b.p, d).await.unwrap();
    assert_eq!(va.unread_count, 0);
    assert_eq!(vb.unread_count, 2);
    assert_eq!(
        vb.last_message.as_ref().map(|m| m.message.id),
        Some(last.message.id)
    );
    assert_eq!(vb.last_message.as_ref().map(|m| m.is_read), Some(false));
    assert_eq!(va.last_message.as_ref().map(|m| m.is_read), Some(true));
    assert_eq!(
        va.conversation.last_message_at,
        Some(last.message.created_at)
    );
    let listed =
        w.hd.list_conversations(&b.p, ConversationFilter::default())
            .await
            .unwrap();
    assert_eq!(listed.items[0].unread_count, 2);
    assert_eq!(
        listed.items[0].last_message.as_ref().map(|m| m.message.id),
        Some(last.message.id)
    );
}

/// Store level: a second conversation with a taken direct key is `Conflict::Direct`.
pub async fn store_direct_key_is_unique(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let a = w.agent().await;
    let b = w.agent().await;
    let now = w.hd.now();
    let key = Conversation::direct_key_of(a.id(), b.id());
    assert_eq!(key, Conversation::direct_key_of(b.id(), a.id()));
    let conv = |id: Uuid| Conversation {
        id,
        kind: ConversationKind::Direct,
        title: None,
        ticket_id: None,
        members: vec![
            Member {
                user_id: a.id(),
                joined_at: now,
            },
            Member {
                user_id: b.id(),
                joined_at: now,
            },
        ],
        created_by: a.id(),
        created_at: now,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: Some(key.clone()),
    };
    let first = conv(Uuid::now_v7());
    store
        .create_conversation(&first, &Effects::none())
        .await
        .unwrap();
    let e = store
        .create_conversation(&conv(Uuid::now_v7()), &Effects::none())
        .await
        .unwrap_err();
    assert!(e.is_conflict(crate::Conflict::Direct), "{e:?}");
    assert_eq!(store.find_direct(&key).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.get_conversation(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.find_direct("nope").await.unwrap(), None);
    // Every member has a participant record from the start.
    for who in [&a, &b] {
        let p = store.get_participant(first.id, who.id()).await.unwrap();
        assert!(p.is_some_and(|p| p.last_read_seq == 0 && p.user_id == who.id()));
    }
    assert_eq!(store.participants(first.id).await.unwrap().len(), 2);
}

/// A conversation read with a user's participant record: theirs when they have one,
/// none for a stranger, nothing for an unknown conversation; the same records as the
/// two reads apart.
pub async fn store_conversation_as_reads_the_participant(store: Arc<dyn Store>) {
    let w = World::new(store.clone());
    let (a, b, stranger) = (w.agent().await, w.agent().await, w.agent().await);
    let g = w.group(&a, &[&b], "Team").await;
    w.hd.send_message(&a.p, g, crate::message::NewMessage::text("hi"))
        .await
        .unwrap();
    let (conv, mine) = store.get_conversation_as(g, a.id()).await.unwrap().unwrap();
    assert_eq!(Some(conv), store.get_conversation(g).await.unwrap());
    assert_eq!(mine, store.get_participant(g, a.id()).await.unwrap());
    assert_eq!(mine.map(|m| m.sent_count), Some(1));
    let (_, theirs) = store
        .get_conversation_as(g, stranger.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(theirs, None);
    assert!(
        store
            .get_conversation_as(Uuid::now_v7(), a.id())
            .await
            .unwrap()
            .is_none()
    );
}
