//! What the mailboxes received and sent, for people: inbound records and the outbox by
//! mailbox (admins), the raw bytes of each (staff), a retry of outbound mail (admins),
//! and the suppressed addresses (admins), API-email.md's table.

use uuid::Uuid;

use crate::Helpdesk;
use crate::email::{
    InboundRecord, InboundResult, OutboundMail, OutboundQuery, OutboundStatus, Suppression,
};
use crate::error::{Error, Result};
use crate::page::{Cursor, NameCursor, Page, PageRequest, limit};
use crate::principal::Principal;

impl Helpdesk {
    /// A mailbox's inbound records, newest first (admins); `result` filters.
    pub async fn list_inbound(
        &self,
        p: &Principal,
        mailbox_id: Uuid,
        result: Option<InboundResult>,
        page: PageRequest,
    ) -> Result<Page<InboundRecord>> {
        self.require_admin(p).await?;
        let limit = limit(page.limit)?;
        self.st()
            .get_mailbox(mailbox_id)
            .await?
            .ok_or(Error::NotFound)?;
        let items = self
            .st()
            .list_inbound(mailbox_id, result, page.cursor, limit)
            .await?;
        Ok(Page::from_overfetch(items, limit, |r| {
            Cursor::new(r.received_at.timestamp_micros(), r.id)
        }))
    }

    /// The bytes a mailbox received as one inbound record (staff).
    pub async fn inbound_raw(&self, p: &Principal, mailbox_id: Uuid, id: Uuid) -> Result<Vec<u8>> {
        p.require_staff()?;
        match self.st().get_inbound(id).await? {
            Some(r) if r.mailbox_id == mailbox_id => {}
            _ => return Err(Error::NotFound),
        }
        self.st().inbound_raw(id).await?.ok_or(Error::NotFound)
    }

    /// A mailbox's outbound mail, newest first (admins).
    pub async fn list_outbound(
        &self,
        p: &Principal,
        mailbox_id: Uuid,
        query: OutboundQuery,
        page: PageRequest,
    ) -> Result<Page<OutboundMail>> {
        self.require_admin(p).await?;
        let limit = limit(page.limit)?;
        self.st()
            .get_mailbox(mailbox_id)
            .await?
            .ok_or(Error::NotFound)?;
        let items = self
            .st()
            .list_outbound(mailbox_id, &query, page.cursor, limit)
            .await?;
        Ok(Page::from_overfetch(items, limit, |m| {
            Cursor::new(m.created_at.timestamp_micros(), m.id)
        }))
    }

    /// The bytes of one outbound mail (staff).
    pub async fn outbound_raw(&self, p: &Principal, mailbox_id: Uuid, id: Uuid) -> Result<Vec<u8>> {
        p.require_staff()?;
        self.outbound_of(mailbox_id, id).await?;
        self.st().outbound_raw(id).await?.ok_or(Error::NotFound)
    }

    /// Makes a `failed`, `dead` or `suppressed` mail due now (admins); any other status:
    /// `Conflict`.
    pub async fn retry_outbound(
        &self,
        p: &Principal,
        mailbox_id: Uuid,
        id: Uuid,
    ) -> Result<OutboundMail> {
        self.require_admin(p).await?;
        let mut m = self.outbound_of(mailbox_id, id).await?;
        if !matches!(
            m.status,
            OutboundStatus::Failed | OutboundStatus::Dead | OutboundStatus::Suppressed
        ) {
            return Err(Error::Conflict(format!(
                "a {} mail is not retried",
                m.status.as_str()
            )));
        }
        m.status = OutboundStatus::Pending;
        m.next_attempt_at = Some(self.now());
        self.written(
            self.st()
                .update_outbound(&m, &crate::event::Effects::none()),
        )
        .await?;
        Ok(m)
    }

    async fn outbound_of(&self, mailbox_id: Uuid, id: Uuid) -> Result<OutboundMail> {
        match self.st().get_outbound(id).await? {
            Some(m) if m.mailbox_id == mailbox_id => Ok(m),
            _ => Err(Error::NotFound),
        }
    }

    /// The addresses no mail is sent to, by address (admins).
    pub async fn list_suppressions(
        &self,
        p: &Principal,
        after: Option<NameCursor>,
        limit_given: Option<usize>,
    ) -> Result<Page<Suppression, NameCursor>> {
        self.require_admin(p).await?;
        let limit = limit(limit_given)?;
        let items = self
            .st()
            .list_suppressions(after.as_ref().map(|c| c.key.as_str()), limit)
            .await?;
        Ok(Page::from_overfetch(items, limit, |s| {
            NameCursor::new(s.address.clone(), Uuid::nil())
        }))
    }

    /// One suppressed address (admins).
    pub async fn get_suppression(&self, p: &Principal, address: &str) -> Result<Suppression> {
        self.require_admin(p).await?;
        self.st()
            .get_suppression(&address.trim().to_lowercase())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Mails an address again (admins).
    pub async fn delete_suppression(&self, p: &Principal, address: &str) -> Result<()> {
        self.require_admin(p).await?;
        if self
            .st()
            .delete_suppression(&address.trim().to_lowercase())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
