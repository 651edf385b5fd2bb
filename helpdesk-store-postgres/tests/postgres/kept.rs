//! Ticket and message lists read through kept decoded records: what another instance
//! (or any other writer of the database) wrote since is in the next list.

use helpdesk_core::event::Effects;
use helpdesk_core::message::{Message, MessageRange};
use helpdesk_core::store::{ConversationStore, TicketStore};
use helpdesk_core::ticket::{Ticket, TicketQuery};
use uuid::Uuid;

use crate::common::{TestDb, group, new_ticket, t0, text_message};

fn subjects(tickets: &[Ticket]) -> Vec<&str> {
    tickets.iter().map(|t| t.subject.as_str()).collect()
}

#[tokio::test]
async fn a_ticket_list_shows_what_another_instance_wrote_since() {
    let Some(db) = TestDb::create("a_ticket_list_shows_what_another_instance_wrote_since").await
    else {
        return;
    };
    let (a, b) = (db.store.clone(), db.second_store());
    let requester = Uuid::now_v7();
    let none = |_: &Ticket| Effects::none();
    let mut created = Vec::new();
    for _ in 0..3 {
        let new = new_ticket(&a, requester, t0()).await;
        created.push(a.create_ticket(&new, &none).await.unwrap());
    }
    let all = TicketQuery {
        limit: 10,
        ..Default::default()
    };
    let first = a.list_tickets(&all).await.unwrap();
    assert_eq!(subjects(&first), ["Printer on fire"; 3]);
    assert_eq!(
        a.list_tickets(&all).await.unwrap(),
        first,
        "a second read, kept"
    );

    // Through the other instance's store, under the version check.
    let mut changed = created[1].clone();
    changed.subject = "Printer fixed".into();
    changed.version += 1;
    b.update_ticket(&changed, None, &Effects::none())
        .await
        .unwrap();
    // Behind every store's back: no version moves.
    sqlx::query("UPDATE tickets SET subject = 'Smoke' WHERE id = $1")
        .bind(created[2].id)
        .execute(b.pool())
        .await
        .unwrap();
    let listed = a.list_tickets(&all).await.unwrap();
    let by_id = |id| listed.iter().find(|t| t.id == id).unwrap();
    let unchanged = first.iter().find(|t| t.id == created[0].id).unwrap();
    assert_eq!(by_id(created[0].id), unchanged);
    assert_eq!(by_id(created[1].id).subject, "Printer fixed");
    assert_eq!(by_id(created[1].id).version, changed.version);
    assert_eq!(by_id(created[2].id).subject, "Smoke");

    sqlx::query("DELETE FROM tickets WHERE id = $1")
        .bind(created[0].id)
        .execute(b.pool())
        .await
        .unwrap();
    let ids: Vec<Uuid> = a
        .list_tickets(&all)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert!(
        !ids.contains(&created[0].id),
        "a deleted ticket is listed no more"
    );
    assert_eq!(ids.len(), 2);
    b.close().await;
}

#[tokio::test]
async fn a_message_page_shows_an_edit_made_by_another_instance() {
    let Some(db) = TestDb::create("a_message_page_shows_an_edit_made_by_another_instance").await
    else {
        return;
    };
    let (a, b) = (db.store.clone(), db.second_store());
    let sender = Uuid::now_v7();
    let conv = group(&[sender], t0());
    a.create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let none = |_: &Message| Effects::none();
    for content in ["one", "two"] {
        let new = text_message(conv.id, sender, content);
        a.append_message(&new, &none).await.unwrap();
    }
    let page = || a.list_messages(conv.id, MessageRange::Latest, true, 50);
    let contents = |ms: Vec<Message>| ms.into_iter().map(|m| m.content).collect::<Vec<_>>();
    assert_eq!(contents(page().await.unwrap()), ["one", "two"]);
    assert_eq!(
        contents(page().await.unwrap()),
        ["one", "two"],
        "a second read, kept"
    );

    let mut edited = page().await.unwrap().remove(0);
    edited.content = "one, edited".into();
    b.update_message(&edited, &Effects::none()).await.unwrap();
    assert_eq!(contents(page().await.unwrap()), ["one, edited", "two"]);
    sqlx::query("UPDATE messages SET content = 'two, by hand' WHERE seq = 2")
        .execute(b.pool())
        .await
        .unwrap();
    assert_eq!(
        contents(page().await.unwrap()),
        ["one, edited", "two, by hand"]
    );
    b.close().await;
}
