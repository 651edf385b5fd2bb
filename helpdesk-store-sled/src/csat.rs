//! [`CsatStore`]: surveys by id, an index by token hash, and each ticket's surveys by
//! cycle (`ticket|cycle`, which keeps one survey per cycle). Surveys are written by the
//! effects of the change that resolves their ticket ([`put_new`]) and deleted with it
//! ([`delete_ticket_surveys`]). A report scans every survey.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::csat::{Survey, SurveyQuery};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{CsatStore, StoreResult};

use crate::effects::write_effects;
use crate::keys::{Key, TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The key of a ticket's survey of one cycle.
fn cycle_key(ticket_id: Uuid, cycle: u32) -> Key {
    Key::new().id(ticket_id).u32(cycle)
}

/// Writes a new survey with its indexes, unless its ticket has one for that cycle (a
/// new survey, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, s: &Survey) -> TxResult<()> {
    let by_cycle = cycle_key(s.ticket_id, s.cycle);
    if tx.exists(tree::TICKET_SURVEYS, &by_cycle)? {
        return Ok(());
    }
    tx.put_json(tree::SURVEYS, s.id.as_bytes(), s)?;
    tx.put(
        tree::SURVEY_TOKENS,
        s.token_hash.as_bytes(),
        &s.id.as_bytes()[..],
    )?;
    tx.put(tree::TICKET_SURVEYS, by_cycle, &s.id.as_bytes()[..])
}

/// Deletes the surveys of a ticket that entered `resolved` `resolved_count` times (its
/// cycles are `1..=resolved_count`; imported ones may be anywhere in it).
pub(crate) fn delete_ticket_surveys(
    tx: &Tx<'_>,
    ticket_id: Uuid,
    resolved_count: u32,
) -> TxResult<()> {
    for cycle in 1..=resolved_count {
        let by_cycle = cycle_key(ticket_id, cycle);
        let Some(id) = tx.get(tree::TICKET_SURVEYS, &by_cycle)? else {
            continue;
        };
        if let Some(s) = tx.get_json::<Survey>(tree::SURVEYS, &id)? {
            tx.del(tree::SURVEY_TOKENS, s.token_hash.as_bytes())?;
        }
        tx.del(tree::SURVEYS, &id)?;
        tx.del(tree::TICKET_SURVEYS, by_cycle)?;
    }
    Ok(())
}

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
