//! PostgreSQL-specific tests of helpdesk-store-postgres (one binary, one module per
//! area). Behaviour shared by every backend lives in the core conformance suite, wired in
//! `conformance`. Every test needs `HELPDESK_TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) and says that it skipped without it.

mod alone;
mod claims;
mod common;
mod concurrency;
mod conformance;
mod connection_loss;
mod email;
mod events;
mod kept;
mod model;
mod numbers;
mod read_receipts;
mod replies;
mod search;
