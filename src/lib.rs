//! # Helpdesk
//!
//! Support ticketing as a library: tickets with their conversation and timeline, direct
//! and group chat with threads and read receipts, notifications, a knowledge base,
//! attachments, and a live event stream, over a store you choose; and an HTTP server to
//! run or to mount in your application.
//!
//! This crate is the facade. Everything at its root is [`helpdesk_core`]'s; the stores
//! and the server come with features:
//!
//! | feature | what it brings |
//! |---|---|
//! | `webhooks-http` (default) | webhook deliveries over HTTP (reqwest, rustls) from [`Helpdesk::spawn_background`] |
//! | `sled` | `helpdesk::sled`: the embedded store, in a directory |
//! | `postgres` | `helpdesk::postgres`: PostgreSQL, for several processes over one database |
//! | `http` | `helpdesk::http`: the HTTP and WebSocket server (it delivers webhooks, so it brings reqwest too) |
//! | `testkit` | `helpdesk::testkit`: the conformance suite for a store of your own |
//!
//! An application that keeps everything in memory and sends no webhooks turns the default
//! off (`helpdesk = { version = "0.1", default-features = false }`) and builds about a
//! fifth fewer crates: no HTTP client, no TLS.
//!
//! [`Helpdesk`] is the one entry point. Every operation takes the acting [`Principal`] and
//! checks the role and ownership rules itself. A principal comes from
//! [`Principal::system()`] (the application's own work: creating users, importing),
//! [`Helpdesk::principal`] (a user your application authenticated itself: the role is
//! the one the store holds, and a deactivated user is refused), or
//! [`Helpdesk::authenticate`] (an access token from [`Helpdesk::login`]).
//!
//! # Tickets
//!
//! A customer opens a ticket; it comes with a conversation, where the requester and
//! staff talk. Staff join it by posting, and may assign and move the status; a
//! requester's message reopens a pending ticket.
//!
//! ```
//! use std::sync::Arc;
//!
//! use helpdesk::message::NewMessage;
//! use helpdesk::store::memory::MemoryStore;
//! use helpdesk::status::StatusCategory;
//! use helpdesk::ticket::{NewTicket, TicketPatch};
//! use helpdesk::user::NewUser;
//! use helpdesk::{Config, Helpdesk, PageRequest, Principal, Role};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk::Result<()> {
//! let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! let system = Principal::system();
//! let new_carol = NewUser::new("carol@example.com", "Carol", Role::Customer, "carol's password");
//! let new_andy = NewUser::new("andy@example.com", "Andy", Role::Agent, "andy's password");
//! let carol = hd.principal(hd.create_user(&system, new_carol).await?.id).await?;
//! let andy = hd.principal(hd.create_user(&system, new_andy).await?.id).await?;
//!
//! let ticket = hd
//!     .create_ticket(&carol, NewTicket::new("Cannot log in", "My password is refused."))
//!     .await?;
//! assert_eq!((ticket.number, ticket.status_category), (1, StatusCategory::Open));
//!
//! // The agent answers in the ticket's conversation, takes the ticket and waits for her.
//! let answer = NewMessage::text("Try the reset link I just sent you.");
//! hd.send_message(&andy, ticket.conversation_id, answer).await?;
//! let patch = TicketPatch {
//!     assignee_id: Some(Some(andy.user_id())),
//!     status: Some(StatusCategory::Pending.into()),
//!     ..TicketPatch::default()
//! };
//! let ticket = hd.update_ticket(&andy, ticket.id, patch).await?;
//! assert_eq!(ticket.status_category, StatusCategory::Pending);
//!
//! // Her reply reopens it; she resolves it herself.
//! let reply = NewMessage::text("That worked, thanks!");
//! hd.send_message(&carol, ticket.conversation_id, reply).await?;
//! assert_eq!(hd.get_ticket(&carol, ticket.id).await?.status_category, StatusCategory::Open);
//! let resolve = TicketPatch {
//!     status: Some(StatusCategory::Resolved.into()),
//!     ..TicketPatch::default()
//! };
//! hd.update_ticket(&carol, ticket.id, resolve).await?;
//!
//! // The timeline: every change, oldest first.
//! let timeline = hd.ticket_events(&andy, ticket.id, PageRequest::default()).await?;
//! let kinds: Vec<&str> = timeline.items.iter().map(|e| e.kind.as_str()).collect();
//! assert_eq!(kinds, ["created", "status_changed", "assigned", "status_changed", "status_changed"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Chat and receipts
//!
//! Direct conversations (two people) and groups hold threaded messages: a reply names
//! its parent, and replies nest. A sender sees each message go from
//! [`Sent`](receipt::MessageStatus::Sent) to
//! [`Delivered`](receipt::MessageStatus::Delivered) (it reached every other member:
//! they fetched it, or a live connection pushed it) to
//! [`Read`](receipt::MessageStatus::Read) (every other member read it), and the times
//! per member in [`Helpdesk::receipts`]. Reading is explicit.
//!
//! ```
//! # use std::sync::Arc;
//! # use helpdesk::{Config, Helpdesk, Principal, Role, store::memory::MemoryStore, user::NewUser};
//! use helpdesk::conversation::{ConversationKind, NewConversation};
//! use helpdesk::message::{MessagePageQuery, NewMessage};
//! use helpdesk::receipt::MessageStatus;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk::Result<()> {
//! # let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! # let new = |email, role| NewUser::new(email, email, role, "a long password");
//! # let carol = hd.create_user(&Principal::system(), new("carol@example.com", Role::Customer)).await?;
//! # let andy = hd.create_user(&Principal::system(), new("andy@example.com", Role::Agent)).await?;
//! # let (carol, andy) = (hd.principal(carol.id).await?, hd.principal(andy.id).await?);
//! let direct = NewConversation {
//!     kind: ConversationKind::Direct,
//!     title: None,
//!     member_ids: vec![carol.user_id()],
//! };
//! let (view, _created) = hd.create_conversation(&andy, direct).await?;
//! let conv = view.conversation.id;
//!
//! let question = hd
//!     .send_message(&andy, conv, NewMessage::text("Did the new password work?"))
//!     .await?;
//! let id = question.message.id;
//! assert_eq!(question.status, Some(MessageStatus::Sent));
//!
//! // Carol fetches the conversation: delivered, not read yet.
//! let page = hd.list_messages(&carol, conv, MessagePageQuery::default()).await?;
//! assert!(!page.items[0].is_read);
//! assert_eq!(hd.get_message(&andy, conv, id).await?.status, Some(MessageStatus::Delivered));
//!
//! // She answers under the question, he under her answer: a thread two deep.
//! let yes = hd.send_message(&carol, conv, NewMessage::reply("Yes!", id)).await?;
//! let reply = NewMessage::reply("Good, closing this then.", yes.message.id);
//! hd.send_message(&andy, conv, reply).await?;
//! let thread = hd.thread(&andy, conv, id).await?;
//! let depths: Vec<u32> = thread.iter().map(|item| item.depth).collect();
//! assert_eq!(depths, [1, 2]);
//!
//! // She reads everything; he sees the question read, and when.
//! let state = hd.mark_all_read(&carol, conv).await?;
//! assert_eq!(state.unread_count, 0);
//! assert_eq!(hd.get_message(&andy, conv, id).await?.status, Some(MessageStatus::Read));
//! let receipts = hd.receipts(&andy, conv, id).await?;
//! assert_eq!(receipts[0].user_id, carol.user_id());
//! assert!(receipts[0].delivered_at.is_some() && receipts[0].read_at.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! [`Helpdesk::unread_overview`] gives a user's unread counts per conversation,
//! [`Helpdesk::mark_read`] and [`Helpdesk::mark_read_up_to`] read less than everything,
//! and [`Helpdesk::list_notifications`] the notifications each message or ticket change
//! left.
//!
//! # Live events
//!
//! Every change appends [events](event::Event) to a log, in the same store write.
//! [`Helpdesk::subscribe_as`] streams, from now on, the events one user may see: a
//! [`Stream`](futures_util::Stream) of `Arc<Event>`, checked as each arrives (a member
//! removed from a group stops seeing it at once). A subscriber that falls behind gets
//! [`LiveError::Lagged`](event::LiveError::Lagged) and catches up with
//! [`Helpdesk::events_after`]. [`Helpdesk::subscribe`] is every event, for a server that
//! fans them out itself.
//!
//! Each event has a [kind](event::EventKind), whose documentation gives the payload in
//! [`Event::data`](event::Event::data) (the same JSON the WebSocket and webhooks carry):
//!
//! | area | kinds |
//! |---|---|
//! | messages | `message.created`, `message.updated`, `message.deleted`, `message.read`, `message.delivered`, `message.unread` (the reader's own connections only, never webhooked) |
//! | conversations | `conversation.created`, `conversation.updated`, `conversation.member_added`, `conversation.member_removed` |
//! | tickets | `ticket.created`, `ticket.updated`, `ticket.merged`, `ticket.unmerged`, `ticket.snoozed`, `ticket.unsnoozed`, `ticket.sla_warning`, `ticket.sla_breached`, `ticket.sla_fulfilled` (these five to staff and webhooks only) |
//! | groups | `group.created`, `group.updated`, `group.deleted`, `group.member_added`, `group.member_updated`, `group.member_removed` |
//! | organizations | `organization.created`, `organization.updated`, `organization.deleted` |
//! | notifications | `notification.created` |
//! | webhooks | `webhook.test` (to the endpoint under test only, never on a live stream) |
//! | CSAT | `csat.responded` (to staff) |
//! | email | `email.received`, `email.sent`, `email.failed`, `email.bounced` (to staff) |
//!
//! ```
//! # use std::sync::Arc;
//! # use helpdesk::{Config, Helpdesk, Principal, Role, store::memory::MemoryStore, user::NewUser};
//! # use helpdesk::conversation::{ConversationKind, NewConversation};
//! use helpdesk::event::EventKind;
//! use helpdesk::futures_util::StreamExt;
//! use helpdesk::message::NewMessage;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listed = [
//! #     "message.created", "message.updated", "message.deleted", "message.read", "message.delivered",
//! #     "conversation.created", "conversation.updated", "conversation.member_added",
//! #     "conversation.member_removed", "ticket.created", "ticket.updated", "group.created",
//! #     "group.updated", "group.deleted", "group.member_added", "group.member_updated",
//! #     "group.member_removed", "organization.created", "organization.updated",
//! #     "organization.deleted", "notification.created", "webhook.test", "message.unread",
//! #     "ticket.merged", "ticket.unmerged", "ticket.snoozed", "ticket.unsnoozed",
//! #     "ticket.sla_warning", "ticket.sla_breached", "ticket.sla_fulfilled", "csat.responded",
//! #     "email.received", "email.sent", "email.failed", "email.bounced",
//! # ];
//! # assert_eq!(EventKind::ALL.map(EventKind::as_str), listed, "the table above lists every kind");
//! # let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! # let new = |email, role| NewUser::new(email, email, role, "a long password");
//! # let carol = hd.create_user(&Principal::system(), new("carol@example.com", Role::Customer)).await?;
//! # let andy = hd.create_user(&Principal::system(), new("andy@example.com", Role::Agent)).await?;
//! # let (carol, andy) = (hd.principal(carol.id).await?, hd.principal(andy.id).await?);
//! # let direct = NewConversation { kind: ConversationKind::Direct, title: None, member_ids: vec![carol.user_id()] };
//! # let conv = hd.create_conversation(&andy, direct).await?.0.conversation.id;
//! // The stream is not `Unpin`: pin it to call `next`.
//! let mut events = std::pin::pin!(hd.subscribe_as(&carol).await?);
//!
//! hd.send_message(&andy, conv, NewMessage::text("Hello Carol")).await?;
//! let event = events.next().await.expect("open while the helpdesk lives")?;
//! assert_eq!(event.kind, EventKind::MessageCreated);
//! assert_eq!(event.data["message"]["content"], "Hello Carol");
//! # Ok(())
//! # }
//! ```
//!
//! # Knowledge base
//!
//! Staff write articles, as drafts until published; anyone reads and searches the
//! published ones (the viewer is an `Option<&Principal>`: `None` for an anonymous
//! visitor). Search matches word forms and ranks title hits above body hits.
//!
//! ```
//! # use std::sync::Arc;
//! # use helpdesk::{Config, Helpdesk, Principal, Role, store::memory::MemoryStore, user::NewUser};
//! use helpdesk::kb::{ArticlePatch, ArticleSearch, ArticleStatus, NewArticle};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk::Result<()> {
//! # let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! # let new_andy = NewUser::new("andy@example.com", "Andy", Role::Agent, "a long password");
//! # let andy = hd.principal(hd.create_user(&Principal::system(), new_andy).await?.id).await?;
//! let draft = NewArticle {
//!     title: "Reset your password".into(),
//!     body: "Open **Settings**, then *Password*, and follow the link we email you.".into(),
//!     tags: vec!["account".into()],
//!     ..NewArticle::default()
//! };
//! let article = hd.create_article(&andy, draft).await?;
//! assert_eq!(article.slug, "reset-your-password");
//! assert!(hd.search_articles(None, ArticleSearch::new("password")).await?.is_empty());
//!
//! let publish = ArticlePatch {
//!     status: Some(ArticleStatus::Published),
//!     ..ArticlePatch::default()
//! };
//! hd.update_article(&andy, article.id, publish).await?;
//! let hits = hd.search_articles(None, ArticleSearch::new("passwords")).await?;
//! assert_eq!(hits[0].article.id, article.id);
//! let by_slug = hd.get_article(None, "reset-your-password").await?;
//! assert_eq!(by_slug.status, ArticleStatus::Published);
//! # Ok(())
//! # }
//! ```
//!
//! # Attachments
//!
//! An upload is stored in chunks, within [`Config::max_upload`]. It is attached to a
//! ticket at once, or later to a message through its `attachment_ids`; whoever may see
//! the ticket or message may read it. [`Helpdesk::upload_bytes`] and
//! [`Helpdesk::attachment_bytes`] take and give bytes held in memory;
//! [`Helpdesk::upload`] and [`Helpdesk::attachment_content`] stream. Uploads left
//! unattached for a day are deleted by the sweeper (see [Background tasks]).
//!
//! ```
//! # use std::sync::Arc;
//! # use helpdesk::{Config, Helpdesk, Principal, Role, store::memory::MemoryStore, user::NewUser};
//! use helpdesk::message::NewMessage;
//! use helpdesk::ticket::NewTicket;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk::Result<()> {
//! # let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! # let new = |email, role| NewUser::new(email, email, role, "a long password");
//! # let carol = hd.create_user(&Principal::system(), new("carol@example.com", Role::Customer)).await?;
//! # let andy = hd.create_user(&Principal::system(), new("andy@example.com", Role::Agent)).await?;
//! # let (carol, andy) = (hd.principal(carol.id).await?, hd.principal(andy.id).await?);
//! let ticket = hd
//!     .create_ticket(&carol, NewTicket::new("Printer says E42", "Log attached."))
//!     .await?;
//! let log = hd
//!     .upload_bytes(&carol, "printer.log", "text/plain", Some(ticket.id), "E42: on fire\n")
//!     .await?;
//! let (meta, bytes) = hd.attachment_bytes(&andy, log.id).await?;
//! assert_eq!((meta.size, &bytes[..]), (13, &b"E42: on fire\n"[..]));
//!
//! // Uploaded first, then sent with a message.
//! let photo = hd
//!     .upload_bytes(&carol, "printer.jpg", "image/jpeg", None, vec![0xFF, 0xD8, 0xFF])
//!     .await?;
//! let message = NewMessage {
//!     attachment_ids: vec![photo.id],
//!     ..NewMessage::text("And a photo.")
//! };
//! let sent = hd.send_message(&carol, ticket.conversation_id, message).await?;
//! assert_eq!(sent.attachments[0].filename, "printer.jpg");
//! # Ok(())
//! # }
//! ```
//!
//! # Stores
//!
//! [`Helpdesk::new`] takes any [`store::Store`] behind an `Arc`:
//!
//! - [`store::memory::MemoryStore`]: in memory, gone with the process. Tests, demos, and
//!   the reference the other stores are checked against.
//! - `helpdesk::sled::SledStore` (feature `sled`): embedded, in a directory of its own,
//!   durable when a write returns; one process at a time.
//! - `helpdesk::postgres::PostgresStore` (feature `postgres`): PostgreSQL, for several
//!   processes over one database; live events reach every one of them.
//!
//! ```
//! # #[cfg(feature = "sled")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use helpdesk::sled::SledStore;
//! use helpdesk::{Config, Helpdesk};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SledStore::open(dir.path().join("helpdesk"))?;
//! let hd = Helpdesk::new(Arc::new(store), Config::for_tests());
//! assert!(hd.has_no_users().await?);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sled"))]
//! # fn main() {}
//! ```
//!
//! `examples/embed_sled.rs` closes the store and opens it again to find its data. On
//! PostgreSQL, run the migrations once per release, before the first process uses the
//! database:
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//!
//! use helpdesk::postgres::PostgresStore;
//! use helpdesk::{Config, Helpdesk};
//!
//! let store = PostgresStore::connect("postgres://helpdesk@localhost/helpdesk").await?;
//! store.migrate().await?;
//! let hd = Helpdesk::new(Arc::new(store), Config::default());
//! # let _ = hd;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "postgres"))]
//! # fn main() {}
//! ```
//!
//! # Serving
//!
//! With the feature `http`, `helpdesk::http::serve` runs the whole server (the API of
//! `docs/openapi.yaml`, its WebSocket, `/healthz`, `/readyz`, `/metrics`) on any
//! listener until a future resolves, and `helpdesk::http::service` makes it a tower and
//! hyper `Service` to mount beside your own routes. Mount it where the path is kept
//! (axum's `route_service`, not `nest_service`), with `base_path` set to the mount point:
//! the API's paths, its `Location` headers and its OpenAPI document follow it. Both run
//! the background tasks themselves. `examples/mount_axum.rs` mounts it in axum, with the
//! client address the login limits count by.
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! use std::sync::Arc;
//!
//! use helpdesk::http::ServerConfig;
//! use helpdesk::store::memory::MemoryStore;
//! use helpdesk::{Config, Helpdesk};
//!
//! let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::default());
//!
//! // On its own: the API under /api, until Ctrl-C.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let ctrl_c = async {
//!     let _ = tokio::signal::ctrl_c().await;
//! };
//! helpdesk::http::serve(listener, hd.clone(), ServerConfig::default(), ctrl_c).await?;
//!
//! // Or mounted under /support in an axum application.
//! let config = ServerConfig {
//!     base_path: "/support".into(),
//!     ..ServerConfig::default()
//! };
//! let support = helpdesk::http::service(hd, config).await;
//! let app = axum::Router::new().route_service("/support/{*path}", support.clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! support.shutdown().await; // closes the WebSockets, stops the background tasks
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "http"))]
//! # fn main() {}
//! ```
//!
//! # Background tasks
//!
//! A helpdesk has work of its own: deleting uploads never attached, and sending webhook
//! deliveries (with retries). The server runs it; an application that embeds the library
//! without the server starts it once with [`Helpdesk::spawn_background`] and stops it
//! when it shuts down. Without the feature `webhooks-http`,
//! [`Background::for_helpdesk`] sends no webhooks: bring a
//! [`WebhookTransport`](webhook::WebhookTransport) of your own in
//! [`Background::webhooks`], or leave them to another process.
//!
//! ```
//! # use std::sync::Arc;
//! # use helpdesk::{Config, Helpdesk, store::memory::MemoryStore};
//! use std::time::Duration;
//!
//! use helpdesk::Background;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let hd = Helpdesk::new(Arc::new(MemoryStore::new()), Config::for_tests());
//! let tasks = hd.spawn_background(Background::for_helpdesk(&hd));
//! // ... the application runs ...
//! // On shutdown, a delivery being sent gets up to 10 s to finish.
//! tasks.shutdown(Duration::from_secs(10)).await;
//! # }
//! ```
//!
//! # Testing with a manual clock
//!
//! [`Helpdesk::with_clock`] takes the clock every expiry and timestamp is read from. A
//! [`ManualClock`](clock::ManualClock) stands still until the test moves it, so tests of
//! token lifetimes, the upload sweeper or webhook retries neither sleep nor flake.
//!
//! ```
//! use std::sync::Arc;
//!
//! use helpdesk::chrono::{Duration, Utc};
//! use helpdesk::clock::ManualClock;
//! use helpdesk::store::memory::MemoryStore;
//! use helpdesk::user::NewUser;
//! use helpdesk::{Config, ErrorKind, Helpdesk, Principal, Role};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> helpdesk::Result<()> {
//! let clock = Arc::new(ManualClock::new(Utc::now()));
//! let hd = Helpdesk::with_clock(Arc::new(MemoryStore::new()), Config::for_tests(), clock.clone());
//! let new_carol = NewUser::new("carol@example.com", "Carol", Role::Customer, "a long password");
//! let carol = hd.create_user(&Principal::system(), new_carol).await?;
//!
//! // Access tokens live 15 minutes (Config::access_token_ttl).
//! let tokens = hd.issue_tokens(carol.id).await?;
//! clock.advance(Duration::minutes(14));
//! assert!(hd.authenticate(&tokens.access_token).await.is_ok());
//! clock.advance(Duration::minutes(2));
//! let expired = hd.authenticate(&tokens.access_token).await.unwrap_err();
//! assert_eq!(expired.kind(), ErrorKind::Unauthorized);
//!
//! // An upload never attached is swept after a day.
//! let carol = hd.principal(carol.id).await?;
//! hd.upload_bytes(&carol, "note.txt", "text/plain", None, "draft").await?;
//! assert_eq!(hd.sweep_unattached().await?, 0);
//! clock.advance(Duration::hours(25));
//! assert_eq!(hd.sweep_unattached().await?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Password hashing: `Config::default()` and `Config::for_tests()`
//!
//! [`Config::default()`] is for production: passwords are hashed with argon2id at OWASP's
//! cost (19 MiB, 2 passes). In a debug build of your crate that makes each
//! [`create_user`](Helpdesk::create_user), [`signup`](Helpdesk::signup) and
//! [`login`](Helpdesk::login) take a noticeable part of a second, unless your
//! `Cargo.toml` optimizes the hash in debug builds too:
//!
//! ```toml
//! [profile.dev.package.argon2]
//! opt-level = 3
//! ```
//!
//! [`Config::for_tests()`] hashes cheaply and fixes the JWT secret: for tests and
//! examples only, never for real accounts.
//!
//! [Background tasks]: #background-tasks
#![forbid(unsafe_code)]

pub use helpdesk_core::*;

#[cfg(feature = "http")]
pub use helpdesk_http as http;
#[cfg(feature = "postgres")]
pub use helpdesk_store_postgres as postgres;
#[cfg(feature = "sled")]
pub use helpdesk_store_sled as sled;
