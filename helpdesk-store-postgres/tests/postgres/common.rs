//! Shared fixtures of the PostgreSQL tests; fresh databases come from
//! [`helpdesk_store_postgres::testing`].

use chrono::{DateTime, TimeZone, Utc};
use helpdesk_core::conversation::{Conversation, ConversationKind, Member};
use helpdesk_core::event::{Audience, Effects, NewEvent};
use helpdesk_core::message::MessageAppend;
use helpdesk_core::status::StatusCategory;
use helpdesk_core::store::GroupStore;
use helpdesk_core::ticket::{Priority, Ticket, TicketInsert};
use helpdesk_core::webhook::Webhook;
use helpdesk_store_postgres::PostgresStore;
pub use helpdesk_store_postgres::testing::{TestDb, URL_VAR, admin_url};
use uuid::Uuid;

/// A fixed start time (microsecond precision, as the core clock gives).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// A new ticket with its conversation, for `requester`, in the store's default group.
pub async fn new_ticket(store: &PostgresStore, requester: Uuid, at: DateTime<Utc>) -> TicketInsert {
    let group_id = store.default_group().await.expect("default group").id;
    let ticket_id = Uuid::now_v7();
    let conversation = Conversation {
        id: Uuid::now_v7(),
        kind: ConversationKind::Ticket,
        title: Some("Printer on fire".into()),
        ticket_id: Some(ticket_id),
        members: vec![Member {
            user_id: requester,
            joined_at: at,
        }],
        created_by: requester,
        created_at: at,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    };
    TicketInsert {
        ticket: Ticket {
            id: ticket_id,
            number: 0,
            subject: "Printer on fire".into(),
            description: "It is on fire.".into(),
            status: StatusCategory::Open.into(),
            status_category: StatusCategory::Open,
            status_changed_at: None,
            priority: Priority::Normal,
            requester_id: requester,
            assignee_id: None,
            tags: vec![],
            conversation_id: conversation.id,
            group_id,
            organization_id: None,
            cc: vec![],
            followers: vec![],
            fields: Default::default(),
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            merged_into_id: None,
            merged_ids: Vec::new(),
            pre_merge_status: None,
            snooze: None,
            sla: Default::default(),
            automation_at: None,
            channel: Default::default(),
            mailbox_id: None,
            follow_up_of: None,
            resolved_count: 0,
            version: 1,
        },
        conversation,
        attachment_ids: vec![],
    }
}

/// A group conversation of `members`.
pub fn group(members: &[Uuid], at: DateTime<Utc>) -> Conversation {
    Conversation {
        id: Uuid::now_v7(),
        kind: ConversationKind::Group,
        title: Some("group".into()),
        ticket_id: None,
        members: members
            .iter()
            .map(|u| Member {
                user_id: *u,
                joined_at: at,
            })
            .collect(),
        created_by: members[0],
        created_at: at,
        last_message_at: None,
        last_seq: 0,
        last_public_seq: 0,
        public_count: 0,
        direct_key: None,
    }
}

/// Effects of one event of `kind` (webhook-visible, no live audience).
/// One event with `label` and `n` in its data (its kind: the kind `label` names, else
/// `ticket.updated`).
pub fn one_event(label: &str, n: u64) -> Effects {
    Effects::event(NewEvent::new(
        label
            .parse()
            .unwrap_or(helpdesk_core::event::EventKind::TicketUpdated),
        t0(),
        Audience::nobody(),
        serde_json::json!({ "n": n, "label": label }),
    ))
}

/// A webhook endpoint for every event kind.
pub fn webhook(active: bool) -> Webhook {
    Webhook {
        id: Uuid::now_v7(),
        url: "https://example.com/hook".into(),
        events: vec!["*".into()],
        description: String::new(),
        active,
        secret: "whsec_c2VjcmV0".into(),
        previous_secret: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A public message of `content` from `sender`, at [`t0`].
pub fn text_message(conversation_id: Uuid, sender: Uuid, content: &str) -> MessageAppend {
    MessageAppend {
        id: Uuid::now_v7(),
        conversation_id,
        sender_id: sender,
        content: content.into(),
        parent_id: None,
        attachment_ids: Vec::new(),
        internal: false,
        created_at: t0(),
        join_sender: false,
        channel: Default::default(),
        ticket_update: None,
        base: None,
    }
}
