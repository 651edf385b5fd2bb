//! Migration 0012 (read receipts v2): every participant's existing read state becomes
//! its public state too, and existing users read publicly.

use helpdesk_core::Role;
use helpdesk_core::event::Effects;
use helpdesk_core::message::Message;
use helpdesk_core::receipt::ReadReceipts;
use helpdesk_core::store::{ConversationStore, UserStore};
use helpdesk_core::user::User;
use uuid::Uuid;

use crate::common::{TestDb, group, t0, text_message};

fn user(role: Role) -> User {
    User {
        id: Uuid::now_v7(),
        email: format!("{}@example.com", Uuid::now_v7()),
        name: "Someone".into(),
        role,
        is_active: true,
        password_hash: None,
        organization_id: None,
        is_org_manager: false,
        is_service: false,
        read_receipts: ReadReceipts::Private,
        email_notifications: false,
        created_at: t0(),
        updated_at: t0(),
    }
}

#[tokio::test]
async fn migration_12_makes_the_read_state_public_too() {
    let Some(db) = TestDb::create("migration_12_makes_the_read_state_public_too").await else {
        return;
    };
    let s = &db.store;
    let (reader, sender) = (user(Role::Customer), user(Role::Agent));
    for u in [&reader, &sender] {
        s.insert_user(u, &Effects::none()).await.unwrap();
    }
    let conv = group(&[reader.id, sender.id], t0());
    s.create_conversation(&conv, &Effects::none())
        .await
        .unwrap();
    let none = |_: &Message| Effects::none();
    for _ in 0..4 {
        let m = text_message(conv.id, sender.id, "text");
        s.append_message(&m, &none).await.unwrap();
    }
    // A state of the old kind: watermark 1, message 3 read one by one.
    let mut p = s
        .get_participant(conv.id, reader.id)
        .await
        .unwrap()
        .unwrap();
    p.last_read_seq = 1;
    p.public_at_watermark = 1;
    p.read_above = vec![3];
    p.version += 1;
    s.put_read_state(&p, &Effects::none()).await.unwrap();
    // Put the tables back as migration 11 left them, then migrate again.
    sqlx::raw_sql(
        "ALTER TABLE participants DROP COLUMN public_read_seq, DROP COLUMN public_read_above; \
         ALTER TABLE users DROP COLUMN read_receipts; \
         DELETE FROM _sqlx_migrations WHERE version = 12;",
    )
    .execute(s.pool())
    .await
    .unwrap();
    s.migrate().await.unwrap();
    let after = s
        .get_participant(conv.id, reader.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.last_read_seq, after.read_above.clone()),
        (1, vec![3])
    );
    assert_eq!(
        (after.public_read_seq, after.public_read_above.clone()),
        (1, vec![3])
    );
    assert!(
        after.has_read_publicly(3, Some(sender.id)) && !after.has_read_publicly(2, Some(sender.id))
    );
    let stored = s.get_user(reader.id).await.unwrap().unwrap();
    assert_eq!(stored.read_receipts, ReadReceipts::Public);
}
