//! The core store conformance suite against PostgreSQL: every case on a database of its
//! own, dropped afterwards. Skips (saying so) without `HELPDESK_TEST_DATABASE_URL`.

use helpdesk_core::testkit::{Skip, TestStore};

use crate::common::{TestDb, URL_VAR};

/// A fresh migrated database for one case; the handle drops it after the case.
pub async fn fresh() -> Result<TestStore, Skip> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => {
            let db = TestDb::create_at(&url).await;
            Ok(TestStore::with_guard(db.dyn_store(), db))
        }
        _ => Err(Skip(format!(
            "{URL_VAR} is not set (the PostgreSQL conformance suite needs a server)"
        ))),
    }
}

helpdesk_core::store_conformance!(fresh);
