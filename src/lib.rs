//! Helpdesk: a support ticketing system as a library.
//!
//! This facade re-exports [`helpdesk_core`]; the stores and the HTTP server are behind the
//! features `sled`, `postgres` and `http`.
#![forbid(unsafe_code)]

pub use helpdesk_core::*;

#[cfg(feature = "http")]
pub use helpdesk_http as http;
#[cfg(feature = "postgres")]
pub use helpdesk_store_postgres as postgres;
#[cfg(feature = "sled")]
pub use helpdesk_store_sled as sled;
