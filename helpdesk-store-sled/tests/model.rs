//! The model-based property test against sled: random operation sequences applied to a
//! temporary sled store and to the in-memory model, compared after every step (see
//! `helpdesk_core::testkit::model`). `HELPDESK_MODEL_CASES` and `HELPDESK_MODEL_OPS`
//! change its bounds.

use std::sync::Arc;

use helpdesk_core::store::Store;
use helpdesk_core::testkit::model::{ModelConfig, check_against_memory};
use helpdesk_store_sled::SledStore;

#[test]
fn sled_agrees_with_the_memory_model() {
    check_against_memory(
        || async {
            Arc::new(SledStore::temporary().expect("a temporary sled store")) as Arc<dyn Store>
        },
        ModelConfig::from_env(64, 30),
    );
}
