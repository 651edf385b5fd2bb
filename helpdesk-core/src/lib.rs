//! # helpdesk-core
//!
//! The Helpdesk domain as a library: users and auth, tickets with their lifecycle and
//! timeline, direct / group / ticket conversations, threaded messages, WhatsApp-like read
//! receipts, notifications, a knowledge base with search, attachments, and an event log
//! with a live stream and webhooks — all over the storage traits of [`store`].
//!
//! [`Helpdesk`] is the one entry point. Every operation takes the acting [`Principal`]
//! and enforces the role and ownership rules itself.
//!
//! ```
//! use std::sync::Arc;
//! use helpdesk_core::{Helpdesk, Config, Principal, Role, store::memory::MemoryStore};
//! use helpdesk_core::user::NewUser;
//! use helpdesk_core::ticket::NewTicket;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! let alice = hd
//!     .create_user(&Principal::system(), NewUser::new("alice@example.com", "Alice", Role::Customer, "correct horse"))
//!     .await?;
//! let me = hd.principal(alice.id).await?;
//! let ticket = hd.create_ticket(&me, NewTicket::new("Printer on fire", "It is on fire.")).await?;
//! assert_eq!(ticket.number, 1);
//! # Ok::<_, helpdesk_core::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod access;
pub mod access_cache;
pub mod action;
pub mod apikey;
pub mod archive;
pub mod attachment;
pub mod auth;
pub mod calendar;
pub mod canned_reply;
pub mod clock;
pub mod condition;
pub mod conversation;
pub mod csat;
pub mod custom_field;
pub mod email;
pub mod ephemeral;
pub mod error;
pub mod event;
pub mod group;
pub mod inbox;
pub mod kb;
pub mod kept;
pub mod limit;
pub mod macros;
pub mod mail;
pub mod mailbox;
pub mod message;
pub mod notification;
pub mod organization;
pub mod ownership;
pub mod page;
pub mod placeholder;
pub mod principal;
pub mod receipt;
pub mod rule;
pub mod schedule;
pub mod schema;
pub mod scope;
#[doc(hidden)] // reached as store::support::search
pub mod search;
pub mod sla;
pub mod sla_policy;
pub mod snooze;
mod stamped;
pub mod status;
pub mod store;
pub mod tag;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod ticket;
pub mod user;
pub mod view;
pub mod webhook;
#[doc(hidden)] // the rendering building blocks of helpdesk-http and the CLI
pub mod wire;

mod helpdesk;
mod ops;

pub use ops::background::{Background, BackgroundTasks};
pub use ops::ephemeral::{Ephemeral, Notice, NoticeKind};
pub use ops::ingest::{InboundAuth, IncomingMail, Ingested};

pub use error::{Conflict, Error, ErrorKind, FieldError, Result, StoreError};

// The crates whose types appear in the library's signatures, so that an embedding
// application names them without depending on them itself (and on the same versions).
pub use bytes;
pub use chrono;
pub use clock::default_retry_schedule;
pub use futures_util;
pub use helpdesk::{Config, Helpdesk};
pub use page::{Cursor, NameCursor, Page, PageRequest};
pub use principal::{Principal, Role};
pub use serde_json;
pub use uuid;
