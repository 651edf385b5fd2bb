//! Mailboxes: admins make, change, test and delete them and rotate a `raw` provider's
//! secret; staff read them; customers may do none of it. Writes of the IMAP poller's
//! state go through [`Helpdesk::save_imap_state`], a write of its own; the poller holds
//! its mailbox with [`Helpdesk::lease_imap_mailbox`].

use uuid::Uuid;

use crate::Helpdesk;
use crate::error::{Conflict, Error, Result, StoreError};
use crate::mailbox::input::{
    parse_auto_reply, parse_inbound, parse_outbound, resolve_inbound, resolve_outbound,
    validate_address, validate_name,
};
use crate::mailbox::{
    AutoReply, ImapState, Mailbox, MailboxPatch, NewMailbox, Outbound, SavedMailbox,
};
use crate::principal::Principal;

/// A store error of a mailbox write as the domain names it.
fn mailbox_error(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Address) => Error::AddressTaken,
        StoreError::NotFound => Error::NotFound,
        e => Error::Store(e),
    }
}

impl Helpdesk {
    /// A group a mailbox names: one that does not exist is invalid at `group_id`.
    async fn mailbox_group(&self, id: Option<Uuid>) -> Result<Option<Uuid>> {
        match id {
            Some(g) if self.st().get_group(g).await?.is_none() => {
                Err(Error::invalid("group_id", "is not a group"))
            }
            other => Ok(other),
        }
    }

    /// `auto_reply` read from JSON, its canned reply looked up (invalid at
    /// `auto_reply.canned_reply_id` if it names none).
    async fn mailbox_auto_reply(&self, json: &serde_json::Value) -> Result<AutoReply> {
        let a = parse_auto_reply(json)?;
        if let Some(id) = a.canned_reply_id
            && self.st().get_canned_reply(id).await?.is_none()
        {
            return Err(Error::invalid(
                "auto_reply.canned_reply_id",
                "is not a canned reply",
            ));
        }
        Ok(a)
    }

    /// Makes a mailbox (admins). A `raw` webhook mailbox gets its `secret`, returned
    /// in [`SavedMailbox::new_secret`] (and in the record).
    pub async fn create_mailbox(&self, p: &Principal, input: NewMailbox) -> Result<SavedMailbox> {
        self.require_admin(p).await?;
        let address = validate_address(&input.address)?;
        let name = validate_name(&input.name)?;
        let inbound = resolve_inbound(parse_inbound(&input.inbound)?, None)?;
        let outbound = match &input.outbound {
            Some(json) => resolve_outbound(parse_outbound(json)?, None),
            None => Outbound::None,
        };
        let auto_reply = match &input.auto_reply {
            Some(json) => self.mailbox_auto_reply(json).await?,
            None => AutoReply::default(),
        };
        let group_id = self.mailbox_group(input.group_id).await?;
        let now = self.now();
        let mut mailbox = Mailbox {
            id: crate::clock::new_id(),
            address,
            name,
            group_id,
            is_default: input.is_default.unwrap_or(false),
            inbound,
            outbound,
            auto_reply,
            secret: None,
            previous_secret: None,
            created_at: now,
            updated_at: now,
        };
        let new_secret = mailbox.settle_secret();
        self.st()
            .insert_mailbox(&mailbox)
            .await
            .map_err(mailbox_error)?;
        Ok(SavedMailbox {
            mailbox,
            new_secret,
        })
    }

    /// One mailbox (staff; customers: `Forbidden`).
    pub async fn get_mailbox(&self, p: &Principal, id: Uuid) -> Result<Mailbox> {
        p.require_staff()?;
        self.st().get_mailbox(id).await?.ok_or(Error::NotFound)
    }

    /// A mailbox to test its connections (admins; `POST /api/mailboxes/{id}/test`): the
    /// record with its secrets, for the caller to log in with. Testing is I/O, which the
    /// caller does (core does not dial mail servers).
    pub async fn mailbox_to_test(&self, p: &Principal, id: Uuid) -> Result<Mailbox> {
        self.require_admin(p).await?;
        self.st().get_mailbox(id).await?.ok_or(Error::NotFound)
    }

    /// Every mailbox (staff), by `(address, id)`.
    pub async fn list_mailboxes(&self, p: &Principal) -> Result<Vec<Mailbox>> {
        p.require_staff()?;
        Ok(self.st().list_mailboxes().await?)
    }

    /// Changes a mailbox (admins). `inbound`, `outbound` and `auto_reply` are replaced
    /// whole; a secret they leave out keeps its value while the kind stays (else it is
    /// required). A change to a `raw` webhook makes a secret ([`SavedMailbox::new_secret`]);
    /// a change away from it drops the secrets.
    pub async fn update_mailbox(
        &self,
        p: &Principal,
        id: Uuid,
        patch: MailboxPatch,
    ) -> Result<SavedMailbox> {
        self.require_admin(p).await?;
        let mut m = self.st().get_mailbox(id).await?.ok_or(Error::NotFound)?;
        let before = m.clone();
        if let Some(a) = &patch.address {
            m.address = validate_address(a)?;
        }
        if let Some(n) = &patch.name {
            m.name = validate_name(n)?;
        }
        if let Some(json) = &patch.inbound {
            m.inbound = resolve_inbound(parse_inbound(json)?, Some(&before.inbound))?;
        }
        if let Some(json) = &patch.outbound {
            m.outbound = resolve_outbound(parse_outbound(json)?, Some(&before.outbound));
        }
        if let Some(json) = &patch.auto_reply {
            m.auto_reply = self.mailbox_auto_reply(json).await?;
        }
        if let Some(g) = patch.group_id {
            m.group_id = self.mailbox_group(g).await?;
        }
        if let Some(d) = patch.is_default {
            m.is_default = d;
        }
        let new_secret = m.settle_secret();
        if m == before {
            return Ok(SavedMailbox {
                mailbox: m,
                new_secret,
            });
        }
        m.updated_at = self.now();
        self.st().update_mailbox(&m).await.map_err(mailbox_error)?;
        // The stored IMAP state may be newer than the one read.
        let mailbox = self.st().get_mailbox(id).await?.unwrap_or(m);
        Ok(SavedMailbox {
            mailbox,
            new_secret,
        })
    }

    /// Deletes a mailbox (admins); `InUse` while a ticket names it (the store checks, in
    /// the same operation as the delete).
    pub async fn delete_mailbox(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        match self.st().delete_mailbox(id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound),
            Err(StoreError::Conflict(Conflict::InUse)) => {
                Err(Error::InUse("a ticket names this mailbox".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a `raw` webhook mailbox's secret (admins) and returns the new one; the
    /// old one verifies for 24 hours more. Any other mailbox: `Conflict`.
    pub async fn rotate_mailbox_secret(&self, p: &Principal, id: Uuid) -> Result<String> {
        self.require_admin(p).await?;
        let mut m = self.st().get_mailbox(id).await?.ok_or(Error::NotFound)?;
        let now = self.now();
        if !m.rotate_secret(now) {
            return Err(Error::Conflict(
                "only a mailbox with inbound webhook provider raw has a secret".into(),
            ));
        }
        m.updated_at = now;
        self.st().update_mailbox(&m).await.map_err(mailbox_error)?;
        Ok(m.secret.unwrap_or_default())
    }

    /// Whether `candidate` is a secret of the mailbox now: its current one, or the one
    /// before the last rotation within 24 hours of it (compared in constant time).
    pub fn verify_mailbox_secret(&self, mailbox: &Mailbox, candidate: &str) -> bool {
        mailbox.secret_matches(candidate, self.now())
    }

    /// Records the IMAP poller's state of a mailbox (admins, the system): nothing else
    /// of it is written, so an admin's change meanwhile stands. `false` if the mailbox
    /// is no longer IMAP; `NotFound` if it is gone.
    pub async fn save_imap_state(
        &self,
        p: &Principal,
        id: Uuid,
        state: &ImapState,
    ) -> Result<bool> {
        self.require_admin(p).await?;
        self.st()
            .set_mailbox_imap_state(id, state)
            .await
            .map_err(mailbox_error)
    }

    /// Takes or renews `holder`'s lease on polling an IMAP mailbox for `hold` from now
    /// (admins, the system), so one poller reads it over all instances: `true` while
    /// `holder` may poll it, `false` while another holder's lease runs. A zero `hold`
    /// releases it (another poller may take it at once). `NotFound` if it is gone.
    pub async fn lease_imap_mailbox(
        &self,
        p: &Principal,
        id: Uuid,
        holder: Uuid,
        hold: std::time::Duration,
    ) -> Result<bool> {
        self.require_admin(p).await?;
        let now = self.now();
        let until = now + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::MAX);
        self.st()
            .lease_mailbox(id, holder, now, until)
            .await
            .map_err(mailbox_error)
    }
}
