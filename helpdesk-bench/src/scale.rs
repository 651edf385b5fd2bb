//! `--scale` (issue 21): T2, M2, M3 and K1 on a store of a million tickets and ten
//! million messages, against the same workloads on a store of the 10,000-row sizes.
//!
//! A store that size is not seeded over HTTP (hours): it is imported. A small *template*
//! store is seeded over the API first (the admin, the members, two tickets, a group, an
//! article) and exported with `helpdesk export`; its records are the shapes of the
//! synthetic ones. The generator then writes a whole archive — the template's records
//! followed, kind by kind, by the synthetic tickets with their conversations, timelines
//! and messages, the M2/M3 conversation with its messages, and the articles — straight
//! into the stdin of `helpdesk import`, so no multi-gigabyte file is written and the
//! store derives its own indexes and counters as for any import.
//!
//! Synthetic records come after the template's in every kind: their ids are UUIDv7 whose
//! time is their `created_at`, all later than the template's, so archive order (ids,
//! `(conversation, seq)`, `(ticket, at, id)`) is generation order. Ticket numbers follow
//! the template's and the `ticket_number` counter is the last. The event log is the
//! template's: the synthetic records have no events (the workloads read none).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::load::{self, LoadResult, LoadSpec, MakeRequest};
use crate::{BenchArgs, BenchResult, ServerProcess};

/// The password of every account of the template (and so of the imported stores).
const PASSWORD: &str = "bench-password";
const ADMIN_EMAIL: &str = "bench-admin@example.com";

/// What one generated store holds beyond the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Tickets, each with its ticket conversation and timeline.
    pub tickets: u64,
    /// Messages in all: `history` in the M2/M3 conversation, the rest spread evenly
    /// over the ticket conversations.
    pub messages: u64,
    /// Messages of the M2/M3 group conversation.
    pub history: u64,
    /// Published articles (K1).
    pub articles: u64,
}

impl Sizes {
    /// Messages of ticket conversation `i`.
    fn ticket_messages(&self, i: u64) -> u64 {
        let spread = self.messages.saturating_sub(self.history);
        if self.tickets == 0 {
            return 0;
        }
        spread / self.tickets + u64::from(i < spread % self.tickets)
    }
    /// The most messages a ticket conversation gets.
    fn max_ticket_messages(&self) -> u64 {
        self.ticket_messages(0)
    }
}

/// A UUIDv7 (RFC 9562) at `at_us` microseconds since the epoch: `tag` in `rand_a`, `n`
/// in `rand_b`. Ids of one tag sort as `(at_us / 1000, n)`.
pub fn v7(at_us: i64, tag: u16, n: u64) -> String {
    let ms = (at_us / 1000) as u64;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        (ms >> 16) & 0xffff_ffff,
        ms & 0xffff,
        tag & 0xfff,
        0x8000 | ((n >> 48) & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}

/// A timestamp as the archive writes them (RFC 3339, microseconds, `Z`).
fn ts(at_us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(at_us)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Microseconds since the epoch of an archive timestamp.
fn micros(v: &Value) -> Option<i64> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.timestamp_micros())
}

const TAG_CONVERSATION: u16 = 1;
const TAG_TICKET: u16 = 2;
const TAG_MESSAGE: u16 = 3;
const TAG_TICKET_EVENT: u16 = 4;
const TAG_ARTICLE: u16 = 5;

/// The title of the template's group and of the generated M2/M3 conversation.
const HISTORY_TITLE: &str = "History";

/// The shapes the generator copies, taken from the template's export.
#[derive(Debug, Clone)]
pub struct Template {
    /// Every line of the export (`{"type", "record"}`), header and end included.
    pub lines: Vec<Value>,
    open_ticket: Value,
    pending_ticket: Value,
    ticket_conversation: Value,
    /// The ticket conversation's participants, one per member.
    ticket_participants: Vec<Value>,
    ticket_message: Value,
    /// The timelines of the open and of the pending ticket.
    open_events: Vec<Value>,
    pending_events: Vec<Value>,
    group: Value,
    /// The group's participant records: the sender's (the admin) and a reader's.
    sender_participant: Value,
    reader_participant: Value,
    group_message: Value,
    article: Value,
    /// The ticket number the template's counter ends at.
    last_number: i64,
    /// Later than every timestamp of the template.
    after_us: i64,
    /// The admin's id.
    pub admin_id: String,
    /// The members' ids (the group's other members).
    pub member_ids: Vec<String>,
}

fn record_of<'a>(
    lines: &'a [Value],
    kind: &str,
    pred: impl Fn(&Value) -> bool,
) -> Option<&'a Value> {
    lines
        .iter()
        .filter(|l| l["type"] == kind)
        .map(|l| &l["record"])
        .find(|r| pred(r))
}

/// The latest creation-like time in `v` (`created_at`, `updated_at`, `at`, ...: not
/// expiry times, which lie in the future).
fn latest_time(v: &Value, max: &mut i64) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| latest_time(x, max)),
        Value::Object(o) => {
            for (k, x) in o {
                if matches!(
                    k.as_str(),
                    "at" | "created_at"
                        | "updated_at"
                        | "joined_at"
                        | "published_at"
                        | "last_message_at"
                ) && let Some(t) = micros(x)
                {
                    *max = (*max).max(t);
                }
                latest_time(x, max);
            }
        }
        _ => {}
    }
}

impl Template {
    /// Reads the shapes out of an export of the template store.
    pub fn from_lines(lines: Vec<Value>) -> BenchResult<Template> {
        let need = |what: &str| format!("the template export has no {what}");
        let admin_id = record_of(&lines, "user", |u| u["email"] == ADMIN_EMAIL)
            .and_then(|u| u["id"].as_str())
            .ok_or_else(|| need("admin"))?
            .to_string();
        let open_ticket = record_of(&lines, "ticket", |t| t["status"] == "open")
            .ok_or_else(|| need("open ticket"))?
            .clone();
        let pending_ticket = record_of(&lines, "ticket", |t| t["status"] != "open")
            .ok_or_else(|| need("pending ticket"))?
            .clone();
        let conv_id = open_ticket["conversation_id"].clone();
        let ticket_conversation = record_of(&lines, "conversation", |c| c["id"] == conv_id)
            .ok_or_else(|| need("ticket conversation"))?
            .clone();
        let ticket_participants: Vec<Value> = lines
            .iter()
            .filter(|l| l["type"] == "participant" && l["record"]["conversation_id"] == conv_id)
            .map(|l| l["record"].clone())
            .collect();
        let ticket_message = record_of(&lines, "message", |m| m["conversation_id"] == conv_id)
            .ok_or_else(|| need("message in the open ticket"))?
            .clone();
        let events_of = |ticket: &Value| -> Vec<Value> {
            lines
                .iter()
                .filter(|l| l["type"] == "ticket_event" && l["record"]["ticket_id"] == ticket["id"])
                .map(|l| l["record"].clone())
                .collect()
        };
        let (open_events, pending_events) = (events_of(&open_ticket), events_of(&pending_ticket));
        let group = record_of(&lines, "conversation", |c| c["title"] == HISTORY_TITLE)
            .ok_or_else(|| need("group"))?
            .clone();
        let gid = group["id"].clone();
        let sender_participant = record_of(&lines, "participant", |p| {
            p["conversation_id"] == gid && p["user_id"] == admin_id.as_str()
        })
        .ok_or_else(|| need("admin's participant record in the group"))?
        .clone();
        let reader_participant = record_of(&lines, "participant", |p| {
            p["conversation_id"] == gid && p["user_id"] != admin_id.as_str()
        })
        .ok_or_else(|| need("member's participant record in the group"))?
        .clone();
        let member_ids = group["members"]
            .as_array()
            .ok_or_else(|| need("group members"))?
            .iter()
            .filter_map(|m| m["user_id"].as_str())
            .filter(|id| *id != admin_id)
            .map(str::to_string)
            .collect();
        let group_message = record_of(&lines, "message", |m| m["conversation_id"] == gid)
            .ok_or_else(|| need("message in the group"))?
            .clone();
        let article = record_of(&lines, "article", |_| true)
            .ok_or_else(|| need("article"))?
            .clone();
        let last_number = record_of(&lines, "counter", |c| c["name"] == "ticket_number")
            .and_then(|c| c["value"].as_i64())
            .ok_or_else(|| need("ticket_number counter"))?;
        let mut after_us = 0;
        lines.iter().for_each(|l| latest_time(l, &mut after_us));
        Ok(Template {
            lines,
            open_ticket,
            pending_ticket,
            ticket_conversation,
            ticket_participants,
            ticket_message,
            open_events,
            pending_events,
            group,
            sender_participant,
            reader_participant,
            group_message,
            article,
            last_number,
            // A second later, on a whole second.
            after_us: (after_us / 1_000_000 + 2) * 1_000_000,
            admin_id,
            member_ids,
        })
    }
}

/// Archive lines out, counted.
struct Sink<'w> {
    out: &'w mut dyn Write,
    written: u64,
    /// Progress on stderr every million records (a large import takes minutes).
    started: Instant,
}

impl Sink<'_> {
    /// Writes one record line.
    fn emit(&mut self, kind: &str, record: &Value) -> std::io::Result<()> {
        self.written += 1;
        if self.written.is_multiple_of(1_000_000) {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "    {} records written ({kind}s), {secs:.0} s, {:.0} records/s",
                self.written,
                self.written as f64 / secs
            );
        }
        self.raw(kind, record)
    }
    /// Writes one line (the header and end lines are not counted).
    fn raw(&mut self, kind: &str, record: &Value) -> std::io::Result<()> {
        // `{"type": ..., "record": ...}` without copying the record into a new value.
        write!(self.out, "{{\"type\":\"{kind}\",\"record\":")?;
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"}\n")
    }
}

/// The ids the generator gives the M2/M3 conversation and its messages (by seq).
pub fn history_ids(t: &Template, sizes: Sizes) -> (String, Vec<String>) {
    let plan = Plan::new(t, sizes);
    let msgs = (1..=sizes.history)
        .map(|k| v7(plan.base + k as i64, TAG_MESSAGE, k - 1))
        .collect();
    (plan.history_id, msgs)
}

/// Writes the archive: the template's records with the synthetic ones after them, kind
/// by kind, and the end line with the count. Returns the records written.
pub fn generate(t: &Template, sizes: Sizes, out: &mut dyn Write) -> BenchResult<u64> {
    let plan = Plan::new(t, sizes);
    let mut sink = Sink {
        out,
        written: 0,
        started: Instant::now(),
    };
    let mut prev_kind: Option<&str> = None;
    for l in &t.lines {
        let kind = l["type"].as_str().unwrap_or_default();
        if let Some(done) = prev_kind
            && done != kind
        {
            // The template's records of `done` are all out: the synthetic ones follow.
            plan.synthetic(done, &mut sink)?;
        }
        match kind {
            "header" => sink.raw(kind, &l["record"])?,
            "end" => {
                let records = sink.written;
                sink.raw(kind, &json!({ "records": records }))?;
            }
            "counter" if l["record"]["name"] == "ticket_number" => {
                let mut r = l["record"].clone();
                r["value"] = json!(t.last_number + sizes.tickets as i64);
                sink.emit(kind, &r)?;
            }
            _ => sink.emit(kind, &l["record"])?,
        }
        prev_kind = Some(kind);
    }
    sink.out.flush()?;
    Ok(sink.written)
}

/// Where the synthetic records go in time and ids.
struct Plan<'t> {
    t: &'t Template,
    sizes: Sizes,
    /// The M2/M3 conversation's creation; its messages follow, 1 µs apart.
    base: i64,
    history_id: String,
    /// The first ticket's creation.
    t0: i64,
    /// µs between two tickets: each ticket's messages fall in its slot.
    step: i64,
    /// The first article's creation.
    a0: i64,
    /// The group's members (the admin and the members), sorted by id.
    members: Vec<String>,
}

impl<'t> Plan<'t> {
    fn new(t: &'t Template, sizes: Sizes) -> Plan<'t> {
        let base = t.after_us;
        let t0 = base + sizes.history as i64 + 1;
        let step = sizes.max_ticket_messages() as i64 + 2;
        let mut members = t.member_ids.clone();
        members.push(t.admin_id.clone());
        members.sort();
        Plan {
            t,
            sizes,
            base,
            history_id: v7(base, TAG_CONVERSATION, 0),
            t0,
            step,
            a0: t0 + sizes.tickets as i64 * step + 1,
            members,
        }
    }
    fn ticket_at(&self, i: u64) -> i64 {
        self.t0 + i as i64 * self.step
    }
    fn conv_of(&self, i: u64) -> String {
        v7(self.ticket_at(i), TAG_CONVERSATION, i + 1)
    }
    fn ticket_of(&self, i: u64) -> String {
        v7(self.ticket_at(i), TAG_TICKET, i)
    }
    /// The index (over all synthetic messages) of ticket `i`'s first message.
    fn first_msg(&self, i: u64) -> u64 {
        let spread = self.sizes.messages.saturating_sub(self.sizes.history);
        let tickets = self.sizes.tickets.max(1);
        let (q, r) = (spread / tickets, spread % tickets);
        self.sizes.history + i * q + i.min(r)
    }

    /// Writes the synthetic records of `kind`.
    fn synthetic(&self, kind: &str, sink: &mut Sink<'_>) -> BenchResult {
        let (t, sizes) = (self.t, self.sizes);
        let admin = t.admin_id.as_str();
        let h = sizes.history;
        match kind {
            "conversation" => {
                let mut g = t.group.clone();
                g["id"] = json!(self.history_id);
                g["created_at"] = json!(ts(self.base));
                set_members(&mut g, self.base);
                set_counts(&mut g, h, self.base);
                sink.emit(kind, &g)?;
                let mut r = t.ticket_conversation.clone();
                for i in 0..sizes.tickets {
                    let at = self.ticket_at(i);
                    r["id"] = json!(self.conv_of(i));
                    r["ticket_id"] = json!(self.ticket_of(i));
                    r["created_at"] = json!(ts(at));
                    set_members(&mut r, at);
                    set_counts(&mut r, sizes.ticket_messages(i), at);
                    sink.emit(kind, &r)?;
                }
            }
            "participant" => {
                for user in &self.members {
                    let mut p = if user == admin {
                        sent_all(&t.sender_participant, h, self.base + h as i64)
                    } else {
                        t.reader_participant.clone()
                    };
                    p["conversation_id"] = json!(self.history_id);
                    p["user_id"] = json!(user);
                    sink.emit(kind, &p)?;
                }
                let mut ps: Vec<Value> = t.ticket_participants.clone();
                ps.sort_by(|a, b| a["user_id"].as_str().cmp(&b["user_id"].as_str()));
                for i in 0..sizes.tickets {
                    let at = self.ticket_at(i);
                    let n = sizes.ticket_messages(i);
                    for p in &ps {
                        let mut p = if p["user_id"] == admin {
                            sent_all(p, n, at + n as i64)
                        } else {
                            p.clone()
                        };
                        p["conversation_id"] = json!(self.conv_of(i));
                        sink.emit(kind, &p)?;
                    }
                }
            }
            "ticket" => {
                let mut rng = StdRng::seed_from_u64(21);
                for i in 0..sizes.tickets {
                    let at = self.ticket_at(i);
                    let n = sizes.ticket_messages(i);
                    // Every tenth ticket waits on its requester, so the filter filters.
                    let mut r = if i % 10 == 0 {
                        t.pending_ticket.clone()
                    } else {
                        t.open_ticket.clone()
                    };
                    r["id"] = json!(self.ticket_of(i));
                    r["number"] = json!(t.last_number + 1 + i as i64);
                    r["subject"] = json!(format!("Ticket {i}: {}", crate::words(&mut rng, 4)));
                    r["description"] = json!(crate::text_of(&mut rng, 200));
                    r["conversation_id"] = json!(self.conv_of(i));
                    r["created_at"] = json!(ts(at));
                    r["updated_at"] = json!(ts(at + n as i64));
                    if !r["status_changed_at"].is_null() {
                        r["status_changed_at"] = json!(ts(at + 1));
                    }
                    // The admin's messages are the first response.
                    r["first_response_at"] = if n > 0 {
                        json!(ts(at + 1))
                    } else {
                        Value::Null
                    };
                    // The SLA clock's times (runs, fulfilled targets) from the ticket's.
                    retime(&mut r["sla"], at);
                    sink.emit(kind, &r)?;
                }
            }
            "ticket_event" => {
                for i in 0..sizes.tickets {
                    let at = self.ticket_at(i);
                    let events = if i % 10 == 0 {
                        &t.pending_events
                    } else {
                        &t.open_events
                    };
                    for (k, e) in events.iter().enumerate() {
                        let mut e = e.clone();
                        e["id"] = json!(v7(at, TAG_TICKET_EVENT, i * 16 + k as u64));
                        e["ticket_id"] = json!(self.ticket_of(i));
                        // Creation, then the move to pending a microsecond later.
                        e["at"] = json!(ts(at + k as i64));
                        sink.emit(kind, &e)?;
                    }
                }
            }
            "message" => {
                let mut rng = StdRng::seed_from_u64(8);
                let mut m = t.group_message.clone();
                for k in 1..=h {
                    let at = self.base + k as i64;
                    set_message(&mut m, v7(at, TAG_MESSAGE, k - 1), &self.history_id, k, at);
                    m["content"] = json!(crate::text_of(&mut rng, 100));
                    sink.emit(kind, &m)?;
                }
                let mut m = t.ticket_message.clone();
                for i in 0..sizes.tickets {
                    let (at, first, conv) = (self.ticket_at(i), self.first_msg(i), self.conv_of(i));
                    for k in 1..=sizes.ticket_messages(i) {
                        let at = at + k as i64;
                        set_message(&mut m, v7(at, TAG_MESSAGE, first + k - 1), &conv, k, at);
                        m["content"] = json!(crate::text_of(&mut rng, 100));
                        sink.emit(kind, &m)?;
                    }
                }
            }
            "article" => {
                for j in 0..sizes.articles {
                    let at = self.a0 + j as i64;
                    let mut rng = StdRng::seed_from_u64(1_000_000 + j);
                    let mut a = t.article.clone();
                    let tags: Vec<&str> = (0..2)
                        .map(|_| crate::VOCABULARY[rng.gen_range(0..crate::VOCABULARY.len())])
                        .collect();
                    a["id"] = json!(v7(at, TAG_ARTICLE, j));
                    a["slug"] = json!(format!("scale-article-{j}"));
                    a["title"] = json!(format!("{} ({j})", crate::words(&mut rng, 2)));
                    a["body"] = json!(crate::article_body(&mut rng, 120));
                    a["tags"] = json!(tags);
                    for f in ["created_at", "updated_at", "published_at"] {
                        if !a[f].is_null() {
                            a[f] = json!(ts(at));
                        }
                    }
                    sink.emit(kind, &a)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A message record moved to `id`, `seq` in `conv`, sent at `at` (every message of a
/// synthetic conversation is public and the admin's).
fn set_message(m: &mut Value, id: String, conv: &str, seq: u64, at: i64) {
    m["id"] = json!(id);
    m["conversation_id"] = json!(conv);
    m["seq"] = json!(seq);
    m["created_at"] = json!(ts(at));
    m["public_ordinal"] = json!(seq);
    m["sender_ordinal"] = json!(seq);
}

/// Every timestamp in `v` moved to `at`.
fn retime(v: &mut Value, at: i64) {
    match v {
        Value::String(_) if micros(v).is_some() => *v = json!(ts(at)),
        Value::Array(a) => a.iter_mut().for_each(|x| retime(x, at)),
        Value::Object(o) => o.values_mut().for_each(|x| retime(x, at)),
        _ => {}
    }
}

/// A conversation of `n` messages, the last at `at + n` µs.
fn set_counts(conv: &mut Value, n: u64, at: i64) {
    conv["last_seq"] = json!(n);
    conv["last_public_seq"] = json!(n);
    conv["public_count"] = json!(n);
    conv["last_message_at"] = if n > 0 {
        json!(ts(at + n as i64))
    } else {
        Value::Null
    };
}

/// The members of a synthetic conversation joined when it was created.
fn set_members(conv: &mut Value, at: i64) {
    if let Some(members) = conv["members"].as_array_mut() {
        for m in members {
            if let Some(o) = m.as_object_mut() {
                for (k, v) in o.iter_mut() {
                    if k.ends_with("_at") && !v.is_null() {
                        *v = json!(ts(at));
                    }
                }
            }
        }
    }
}

/// The participant record of a member who sent all `n` messages of a conversation (the
/// last at `last_at`): the template's sender record with its counts moved to `n`.
fn sent_all(template: &Value, n: u64, last_at: i64) -> Value {
    let mut p = template.clone();
    let old = template["sent_count"].as_u64().unwrap_or(0);
    for f in [
        "last_read_seq",
        "public_at_watermark",
        "own_at_watermark",
        "delivered_seq",
        "public_read_seq",
    ] {
        // The template's sender had read (and had delivered) what it sent.
        if p[f].as_u64() == Some(old) && old > 0 {
            p[f] = json!(n);
        }
    }
    p["sent_count"] = json!(n);
    p["read_above"] = json!([]);
    p["public_read_above"] = json!([]);
    for f in ["read_marks", "delivered_marks"] {
        if let Some(marks) = p[f].as_array_mut() {
            marks.retain(|_| false);
            if n > 0 && template[f].as_array().is_some_and(|a| !a.is_empty()) {
                let mut mark = template[f][template[f].as_array().map_or(0, Vec::len) - 1].clone();
                if let Some(o) = mark.as_object_mut() {
                    for (k, v) in o.iter_mut() {
                        if k == "seq" {
                            *v = json!(n);
                        } else if k == "at" {
                            *v = json!(ts(last_at));
                        }
                    }
                }
                marks.push(mark);
            }
        }
    }
    p
}

/// Seeds the template store over the API (the admin, `members` members, an open ticket
/// with one message, a pending one, the `History` group with two messages, one article),
/// stops it and exports it.
pub async fn template(bin: &Path, http: &reqwest::Client, members: usize) -> BenchResult<Template> {
    let mut server = crate::start_server(bin.to_path_buf(), "sled", http).await?;
    let base = server.base.clone();
    let url = |path: &str| format!("http://{base}{path}");
    let admin = login(http, &base, ADMIN_EMAIL).await?;
    let mut ids = Vec::new();
    for i in 0..members {
        let v = crate::post(
            http,
            url("/api/auth/signup"),
            None,
            json!({"email": member_email(i), "password": PASSWORD, "name": format!("Member {i}")}),
        )
        .await?;
        ids.push(crate::string_at(&v, "/user/id")?);
    }
    let ticket = json!({"subject": "Template ticket", "description": "The shape of the tickets."});
    let open = crate::post(http, url("/api/tickets"), Some(&admin), ticket.clone()).await?;
    let cid = crate::string_at(&open, "/conversation_id")?;
    crate::post(
        http,
        url(&format!("/api/conversations/{cid}/messages")),
        Some(&admin),
        json!({"content": "The shape of a ticket's messages."}),
    )
    .await?;
    let pending = crate::post(http, url("/api/tickets"), Some(&admin), ticket).await?;
    let pid = crate::string_at(&pending, "/id")?;
    let resp = http
        .patch(url(&format!("/api/tickets/{pid}")))
        .bearer_auth(&admin)
        .json(&json!({"status": "pending"}))
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("PATCH ticket: {}", resp.status()).into());
    }
    let group = crate::post(
        http,
        url("/api/conversations"),
        Some(&admin),
        json!({"kind": "group", "title": HISTORY_TITLE, "member_ids": ids}),
    )
    .await?;
    let gid = crate::string_at(&group, "/id")?;
    for k in 0..2 {
        crate::post(
            http,
            url(&format!("/api/conversations/{gid}/messages")),
            Some(&admin),
            json!({"content": format!("The shape of the group's messages ({k}).")}),
        )
        .await?;
    }
    crate::post(
        http,
        url("/api/kb/articles"),
        Some(&admin),
        json!({"title": "Template article", "body": "The shape of the articles.", "tags": ["template"], "status": "published"}),
    )
    .await?;
    stop(&mut server)?;
    let out = Command::new(&server.bin)
        .args(["export", "--store", &server.store, "-"])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("helpdesk export of the template: {}", out.status).into());
    }
    let lines = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<Vec<Value>, _>>()?;
    Template::from_lines(lines)
}

fn member_email(i: usize) -> String {
    format!("member{i}@bench.example")
}

/// Logs in with the bench password; the access token.
async fn login(http: &reqwest::Client, base: &str, email: &str) -> BenchResult<String> {
    let v = crate::post(
        http,
        format!("http://{base}/api/auth/login"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await?;
    crate::string_at(&v, "/access_token")
}

/// Stops the server with SIGTERM and waits for it to exit.
fn stop(server: &mut ServerProcess) -> BenchResult {
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()?;
    server.child.wait()?;
    Ok(())
}

/// A store the benchmark imports into, removed when dropped unless kept.
struct Store {
    place: Place,
    keep: bool,
}

enum Place {
    /// A temporary directory (`None` once kept).
    Sled { dir: Option<tempfile::TempDir> },
    /// A database this benchmark created (and drops), on the server of `admin_url`.
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl Store {
    /// A fresh store: a sled directory under `parent` (else the system's temporary
    /// directory), or a database named `name` on the PostgreSQL server of `on`.
    fn create(on: &str, name: &str, parent: Option<&Path>) -> BenchResult<Store> {
        if on == "sled" {
            let dir = match parent {
                Some(p) => tempfile::tempdir_in(p)?,
                None => tempfile::tempdir()?,
            };
            return Ok(Store {
                place: Place::Sled { dir: Some(dir) },
                keep: false,
            });
        }
        let url = database_url(on, name)?;
        crate::ceiling::psql(on, &format!("DROP DATABASE IF EXISTS {name}"))?;
        crate::ceiling::psql(on, &format!("CREATE DATABASE {name}"))?;
        Ok(Store {
            place: Place::Postgres {
                admin_url: on.to_string(),
                name: name.to_string(),
                url,
            },
            keep: false,
        })
    }

    /// The `--store` of the `helpdesk` commands.
    fn spec(&self) -> String {
        match &self.place {
            Place::Sled { dir } => format!(
                "sled:{}",
                dir.as_ref()
                    .map(|d| d.path().join("data"))
                    .unwrap_or_default()
                    .display()
            ),
            Place::Postgres { url, .. } => url.clone(),
        }
    }

    /// The store's size on disk, in bytes: the sled directory, or
    /// `pg_database_size`.
    fn size_bytes(&self) -> BenchResult<u64> {
        match &self.place {
            Place::Sled { dir } => Ok(dir.as_ref().map_or(0, |d| dir_size(d.path()))),
            Place::Postgres { url, .. } => {
                let out = Command::new("psql")
                    .args([url.as_str(), "-tA", "-c"])
                    .arg("SELECT pg_database_size(current_database())")
                    .output()?;
                Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
            }
        }
    }

    /// Leaves the store where it is.
    fn keep(&mut self) {
        self.keep = true;
        if let Place::Sled { dir } = &mut self.place
            && let Some(d) = dir.take()
        {
            let _ = d.keep();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let (
            false,
            Place::Postgres {
                admin_url, name, ..
            },
        ) = (self.keep, &self.place)
            && let Err(e) =
                crate::ceiling::psql(admin_url, &format!("DROP DATABASE IF EXISTS {name}"))
        {
            eprintln!("could not drop the database {name}: {e}");
        }
    }
}

/// The URL of database `name` on the server of `url` (its path replaced).
fn database_url(url: &str, name: &str) -> BenchResult<String> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").ok_or("not a postgres:// URL")? + 3;
    let host_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &head[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Bytes of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// How long building a store took.
#[derive(Debug, Clone, Copy)]
struct Built {
    records: u64,
    took: Duration,
}

/// Streams the generated archive into `helpdesk import --store <store> -`.
async fn import(bin: &Path, store: &str, t: Arc<Template>, sizes: Sizes) -> BenchResult<Built> {
    let (bin, store) = (bin.to_path_buf(), store.to_string());
    tokio::task::spawn_blocking(move || -> BenchResult<Built> {
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .args(["import", "--store", &store, "-"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, stdin);
        let generated = generate(&t, sizes, &mut out);
        // Closing stdin ends the archive for the importer.
        drop(out);
        let status = child.wait()?;
        let records = generated?;
        if !status.success() {
            return Err(format!("helpdesk import: {status}").into());
        }
        Ok(Built {
            records,
            took: started.elapsed(),
        })
    })
    .await?
}

/// One round's figures.
struct Round {
    label: String,
    sizes: Sizes,
    built: Built,
    ready: Duration,
    rss_ready_kib: u64,
    rss_end_kib: u64,
    disk_bytes: u64,
    results: Vec<(&'static str, LoadResult)>,
}

/// The workloads of the scale run, in the order they run.
pub const SCALE_WORKLOADS: &[&str] = &["t2", "m2", "k1", "m3"];

/// Builds a store of `sizes`, serves it and drives the workloads.
async fn round(
    args: &BenchArgs,
    bin: &Path,
    http: &reqwest::Client,
    t: &Arc<Template>,
    sizes: Sizes,
    label: &str,
    db_name: &str,
) -> BenchResult<Round> {
    let mut store = Store::create(&args.on, db_name, args.scale_dir.as_deref())?;
    let spec = store.spec();
    println!(
        "{label}: importing {} tickets, {} messages ({} in the M2/M3 conversation), {} articles ...",
        sizes.tickets, sizes.messages, sizes.history, sizes.articles
    );
    let built = import(bin, &spec, t.clone(), sizes).await?;
    println!(
        "  {} records in {:.1} s ({:.0} records/s)",
        built.records,
        built.took.as_secs_f64(),
        built.records as f64 / built.took.as_secs_f64()
    );
    if args.on.starts_with("postgres") {
        // As autovacuum would within a minute of a bulk load (see the seeding of the
        // normal run).
        println!("  ANALYZE ...");
        crate::ceiling::psql(&spec, "ANALYZE")?;
    }
    let base = format!("127.0.0.1:{}", crate::free_port()?);
    let started = Instant::now();
    let mut server = ServerProcess {
        child: crate::spawn_serve(bin, &spec, &base)?,
        bin: bin.to_path_buf(),
        base: base.clone(),
        store: spec.clone(),
        _dir: None,
    };
    crate::wait_ready(
        http,
        &base,
        started,
        Duration::from_millis(2),
        Duration::from_secs(1800),
    )
    .await?;
    let ready = started.elapsed();
    println!("  serve ready in {}", crate::ms(ready));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_ready_kib = server.rss_kib();
    if !args.scale_settle.is_zero() {
        println!("  settling for {:?} ...", args.scale_settle);
        tokio::time::sleep(args.scale_settle).await;
    }
    let admin = login(http, &base, ADMIN_EMAIL).await?;
    let mut tokens = Vec::new();
    for i in 0..t.member_ids.len() {
        tokens.push(login(http, &base, &member_email(i)).await?);
    }
    let tokens = Arc::new(tokens);
    let (gid, messages) = history_ids(t, sizes);
    let messages = Arc::new(messages);
    let spec_load = LoadSpec {
        connections: args.connections.max(1),
        warmup: args.warmup,
        duration: args.duration.max(Duration::from_millis(100)),
    };
    let want = |w: &str| args.workloads.iter().any(|x| x.eq_ignore_ascii_case(w));
    let mut results = Vec::new();
    for &w in SCALE_WORKLOADS {
        if !want(w) {
            continue;
        }
        let host = base.clone();
        let make: MakeRequest = match w {
            "t2" => crate::t2_requests(host, admin.clone()),
            "m2" => crate::m2_requests(host, tokens.clone(), gid.clone()),
            "m3" => crate::m3_requests(host, tokens.clone(), gid.clone(), messages.clone()),
            _ => crate::k1_requests(host, admin.clone()),
        };
        println!("  {} ...", w.to_uppercase());
        let result = load::drive(&base, spec_load, make, Some(server.child.id())).await?;
        if let Some(e) = &result.first_error {
            println!("    first error: {e}");
        }
        println!(
            "    {:.0} requests/s, p50 {}, p99 {}",
            result.rps(),
            crate::ms(result.percentile(50.0)),
            crate::ms(result.percentile(99.0))
        );
        results.push((w, result));
    }
    let rss_end_kib = server.rss_kib();
    stop(&mut server)?;
    let disk_bytes = store.size_bytes()?;
    if args.keep_stores {
        println!("  kept: {spec}");
        store.keep();
    }
    Ok(Round {
        label: label.to_string(),
        sizes,
        built,
        ready,
        rss_ready_kib,
        rss_end_kib,
        disk_bytes,
        results,
    })
}

/// Runs `--scale`: the template, then the 10,000-row round (unless `--no-baseline`),
/// then the scale round; prints both and the p99 ratios.
pub async fn run(args: &BenchArgs, bin: PathBuf) -> BenchResult {
    let http = reqwest::Client::builder().build()?;
    eprintln!("template store (seeded over the API, then exported) ...");
    let t = Arc::new(template(&bin, &http, args.connections.max(1)).await?);
    eprintln!("  {} records", t.lines.len().saturating_sub(2));
    let db = match args.on.as_str() {
        "sled" => String::new(),
        url => url
            .split('?')
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("helpdesk")
            .to_string(),
    };
    let small = Sizes {
        tickets: args.tickets as u64,
        messages: args.messages as u64,
        history: args.messages as u64,
        articles: args.articles as u64,
    };
    let big = Sizes {
        tickets: args.scale_tickets,
        messages: args.scale_messages.max(args.messages as u64),
        history: args.messages as u64,
        articles: args.articles as u64,
    };
    if let Some(file) = &args.scale_archive {
        let t = t.clone();
        let file = file.clone();
        let records = tokio::task::spawn_blocking(move || -> BenchResult<u64> {
            if file == "-" {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                generate(&t, big, &mut out)
            } else {
                let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
                generate(&t, big, &mut out)
            }
        })
        .await??;
        eprintln!("wrote {records} records");
        return Ok(());
    }
    let baseline = (!args.no_baseline).then_some((small, "10k", "scale_10k"));
    let mut rounds = Vec::new();
    for (size, label, suffix) in baseline.into_iter().chain([(big, "scale", "scale_big")]) {
        let db = format!("{db}_{suffix}");
        rounds.push(round(args, &bin, &http, &t, size, label, &db).await?);
    }
    print_report(args, &rounds);
    Ok(())
}

fn print_report(args: &BenchArgs, rounds: &[Round]) {
    println!();
    println!(
        "{}",
        crate::report_header(&args.on, args.connections, args.warmup, args.duration)
    );
    println!();
    println!(
        "| store built | tickets | messages | in the M2/M3 conversation | articles | records | import | records/s | `serve` ready | RSS ready | RSS after the run | on disk |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rounds {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} s | {:.0} | {} | {} | {} | {} |",
            r.label,
            r.sizes.tickets,
            r.sizes.messages,
            r.sizes.history,
            r.sizes.articles,
            r.built.records,
            r.built.took.as_secs_f64(),
            r.built.records as f64 / r.built.took.as_secs_f64(),
            crate::ms(r.ready),
            crate::mib(r.rss_ready_kib),
            crate::mib(r.rss_end_kib),
            crate::mib(r.disk_bytes / 1024),
        );
    }
    println!();
    println!("| workload | store | requests/s | p50 | p99 | errors | server CPU / request |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in rounds {
        for (w, res) in &r.results {
            println!(
                "| {} | {} | {:.0} | {} | {} | {} | {} |",
                w.to_uppercase(),
                r.label,
                res.rps(),
                crate::ms(res.percentile(50.0)),
                crate::ms(res.percentile(99.0)),
                res.errors,
                res.server_cpu_per_request()
                    .map_or("–".to_string(), |d| format!("{} µs", d.as_micros())),
            );
        }
    }
    if let [small, big] = rounds {
        println!();
        println!("| workload | p99 at 10k | p99 at scale | ratio | target ≤ 2× |");
        println!("|---|---:|---:|---:|---|");
        for ((w, a), (_, b)) in small.results.iter().zip(&big.results) {
            let (pa, pb) = (a.percentile(99.0), b.percentile(99.0));
            let ratio = pb.as_secs_f64() / pa.as_secs_f64().max(1e-9);
            println!(
                "| {} | {} | {} | {ratio:.2}× | {} |",
                w.to_uppercase(),
                crate::ms(pa),
                crate::ms(pb),
                if ratio <= 2.0 { "met" } else { "**not met**" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_one_tag_sort_by_time_then_counter() {
        let ids = [
            v7(1_700_000_000_000_000, TAG_TICKET, 0),
            v7(1_700_000_000_000_999, TAG_TICKET, 1),
            v7(1_700_000_000_001_000, TAG_TICKET, 2),
            v7(1_700_000_001_000_000, TAG_TICKET, 1 << 40),
        ];
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert_eq!(ids[0].len(), 36);
        assert_eq!(&ids[0][14..15], "7");
        assert!(matches!(&ids[0][19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn the_ticket_messages_add_up() {
        let sizes = Sizes {
            tickets: 7,
            messages: 100,
            history: 30,
            articles: 0,
        };
        let spread: u64 = (0..7).map(|i| sizes.ticket_messages(i)).sum();
        assert_eq!(spread + sizes.history, 100);
        assert_eq!(sizes.max_ticket_messages(), 10);
    }

    #[test]
    fn database_urls_keep_the_server_and_the_options() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url("postgres://h/db?sslmode=disable", "y").unwrap(),
            "postgres://h/y?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "z").unwrap(), "postgres://h/z");
    }
}
