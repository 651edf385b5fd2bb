//! Embedding Helpdesk in a Rust application on the in-memory store: a customer opens a
//! ticket, an agent answers in a thread, and both look at receipts and notifications.
//!
//! Run with `cargo run -p helpdesk --example embed`.

use std::sync::Arc;

use helpdesk::conversation::ConversationKind;
use helpdesk::message::{MessagePageQuery, NewMessage};
use helpdesk::status::StatusCategory;
use helpdesk::store::memory::MemoryStore;
use helpdesk::ticket::{NewTicket, TicketPatch};
use helpdesk::user::NewUser;
use helpdesk::{Config, Helpdesk, Principal, Role};
use helpdesk_core::conversation::ConversationFilter;
use helpdesk_core::notification::{NotificationFilter, NotificationList};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), helpdesk::Error> {
    let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
    let system = Principal::system();

    let carol = hd
        .create_user(
            &system,
            NewUser::new(
                "carol@example.com",
                "Carol",
                Role::Customer,
                "carol-password",
            ),
        )
        .await?;
    let andy = hd
        .create_user(
            &system,
            NewUser::new("andy@example.com", "Andy", Role::Agent, "andy-password"),
        )
        .await?;
    let carol_p = hd.principal(carol.id).await?;
    let andy_p = hd.principal(andy.id).await?;

    // The customer opens a ticket; every staff member is notified.
    let ticket = hd
        .create_ticket(
            &carol_p,
            NewTicket::new("Cannot log in", "The login page says my password is wrong."),
        )
        .await?;
    println!(
        "#{} {:?} opened by {}",
        ticket.number, ticket.subject, carol.name
    );

    // She adds a detail; the agent takes the ticket and answers in a thread.
    let conv = ticket.conversation_id;
    let detail = hd
        .send_message(&carol_p, conv, NewMessage::text("I reset it yesterday."))
        .await?;
    hd.update_ticket(
        &andy_p,
        ticket.id,
        TicketPatch {
            assignee_id: Some(Some(andy.id)),
            status: Some(StatusCategory::Pending.into()),
            ..Default::default()
        },
    )
    .await?;
    let answer = hd
        .send_message(
            &andy_p,
            conv,
            NewMessage::reply(
                "Thanks! Try the link I just sent by email.",
                detail.message.id,
            ),
        )
        .await?;
    println!(
        "{} replied (seq {}), status of his message: {:?}",
        andy.name, answer.message.seq, answer.status
    );

    // Carol reads her conversation: fetching delivers, marking reads.
    let unread = hd.unread_overview(&carol_p).await?;
    println!("Carol has {} unread message(s)", unread.total_unread);
    let page = hd
        .list_messages(&carol_p, conv, MessagePageQuery::default())
        .await?;
    for m in &page.items {
        println!(
            "  seq {} read={} {:?}",
            m.message.seq, m.is_read, m.message.content
        );
    }
    let state = hd.mark_all_read(&carol_p, conv).await?;
    println!(
        "after mark-all: unread={} watermark={}",
        state.unread_count, state.last_read_seq
    );

    // The agent sees his message read, with times per member.
    let seen = hd.get_message(&andy_p, conv, answer.message.id).await?;
    println!("status of Andy's answer now: {:?}", seen.status);
    for r in hd.receipts(&andy_p, conv, answer.message.id).await? {
        println!(
            "  receipt for {}: delivered {:?}, read {:?}",
            r.user_id, r.delivered_at, r.read_at
        );
    }

    // The thread under Carol's detail, and the notifications each got.
    for item in hd.thread(&carol_p, conv, detail.message.id).await? {
        println!(
            "  thread depth {}: {:?}",
            item.depth, item.message.message.content
        );
    }
    for (who, p) in [("Carol", &carol_p), ("Andy", &andy_p)] {
        let NotificationList {
            page: notes,
            unread_count: unread,
        } = hd
            .list_notifications(p, NotificationFilter::default())
            .await?;
        println!(
            "{who}: {} notification(s), {unread} unread",
            notes.items.len()
        );
        for n in notes.items {
            println!("  [{}] {}", n.kind.as_str(), n.title);
        }
    }
    let convs = hd
        .list_conversations(
            &carol_p,
            ConversationFilter {
                kind: Some(ConversationKind::Ticket),
                ..Default::default()
            },
        )
        .await?;
    println!("Carol's ticket conversations: {}", convs.items.len());
    Ok(())
}
