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

    /// Whether user `user_id` may read conversation `c` now, as
    /// [`Helpdesk::may_read_conversation`] decides for them (an active user).
    pub(crate) async fn user_may_read(&self, user_id: Uuid, c: &Conversation) -> Result<bool> {
        if c.ticket_id.is_none() {
            return Ok(c.is_member(user_id));
        }
        match self.st().get_user(user_id).await? {
            Some(u) if u.is_active => {
                self.may_read_conversation(&Principal::user(u.id, u.role), c)
                    .await
            }
            _ => Ok(false),
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
        if !p.is_staff() {
            return Ok(convs);
        }
        let Some(groups) = self.visible_groups(p).await? else {
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

    /// Unassigns `user_id` from the tickets not closed (in `group_id`, or any group)
    /// whose assignee they may no longer be, after they lost `full` access there or
    /// their role: each with its `assigned` entry and `ticket.updated`, `actor` acting.
    pub(crate) async fn unassign_where_not_allowed(
        &self,
        actor: &Principal,
        user_id: Uuid,
        group_id: Option<Uuid>,
    ) -> Result<()> {
        use crate::ticket::{AssigneeFilter, TicketQuery, TicketStatus};
        let user = self.st().get_user(user_id).await?;
        let mut query = TicketQuery {
            statuses: TicketStatus::ALL
                .into_iter()
                .filter(|s| *s != TicketStatus::Closed)
                .collect(),
            assignee: Some(AssigneeFilter::User(user_id)),
            group_ids: group_id.map(|g| vec![g]),
            limit: 200,
            ..Default::default()
        };
        loop {
            let page = self.st().list_tickets(&query).await?;
            let more = page.len() > query.limit;
            for t in page.iter().take(query.limit) {
                let allowed = match &user {
                    Some(u) => self.may_be_assignee(u, t.group_id).await?,
                    None => false,
                };
                if !allowed {
                    self.unassign(actor, t.id, user_id).await?;
                }
            }
            match page.get(query.limit.saturating_sub(1)).filter(|_| more) {
                Some(last) => {
                    query.cursor = Some(crate::page::Cursor::new(query.sort.key(last), last.id))
                }
                None => return Ok(()),
            }
        }
    }

    /// Unassigns `user_id` from one ticket if they are still its assignee.
    async fn unassign(&self, actor: &Principal, ticket_id: Uuid, user_id: Uuid) -> Result<()> {
        self.retry_on_version(|| async {
            let Some(before) = self.st().get_ticket(ticket_id).await? else {
                return Ok(());
            };
            if before.assignee_id != Some(user_id) {
                return Ok(());
            }
            let now = self.now();
            let mut after = before.clone();
            after.assignee_id = None;
            after.updated_at = now;
            after.version += 1;
            let fx = crate::ops::ticket::ticket_change_effects(&before, &after, actor.actor(), now);
            self.written(self.st().update_ticket(&after, None, &fx))
                .await?;
            Ok(())
        })
        .await
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
