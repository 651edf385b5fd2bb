//! Who may do what with a ticket: a principal's relation to it, and what each relation
//! allows. Agents reach tickets through their groups, at a level (`read` < `reply` <
//! `full`); admins count as `full` in every group; customers reach their own tickets,
//! those they are CC on, and their organization's when its sharing shows them.
//! The relation is read from the store at the moment of each operation
//! (`ops/access.rs`), so losing access takes effect at once on every path.

use crate::error::{Error, Result};
use crate::group::Access;

/// A principal's relation to one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRelation {
    /// Cannot see it: `NotFound` on every path below it.
    Stranger,
    /// A customer of its organization whose sharing shows it: read-only, and not a
    /// member of its conversation.
    Colleague,
    /// A customer CC'd on it: the requester's rights but changing it and adding CCs.
    Cc,
    /// Its requester.
    Requester,
    /// Staff with this level in the ticket's group (admins: `Full`).
    Staff(Access),
}

impl TicketRelation {
    /// Whether the ticket, its timeline, conversation and attachments are visible.
    pub fn sees(self) -> bool {
        self != TicketRelation::Stranger
    }

    /// Fails unless the relation is staff at `level` or above: `NotFound` for a
    /// stranger, `Forbidden` for staff below the level (the ticket is visible to them)
    /// and for a requester.
    pub fn require_staff(self, level: Access) -> Result<()> {
        match self {
            TicketRelation::Stranger => Err(Error::NotFound),
            TicketRelation::Staff(have) if have >= level => Ok(()),
            TicketRelation::Staff(_) => Err(Error::forbidden(match level {
                Access::Read => "needs read access to the ticket's group",
                Access::Reply => "needs reply access to the ticket's group",
                Access::Full => "needs full access to the ticket's group",
            })),
            TicketRelation::Requester | TicketRelation::Cc | TicketRelation::Colleague => {
                Err(Error::forbidden("staff only"))
            }
        }
    }

    /// Fails unless the relation may post public messages (the requester, a CC, staff
    /// with `reply` or more): `NotFound` for a stranger, `Forbidden` for the rest.
    pub fn require_poster(self) -> Result<()> {
        match self {
            TicketRelation::Requester | TicketRelation::Cc => Ok(()),
            TicketRelation::Colleague => Err(Error::forbidden(
                "an organization's shared tickets are read-only",
            )),
            other => other.require_staff(Access::Reply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_include_those_below_and_strangers_see_nothing() {
        let full = TicketRelation::Staff(Access::Full);
        let read = TicketRelation::Staff(Access::Read);
        assert!(full.require_staff(Access::Reply).is_ok());
        assert!(matches!(
            read.require_staff(Access::Reply),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            TicketRelation::Stranger.require_staff(Access::Read),
            Err(Error::NotFound)
        ));
        assert!(!TicketRelation::Stranger.sees());
        assert!(TicketRelation::Requester.sees() && read.sees());
    }
}
