//! [`Admin`]: every operation the administration commands need, in the library's types,
//! once for both ways to reach a helpdesk. [`Local`](super::local::Local) calls the
//! library on a store this process opened; [`Remote`](super::remote::Remote) calls the
//! HTTP API of a running server. The commands are written once, against this trait.

use std::sync::Arc;

use async_trait::async_trait;
use helpdesk_core::Role;
use helpdesk_core::archive::{ArchiveSummary, ImportOptions};
use helpdesk_core::kb::{Article, ArticlePatch, NewArticle};
use helpdesk_core::message::{MessageView, NewMessage};
use helpdesk_core::ticket::{NewTicket, Ticket, TicketEvent, TicketFilter, TicketPatch};
use helpdesk_core::user::{NewUser, User, UserPatch};
use helpdesk_core::webhook::{Delivery, NewWebhook, Webhook};
use tokio::io::{AsyncRead, AsyncWrite};
use uuid::Uuid;

use super::error::CliResult;

/// What an archive transfer reports as it goes (a progress bar).
pub type Progress = Arc<dyn Fn(&ArchiveSummary) + Send + Sync>;

/// An archive to import, read as it is sent.
pub type ArchiveInput = Box<dyn AsyncRead + Unpin + Send>;

/// The administration of one helpdesk. Lists are whole: every page, in the library's
/// order. Errors carry the exit code of their kind.
#[async_trait]
pub trait Admin: Send + Sync {
    /// Creates a user.
    async fn create_user(&self, new: NewUser) -> CliResult<User>;
    /// Users, oldest first, of a role and/or matching `q` in name or email.
    async fn users(&self, role: Option<Role>, q: Option<String>) -> CliResult<Vec<User>>;
    /// A user by id.
    async fn user(&self, id: Uuid) -> CliResult<User>;
    /// A user by email (case-insensitive).
    async fn user_by_email(&self, email: &str) -> CliResult<User>;
    /// Changes a user's role or activation.
    async fn update_user(&self, id: Uuid, patch: UserPatch) -> CliResult<User>;
    /// Sets a password and ends the user's sessions.
    async fn set_password(&self, id: Uuid, password: &str) -> CliResult<User>;

    /// Tickets matching the filter, in its order.
    async fn tickets(&self, filter: TicketFilter) -> CliResult<Vec<Ticket>>;
    /// A ticket by number.
    async fn ticket_by_number(&self, number: i64) -> CliResult<Ticket>;
    /// Opens a ticket.
    async fn create_ticket(&self, new: NewTicket) -> CliResult<Ticket>;
    /// Changes a ticket (status moves by the transition table).
    async fn update_ticket(&self, id: Uuid, patch: TicketPatch) -> CliResult<Ticket>;
    /// A ticket's timeline, oldest first.
    async fn ticket_events(&self, id: Uuid) -> CliResult<Vec<TicketEvent>>;
    /// A conversation's messages as the actor sees them (internal notes included for
    /// staff), newest first.
    async fn messages(&self, conversation: Uuid) -> CliResult<Vec<MessageView>>;
    /// Posts a message as the actor.
    async fn send_message(&self, conversation: Uuid, new: NewMessage) -> CliResult<MessageView>;

    /// Every article, drafts included.
    async fn articles(&self) -> CliResult<Vec<Article>>;
    /// The article with this slug, if any.
    async fn article(&self, slug: &str) -> CliResult<Option<Article>>;
    /// Creates an article.
    async fn create_article(&self, new: NewArticle) -> CliResult<Article>;
    /// Changes an article.
    async fn update_article(&self, id: Uuid, patch: ArticlePatch) -> CliResult<Article>;

    /// Every webhook endpoint.
    async fn webhooks(&self) -> CliResult<Vec<Webhook>>;
    /// Adds an endpoint; the answer carries its secret, shown once.
    async fn create_webhook(&self, new: NewWebhook) -> CliResult<Webhook>;
    /// Removes an endpoint and its deliveries.
    async fn delete_webhook(&self, id: Uuid) -> CliResult;
    /// An endpoint's latest `limit` deliveries, newest first.
    async fn deliveries(&self, webhook: Uuid, limit: usize) -> CliResult<Vec<Delivery>>;
    /// Sends a delivery again now.
    async fn retry_delivery(&self, webhook: Uuid, delivery: Uuid) -> CliResult<Delivery>;

    /// Hands one mail to the ingest pipeline for `mailbox` (as `helpdesk mail ingest`);
    /// the answer is the inbound record with `duplicate`, as the API shows it.
    async fn ingest_mail(
        &self,
        mailbox: Uuid,
        raw: Vec<u8>,
        recipients: Vec<String>,
    ) -> CliResult<serde_json::Value>;

    /// Writes the whole store to `out` as a JSON Lines archive.
    async fn export(
        &self,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: Progress,
    ) -> CliResult<ArchiveSummary>;
    /// Reads an archive into the (empty) store.
    async fn import(
        &self,
        input: ArchiveInput,
        options: ImportOptions,
        progress: Progress,
    ) -> CliResult<ArchiveSummary>;
}
