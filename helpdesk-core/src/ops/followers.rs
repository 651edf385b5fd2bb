//! Staff following a ticket: who may follow (themselves, or others with `full`), and
//! what a change writes. Followers are not members of the ticket's conversation; they
//! hear of its status changes and messages (internal notes too), and customers never
//! see them. A follower change leaves `updated_at` alone.

use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::group::Access;
use crate::ops::cc::people_changed;
use crate::ops::rules::{Caused, caused};
use crate::principal::Principal;
use crate::ticket::{MAX_CC, Ticket, TimelineKind};

impl Helpdesk {
    /// Makes `user_id` follow a ticket: anyone who sees it may follow it themself;
    /// making someone else follow needs `full` (or admin), and they must be staff who
    /// see the ticket.
    pub async fn follow(&self, p: &Principal, ticket_id: Uuid, user_id: Uuid) -> Result<Ticket> {
        p.require_staff()?;
        let (ticket, relation) = self.ticket_as(p, ticket_id).await?;
        if user_id != p.user_id {
            relation.require_staff(Access::Full)?;
        }
        if !self.user_may_see_group(user_id, ticket.group_id).await? {
            return Err(Error::invalid(
                "user_id",
                "must be an active staff member who can see the ticket",
            ));
        }
        let (after, caused) = self
            .retry_on_version(|| async {
                let before = self.visible_ticket(p, ticket_id).await?;
                if before.followers.contains(&user_id) {
                    return Err(Error::Conflict("already following".into()));
                }
                if before.followers.len() >= MAX_CC {
                    return Err(Error::invalid(
                        "user_id",
                        "a ticket has at most 50 followers",
                    ));
                }
                let mut after = before.clone();
                after.followers.push(user_id);
                after.version += 1;
                let fx = people_changed(
                    &mut after,
                    TimelineKind::FollowerAdded,
                    user_id,
                    p.actor(),
                    self.now(),
                    None,
                    &self.ticket_schema().await?,
                );
                self.written(self.st().update_ticket(&after, None, &fx))
                    .await?;
                Ok((after, caused(&fx, ticket_id)))
            })
            .await?;
        self.after_triggers(p, after, &caused).await
    }

    /// Stops `user_id` following a ticket: themself, or anyone with `full` (or admin).
    /// Not following: `NotFound`.
    pub async fn unfollow(&self, p: &Principal, ticket_id: Uuid, user_id: Uuid) -> Result<()> {
        p.require_staff()?;
        let (ticket, relation) = self.ticket_as(p, ticket_id).await?;
        if user_id != p.user_id {
            relation.require_staff(Access::Full)?;
        }
        if !ticket.followers.contains(&user_id) {
            return Err(Error::NotFound);
        }
        self.drop_follower(p, ticket_id, user_id).await
    }

    /// Removes `user_id` from a ticket's followers if they are one (`actor` acting),
    /// then runs the triggers of the change.
    pub(crate) async fn drop_follower(
        &self,
        actor: &Principal,
        ticket_id: Uuid,
        user_id: Uuid,
    ) -> Result<()> {
        let caused = self
            .retry_on_version(|| async {
                let Some(before) = self.st().get_ticket(ticket_id).await? else {
                    return Ok(Caused::new());
                };
                if !before.followers.contains(&user_id) {
                    return Ok(Caused::new());
                }
                let mut after = before.clone();
                after.followers.retain(|u| *u != user_id);
                after.version += 1;
                let fx = people_changed(
                    &mut after,
                    TimelineKind::FollowerRemoved,
                    user_id,
                    actor.actor(),
                    self.now(),
                    None,
                    &self.ticket_schema().await?,
                );
                self.written(self.st().update_ticket(&after, None, &fx))
                    .await?;
                Ok(caused(&fx, ticket_id))
            })
            .await?;
        self.run_triggers_for(actor, ticket_id, &caused).await?;
        Ok(())
    }
}
