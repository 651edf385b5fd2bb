//! A CSAT survey's record with its indexes: by id, by token hash, and each ticket's by
//! cycle (`ticket|cycle`, which keeps one survey per cycle). Below the writers of
//! surveys: the effects of the change that resolves a ticket ([`put_new`]), the archive
//! import, a ticket's delete ([`delete_ticket_surveys`]) and [`CsatStore`].
//!
//! [`CsatStore`]: helpdesk_core::store::CsatStore

use helpdesk_core::csat::Survey;
use uuid::Uuid;

use crate::keys::{Key, tree};
use crate::{Tx, TxResult};

/// The key of a ticket's survey of one cycle.
pub(crate) fn cycle_key(ticket_id: Uuid, cycle: u32) -> Key {
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
