//! Canned replies: staff make, change, delete, list and render the ones their scope lets
//! them ([`crate::ownership::ScopeUser`]); customers may do none of it. A reply the caller may not use is
//! `NotFound`, like one that does not exist.

use uuid::Uuid;

use crate::Helpdesk;
use crate::canned_reply::*;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::ownership::{ItemScope, Scoped};
use crate::page::{NameCursor, Page, limit};
use crate::placeholder::{PlaceholderValues, render_placeholders};
use crate::principal::Principal;

/// Maps a canned reply write's store errors to the domain's.
fn canned_write_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Shortcut) => Error::ShortcutTaken,
        other => Error::Store(other),
    }
}

impl Helpdesk {
    /// Makes a canned reply, owned by the caller (staff). A `global` one needs an admin,
    /// a `group` one a member of the group or an admin (else `Forbidden`); the group must
    /// exist (else invalid). At most [`MAX_PER_OWNER`] personal and group replies per
    /// owner and [`MAX_GLOBAL`] global ones (invalid above). Its shortcut taken by any
    /// reply: `ShortcutTaken`.
    pub async fn create_canned_reply(
        &self,
        p: &Principal,
        input: NewCannedReply,
    ) -> Result<CannedReply> {
        let user = self.scope_user(p).await?;
        match input.scope {
            ItemScope::Global => self.require_admin(p).await?,
            ItemScope::Personal if p.is_system() => {
                return Err(Error::forbidden(
                    "the system owns no personal canned replies",
                ));
            }
            _ => {}
        }
        validate_group_id(input.scope, input.group_id)?;
        if let Some(g) = input.group_id {
            if self.st().get_group(g).await?.is_none() {
                return Err(unknown_group());
            }
            user.may_write(ItemScope::Group, Some(g), "canned replies")?;
        }
        let now = self.now();
        let reply = CannedReply {
            id: crate::clock::new_id(),
            title: validate_title(&input.title)?,
            shortcut: validate_shortcut(&input.shortcut)?,
            body: validate_body(&input.body)?,
            scope: input.scope,
            group_id: input.group_id,
            owner_id: p.actor(),
            created_at: now,
            updated_at: now,
        };
        let bucket = reply.bucket();
        match self
            .st()
            .insert_canned_reply(&reply, LIMITS.max(bucket))
            .await
        {
            Ok(true) => Ok(reply),
            Ok(false) => Err(LIMITS.exceeded(bucket)),
            // The group went away since it was read.
            Err(StoreError::NotFound) => Err(unknown_group()),
            Err(e) => Err(canned_write_error(e)),
        }
    }

    /// A canned reply the caller may use (staff; customers: `Forbidden`); any other is
    /// `NotFound`.
    pub async fn get_canned_reply(&self, p: &Principal, id: Uuid) -> Result<CannedReply> {
        let user = self.scope_user(p).await?;
        self.st()
            .get_canned_reply(id)
            .await?
            .filter(|r| user.may_use(r))
            .ok_or(Error::NotFound)
    }

    /// A canned reply the caller may change or delete: one they may use
    /// ([`Helpdesk::get_canned_reply`]) whose scope lets them write it (a `global` one:
    /// admins; else `Forbidden`).
    pub async fn canned_reply_to_write(&self, p: &Principal, id: Uuid) -> Result<CannedReply> {
        let reply = self.get_canned_reply(p, id).await?;
        if reply.scope == ItemScope::Global {
            self.require_admin(p).await?;
        }
        Ok(reply)
    }

    /// Changes a canned reply's title, shortcut or body (who may: see
    /// [`Helpdesk::canned_reply_to_write`]). Its shortcut taken by another reply:
    /// `ShortcutTaken`.
    pub async fn update_canned_reply(
        &self,
        p: &Principal,
        id: Uuid,
        patch: CannedReplyPatch,
    ) -> Result<CannedReply> {
        let mut reply = self.canned_reply_to_write(p, id).await?;
        let title = patch.title.as_deref().map(validate_title).transpose()?;
        let shortcut = patch
            .shortcut
            .as_deref()
            .map(validate_shortcut)
            .transpose()?;
        let body = patch.body.as_deref().map(validate_body).transpose()?;
        let before = reply.clone();
        if let Some(t) = title {
            reply.title = t;
        }
        if let Some(s) = shortcut {
            reply.shortcut = s;
        }
        if let Some(b) = body {
            reply.body = b;
        }
        if reply == before {
            return Ok(reply);
        }
        reply.updated_at = self.now();
        match self.st().update_canned_reply(&reply).await {
            Ok(()) => Ok(reply),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(canned_write_error(e)),
        }
    }

    /// Deletes a canned reply (who may: see [`Helpdesk::canned_reply_to_write`]).
    pub async fn delete_canned_reply(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.canned_reply_to_write(p, id).await?;
        self.refuse_if_rule_names("canned reply", |r| {
            crate::ops::rules::names_canned_reply(r, id)
        })
        .await?;
        if self.st().delete_canned_reply(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The canned replies the caller may use (staff), by shortcut, filtered by a
    /// shortcut prefix (case-insensitive) and a scope.
    pub async fn list_canned_replies(
        &self,
        p: &Principal,
        filter: CannedReplyFilter,
    ) -> Result<Page<CannedReply, NameCursor>> {
        let user = self.scope_user(p).await?;
        let limit = limit(filter.limit)?;
        crate::text::check("shortcut", filter.shortcut.as_deref().unwrap_or(""))?;
        let query = CannedReplyQuery {
            user,
            shortcut_prefix: filter
                .shortcut
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            scope: filter.scope,
            cursor: filter.cursor,
            limit,
        };
        let replies = self.st().list_canned_replies(&query).await?;
        Ok(Page::from_overfetch(replies, limit, CannedReply::cursor))
    }

    /// A canned reply's body for a ticket, its placeholders filled in as plain text:
    /// the ticket's number and subject, its requester's name, and the caller's name as
    /// `agent.name`. The reply must be one the caller may use (else `NotFound`); a
    /// ticket the caller cannot see, or none, is invalid (`ticket_id`).
    pub async fn render_canned_reply(
        &self,
        p: &Principal,
        id: Uuid,
        ticket_id: Uuid,
    ) -> Result<String> {
        let reply = self.get_canned_reply(p, id).await?;
        let ticket = match self.visible_ticket(p, ticket_id).await {
            Err(Error::NotFound) => {
                return Err(Error::invalid("ticket_id", "is not a ticket you can see"));
            }
            other => other?,
        };
        let name = |u: Option<crate::user::User>| u.map(|u| u.name).unwrap_or_default();
        let requester = name(self.st().get_user(ticket.requester_id).await?);
        let agent = match p.actor() {
            Some(me) => name(self.st().get_user(me).await?),
            None => String::new(),
        };
        Ok(render_placeholders(
            &reply.body,
            &PlaceholderValues {
                ticket_number: ticket.number,
                ticket_subject: ticket.subject,
                requester_name: requester,
                agent_name: agent,
            },
        ))
    }
}

fn unknown_group() -> Error {
    Error::invalid("group_id", "is not a group")
}
