//! Ticket numbers come from the `ticket_numbers` sequence: it starts after the counter
//! of a database migrated before it existed, an imported counter moves it, and a
//! creation that fails after taking its number leaves a gap.

use helpdesk_core::StoreError;
use helpdesk_core::archive::{Counter, Record, RecordKind, TICKET_NUMBER};
use helpdesk_core::event::Effects;
use helpdesk_core::notification::{Notification, NotificationData, NotificationKind};
use helpdesk_core::store::{ArchiveStore, TicketStore};
use uuid::Uuid;

use crate::common::{TestDb, new_ticket, t0};

async fn create(db: &TestDb) -> i64 {
    db.store
        .create_ticket(&new_ticket(&db.store, Uuid::now_v7(), t0()).await, &|_| {
            Effects::none()
        })
        .await
        .expect("create ticket")
        .number
}

async fn exported_counter(db: &TestDb) -> i64 {
    let records = db
        .store
        .export_records(RecordKind::Counter, None, 10)
        .await
        .unwrap();
    match records.as_slice() {
        [Record::Counter(c)] if c.name == TICKET_NUMBER => c.value,
        other => panic!("one ticket number counter expected: {other:?}"),
    }
}

fn counter(name: &str, value: i64) -> Record {
    Record::Counter(Counter {
        name: name.into(),
        value,
    })
}

#[tokio::test]
async fn the_sequence_starts_after_the_counter_of_an_older_schema() {
    let Some(db) = TestDb::create("the_sequence_starts_after_the_counter_of_an_older_schema").await
    else {
        return;
    };
    // Put the schema back as migration 1 left it, with 41 numbers given.
    sqlx::raw_sql(
        "DROP VIEW counters; DROP SEQUENCE ticket_numbers; \
         CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL); \
         INSERT INTO counters (name, value) VALUES ('ticket_number', 41); \
         DELETE FROM _sqlx_migrations WHERE version = 2;",
    )
    .execute(db.store.pool())
    .await
    .unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(exported_counter(&db).await, 41);
    assert_eq!(create(&db).await, 42);
    assert_eq!(exported_counter(&db).await, 42);
}

#[tokio::test]
async fn an_imported_counter_moves_the_sequence() {
    let Some(db) = TestDb::create("an_imported_counter_moves_the_sequence").await else {
        return;
    };
    assert_eq!(exported_counter(&db).await, 0, "nothing given yet");
    db.store
        .import_records(&[counter(TICKET_NUMBER, 0)])
        .await
        .unwrap();
    assert_eq!(exported_counter(&db).await, 0);
    db.store
        .import_records(&[counter(TICKET_NUMBER, 41)])
        .await
        .unwrap();
    assert_eq!(exported_counter(&db).await, 41);
    assert_eq!(create(&db).await, 42);
    for bad in [counter("other", 1), counter(TICKET_NUMBER, -1)] {
        let err = db.store.import_records(&[bad]).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
    assert_eq!(create(&db).await, 43);
}

#[tokio::test]
async fn a_creation_failing_after_its_number_leaves_a_gap() {
    let Some(db) = TestDb::create("a_creation_failing_after_its_number_leaves_a_gap").await else {
        return;
    };
    assert_eq!(create(&db).await, 1);
    // Its effects fail (a notification id already taken) after the ticket took 2.
    let taken = Notification {
        id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        kind: NotificationKind::TicketCreated,
        title: "t".into(),
        body: "b".into(),
        data: NotificationData::default(),
        read_at: None,
        created_at: t0(),
    };
    let fx = Effects {
        notifications: vec![taken.clone()],
        ..Effects::none()
    };
    db.store
        .create_ticket(&new_ticket(&db.store, Uuid::now_v7(), t0()).await, &|_| {
            fx.clone()
        })
        .await
        .unwrap();
    let err = db
        .store
        .create_ticket(&new_ticket(&db.store, Uuid::now_v7(), t0()).await, &|_| {
            fx.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        create(&db).await,
        4,
        "number 3 went with the failed creation"
    );
}
