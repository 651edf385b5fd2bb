//! The model test with the in-memory store on both sides: the harness itself must see no
//! difference (its id labels, its renderings and the library are deterministic), so a
//! failure here is a bug in the test or a nondeterminism in the library, not a store.
#![cfg(feature = "testkit")]

use std::sync::Arc;

use helpdesk_core::store::Store;
use helpdesk_core::store::memory::MemoryStore;
use helpdesk_core::testkit::model::{ModelConfig, check_against_memory};

#[test]
fn memory_agrees_with_itself() {
    check_against_memory(
        || async { Arc::new(MemoryStore::new()) as Arc<dyn Store> },
        ModelConfig::from_env(32, 40),
    );
}
