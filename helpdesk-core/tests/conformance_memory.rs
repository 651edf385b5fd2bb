//! The store conformance suite against the in-memory store, the reference model.
#![cfg(feature = "testkit")]

helpdesk_core::store_conformance!(|| async {
    std::sync::Arc::new(helpdesk_core::store::memory::MemoryStore::new())
        as std::sync::Arc<dyn helpdesk_core::store::Store>
});
