//! What every user and ticket write keeps about the organization it names, below the
//! stores that write users and tickets and the organizations store: the organization
//! exists; a ticket has an entry under its organization (`organization|ticket`; users
//! are in the users' list index, `o|organization|created|id`); and the organization's
//! counter moves whenever a user or ticket starts or stops naming it.

use uuid::Uuid;

use helpdesk_core::StoreError;
use helpdesk_core::ticket::Ticket;

use crate::keys::{Key, tree};
use crate::{Tx, TxResult, abort};

/// `NotFound` unless the organization a user or ticket names exists.
pub(crate) fn check_organization(tx: &Tx<'_>, id: Option<Uuid>) -> TxResult<()> {
    match id {
        Some(id) if !tx.exists(tree::ORGS, id.as_bytes())? => abort(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Moves the counters of the organizations a user or ticket leaves and joins.
pub(crate) fn moved(tx: &Tx<'_>, from: Option<Uuid>, to: Option<Uuid>) -> TxResult<()> {
    if from == to {
        return Ok(());
    }
    for org in [from, to].into_iter().flatten() {
        let n = tx.get_u64(tree::ORG_VERSIONS, org.as_bytes())?;
        tx.put_u64(tree::ORG_VERSIONS, org.as_bytes(), n + 1)?;
    }
    Ok(())
}

/// Keeps a ticket's entry under its organization: `t` replaces `old` (either absent:
/// an insert or a delete). The organization `t` names must exist.
pub(crate) fn index_ticket(tx: &Tx<'_>, t: Option<&Ticket>, old: Option<&Ticket>) -> TxResult<()> {
    let (from, to) = (
        old.and_then(|o| o.organization_id),
        t.and_then(|t| t.organization_id),
    );
    check_organization(tx, to)?;
    if from == to {
        return Ok(());
    }
    if let (Some(org), Some(old)) = (from, old) {
        tx.del(tree::ORG_TICKETS, Key::new().id(org).id(old.id))?;
    }
    if let (Some(org), Some(t)) = (to, t) {
        tx.put(tree::ORG_TICKETS, Key::new().id(org).id(t.id), &[][..])?;
    }
    moved(tx, from, to)
}

/// The users' list index prefix of an organization's members.
pub(crate) fn members_prefix(org: Uuid) -> Key {
    Key::new().tag(b'o').id(org)
}
