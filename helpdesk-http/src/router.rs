//! Routing: `matchit` maps a path to a route, then the route's method table tells 404
//! from 405. One parameter name per position (`{id}`, `{key}`), as matchit requires.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::Method;

use crate::api;
use crate::error::ApiResult;
use crate::request::Ctx;

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult> + Send + 'static>>;
/// A handler.
pub type Handler = Arc<dyn Fn(Ctx) -> HandlerFuture + Send + Sync + 'static>;

/// One route: its pattern (also the metrics label) and its methods.
pub struct Route {
    /// The matchit pattern.
    pub pattern: &'static str,
    /// Method table.
    pub methods: Vec<(Method, Handler)>,
}

impl Route {
    /// The methods, for `Allow` and CORS preflights.
    pub fn allow(&self) -> String {
        let mut names: Vec<&str> = self.methods.iter().map(|(m, _)| m.as_str()).collect();
        names.push("OPTIONS");
        names.join(", ")
    }
    /// The handler for a method.
    pub fn handler(&self, method: &Method) -> Option<&Handler> {
        self.methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, h)| h)
    }
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
    fn add(&mut self, pattern: &'static str, methods: Vec<(Method, Handler)>) {
        let index = self.routes.len();
        if let Err(e) = self.matcher.insert(pattern, index) {
            // The table is static: a conflict is a programming error caught by tests.
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

    /// Every route of the API.
    pub fn new() -> Self {
        use Method as M;
        use api::*;
        let mut r = Router {
            matcher: matchit::Router::new(),
            routes: Vec::new(),
        };
        r.add("/healthz", vec![(M::GET, h(ops::healthz))]);
        r.add("/readyz", vec![(M::GET, h(ops::readyz))]);
        r.add("/metrics", vec![(M::GET, h(ops::metrics))]);
        r.add("/api/openapi.yaml", vec![(M::GET, h(ops::openapi))]);
        r.add("/api/ws", vec![(M::GET, h(crate::ws::connect))]);
        r.add("/api/admin/export", vec![(M::GET, h(admin::export))]);
        r.add("/api/admin/import", vec![(M::POST, h(admin::import))]);

        r.add("/api/auth/signup", vec![(M::POST, h(auth::signup))]);
        r.add("/api/auth/login", vec![(M::POST, h(auth::login))]);
        r.add("/api/auth/refresh", vec![(M::POST, h(auth::refresh))]);
        r.add("/api/auth/logout", vec![(M::POST, h(auth::logout))]);

        r.add(
            "/api/users/me",
            vec![(M::GET, h(users::me)), (M::PATCH, h(users::update_me))],
        );
        r.add("/api/users/me/unread", vec![(M::GET, h(users::unread))]);
        r.add(
            "/api/users",
            vec![(M::GET, h(users::list)), (M::POST, h(users::create))],
        );
        r.add(
            "/api/users/{id}",
            vec![(M::GET, h(users::get)), (M::PATCH, h(users::update))],
        );

        r.add(
            "/api/tickets",
            vec![(M::GET, h(tickets::list)), (M::POST, h(tickets::create))],
        );
        r.add(
            "/api/tickets/{id}",
            vec![
                (M::GET, h(tickets::get)),
                (M::PATCH, h(tickets::update)),
                (M::DELETE, h(tickets::delete)),
            ],
        );
        r.add(
            "/api/tickets/{id}/events",
            vec![(M::GET, h(tickets::events))],
        );
        r.add(
            "/api/tickets/{id}/attachments",
            vec![
                (M::GET, h(tickets::attachments)),
                (M::POST, h(attachments::upload_to_ticket)),
            ],
        );

        r.add(
            "/api/conversations",
            vec![
                (M::GET, h(conversations::list)),
                (M::POST, h(conversations::create)),
            ],
        );
        r.add(
            "/api/conversations/{id}",
            vec![
                (M::GET, h(conversations::get)),
                (M::PATCH, h(conversations::rename)),
            ],
        );
        r.add(
            "/api/conversations/{id}/members",
            vec![(M::POST, h(conversations::add_member))],
        );
        r.add(
            "/api/conversations/{id}/members/{user_id}",
            vec![(M::DELETE, h(conversations::remove_member))],
        );
        r.add(
            "/api/conversations/{id}/messages",
            vec![(M::GET, h(messages::list)), (M::POST, h(messages::send))],
        );
        r.add(
            "/api/conversations/{id}/messages/{message_id}",
            vec![
                (M::GET, h(messages::get)),
                (M::PATCH, h(messages::edit)),
                (M::DELETE, h(messages::delete)),
            ],
        );
        r.add(
            "/api/conversations/{id}/messages/{message_id}/thread",
            vec![(M::GET, h(messages::thread))],
        );
        r.add(
            "/api/conversations/{id}/messages/{message_id}/receipts",
            vec![(M::GET, h(messages::receipts))],
        );
        r.add(
            "/api/conversations/{id}/messages/{message_id}/read",
            vec![(M::POST, h(messages::mark_read))],
        );
        r.add(
            "/api/conversations/{id}/read",
            vec![(M::POST, h(messages::mark_all_read))],
        );
        r.add(
            "/api/conversations/{id}/read-up-to/{message_id}",
            vec![(M::POST, h(messages::mark_read_up_to))],
        );

        r.add("/api/notifications", vec![(M::GET, h(notifications::list))]);
        r.add(
            "/api/notifications/{id}/read",
            vec![(M::POST, h(notifications::mark_read))],
        );
        r.add(
            "/api/notifications/read-all",
            vec![(M::POST, h(notifications::mark_all_read))],
        );

        r.add(
            "/api/kb/articles",
            vec![(M::GET, h(kb::list)), (M::POST, h(kb::create))],
        );
        r.add(
            "/api/kb/articles/{key}",
            vec![
                (M::GET, h(kb::get)),
                (M::PATCH, h(kb::update)),
                (M::DELETE, h(kb::delete)),
            ],
        );
        r.add("/api/kb/search", vec![(M::GET, h(kb::search))]);
        r.add("/api/kb/tags", vec![(M::GET, h(kb::tags))]);

        r.add(
            "/api/webhooks",
            vec![(M::GET, h(webhooks::list)), (M::POST, h(webhooks::create))],
        );
        r.add(
            "/api/webhooks/{id}",
            vec![
                (M::GET, h(webhooks::get)),
                (M::PATCH, h(webhooks::update)),
                (M::DELETE, h(webhooks::delete)),
            ],
        );
        r.add(
            "/api/webhooks/{id}/rotate-secret",
            vec![(M::POST, h(webhooks::rotate))],
        );
        r.add(
            "/api/webhooks/{id}/test",
            vec![(M::POST, h(webhooks::test))],
        );
        r.add(
            "/api/webhooks/{id}/deliveries",
            vec![(M::GET, h(webhooks::deliveries))],
        );
        r.add(
            "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
            vec![(M::POST, h(webhooks::retry))],
        );

        r.add("/api/attachments", vec![(M::POST, h(attachments::upload))]);
        r.add("/api/attachments/{id}", vec![(M::GET, h(attachments::get))]);
        r.add(
            "/api/attachments/{id}/content",
            vec![(M::GET, h(attachments::content))],
        );
        r
    }
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}
