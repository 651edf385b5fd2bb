//! Printing: tables for people (plain aligned columns with a header, like kubectl),
//! JSON for scripts (`--json`: one object per line for lists).

use std::io::Write;

use comfy_table::{Table, presets};

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
use serde_json::Value;

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
pub fn json_lines(items: &[Value]) {
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

/// A string field, `-` when null or absent.
pub fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A time field shortened to minutes (`2025-01-01 09:00`), `-` when null.
pub fn when(v: &Value) -> String {
    match v.as_str() {
        Some(t) if t.len() >= 16 => t[..16].replace('T', " "),
        Some(t) => t.to_string(),
        None => "-".into(),
    }
}

/// A list field joined by commas, `-` when empty.
pub fn list(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}
