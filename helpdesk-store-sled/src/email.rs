//! The email channel's records (`EmailStore`). NOT BUILT YET: every method fails.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::email::{
    InboundRecord, InboundResult, MailRef, OutboundMail, OutboundQuery, Suppression, TicketMail,
};
use helpdesk_core::event::Effects;
use helpdesk_core::page::Cursor;
use helpdesk_core::store::{EmailStore, StoreResult};
use uuid::Uuid;

use crate::SledStore;

fn unbuilt<T>() -> StoreResult<T> {
    Err(StoreError::other("the email store is not built yet"))
}

#[async_trait]
impl EmailStore for SledStore {
    async fn get_inbound(&self, _id: Uuid) -> StoreResult<Option<InboundRecord>> {
        unbuilt()
    }
    async fn find_inbound(&self, _m: Uuid, _k: &str) -> StoreResult<Option<InboundRecord>> {
        unbuilt()
    }
    async fn inbound_raw(&self, _id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        unbuilt()
    }
    async fn list_inbound(
        &self,
        _m: Uuid,
        _r: Option<InboundResult>,
        _c: Option<Cursor>,
        _l: usize,
    ) -> StoreResult<Vec<InboundRecord>> {
        unbuilt()
    }
    async fn mail_by_message_id(&self, _id: &str) -> StoreResult<Vec<MailRef>> {
        unbuilt()
    }
    async fn ticket_mail(&self, _t: Uuid) -> StoreResult<TicketMail> {
        unbuilt()
    }
    async fn claim_outbound(
        &self,
        _now: DateTime<Utc>,
        _lease: DateTime<Utc>,
        _limit: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        Ok(Vec::new())
    }
    async fn update_outbound(&self, _m: &OutboundMail, _fx: &Effects) -> StoreResult<()> {
        unbuilt()
    }
    async fn get_outbound(&self, _id: Uuid) -> StoreResult<Option<OutboundMail>> {
        unbuilt()
    }
    async fn outbound_raw(&self, _id: Uuid) -> StoreResult<Option<Vec<u8>>> {
        unbuilt()
    }
    async fn list_outbound(
        &self,
        _m: Uuid,
        _q: &OutboundQuery,
        _c: Option<Cursor>,
        _l: usize,
    ) -> StoreResult<Vec<OutboundMail>> {
        unbuilt()
    }
    async fn count_auto_replies(&self, _a: &str, _s: DateTime<Utc>) -> StoreResult<usize> {
        unbuilt()
    }
    async fn get_suppression(&self, _a: &str) -> StoreResult<Option<Suppression>> {
        unbuilt()
    }
    async fn list_suppressions(
        &self,
        _a: Option<&str>,
        _l: usize,
    ) -> StoreResult<Vec<Suppression>> {
        unbuilt()
    }
    async fn delete_suppression(&self, _a: &str) -> StoreResult<bool> {
        unbuilt()
    }
}
