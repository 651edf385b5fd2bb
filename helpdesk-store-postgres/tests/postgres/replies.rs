//! Migration 0003 backfills `internal_reply_count` from the replies already stored.

use helpdesk_core::event::Effects;
use helpdesk_core::message::{Message, MessageAppend};
use helpdesk_core::store::ConversationStore;
use uuid::Uuid;

use crate::common::{TestDb, group, t0, text_message};

fn message(conv: Uuid, sender: Uuid, parent_id: Option<Uuid>, internal: bool) -> MessageAppend {
    MessageAppend {
        parent_id,
        internal,
        ..text_message(conv, sender, "text")
    }
}

#[tokio::test]
async fn migration_3_counts_the_internal_replies_already_stored() {
    let Some(db) = TestDb::create("migration_3_counts_the_internal_replies_already_stored").await
    else {
        return;
    };
    let s = &db.store;
    let (customer, agent) = (Uuid::now_v7(), Uuid::now_v7());
    let conv = group(&[customer, agent], t0());
    s.create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let none = |_: &Message| Effects::none();
    let append = |parent, internal, sender| {
        let m = message(conv.id, sender, parent, internal);
        async move { s.append_message(&m, &none).await.unwrap().id }
    };
    let question = append(None, false, customer).await;
    let answer = append(Some(question), false, agent).await;
    let note = append(Some(question), true, agent).await;
    append(Some(answer), true, agent).await;
    append(Some(note), true, agent).await;
    let counts = || async {
        let mut out = Vec::new();
        for id in [question, answer, note] {
            let m = s.get_message(conv.id, id).await.unwrap().unwrap();
            out.push((m.reply_count, m.internal_reply_count));
        }
        out
    };
    let want = vec![(2, 1), (1, 1), (1, 1)];
    assert_eq!(counts().await, want, "counted as appended");
    // Put the table back as migrations 1 and 2 left it, then migrate again.
    sqlx::raw_sql(
        "ALTER TABLE messages DROP COLUMN internal_reply_count; \
         DELETE FROM _sqlx_migrations WHERE version = 3;",
    )
    .execute(s.pool())
    .await
    .unwrap();
    s.migrate().await.unwrap();
    assert_eq!(counts().await, want, "backfilled");
}
