//! Embedding Helpdesk on the sled store: a customer opens a ticket and an agent answers;
//! the store is closed, opened again, and the ticket and its conversation are still
//! there.
//!
//! Run with `cargo run -p helpdesk --features sled --example embed_sled`, in a temporary
//! directory, or with a directory as the first argument to keep the data: run it twice
//! and the second run finds the first run's ticket beside its own.
//!
//! Each half runs on a runtime of its own, as two runs of an application would: a
//! helpdesk's live-event reader, a task on the runtime, keeps the store open for up to
//! a second after the helpdesk is dropped, and sled opens a directory for one holder at
//! a time. Ending the runtime ends the task.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use helpdesk::message::{MessagePageQuery, NewMessage};
use helpdesk::sled::SledStore;
use helpdesk::ticket::{NewTicket, TicketFilter};
use helpdesk::user::{NewUser, User};
use helpdesk::{Config, ErrorKind, Helpdesk, Principal, Role};

fn main() -> Result<(), Box<dyn Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = match std::env::args_os().nth(1) {
        Some(path) => path.into(),
        None => temporary.path().join("helpdesk"),
    };

    let number = runtime()?.block_on(write(&dir))?;
    println!("closed the store in {}", dir.display());
    runtime()?.block_on(read(&dir, number))?;
    Ok(())
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Opens the store, adds a ticket with an answer, and returns the ticket's number.
async fn write(dir: &Path) -> Result<i64, Box<dyn Error>> {
    let hd = Helpdesk::new(Arc::new(SledStore::open(dir)?), Config::for_tests());
    let carol = user(&hd, "carol@example.com", "Carol", Role::Customer).await?;
    let andy = user(&hd, "andy@example.com", "Andy", Role::Agent).await?;
    let (carol, andy) = (hd.principal(carol.id).await?, hd.principal(andy.id).await?);

    let ticket = hd
        .create_ticket(
            &carol,
            NewTicket::new("Printer on fire", "The office printer is on fire."),
        )
        .await?;
    let answer = NewMessage::text("The extinguisher is on its way.");
    hd.send_message(&andy, ticket.conversation_id, answer)
        .await?;
    println!("wrote ticket #{} with an answer", ticket.number);
    Ok(ticket.number)
}

/// Opens the store again and reads back what [`write`] left, failing if anything is
/// missing.
async fn read(dir: &Path, number: i64) -> Result<(), Box<dyn Error>> {
    let hd = Helpdesk::new(Arc::new(SledStore::open(dir)?), Config::for_tests());
    let andy = user(&hd, "andy@example.com", "Andy", Role::Agent).await?;
    let andy = hd.principal(andy.id).await?;

    let tickets = hd.list_tickets(&andy, TicketFilter::default()).await?;
    println!("reopened: {} ticket(s)", tickets.items.len());
    for t in &tickets.items {
        println!("  #{} {:?} ({})", t.number, t.subject, t.status.as_str());
    }

    let ticket = hd.get_ticket_by_number(&andy, number).await?;
    let page = hd
        .list_messages(&andy, ticket.conversation_id, MessagePageQuery::default())
        .await?;
    for m in &page.items {
        println!("  seq {}: {:?}", m.message.seq, m.message.content);
    }
    let answered = page
        .items
        .iter()
        .any(|m| m.message.content == "The extinguisher is on its way.");
    if !answered {
        return Err(format!("ticket #{number} lost its answer on reopening").into());
    }
    Ok(())
}

/// The user with this email, created on the first run.
async fn user(hd: &Helpdesk, email: &str, name: &str, role: Role) -> helpdesk::Result<User> {
    let system = Principal::system();
    match hd.find_user_by_email(&system, email).await {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let password = format!("{name}'s password");
            hd.create_user(&system, NewUser::new(email, name, role, &password))
                .await
        }
        found => found,
    }
}
