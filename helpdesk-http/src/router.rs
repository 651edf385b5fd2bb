//! Routing: `matchit` maps a path to a route, then the route's method table tells 404
//! from 405. One parameter name per position (`{id}`, `{key}`), as matchit requires.
//! The API's routes sit under the configured base path (`/api` by default); the
//! operations endpoints at the root.
//!
//! Each method of a route declares what an API key needs to call it ([`need`]): the
//! table below is the one place that maps routes to scopes. [`Ctx::principal`] checks
//! it right after the token (403 `insufficient_scope`, before any role check).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use helpdesk_core::scope::Scopes;
use http::Method;

use crate::api;
use crate::error::ApiResult;
use crate::request::Ctx;

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult> + Send + 'static>>;
/// A handler.
pub type Handler = Arc<dyn Fn(Ctx) -> HandlerFuture + Send + Sync + 'static>;

/// One method of a route.
pub struct Endpoint {
    /// The method.
    pub method: Method,
    /// What an API key needs to call it: any one of these scopes (none: nothing).
    pub needs: Scopes,
    /// The handler.
    pub handler: Handler,
}

/// One route: its pattern (also the metrics label) and its methods.
pub struct Route {
    /// The matchit pattern, base path included.
    pub pattern: String,
    /// Method table.
    pub methods: Vec<Endpoint>,
}

impl Route {
    /// The methods, for `Allow` and CORS preflights.
    pub fn allow(&self) -> String {
        let mut names: Vec<&str> = self.methods.iter().map(|e| e.method.as_str()).collect();
        names.push("OPTIONS");
        names.join(", ")
    }
    /// The endpoint of a method.
    pub fn endpoint(&self, method: &Method) -> Option<&Endpoint> {
        self.methods.iter().find(|e| e.method == method)
    }
}

/// What an API key needs per route (API-access.md, "API keys"), named after the
/// contract's scope list. A route's need is any one of its scopes; `admin` implies all.
///
/// Routes that need nothing still need a token where their handler asks for one: the
/// caller's own account, and what keys may never do (logging out, the profile, managing
/// keys), which the library refuses with 403 `forbidden`. Token-free reads (the
/// published KB) treat a key without their scope as no token at all, so they never
/// answer `insufficient_scope`.
pub mod need {
    use helpdesk_core::scope::Scope::*;
    use helpdesk_core::scope::Scopes;

    /// No scope.
    pub const NONE: Scopes = Scopes::NONE;
    /// Tickets, timelines, ticket attachments, groups.
    pub const TICKETS_READ: Scopes = Scopes::one(TicketsRead);
    /// Ticket writes, CCs, followers, ticket uploads.
    pub const TICKETS_WRITE: Scopes = Scopes::one(TicketsWrite);
    /// Conversations, messages, receipts, unread counts, notifications.
    pub const MESSAGES_READ: Scopes = Scopes::one(MessagesRead);
    /// Message and conversation writes, read marks, notification reads.
    pub const MESSAGES_WRITE: Scopes = Scopes::one(MessagesWrite);
    /// The KB as staff see it (without it, a key reads the published KB anonymously).
    pub const KB_READ: Scopes = Scopes::one(KbRead);
    /// KB writes.
    pub const KB_WRITE: Scopes = Scopes::one(KbWrite);
    /// Users (and organizations).
    pub const USERS_READ: Scopes = Scopes::one(UsersRead);
    /// Admin-only operations.
    pub const ADMIN: Scopes = Scopes::one(Admin);
    /// Uploads not tied to a ticket: either write scope.
    pub const UPLOAD: Scopes = Scopes::one(TicketsWrite).with(MessagesWrite);
    /// Attachment reads, and the live streams (`/ws`, Socket.IO): either read scope.
    pub const READ_ANY: Scopes = Scopes::one(TicketsRead).with(MessagesRead);
}

/// The route table.
pub struct Router {
    matcher: matchit::Router<usize>,
    routes: Vec<Route>,
}

/// A matched route with its parameters.
pub struct Matched<'r> {
    /// The route.
    pub route: &'r Route,
    /// Path parameters.
    pub params: Vec<(String, String)>,
}

fn h<F, Fut>(f: F) -> Handler
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult> + Send + 'static,
{
    Arc::new(move |ctx| Box::pin(f(ctx)))
}

impl Router {
    fn add(&mut self, pattern: String, methods: Vec<(Method, Scopes, Handler)>) {
        let methods = methods
            .into_iter()
            .map(|(method, needs, handler)| Endpoint {
                method,
                needs,
                handler,
            })
            .collect();
        let index = self.routes.len();
        if let Err(e) = self.matcher.insert(pattern.as_str(), index) {
            // The table is static and the base path checked: a conflict is a
            // programming error caught by tests.
            panic!("route {pattern}: {e}");
        }
        self.routes.push(Route { pattern, methods });
    }

    /// Finds the route of a path.
    pub fn find(&self, path: &str) -> Option<Matched<'_>> {
        let m = self.matcher.at(path).ok()?;
        let params = m
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Some(Matched {
            route: &self.routes[*m.value],
            params,
        })
    }

    /// Every route: the API's under `base` (a normalized base path such as `/api`,
    /// or `""` for the root), the operations endpoints at the root.
    pub fn new(base: &str) -> Self {
        use Method as M;
        use api::*;
        use need::*;
        let mut router = Router {
            matcher: matchit::Router::new(),
            routes: Vec::new(),
        };
        router.add("/healthz".into(), vec![(M::GET, NONE, h(ops::healthz))]);
        router.add("/readyz".into(), vec![(M::GET, NONE, h(ops::readyz))]);
        router.add("/metrics".into(), vec![(M::GET, NONE, h(ops::metrics))]);
        let mut r = Api {
            router: &mut router,
            base,
        };
        r.add("/openapi.yaml", vec![(M::GET, NONE, h(ops::openapi))]);
        r.add("/ws", vec![(M::GET, READ_ANY, h(crate::ws::connect))]);
        r.add("/admin/export", vec![(M::GET, ADMIN, h(admin::export))]);
        r.add("/admin/import", vec![(M::POST, ADMIN, h(admin::import))]);

        r.add("/auth/signup", vec![(M::POST, NONE, h(auth::signup))]);
        r.add("/auth/login", vec![(M::POST, NONE, h(auth::login))]);
        r.add("/auth/refresh", vec![(M::POST, NONE, h(auth::refresh))]);
        r.add("/auth/logout", vec![(M::POST, NONE, h(auth::logout))]);

        r.add(
            "/users/me",
            vec![
                (M::GET, NONE, h(users::me)),
                (M::PATCH, NONE, h(users::update_me)),
            ],
        );
        r.add(
            "/users/me/unread",
            vec![(M::GET, MESSAGES_READ, h(users::unread))],
        );
        r.add(
            "/users/me/groups",
            vec![(M::GET, TICKETS_READ, h(groups::mine))],
        );
        r.add(
            "/users",
            vec![
                (M::GET, USERS_READ, h(users::list)),
                (M::POST, ADMIN, h(users::create)),
            ],
        );
        r.add(
            "/users/{id}",
            vec![
                (M::GET, USERS_READ, h(users::get)),
                (M::PATCH, ADMIN, h(users::update)),
            ],
        );
        // Keys manage no keys: the library refuses them (403 `forbidden`).
        r.add(
            "/users/{id}/api-keys",
            vec![
                (M::GET, NONE, h(apikeys::list)),
                (M::POST, NONE, h(apikeys::create)),
            ],
        );
        r.add(
            "/users/{id}/api-keys/{key_id}",
            vec![
                (M::GET, NONE, h(apikeys::get)),
                (M::DELETE, NONE, h(apikeys::delete)),
            ],
        );

        r.add(
            "/groups",
            vec![
                (M::GET, TICKETS_READ, h(groups::list)),
                (M::POST, ADMIN, h(groups::create)),
            ],
        );
        r.add(
            "/groups/{id}",
            vec![
                (M::GET, TICKETS_READ, h(groups::get)),
                (M::PATCH, ADMIN, h(groups::update)),
                (M::DELETE, ADMIN, h(groups::delete)),
            ],
        );
        r.add(
            "/groups/{id}/members",
            vec![(M::GET, TICKETS_READ, h(groups::members))],
        );
        r.add(
            "/groups/{id}/members/{user_id}",
            vec![
                (M::PUT, ADMIN, h(groups::put_member)),
                (M::DELETE, ADMIN, h(groups::remove_member)),
            ],
        );

        r.add(
            "/organizations",
            vec![
                (M::GET, USERS_READ, h(organizations::list)),
                (M::POST, ADMIN, h(organizations::create)),
            ],
        );
        r.add(
            "/organizations/{id}",
            vec![
                (M::GET, USERS_READ, h(organizations::get)),
                (M::PATCH, ADMIN, h(organizations::update)),
                (M::DELETE, ADMIN, h(organizations::delete)),
            ],
        );

        // Statuses: everyone reads them, admins write them.
        r.add(
            "/ticket-statuses",
            vec![
                (M::GET, TICKETS_READ, h(statuses::list)),
                (M::POST, ADMIN, h(statuses::create)),
            ],
        );
        r.add(
            "/ticket-statuses/{id}",
            vec![
                (M::GET, TICKETS_READ, h(statuses::get)),
                (M::PATCH, ADMIN, h(statuses::update)),
                (M::DELETE, ADMIN, h(statuses::delete)),
            ],
        );

        // Custom fields likewise.
        r.add(
            "/ticket-fields",
            vec![
                (M::GET, TICKETS_READ, h(fields::list)),
                (M::POST, ADMIN, h(fields::create)),
            ],
        );
        r.add(
            "/ticket-fields/{id}",
            vec![
                (M::GET, TICKETS_READ, h(fields::get)),
                (M::PATCH, ADMIN, h(fields::update)),
                (M::DELETE, ADMIN, h(fields::delete)),
            ],
        );

        // Canned replies are ticket work: staff write their own (the library decides by
        // scope), so writes and rendering take `tickets:write`, not `admin`.
        r.add(
            "/canned-replies",
            vec![
                (M::GET, TICKETS_READ, h(canned_replies::list)),
                (M::POST, TICKETS_WRITE, h(canned_replies::create)),
            ],
        );
        r.add(
            "/canned-replies/{id}",
            vec![
                (M::GET, TICKETS_READ, h(canned_replies::get)),
                (M::PATCH, TICKETS_WRITE, h(canned_replies::update)),
                (M::DELETE, TICKETS_WRITE, h(canned_replies::delete)),
            ],
        );
        r.add(
            "/canned-replies/{id}/render",
            vec![(M::POST, TICKETS_WRITE, h(canned_replies::render))],
        );
        // Views likewise: staff write their own by scope. `/views/counts` is a static
        // segment, which wins over `/views/{id}`.
        r.add(
            "/views",
            vec![
                (M::GET, TICKETS_READ, h(views::list)),
                (M::POST, TICKETS_WRITE, h(views::create)),
            ],
        );
        r.add(
            "/views/counts",
            vec![(M::GET, TICKETS_READ, h(views::counts))],
        );
        r.add(
            "/views/{id}",
            vec![
                (M::GET, TICKETS_READ, h(views::get)),
                (M::PATCH, TICKETS_WRITE, h(views::update)),
                (M::DELETE, TICKETS_WRITE, h(views::delete)),
            ],
        );
        r.add(
            "/views/{id}/tickets",
            vec![(M::GET, TICKETS_READ, h(views::tickets))],
        );

        r.add(
            "/tickets",
            vec![
                (M::GET, TICKETS_READ, h(tickets::list)),
                (M::POST, TICKETS_WRITE, h(tickets::create)),
            ],
        );
        // Macros are configuration (admins write them, as groups); applying one and bulk
        // changes are ticket work. `/tickets/bulk` is a static segment, which wins over
        // `/tickets/{id}`: a GET there is 405, no ticket lookup.
        r.add(
            "/macros",
            vec![
                (M::GET, TICKETS_READ, h(macros::list)),
                (M::POST, ADMIN, h(macros::create)),
            ],
        );
        r.add(
            "/sla-policies",
            vec![
                (M::GET, TICKETS_READ, h(sla_policies::list)),
                (M::POST, ADMIN, h(sla_policies::create)),
            ],
        );
        r.add(
            "/sla-policies/{id}",
            vec![
                (M::GET, TICKETS_READ, h(sla_policies::get)),
                (M::PATCH, ADMIN, h(sla_policies::update)),
                (M::DELETE, ADMIN, h(sla_policies::delete)),
            ],
        );
        r.add(
            "/macros/{id}",
            vec![
                (M::GET, TICKETS_READ, h(macros::get)),
                (M::PATCH, ADMIN, h(macros::update)),
                (M::DELETE, ADMIN, h(macros::delete)),
            ],
        );
        // Calendars are configuration, as macros; previews are reads.
        r.add(
            "/calendars",
            vec![
                (M::GET, TICKETS_READ, h(calendars::list)),
                (M::POST, ADMIN, h(calendars::create)),
            ],
        );
        r.add(
            "/calendars/{id}",
            vec![
                (M::GET, TICKETS_READ, h(calendars::get)),
                (M::PATCH, ADMIN, h(calendars::update)),
                (M::DELETE, ADMIN, h(calendars::delete)),
            ],
        );
        r.add(
            "/calendars/{id}/preview",
            vec![(M::POST, TICKETS_READ, h(calendars::preview))],
        );
        // Mailboxes are configuration (admins write); staff read them.
        r.add(
            "/mailboxes",
            vec![
                (M::GET, TICKETS_READ, h(mailboxes::list)),
                (M::POST, ADMIN, h(mailboxes::create)),
            ],
        );
        r.add(
            "/mailboxes/{id}",
            vec![
                (M::GET, TICKETS_READ, h(mailboxes::get)),
                (M::PATCH, ADMIN, h(mailboxes::update)),
                (M::DELETE, ADMIN, h(mailboxes::delete)),
            ],
        );
        r.add(
            "/mailboxes/{id}/rotate-secret",
            vec![(M::POST, ADMIN, h(mailboxes::rotate_secret))],
        );
        r.add(
            "/mailboxes/{id}/test",
            vec![(M::POST, ADMIN, h(mailboxes::test))],
        );
        r.add(
            "/mailboxes/{id}/inbound",
            vec![(M::GET, ADMIN, h(mail_log::inbound))],
        );
        r.add(
            "/mailboxes/{id}/outbox",
            vec![(M::GET, ADMIN, h(mail_log::outbox))],
        );
        r.add(
            "/mailboxes/{id}/inbound/{inbound_id}/raw",
            vec![(M::GET, TICKETS_READ, h(mail_log::inbound_raw))],
        );
        r.add(
            "/mailboxes/{id}/outbox/{outbound_id}/raw",
            vec![(M::GET, TICKETS_READ, h(mail_log::outbound_raw))],
        );
        r.add(
            "/mailboxes/{id}/outbox/{outbound_id}/retry",
            vec![(M::POST, ADMIN, h(mail_log::retry))],
        );
        r.add(
            "/email-suppressions",
            vec![(M::GET, ADMIN, h(mail_log::suppressions))],
        );
        r.add(
            "/email-suppressions/{address}",
            vec![
                (M::GET, ADMIN, h(mail_log::suppression)),
                (M::DELETE, ADMIN, h(mail_log::unsuppress)),
            ],
        );
        // Inbound mail: an admin's token or the mailbox's signature, checked by the
        // pipeline's entry (so no scope here).
        r.add(
            "/inbound/email/{mailbox_id}",
            vec![(M::POST, NONE, h(inbound::raw))],
        );
        r.add(
            "/inbound/email/{mailbox_id}/mailgun/mime",
            vec![(M::POST, NONE, h(inbound::mailgun))],
        );
        // Rules: admins only (configuration). `/rules/dry-run` is a static segment, which
        // wins over `/rules/{id}`.
        r.add(
            "/rules",
            vec![
                (M::GET, ADMIN, h(rules::list)),
                (M::POST, ADMIN, h(rules::create)),
            ],
        );
        r.add("/rules/dry-run", vec![(M::POST, ADMIN, h(rules::dry_run))]);
        r.add(
            "/rules/{id}",
            vec![
                (M::GET, ADMIN, h(rules::get)),
                (M::PATCH, ADMIN, h(rules::update)),
                (M::DELETE, ADMIN, h(rules::delete)),
            ],
        );
        r.add("/rules/{id}/runs", vec![(M::GET, ADMIN, h(rules::runs))]);
        r.add(
            "/tickets/bulk",
            vec![(M::POST, TICKETS_WRITE, h(macros::bulk))],
        );
        r.add(
            "/tickets/{id}/apply-macro",
            vec![(M::POST, TICKETS_WRITE, h(macros::apply))],
        );
        r.add(
            "/tickets/{id}",
            vec![
                (M::GET, TICKETS_READ, h(tickets::get)),
                (M::PATCH, TICKETS_WRITE, h(tickets::update)),
                (M::DELETE, ADMIN, h(tickets::delete)),
            ],
        );
        r.add(
            "/tickets/{id}/merge",
            vec![(M::POST, TICKETS_WRITE, h(merge::merge))],
        );
        r.add(
            "/tickets/{id}/unmerge",
            vec![(M::POST, TICKETS_WRITE, h(merge::unmerge))],
        );
        r.add(
            "/tickets/{id}/snooze",
            vec![
                (M::POST, TICKETS_WRITE, h(snooze::snooze)),
                (M::DELETE, TICKETS_WRITE, h(snooze::unsnooze)),
            ],
        );
        r.add(
            "/tickets/{id}/events",
            vec![(M::GET, TICKETS_READ, h(tickets::events))],
        );
        r.add(
            "/tickets/{id}/cc",
            vec![(M::POST, TICKETS_WRITE, h(tickets::add_cc))],
        );
        r.add(
            "/tickets/{id}/cc/{user_id}",
            vec![(M::DELETE, TICKETS_WRITE, h(tickets::remove_cc))],
        );
        r.add(
            "/tickets/{id}/followers",
            vec![(M::POST, TICKETS_WRITE, h(tickets::follow))],
        );
        r.add(
            "/tickets/{id}/followers/{user_id}",
            vec![(M::DELETE, TICKETS_WRITE, h(tickets::unfollow))],
        );
        r.add(
            "/tickets/{id}/attachments",
            vec![
                (M::GET, TICKETS_READ, h(tickets::attachments)),
                (M::POST, TICKETS_WRITE, h(attachments::upload_to_ticket)),
            ],
        );

        r.add(
            "/conversations",
            vec![
                (M::GET, MESSAGES_READ, h(conversations::list)),
                (M::POST, MESSAGES_WRITE, h(conversations::create)),
            ],
        );
        r.add(
            "/conversations/{id}",
            vec![
                (M::GET, MESSAGES_READ, h(conversations::get)),
                (M::PATCH, MESSAGES_WRITE, h(conversations::rename)),
            ],
        );
        r.add(
            "/conversations/{id}/members",
            vec![(M::POST, MESSAGES_WRITE, h(conversations::add_member))],
        );
        r.add(
            "/conversations/{id}/members/{user_id}",
            vec![(M::DELETE, MESSAGES_WRITE, h(conversations::remove_member))],
        );
        r.add(
            "/conversations/{id}/messages",
            vec![
                (M::GET, MESSAGES_READ, h(messages::list)),
                (M::POST, MESSAGES_WRITE, h(messages::send)),
            ],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}",
            vec![
                (M::GET, MESSAGES_READ, h(messages::get)),
                (M::PATCH, MESSAGES_WRITE, h(messages::edit)),
                (M::DELETE, MESSAGES_WRITE, h(messages::delete)),
            ],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/thread",
            vec![(M::GET, MESSAGES_READ, h(messages::thread))],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/receipts",
            vec![(M::GET, MESSAGES_READ, h(messages::receipts))],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/read",
            vec![(M::POST, MESSAGES_WRITE, h(messages::mark_read))],
        );
        r.add(
            "/conversations/{id}/read",
            vec![(M::POST, MESSAGES_WRITE, h(messages::mark_all_read))],
        );
        r.add(
            "/conversations/{id}/read-up-to/{message_id}",
            vec![(M::POST, MESSAGES_WRITE, h(messages::mark_read_up_to))],
        );
        r.add(
            "/conversations/{id}/unread-from/{message_id}",
            vec![(M::POST, MESSAGES_WRITE, h(messages::mark_unread_from))],
        );

        r.add(
            "/notifications",
            vec![(M::GET, MESSAGES_READ, h(notifications::list))],
        );
        r.add(
            "/notifications/{id}/read",
            vec![(M::POST, MESSAGES_WRITE, h(notifications::mark_read))],
        );
        r.add(
            "/notifications/read-all",
            vec![(M::POST, MESSAGES_WRITE, h(notifications::mark_all_read))],
        );

        r.add(
            "/kb/articles",
            vec![
                (M::GET, KB_READ, h(kb::list)),
                (M::POST, KB_WRITE, h(kb::create)),
            ],
        );
        r.add(
            "/kb/articles/{key}",
            vec![
                (M::GET, KB_READ, h(kb::get)),
                (M::PATCH, KB_WRITE, h(kb::update)),
                (M::DELETE, KB_WRITE, h(kb::delete)),
            ],
        );
        r.add("/kb/search", vec![(M::GET, KB_READ, h(kb::search))]);
        r.add("/kb/tags", vec![(M::GET, KB_READ, h(kb::tags))]);

        // CSAT: the survey's token is the credential (no Authorization is read).
        r.add(
            "/tickets/{id}/csat",
            vec![(M::GET, TICKETS_READ, h(csat::ticket_surveys))],
        );
        r.add("/csat", vec![(M::GET, TICKETS_READ, h(csat::report))]);
        r.add(
            "/csat/{token}",
            vec![
                (M::GET, NONE, h(csat::page)),
                (M::POST, NONE, h(csat::respond)),
            ],
        );

        r.add(
            "/webhooks",
            vec![
                (M::GET, ADMIN, h(webhooks::list)),
                (M::POST, ADMIN, h(webhooks::create)),
            ],
        );
        r.add(
            "/webhooks/{id}",
            vec![
                (M::GET, ADMIN, h(webhooks::get)),
                (M::PATCH, ADMIN, h(webhooks::update)),
                (M::DELETE, ADMIN, h(webhooks::delete)),
            ],
        );
        r.add(
            "/webhooks/{id}/rotate-secret",
            vec![(M::POST, ADMIN, h(webhooks::rotate))],
        );
        r.add(
            "/webhooks/{id}/test",
            vec![(M::POST, ADMIN, h(webhooks::test))],
        );
        r.add(
            "/webhooks/{id}/deliveries",
            vec![(M::GET, ADMIN, h(webhooks::deliveries))],
        );
        r.add(
            "/webhooks/{id}/deliveries/{delivery_id}/retry",
            vec![(M::POST, ADMIN, h(webhooks::retry))],
        );

        r.add(
            "/attachments",
            vec![(M::POST, UPLOAD, h(attachments::upload))],
        );
        r.add(
            "/attachments/{id}",
            vec![(M::GET, READ_ANY, h(attachments::get))],
        );
        r.add(
            "/attachments/{id}/content",
            vec![(M::GET, READ_ANY, h(attachments::content))],
        );
        router
    }
}

impl Default for Router {
    /// The routes with the API under `/api`.
    fn default() -> Self {
        Self::new(crate::state::DEFAULT_BASE_PATH)
    }
}

/// Adds the API's routes under the base path.
struct Api<'r> {
    router: &'r mut Router,
    base: &'r str,
}

impl Api<'_> {
    fn add(&mut self, path: &str, methods: Vec<(Method, Scopes, Handler)>) {
        self.router.add(format!("{}{path}", self.base), methods);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helpdesk_core::scope::Scope;

    fn needs(router: &Router, method: Method, path: &str) -> Scopes {
        let m = router
            .find(path)
            .unwrap_or_else(|| panic!("no route for {path}"));
        m.route
            .endpoint(&method)
            .unwrap_or_else(|| panic!("no {method} on {path}"))
            .needs
    }

    /// `me` reaches the key routes through their `{id}` parameter, beside the static
    /// `/users/me/...` routes.
    #[test]
    fn me_reaches_the_key_routes() {
        let r = Router::default();
        for path in ["/api/users/me/api-keys", "/api/users/me/api-keys/x"] {
            let m = r.find(path).expect(path);
            assert!(m.route.pattern.contains("{id}/api-keys"), "{path}");
            assert_eq!(m.params[0], ("id".to_string(), "me".to_string()));
        }
        assert_eq!(
            r.find("/api/users/me/unread").unwrap().route.pattern,
            "/api/users/me/unread"
        );
    }

    /// A sample of the contract's scope list, read through the table.
    #[test]
    fn routes_declare_the_contracts_scopes() {
        let r = Router::default();
        let one = Scopes::one;
        assert_eq!(needs(&r, Method::GET, "/api/users/me"), Scopes::NONE);
        assert_eq!(
            needs(&r, Method::GET, "/api/tickets/x/events"),
            one(Scope::TicketsRead)
        );
        assert_eq!(
            needs(&r, Method::GET, "/api/groups"),
            one(Scope::TicketsRead)
        );
        assert_eq!(
            needs(&r, Method::POST, "/api/tickets/x/attachments"),
            one(Scope::TicketsWrite)
        );
        assert_eq!(
            needs(&r, Method::DELETE, "/api/tickets/x"),
            one(Scope::Admin)
        );
        assert_eq!(
            needs(&r, Method::GET, "/api/users/me/unread"),
            one(Scope::MessagesRead)
        );
        assert_eq!(
            needs(&r, Method::POST, "/api/notifications/read-all"),
            one(Scope::MessagesWrite)
        );
        assert_eq!(
            needs(&r, Method::POST, "/api/conversations/x/read"),
            one(Scope::MessagesWrite)
        );
        assert_eq!(needs(&r, Method::GET, "/api/users"), one(Scope::UsersRead));
        assert_eq!(needs(&r, Method::PATCH, "/api/users/x"), one(Scope::Admin));
        assert_eq!(needs(&r, Method::GET, "/api/kb/search"), one(Scope::KbRead));
        assert_eq!(needs(&r, Method::POST, "/api/attachments"), need::UPLOAD);
        assert_eq!(
            needs(&r, Method::GET, "/api/attachments/x/content"),
            need::READ_ANY
        );
        assert_eq!(needs(&r, Method::GET, "/api/ws"), need::READ_ANY);
        assert_eq!(
            needs(&r, Method::POST, "/api/webhooks/x/test"),
            one(Scope::Admin)
        );
        assert_eq!(
            needs(&r, Method::GET, "/api/canned-replies"),
            one(Scope::TicketsRead)
        );
        assert_eq!(
            needs(&r, Method::PATCH, "/api/canned-replies/x"),
            one(Scope::TicketsWrite)
        );
        assert_eq!(
            needs(&r, Method::POST, "/api/canned-replies/x/render"),
            one(Scope::TicketsWrite)
        );
        assert_eq!(
            needs(&r, Method::GET, "/api/views/counts"),
            one(Scope::TicketsRead)
        );
        assert_eq!(
            needs(&r, Method::PATCH, "/api/views/x"),
            one(Scope::TicketsWrite)
        );
        assert_eq!(
            needs(&r, Method::GET, "/api/views/x/tickets"),
            one(Scope::TicketsRead)
        );
    }

    /// `docs/openapi.yaml` states each operation's `x-api-key-scopes` as this table has
    /// them, and documents every route of it.
    #[test]
    fn the_openapi_document_states_the_tables_scopes() {
        use std::collections::BTreeMap;
        let mut documented: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let (mut path, mut method) = (String::new(), String::new());
        let mut in_scopes = false;
        for line in crate::api::ops::OPENAPI_YAML.lines() {
            if line == "components:" {
                break;
            }
            if let Some(p) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
                && p.starts_with('/')
            {
                path = p.to_string();
            } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
                && ["get", "post", "put", "patch", "delete"].contains(&m)
            {
                method = m.to_uppercase();
                documented.insert((path.clone(), method.clone()), Vec::new());
            } else if line == "      x-api-key-scopes:" {
                in_scopes = true;
                continue;
            } else if in_scopes && let Some(scope) = line.strip_prefix("      - ") {
                documented
                    .get_mut(&(path.clone(), method.clone()))
                    .expect("scopes inside an operation")
                    .push(scope.to_string());
                continue;
            }
            in_scopes = false;
        }
        let router = Router::default();
        let mut routed = BTreeMap::new();
        for route in &router.routes {
            for e in &route.methods {
                let names = e.needs.names().iter().map(|s| s.to_string()).collect();
                routed.insert((route.pattern.clone(), e.method.to_string()), names);
            }
        }
        for (key, scopes) in &routed {
            assert_eq!(
                documented.get(key),
                Some(scopes),
                "{key:?} in docs/openapi.yaml"
            );
        }
        assert_eq!(
            documented.len(),
            routed.len(),
            "every documented operation is routed"
        );
    }
}
