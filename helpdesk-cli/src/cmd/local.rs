//! [`Local`]: [`Admin`] over the library, on a store this process opened, acting as
//! `--as EMAIL` or as the system (which is how the first admin gets created).

use std::future::Future;

use async_trait::async_trait;
use helpdesk_core::archive::{ArchiveSummary, ImportOptions};
use helpdesk_core::kb::{Article, ArticlePatch, NewArticle};
use helpdesk_core::message::{MessagePageQuery, MessageView, NewMessage};
use helpdesk_core::ticket::{NewTicket, Ticket, TicketEvent, TicketFilter, TicketPatch};
use helpdesk_core::user::{NewUser, User, UserPatch};
use helpdesk_core::webhook::{Delivery, NewWebhook, Webhook};
use helpdesk_core::{Config, Cursor, Helpdesk, Page, Principal, Role};
use tokio::io::{AsyncWrite, BufReader};
use uuid::Uuid;

use super::admin::{Admin, ArchiveInput, Progress};
use super::error::{CliError, CliResult, Exit};
use helpdesk_core::kb::ArticleFilter;
use helpdesk_core::page::PageRequest;
use helpdesk_core::user::UserFilter;

/// Archive reads are buffered this much.
const BUFFER: usize = 256 * 1024;
/// Lists are read this many at a time.
const PAGE: usize = 200;

/// The library over a local store, and who acts.
pub struct Local {
    hd: Helpdesk,
    actor: Principal,
}

impl Local {
    /// Opens the store named by `store_spec`; the actor is the staff user `as_email`, or
    /// the system. `webhooks_allow_private` is `serve`'s switch of the same name.
    pub async fn open(
        store_spec: &str,
        as_email: Option<&str>,
        webhooks_allow_private: bool,
    ) -> CliResult<Local> {
        let store = crate::store::open_store(store_spec).await?;
        let config = Config {
            webhooks_allow_private,
            ..Config::default()
        };
        let hd = Helpdesk::new(store, config);
        let actor = match as_email {
            None => Principal::system(),
            Some(email) => {
                let u = hd
                    .find_user_by_email(&Principal::system(), email)
                    .await
                    .map_err(|e| match CliError::from(e) {
                        e if e.is_not_found() => {
                            CliError::not_found(format!("--as {email}: no such user"))
                        }
                        e => e,
                    })?;
                if !u.role.is_staff() || !u.is_active {
                    return Err(CliError::new(
                        Exit::NotAllowed,
                        format!("--as {email}: only an active admin or agent can act here"),
                    ));
                }
                hd.principal(u.id).await?
            }
        };
        Ok(Local { hd, actor })
    }
}

/// Every item of a library list, page after page.
async fn all_pages<T, F, Fut>(mut page: F) -> CliResult<Vec<T>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = helpdesk_core::Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = page(cursor).await?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

#[async_trait]
impl Admin for Local {
    async fn create_user(&self, new: NewUser) -> CliResult<User> {
        Ok(self.hd.create_user(&self.actor, new).await?)
    }

    async fn users(&self, role: Option<Role>, q: Option<String>) -> CliResult<Vec<User>> {
        all_pages(|c| {
            self.hd.list_users(
                &self.actor,
                UserFilter {
                    role,
                    q: q.clone(),
                    cursor: c,
                    limit: Some(PAGE),
                    ..Default::default()
                },
            )
        })
        .await
    }

    async fn user(&self, id: Uuid) -> CliResult<User> {
        Ok(self.hd.get_user(&self.actor, id).await?)
    }

    async fn user_by_email(&self, email: &str) -> CliResult<User> {
        Ok(self.hd.find_user_by_email(&self.actor, email).await?)
    }

    async fn update_user(&self, id: Uuid, patch: UserPatch) -> CliResult<User> {
        Ok(self.hd.update_user(&self.actor, id, patch).await?)
    }

    async fn set_password(&self, id: Uuid, password: &str) -> CliResult<User> {
        Ok(self.hd.set_password(&self.actor, id, password).await?)
    }

    async fn tickets(&self, filter: TicketFilter) -> CliResult<Vec<Ticket>> {
        all_pages(|cursor| {
            let f = TicketFilter {
                cursor,
                limit: Some(PAGE),
                ..filter.clone()
            };
            self.hd.list_tickets(&self.actor, f)
        })
        .await
    }

    async fn ticket_by_number(&self, number: i64) -> CliResult<Ticket> {
        Ok(self.hd.get_ticket_by_number(&self.actor, number).await?)
    }

    async fn create_ticket(&self, new: NewTicket) -> CliResult<Ticket> {
        Ok(self.hd.create_ticket(&self.actor, new).await?)
    }

    async fn update_ticket(&self, id: Uuid, patch: TicketPatch) -> CliResult<Ticket> {
        Ok(self.hd.update_ticket(&self.actor, id, patch).await?)
    }

    async fn ticket_events(&self, id: Uuid) -> CliResult<Vec<TicketEvent>> {
        all_pages(|c| {
            self.hd.ticket_events(
                &self.actor,
                id,
                PageRequest {
                    cursor: c,
                    limit: Some(PAGE),
                },
            )
        })
        .await
    }

    async fn messages(&self, conversation: Uuid) -> CliResult<Vec<MessageView>> {
        all_pages(|cursor| {
            let q = MessagePageQuery {
                cursor,
                limit: Some(PAGE),
                ..Default::default()
            };
            self.hd.list_messages(&self.actor, conversation, q)
        })
        .await
    }

    async fn send_message(&self, conversation: Uuid, new: NewMessage) -> CliResult<MessageView> {
        if self.actor.is_system() {
            return Err(CliError::invalid(
                "ticket comment needs --as EMAIL: a message needs a sender",
            ));
        }
        Ok(self.hd.send_message(&self.actor, conversation, new).await?)
    }

    async fn articles(&self) -> CliResult<Vec<Article>> {
        all_pages(|c| {
            self.hd.list_articles(
                Some(&self.actor),
                ArticleFilter {
                    cursor: c,
                    limit: Some(PAGE),
                    ..Default::default()
                },
            )
        })
        .await
    }

    async fn article(&self, slug: &str) -> CliResult<Option<Article>> {
        match self.hd.get_article(Some(&self.actor), slug).await {
            Ok(a) => Ok(Some(a)),
            Err(e) => match CliError::from(e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    async fn create_article(&self, new: NewArticle) -> CliResult<Article> {
        Ok(self.hd.create_article(&self.actor, new).await?)
    }

    async fn update_article(&self, id: Uuid, patch: ArticlePatch) -> CliResult<Article> {
        Ok(self.hd.update_article(&self.actor, id, patch).await?)
    }

    async fn webhooks(&self) -> CliResult<Vec<Webhook>> {
        Ok(self.hd.list_webhooks(&self.actor).await?)
    }

    async fn create_webhook(&self, new: NewWebhook) -> CliResult<Webhook> {
        Ok(self.hd.create_webhook(&self.actor, new).await?)
    }

    async fn delete_webhook(&self, id: Uuid) -> CliResult {
        Ok(self.hd.delete_webhook(&self.actor, id).await?)
    }

    async fn deliveries(&self, webhook: Uuid, limit: usize) -> CliResult<Vec<Delivery>> {
        let page = self
            .hd
            .list_deliveries(
                &self.actor,
                webhook,
                PageRequest {
                    limit: Some(limit),
                    ..Default::default()
                },
            )
            .await?;
        Ok(page.items)
    }

    async fn retry_delivery(&self, webhook: Uuid, delivery: Uuid) -> CliResult<Delivery> {
        Ok(self
            .hd
            .retry_delivery(&self.actor, webhook, delivery)
            .await?)
    }

    async fn ingest_mail(
        &self,
        mailbox: Uuid,
        raw: Vec<u8>,
        recipients: Vec<String>,
    ) -> CliResult<serde_json::Value> {
        let incoming = helpdesk_core::IncomingMail {
            mailbox_id: mailbox,
            raw: raw.into(),
            envelope: recipients,
            via: helpdesk_core::email::InboundVia::Cli,
            too_large: false,
        };
        let ingested = self
            .hd
            .ingest_posted(
                helpdesk_core::InboundAuth::Principal(&self.actor),
                &[],
                incoming,
            )
            .await?;
        let mut json = ingested.record.json();
        json["duplicate"] = ingested.duplicate.into();
        Ok(json)
    }

    async fn export(
        &self,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: Progress,
    ) -> CliResult<ArchiveSummary> {
        Ok(self.hd.export_archive(&self.actor, out, &*progress).await?)
    }

    async fn import(
        &self,
        input: ArchiveInput,
        options: ImportOptions,
        progress: Progress,
    ) -> CliResult<ArchiveSummary> {
        let reader = BufReader::with_capacity(BUFFER, input);
        self.hd
            .import_archive_with(&self.actor, reader, options, &*progress)
            .await
            .map_err(|e| CliError::from(e).context("import failed"))
    }
}
