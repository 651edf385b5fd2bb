//! Tests that run the real `helpdesk` binary as separate processes: several server
//! instances over one PostgreSQL, restarts, webhooks to a real receiver on loopback.

mod common;

mod admin;
mod archive;

mod cli;
mod cluster;
mod keys;
mod mail;
mod webhooks;
