//! Copying customers on a ticket (CC): who may add and remove them, and what a change
//! writes. A CC is a member of the ticket's conversation from the moment they are one
//! (the store adds and removes them with the ticket's write).

use serde_json::json;
use uuid::Uuid;

use crate::Helpdesk;
use crate::access::TicketRelation;
use crate::error::{Error, Result};
use crate::event::{Effects, EventKind, NewEvent};
use crate::group::Access;
use crate::notification::NotificationKind;
use crate::ops::conversation::{member_added, member_removed};
use crate::ops::rules::caused;
use crate::ops::ticket::{notify, ticket_audience, ticket_notification, timeline};
use crate::principal::TicketView;
use crate::principal::{Principal, Role};
use crate::schema::TicketSchema;
use crate::schema::ticket_json_for;
use crate::status::StatusCategory;
use crate::store::MemberChange;
use crate::ticket::{CcTarget, MAX_CC, Ticket, TimelineKind};
use crate::user::User;

/// The `ticket.updated` event and the timeline entry of a change to the ticket's CCs or
/// followers, to whoever sees the ticket (and `also`: a removed CC's last event). It
/// settles `after` first ([`TicketSchema::settle`]).
pub(crate) fn people_changed(
    after: &mut Ticket,
    kind: TimelineKind,
    user_id: Uuid,
    actor: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
    also: Option<Uuid>,
    schema: &TicketSchema,
) -> Effects {
    let field = match kind {
        TimelineKind::CcAdded | TimelineKind::CcRemoved => "cc",
        _ => "followers",
    };
    schema.settle(after, at);
    let after = &*after;
    let mut fx = Effects::none();
    fx.ticket_events.push(timeline(
        after,
        kind,
        actor,
        at,
        json!({"user_id": user_id}),
    ));
    let mut audience = ticket_audience(after, schema);
    audience.users.extend(also);
    audience.staff_only = crate::event::STAFF_ONLY_TICKET_FIELDS.contains(&field);
    fx.push(NewEvent::new(
        EventKind::TicketUpdated,
        at,
        audience,
        json!({"ticket": ticket_json_for(after, TicketView::Staff, schema), "changes": [field]}),
    ));
    fx
}

impl Helpdesk {
    /// Copies a customer on a ticket: the requester may copy customers of their own
    /// organization; staff with `reply` or more and admins any active customer. The CC
    /// joins the ticket's conversation and gets `ticket_cc_added`.
    pub async fn add_cc(&self, p: &Principal, ticket_id: Uuid, target: CcTarget) -> Result<Ticket> {
        let (ticket, relation) = self.cc_adder(p, ticket_id).await?;
        let field = target.field();
        let user = self.cc_candidate(&ticket, relation, &target).await?;
        if ticket.cc.len() >= MAX_CC {
            return Err(Error::invalid(field, "a ticket has at most 50 CCs"));
        }
        let (after, caused) = self
            .retry_on_version(|| async {
                let before = self.visible_ticket(p, ticket_id).await?;
                if before.status_category == StatusCategory::Closed {
                    return Err(Error::TicketClosed);
                }
                if before.cc.contains(&user.id) {
                    return Err(Error::Conflict("already a CC".into()));
                }
                if before.cc.len() >= MAX_CC {
                    return Err(Error::invalid(field, "a ticket has at most 50 CCs"));
                }
                let now = self.now();
                let mut after = before.clone();
                after.cc.push(user.id);
                after.updated_at = now;
                after.version += 1;
                let mut fx = people_changed(
                    &mut after,
                    TimelineKind::CcAdded,
                    user.id,
                    p.actor(),
                    now,
                    None,
                    &self.ticket_schema().await?,
                );
                notify(
                    &mut fx,
                    ticket_notification(
                        user.id,
                        NotificationKind::TicketCcAdded,
                        &after,
                        format!("You were copied on ticket #{}", after.number),
                        now,
                        None,
                    ),
                );
                let join = MemberChange::Join {
                    member: crate::conversation::Member {
                        user_id: user.id,
                        joined_at: now,
                    },
                    event: member_added(after.conversation_id, user.id, now),
                };
                self.mail_notifications(&mut fx, &[&after]).await?;
                self.written(self.st().update_ticket(&after, Some(&join), &fx))
                    .await?;
                Ok((after, caused(&fx, ticket_id)))
            })
            .await?;
        self.after_triggers(p, after, &caused).await
    }

    /// The ticket, if `p` may copy customers on it: its requester, staff with `reply` or
    /// more (`NotFound` when they cannot see it, else `Forbidden`). What a server checks
    /// before it looks at the body.
    pub async fn check_add_cc(&self, p: &Principal, ticket_id: Uuid) -> Result<Ticket> {
        Ok(self.cc_adder(p, ticket_id).await?.0)
    }

    async fn cc_adder(&self, p: &Principal, ticket_id: Uuid) -> Result<(Ticket, TicketRelation)> {
        let (ticket, relation) = self.ticket_as(p, ticket_id).await?;
        match relation {
            TicketRelation::Requester => {}
            TicketRelation::Staff(_) => relation.require_staff(Access::Reply)?,
            _ => return Err(Error::forbidden("only the requester and staff add CCs")),
        }
        Ok((ticket, relation))
    }

    /// The customer `target` names, if `relation` may copy them on `ticket`: an active
    /// customer other than the requester (for the requester: of their organization).
    /// Otherwise the same invalid answer whether or not such a user exists.
    async fn cc_candidate(
        &self,
        ticket: &Ticket,
        relation: TicketRelation,
        target: &CcTarget,
    ) -> Result<User> {
        let refused = || {
            Error::invalid(
                target.field(),
                "is not a customer who can be copied on this ticket",
            )
        };
        let user = match target {
            CcTarget::User(id) => self.st().get_user(*id).await?,
            CcTarget::Email(email) => {
                crate::text::check("email", email)?;
                self.st()
                    .get_user_by_email(&email.trim().to_lowercase())
                    .await?
            }
        };
        let user = user
            .filter(|u| u.is_active && u.role == Role::Customer && u.id != ticket.requester_id)
            .ok_or_else(refused)?;
        if relation == TicketRelation::Requester {
            let requester = self.st().get_user(ticket.requester_id).await?;
            let org = requester.and_then(|r| r.organization_id);
            if org.is_none() || org != user.organization_id {
                return Err(refused());
            }
        }
        Ok(user)
    }

    /// Removes a CC: the requester, staff with `reply` or more, admins, or the CC
    /// themself. They leave the ticket's conversation and lose access at once; the
    /// ticket's `ticket.updated` is the last event they get about it. Not a CC:
    /// `NotFound`.
    pub async fn remove_cc(&self, p: &Principal, ticket_id: Uuid, user_id: Uuid) -> Result<()> {
        let (ticket, relation) = self.ticket_as(p, ticket_id).await?;
        let themself = relation == TicketRelation::Cc && p.user_id == user_id;
        match relation {
            TicketRelation::Requester => {}
            TicketRelation::Staff(_) => relation.require_staff(Access::Reply)?,
            _ if themself => {}
            _ => {
                return Err(Error::forbidden(
                    "only the requester, staff and the CC themself remove a CC",
                ));
            }
        }
        if !ticket.cc.contains(&user_id) {
            return Err(Error::NotFound);
        }
        let caused = self
            .retry_on_version(|| async {
                let Some(before) = self.st().get_ticket(ticket_id).await? else {
                    return Err(Error::NotFound);
                };
                if !before.cc.contains(&user_id) {
                    return Err(Error::NotFound);
                }
                let now = self.now();
                let mut after = before.clone();
                after.cc.retain(|u| *u != user_id);
                after.updated_at = now;
                after.version += 1;
                let fx = people_changed(
                    &mut after,
                    TimelineKind::CcRemoved,
                    user_id,
                    p.actor(),
                    now,
                    Some(user_id),
                    &self.ticket_schema().await?,
                );
                let leave = MemberChange::Leave {
                    user_id,
                    event: member_removed(after.conversation_id, user_id, now),
                };
                self.written(self.st().update_ticket(&after, Some(&leave), &fx))
                    .await?;
                Ok(caused(&fx, ticket_id))
            })
            .await?;
        self.run_triggers_for(p, ticket_id, &caused).await?;
        Ok(())
    }
}
