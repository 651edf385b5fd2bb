//! A principal's relation to tickets and ticket conversations, read from the store at
//! the moment of the operation: every path below a ticket asks here.

use uuid::Uuid;

use crate::Helpdesk;
use crate::access::TicketRelation;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::group::Access;
use crate::principal::Principal;
use crate::ticket::Ticket;

impl Helpdesk {
    /// `p`'s relation to `t` now: admins (and the system) are `full` staff; agents have
    /// their level in the ticket's group, if any; a customer is its requester or a
    /// stranger.
    pub(crate) async fn relation(&self, p: &Principal, t: &Ticket) -> Result<TicketRelation> {
        if p.is_admin() {
            return Ok(TicketRelation::Staff(Access::Full));
        }
        if p.is_staff() {
            return Ok(match self.level_in(p.user_id, t.group_id).await? {
                Some(level) => TicketRelation::Staff(level),
                None => TicketRelation::Stranger,
            });
        }
        Ok(if t.requester_id == p.user_id {
            TicketRelation::Requester
        } else {
            TicketRelation::Stranger
        })
    }

    /// `user_id`'s level in a group, if they are a member.
    pub(crate) async fn level_in(&self, user_id: Uuid, group_id: Uuid) -> Result<Option<Access>> {
        Ok(self
            .st()
            .user_memberships(user_id)
            .await?
            .into_iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.access))
    }

    /// A ticket the caller may see, and their relation to it; else `NotFound`.
    pub(crate) async fn ticket_as(
        &self,
        p: &Principal,
        id: Uuid,
    ) -> Result<(Ticket, TicketRelation)> {
        let t = self.st().get_ticket(id).await?.ok_or(Error::NotFound)?;
        let relation = self.relation(p, &t).await?;
        if relation.sees() {
            Ok((t, relation))
        } else {
            Err(Error::NotFound)
        }
    }

    /// A ticket the caller may see, else `NotFound`.
    pub(crate) async fn visible_ticket(&self, p: &Principal, id: Uuid) -> Result<Ticket> {
        Ok(self.ticket_as(p, id).await?.0)
    }

    /// The groups whose tickets a staff caller sees: `None` for admins (every group).
    pub(crate) async fn visible_groups(&self, p: &Principal) -> Result<Option<Vec<Uuid>>> {
        if p.is_admin() {
            return Ok(None);
        }
        Ok(Some(
            self.st()
                .user_memberships(p.user_id)
                .await?
                .into_iter()
                .map(|m| m.group_id)
                .collect(),
        ))
    }

    /// Whether `p` may read conversation `c` now: admins all; a ticket conversation, who
    /// sees its ticket (staff through the ticket's group, whether or not they are
    /// members; customers as members); any other, its members.
    pub(crate) async fn may_read_conversation(
        &self,
        p: &Principal,
        c: &Conversation,
    ) -> Result<bool> {
        if p.is_admin() {
            return Ok(true);
        }
        match c.ticket_id {
            Some(ticket_id) if p.is_staff() => match self.st().get_ticket(ticket_id).await? {
                Some(t) => Ok(self.relation(p, &t).await?.sees()),
                None => Ok(false),
            },
            _ => Ok(c.is_member(p.user_id)),
        }
    }

    /// The conversations of a list of the caller's that they may still read: an agent
    /// who lost access to a ticket stays a member of its conversation, which no longer
    /// shows.
    pub(crate) async fn still_readable(
        &self,
        p: &Principal,
        convs: Vec<Conversation>,
    ) -> Result<Vec<Conversation>> {
        let Some(groups) = self.visible_groups(p).await?.filter(|_| p.is_staff()) else {
            return Ok(convs);
        };
        let mut out = Vec::with_capacity(convs.len());
        for c in convs {
            let readable = match c.ticket_id {
                Some(id) => self
                    .st()
                    .get_ticket(id)
                    .await?
                    .is_some_and(|t| groups.contains(&t.group_id)),
                None => true,
            };
            if readable {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Fails unless `p` is staff at `level` or above on the ticket of conversation `c`
    /// (nothing to check for other conversations or for customers).
    pub(crate) async fn require_level_on(
        &self,
        p: &Principal,
        c: &Conversation,
        level: Access,
    ) -> Result<()> {
        match c.ticket_id {
            Some(ticket_id) if p.is_staff() => {
                let t = self
                    .st()
                    .get_ticket(ticket_id)
                    .await?
                    .ok_or(Error::NotFound)?;
                self.relation(p, &t).await?.require_staff(level)
            }
            _ => Ok(()),
        }
    }

    /// Whether `user` may be the assignee of tickets in `group_id`: an active admin, or
    /// an active agent with `full` access there.
    pub(crate) async fn may_be_assignee(
        &self,
        user: &crate::user::User,
        group_id: Uuid,
    ) -> Result<bool> {
        if !user.is_active || !user.role.is_staff() {
            return Ok(false);
        }
        Ok(user.role == crate::Role::Admin
            || self.level_in(user.id, group_id).await? == Some(Access::Full))
    }
}
