//! The model-based property test against PostgreSQL: random operation sequences applied
//! to a fresh database per case and to the in-memory model, compared after every step
//! (see `helpdesk_core::testkit::model`). Skips, saying so, without
//! `HELPDESK_TEST_DATABASE_URL`. `HELPDESK_MODEL_CASES` and `HELPDESK_MODEL_OPS` change
//! its bounds; `HELPDESK_MODEL_STRICT=1` also compares the known differences.

use helpdesk_core::testkit::model::{ModelConfig, check_against_memory};
use helpdesk_core::testkit::{Skip, TestStore};

use crate::common::{TestDb, URL_VAR};

/// A fresh migrated database for one case, dropped after it.
async fn fresh() -> Result<TestStore, Skip> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => {
            let db = TestDb::create_at(&url).await;
            Ok(TestStore::with_guard(db.dyn_store(), db))
        }
        _ => Err(Skip(format!(
            "{URL_VAR} is not set (the PostgreSQL model test needs a server)"
        ))),
    }
}

#[test]
fn postgres_agrees_with_the_memory_model() {
    check_against_memory(fresh, ModelConfig::from_env(16, 30));
}
