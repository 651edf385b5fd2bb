//! The one scheduler's model (API-workflow.md "The scheduler", DESIGN.md "One
//! scheduler"). What is due on a ticket (its snooze's end, its SLA warnings and breaches,
//! the instants its automations' hours turn) is a function of the ticket record: [`next_due_at`]. A store keeps that instant with
//! the record and indexes it, so a due item is written in the same atomic operation as
//! the change that makes it due, and moved or removed by the one that makes it moot,
//! whatever path wrote the ticket (an import included).
//!
//! Workers claim due tickets ([`crate::store::TicketStore::claim_due`]; PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`), and [`crate::Helpdesk::run_due`] fires what is due on each:
//! its effects and the record that it fired (the snooze gone, the SLA event noted in the
//! ticket's SLA state) are one ticket write under the version check, so an item fires at
//! most once however many instances run, and one due while no server ran fires at the
//! next start.

use chrono::{DateTime, Duration, Utc};

use crate::ticket::Ticket;

/// How long a claim keeps other workers off a ticket: a worker that dies holding it
/// releases it after this (firing one ticket takes milliseconds).
pub const HOLD: Duration = Duration::seconds(10);

/// How often a running server looks for due items (the contract allows 5 s).
pub const POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The earliest instant at which something on `t` is due: when its snooze ends, its
/// SLA's next warning or breach ([`crate::sla::TicketSla::next_due_at`]), or when an
/// automation's hours turn ([`Ticket::automation_at`]). `None`: nothing is.
pub fn next_due_at(t: &Ticket) -> Option<DateTime<Utc>> {
    [
        t.snooze.map(|s| s.until),
        t.sla.next_due_at(),
        t.automation_at,
    ]
    .into_iter()
    .flatten()
    .min()
}
