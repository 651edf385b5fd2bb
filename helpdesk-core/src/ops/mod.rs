//! The operations layer: every `impl Helpdesk` method, by noun, above the storage
//! traits ([`crate::store`]) and the model (the types and pure rules in the noun modules
//! beside this folder). Nothing below this layer calls the store.

mod access;
pub(crate) mod actions;
mod apikey;
mod archive;
mod attachment;
mod auth;
pub(crate) mod background;
mod bounce;
mod calendar;
mod canned_reply;
mod cc;
pub(crate) mod conversation;
mod csat;
mod custom_field;
pub(crate) mod ephemeral;
mod event;
mod followers;
mod group;
pub(crate) mod ingest;
mod kb;
mod limit;
mod macros;
mod mail_log;
mod mailbox;
mod merge;
mod message;
mod notification;
mod notification_mail;
mod organization;
pub(crate) mod outbox;
mod receipt;
pub(crate) mod rules;
mod schedule;
mod sla;
mod snooze;
mod status;
pub(crate) mod ticket;
mod user;
mod view;
mod webhook;
