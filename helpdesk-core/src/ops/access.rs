//! A principal's relation to tickets and ticket conversations, read from the store at
//! the moment of the operation (their memberships within [`crate::access_cache::TTL`]):
//! every path below a ticket asks here.

use std::sync::Arc;

use uuid::Uuid;

use crate::Helpdesk;
use crate::access::TicketRelation;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::group::{Access, Group, Membership};
use crate::principal::Principal;
use crate::ticket::Ticket;

impl Helpdesk {
    /// `p`'s relation to `t` now: admins (and the system) are `full` staff; agents have
    /// their level in the ticket's group, if any; a customer is its requester, a CC, a
    /// colleague (through their organization's sharing) or a stranger.
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
        } else if t.cc.contains(&p.user_id) {
            TicketRelation::Cc
        } else if t.organization_id.is_some()
            && self.shared_organization(p.user_id).await? == t.organization_id
        {
            TicketRelation::Colleague
        } else {
            TicketRelation::Stranger
        })
    }

    /// The organization whose tickets customer `user_id` sees through its sharing, if
    /// any (an active customer of it whom its sharing shows them to).
    pub(crate) async fn shared_organization(&self, user_id: Uuid) -> Result<Option<Uuid>> {
        let Some(user) = self.st().get_user(user_id).await? else {
            return Ok(None);
        };
        let Some(org_id) = user.organization_id.filter(|_| user.is_active) else {
            return Ok(None);
        };
        Ok(self
            .st()
            .get_organization(org_id)
            .await?
            .filter(|o| o.sharing.shows_to(user.is_org_manager))
            .map(|o| o.id))
    }

    /// The customers who see `t` now: its requester, its CCs and, when its
    /// organization's sharing shows it, that organization's customers it shows it to.
    pub(crate) async fn ticket_customers(&self, t: &Ticket) -> Result<Vec<Uuid>> {
        let mut users = vec![t.requester_id];
        users.extend(&t.cc);
        let Some(org) = t.organization_id else {
            return Ok(users);
        };
        let sharing = match self.st().get_organization(org).await? {
            Some(o) if o.sharing != crate::organization::Sharing::None => o.sharing,
            _ => return Ok(users),
        };
        let mut query = crate::user::UserQuery {
            organization_id: Some(org),
            limit: 500,
            ..Default::default()
        };
        loop {
            let mut page = self.st().list_users(&query).await?;
            let more = page.len() > query.limit;
            page.truncate(query.limit);
            query.cursor = page
                .last()
                .filter(|_| more)
                .map(|u| crate::page::Cursor::new(u.created_at.timestamp_micros(), u.id));
            users.extend(
                page.iter()
                    .filter(|u| u.is_active && sharing.shows_to(u.is_org_manager))
                    .map(|u| u.id),
            );
            if query.cursor.is_none() {
                return Ok(users);
            }
        }
    }

    /// The tickets customer `p` sees, as a list query's scope.
    pub(crate) async fn customer_scope(
        &self,
        p: &Principal,
    ) -> Result<crate::ticket::CustomerScope> {
        Ok(crate::ticket::CustomerScope {
            user_id: p.user_id,
            organization_id: self.shared_organization(p.user_id).await?,
        })
    }

    /// `user_id`'s level in a group, if they are a member.
    pub(crate) async fn level_in(&self, user_id: Uuid, group_id: Uuid) -> Result<Option<Access>> {
        Ok(self
            .memberships(user_id)
            .await?
            .iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.access))
    }

    /// The default group and its members (where new tickets go, and whom they tell):
    /// this instance's copy for [`crate::access_cache::TTL`], else the store's.
    pub(crate) async fn default_group_members(&self) -> Result<Arc<(Group, Vec<Membership>)>> {
        let cache = &self.inner.access;
        if let Some(g) = cache.default_group() {
            return Ok(g);
        }
        let read = cache.generation();
        let g = Arc::new(self.st().default_group_members().await?);
        cache.put_default_group(read, g.clone());
        Ok(g)
    }

    /// `user_id`'s memberships: this instance's copy for [`crate::access_cache::TTL`],
    /// else the store's.
    async fn memberships(&self, user_id: Uuid) -> Result<Arc<[Membership]>> {
        let cache = &self.inner.access;
        if let Some(m) = cache.memberships(user_id) {
            return Ok(m);
        }
        let read = cache.generation();
        let m: Arc<[Membership]> = self.st().user_memberships(user_id).await?.into();
        cache.put_memberships(read, user_id, m.clone());
        Ok(m)
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
            self.memberships(p.user_id)
                .await?
                .iter()
                .map(|m| m.group_id)
                .collect(),
        ))
    }

    /// Whether `p` may read conversation `c` now: admins all; a ticket conversation, who
    /// sees its ticket (staff through the ticket's group, whether or not they are
    /// members; customers as requester, CC or colleague); any other, its members.
    pub(crate) async fn may_read_conversation(
        &self,
        p: &Principal,
        c: &Conversation,
    ) -> Result<bool> {
        if p.is_admin() {
            return Ok(true);
        }
        match c.ticket_id {
            Some(ticket_id) => match self.st().get_ticket(ticket_id).await? {
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

    /// After `user_id` lost access (in `group_id`, or their role): unassigns them from
    /// the tickets not closed whose assignee they may no longer be (each with its
    /// `assigned` entry and `ticket.updated`), and makes them stop following the
    /// tickets they no longer see; `actor` acting.
    pub(crate) async fn withdraw_where_not_allowed(
        &self,
        actor: &Principal,
        user_id: Uuid,
        group_id: Option<Uuid>,
    ) -> Result<()> {
        use crate::status::StatusCategory;
        use crate::ticket::{AssigneeFilter, TicketQuery};
        let user = self.st().get_user(user_id).await?;
        let assigned = TicketQuery {
            categories: StatusCategory::ALL
                .into_iter()
                .filter(|s| *s != StatusCategory::Closed)
                .collect(),
            assignee: Some(AssigneeFilter::User(user_id)),
            group_ids: group_id.map(|g| vec![g]),
            ..Default::default()
        };
        for t in self.all_tickets(assigned).await? {
            let allowed = match &user {
                Some(u) => self.may_be_assignee(u, t.group_id).await?,
                None => false,
            };
            if !allowed {
                self.unassign(actor, t.id, user_id).await?;
            }
        }
        let followed = TicketQuery {
            follower: Some(user_id),
            group_ids: group_id.map(|g| vec![g]),
            ..Default::default()
        };
        for t in self.all_tickets(followed).await? {
            if !self.user_may_see_group(user_id, t.group_id).await? {
                self.drop_follower(actor, t.id, user_id).await?;
            }
        }
        Ok(())
    }

    /// Every ticket `query` matches (its cursor and limit aside), read page by page.
    async fn all_tickets(&self, mut query: crate::ticket::TicketQuery) -> Result<Vec<Ticket>> {
        query.limit = 200;
        query.cursor = None;
        let mut out = Vec::new();
        loop {
            let mut page = self.st().list_tickets(&query).await?;
            let more = page.len() > query.limit;
            page.truncate(query.limit);
            query.cursor = page
                .last()
                .filter(|_| more)
                .map(|last| crate::page::Cursor::new(query.sort.key(last), last.id));
            out.extend(page);
            if query.cursor.is_none() {
                return Ok(out);
            }
        }
    }

    /// Whether user `user_id` is active staff who sees the tickets of `group_id`: an
    /// admin, or a member.
    pub(crate) async fn user_may_see_group(&self, user_id: Uuid, group_id: Uuid) -> Result<bool> {
        Ok(match self.st().get_user(user_id).await? {
            Some(u) if u.is_active && u.role == crate::Role::Admin => true,
            Some(u) if u.is_active && u.role.is_staff() => {
                self.level_in(u.id, group_id).await?.is_some()
            }
            _ => false,
        })
    }

    /// Unassigns `user_id` from one ticket if they are still its assignee.
    async fn unassign(&self, actor: &Principal, ticket_id: Uuid, user_id: Uuid) -> Result<()> {
        let caused = self
            .retry_on_version(|| async {
                let Some(before) = self.st().get_ticket(ticket_id).await? else {
                    return Ok(Vec::new());
                };
                if before.assignee_id != Some(user_id) {
                    return Ok(Vec::new());
                }
                let schema = self.ticket_schema().await?;
                let now = self.now();
                let mut after = before.clone();
                after.assignee_id = None;
                after.updated_at = now;
                after.version += 1;
                let mut fx = crate::ops::ticket::ticket_change_effects(
                    &before,
                    &mut after,
                    actor.actor(),
                    now,
                    &schema,
                    None,
                );
                self.mail_notifications(&mut fx, &[&after]).await?;
                self.written(self.st().update_ticket(&after, None, &fx))
                    .await?;
                Ok(crate::ops::rules::caused(&fx, ticket_id))
            })
            .await?;
        self.run_triggers_for(actor, ticket_id, &caused).await?;
        Ok(())
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
