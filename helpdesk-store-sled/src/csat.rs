//! [`CsatStore`]: surveys by id, an index by token hash, and each ticket's surveys by
//! cycle (their records: `survey_record.rs`). A report scans every survey.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::csat::{Survey, SurveyQuery};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{CsatStore, StoreResult};

use crate::effects::write_effects;
use crate::keys::{Key, TREE_NAMES, tree};
use crate::{SledStore, abort, decode};

#[async_trait]
impl CsatStore for SledStore {
    async fn get_survey_by_token(&self, token_hash: &str) -> StoreResult<Option<Survey>> {
        let Some(id) = self
            .tree(tree::SURVEY_TOKENS)
            .get(token_hash.as_bytes())
            .map_err(crate::sled_error)?
        else {
            return Ok(None);
        };
        self.get_json(tree::SURVEYS, &id)
    }

    async fn list_ticket_surveys(&self, ticket_id: Uuid) -> StoreResult<Vec<Survey>> {
        let prefix = Key::new().id(ticket_id);
        let mut surveys = Vec::new();
        for entry in self.scan(tree::TICKET_SURVEYS, prefix.bytes(), None, false) {
            let (_, id) = entry?;
            if let Some(s) = self.get_json::<Survey>(tree::SURVEYS, &id)? {
                surveys.push(s);
            }
        }
        Ok(surveys)
    }

    async fn respond_survey(&self, survey: &Survey, fx: &Effects) -> StoreResult<()> {
        self.write(|tx| {
            let Some(old) = tx.get_json::<Survey>(tree::SURVEYS, survey.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = Survey {
                rating: survey.rating,
                comment: survey.comment.clone(),
                responded_at: survey.responded_at,
                ..old
            };
            tx.put_json(tree::SURVEYS, new.id.as_bytes(), &new)?;
            write_effects(tx, fx)
        })
        .await
    }

    async fn list_surveys(&self, q: &SurveyQuery) -> StoreResult<Vec<Survey>> {
        let mut surveys = Vec::new();
        for entry in self.scan(tree::SURVEYS, &[], None, false) {
            let (_, value) = entry?;
            let s: Survey = decode(&value, TREE_NAMES[tree::SURVEYS])?;
            if q.matches(&s) {
                surveys.push(s);
            }
        }
        surveys.sort_by_key(|s| s.id);
        Ok(surveys)
    }
}
