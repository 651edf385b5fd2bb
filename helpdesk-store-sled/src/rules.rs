//! [`RuleStore`]: rules by id with their count (a counter in `meta`, kept inside the
//! writing transaction so the limit holds under concurrent inserts); each rule's runs
//! by (rule, time, id); the automations' edge state and a by-ticket index of runs, so
//! that deleting a ticket forgets both.
//!
//! sled cannot scan inside a transaction: pruning a rule's log and forgetting a
//! deleted ticket or rule read the keys first, then remove them in a write of their own.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::rule::{Rule, RuleRun, sort_rules};
use helpdesk_core::store::{RuleStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::count;
use crate::keys::{Key, TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The `meta` key of the number of rules.
const RULE_COUNT: &[u8] = b"rule_count";
/// `RULE_STATE` tag: (rule, ticket) inside an automation's condition.
const INSIDE: u8 = b'i';
/// `RULE_STATE` tag: (ticket, run key) of a run, to forget a deleted ticket's runs.
const TICKET_RUN: u8 = b'r';

/// A run's key in `RULE_RUNS`: rule, time, id (ascending: oldest first).
fn run_key(r: &RuleRun) -> Key {
    Key::new()
        .id(r.rule_id)
        .i64(r.at.timestamp_micros())
        .id(r.id)
}

fn inside_key(rule_id: Uuid, ticket_id: Uuid) -> Key {
    Key::new().tag(INSIDE).id(rule_id).id(ticket_id)
}

/// Writes a new rule with its counter (a new rule, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, r: &Rule) -> TxResult<()> {
    tx.put_json(tree::RULES, r.id.as_bytes(), r)?;
    count(tx, tree::META, RULE_COUNT, 1)
}

impl SledStore {
    /// Forgets a deleted ticket's runs and edge state.
    pub(crate) fn forget_ticket_rules(&self, ticket_id: Uuid) -> StoreResult<()> {
        let prefix = Key::new().tag(TICKET_RUN).id(ticket_id);
        let index = self.keys_with_prefix(tree::RULE_STATE, &prefix.0)?;
        let mut runs = Vec::new();
        for k in &index {
            runs.push(k[prefix.0.len()..].to_vec());
        }
        let rules: Vec<Uuid> = self
            .scan(tree::RULES, &[], None, false)
            .filter_map(|e| e.ok())
            .filter_map(|(k, _)| Uuid::from_slice(&k).ok())
            .collect();
        self.transact(|tx| {
            for k in &index {
                tx.del(tree::RULE_STATE, k)?;
            }
            for k in &runs {
                tx.del(tree::RULE_RUNS, k)?;
            }
            for r in &rules {
                tx.del(tree::RULE_STATE, inside_key(*r, ticket_id))?;
            }
            Ok(())
        })
    }
}

#[async_trait]
impl RuleStore for SledStore {
    async fn insert_rule(&self, r: &Rule, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if tx.exists(tree::RULES, r.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            let held = tx.get_u64(tree::META, RULE_COUNT)?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, r)?;
            Ok(true)
        })
        .await
    }

    async fn update_rule(&self, r: &Rule) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(old) = tx.get_json::<Rule>(tree::RULES, r.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = Rule {
                id: old.id,
                kind: old.kind,
                created_at: old.created_at,
                ..r.clone()
            };
            tx.put_json(tree::RULES, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_rule(&self, id: Uuid) -> StoreResult<bool> {
        let runs: Vec<RuleRun> = self.list_rule_runs(id, usize::MAX).await?;
        let inside = self.keys_with_prefix(tree::RULE_STATE, &Key::new().tag(INSIDE).id(id).0)?;
        self.write_schema(|tx| {
            if !tx.exists(tree::RULES, id.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::RULES, id.as_bytes())?;
            count(tx, tree::META, RULE_COUNT, -1)?;
            for r in &runs {
                let key = run_key(r);
                tx.del(tree::RULE_RUNS, &key.0)?;
                tx.del(
                    tree::RULE_STATE,
                    Key::new().tag(TICKET_RUN).id(r.ticket_id).raw(&key.0).0,
                )?;
            }
            for k in &inside {
                tx.del(tree::RULE_STATE, k)?;
            }
            Ok(true)
        })
        .await
    }

    async fn get_rule(&self, id: Uuid) -> StoreResult<Option<Rule>> {
        self.get_json(tree::RULES, id.as_bytes())
    }

    async fn list_rules(&self) -> StoreResult<Vec<Rule>> {
        let mut rules = Vec::new();
        for entry in self.scan(tree::RULES, &[], None, false) {
            let (_, value) = entry?;
            rules.push(decode(&value, TREE_NAMES[tree::RULES])?);
        }
        sort_rules(&mut rules);
        Ok(rules)
    }

    async fn insert_rule_run(&self, run: &RuleRun, keep: usize) -> StoreResult<()> {
        let key = run_key(run);
        self.write(|tx| {
            tx.put_json(tree::RULE_RUNS, &key.0, run)?;
            tx.put(
                tree::RULE_STATE,
                Key::new().tag(TICKET_RUN).id(run.ticket_id).raw(&key.0).0,
                &[][..],
            )
        })
        .await?;
        // Prune the oldest beyond `keep`.
        let all = self.list_rule_runs(run.rule_id, usize::MAX).await?;
        if all.len() > keep {
            let doomed = &all[keep..];
            self.write(|tx| {
                for r in doomed {
                    let key = run_key(r);
                    tx.del(tree::RULE_RUNS, &key.0)?;
                    tx.del(
                        tree::RULE_STATE,
                        Key::new().tag(TICKET_RUN).id(r.ticket_id).raw(&key.0).0,
                    )?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn list_rule_runs(&self, rule_id: Uuid, limit: usize) -> StoreResult<Vec<RuleRun>> {
        let mut runs = Vec::new();
        for entry in self.scan(tree::RULE_RUNS, rule_id.as_bytes(), None, true) {
            if runs.len() >= limit {
                break;
            }
            let (_, value) = entry?;
            runs.push(decode(&value, TREE_NAMES[tree::RULE_RUNS])?);
        }
        Ok(runs)
    }

    async fn rule_inside(&self, rule_id: Uuid, ticket_id: Uuid) -> StoreResult<bool> {
        Ok(self
            .tree(tree::RULE_STATE)
            .contains_key(inside_key(rule_id, ticket_id).0)
            .map_err(crate::sled_error)?)
    }

    async fn set_rule_inside(
        &self,
        rule_id: Uuid,
        ticket_id: Uuid,
        inside: bool,
    ) -> StoreResult<()> {
        let key = inside_key(rule_id, ticket_id);
        self.write(|tx| {
            if inside {
                tx.put(tree::RULE_STATE, &key.0, &[][..])
            } else {
                tx.del(tree::RULE_STATE, &key.0)
            }
        })
        .await
    }

    async fn clear_rule_inside(&self, rule_id: Uuid) -> StoreResult<()> {
        self.sweep_prefix(tree::RULE_STATE, &Key::new().tag(INSIDE).id(rule_id).0)?;
        self.flush().await
    }
}
