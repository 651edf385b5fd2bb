//! Printing: tables for people (plain aligned columns with a header, like kubectl),
//! JSON for scripts (`--json`: one object per line for lists) in the API's renderings
//! of the library's values, so a command prints the same locally and over `--url`.

use std::io::Write;

use chrono::{DateTime, Utc};
use comfy_table::{Table, presets};
use helpdesk_core::Principal;
use helpdesk_core::message::{MessageView, message_json};
use helpdesk_core::principal::TicketView;
use helpdesk_core::schema::TicketSchema;
use helpdesk_core::schema::ticket_json_for;
use helpdesk_core::ticket::{Ticket, TicketEvent};
use helpdesk_core::user::User;
use helpdesk_core::wire::to_json;
use helpdesk_http::render::user_json;
use serde::Serialize;
use serde_json::{Value, json};

/// Prints a line on standard output. When the reader went away (`| head`), stops
/// quietly with success, as `cat` does, instead of failing on a broken pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::cmd::output::write_line(format_args!("")) };
    ($($t:tt)*) => { $crate::cmd::output::write_line(format_args!($($t)*)) };
}

/// The function behind [`outln!`].
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Prints a table with upper-case headers, or nothing for no rows but a note on stderr.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>, empty_note: &str) {
    if rows.is_empty() {
        eprintln!("{empty_note}");
        return;
    }
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_header(headers.iter().map(|h| h.to_uppercase()));
    for r in rows {
        t.add_row(r);
    }
    let last = headers.len().saturating_sub(1);
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, if i == last { 0 } else { 2 }));
    }
    for line in t.to_string().lines() {
        crate::outln!("{}", line.trim_end());
    }
}

/// Prints each value as one JSON line.
pub fn json_lines(items: impl IntoIterator<Item = Value>) {
    for v in items {
        crate::outln!("{v}");
    }
}

/// Prints one value as pretty JSON.
pub fn json(v: &Value) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// A time shortened to minutes (`2025-01-01 09:00`).
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// An optional time shortened to minutes, `-` when absent.
pub fn when_opt(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".into(), when)
}

/// A list joined by commas, `-` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// The API's name of an enum value (`pending`, `on_hold`).
pub fn name(v: impl Serialize) -> String {
    match to_json(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A user as the API shows it to an admin.
pub fn user_value(u: &User) -> Value {
    to_json(user_json(u, &Principal::system()))
}

/// A ticket as the API shows it.
pub fn ticket_value(t: &Ticket) -> Value {
    // The CLI names statuses by key; labels are the default ones.
    to_json(ticket_json_for(
        t,
        TicketView::Staff,
        &TicketSchema::defaults(chrono::Utc::now()),
    ))
}

/// A ticket timeline entry as the API shows it.
pub fn ticket_event_value(e: &TicketEvent) -> Value {
    json!({
        "id": e.id,
        "kind": e.kind,
        "actor_id": e.actor_id,
        "at": helpdesk_core::event::ts(e.at),
        "data": e.data,
    })
}

/// A message as the API shows it to the actor.
pub fn message_value(m: &MessageView) -> Value {
    to_json(message_json(m))
}
