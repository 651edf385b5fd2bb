//! Routing: `matchit` maps a path to a route, then the route's method table tells 404
//! from 405. One parameter name per position (`{id}`, `{key}`), as matchit requires.
//! The API's routes sit under the configured base path (`/api` by default); the
//! operations endpoints at the root.

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
    /// The matchit pattern, base path included.
    pub pattern: String,
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
    fn add(&mut self, pattern: String, methods: Vec<(Method, Handler)>) {
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
        let mut router = Router {
            matcher: matchit::Router::new(),
            routes: Vec::new(),
        };
        router.add("/healthz".into(), vec![(M::GET, h(ops::healthz))]);
        router.add("/readyz".into(), vec![(M::GET, h(ops::readyz))]);
        router.add("/metrics".into(), vec![(M::GET, h(ops::metrics))]);
        let mut r = Api {
            router: &mut router,
            base,
        };
        r.add("/openapi.yaml", vec![(M::GET, h(ops::openapi))]);
        r.add("/ws", vec![(M::GET, h(crate::ws::connect))]);
        r.add("/admin/export", vec![(M::GET, h(admin::export))]);
        r.add("/admin/import", vec![(M::POST, h(admin::import))]);

        r.add("/auth/signup", vec![(M::POST, h(auth::signup))]);
        r.add("/auth/login", vec![(M::POST, h(auth::login))]);
        r.add("/auth/refresh", vec![(M::POST, h(auth::refresh))]);
        r.add("/auth/logout", vec![(M::POST, h(auth::logout))]);

        r.add(
            "/users/me",
            vec![(M::GET, h(users::me)), (M::PATCH, h(users::update_me))],
        );
        r.add("/users/me/unread", vec![(M::GET, h(users::unread))]);
        r.add("/users/me/groups", vec![(M::GET, h(groups::mine))]);
        r.add(
            "/users",
            vec![(M::GET, h(users::list)), (M::POST, h(users::create))],
        );
        r.add(
            "/users/{id}",
            vec![(M::GET, h(users::get)), (M::PATCH, h(users::update))],
        );

        r.add(
            "/groups",
            vec![(M::GET, h(groups::list)), (M::POST, h(groups::create))],
        );
        r.add(
            "/groups/{id}",
            vec![
                (M::GET, h(groups::get)),
                (M::PATCH, h(groups::update)),
                (M::DELETE, h(groups::delete)),
            ],
        );
        r.add("/groups/{id}/members", vec![(M::GET, h(groups::members))]);
        r.add(
            "/groups/{id}/members/{user_id}",
            vec![
                (M::PUT, h(groups::put_member)),
                (M::DELETE, h(groups::remove_member)),
            ],
        );

        r.add(
            "/organizations",
            vec![
                (M::GET, h(organizations::list)),
                (M::POST, h(organizations::create)),
            ],
        );
        r.add(
            "/organizations/{id}",
            vec![
                (M::GET, h(organizations::get)),
                (M::PATCH, h(organizations::update)),
                (M::DELETE, h(organizations::delete)),
            ],
        );

        r.add(
            "/tickets",
            vec![(M::GET, h(tickets::list)), (M::POST, h(tickets::create))],
        );
        r.add(
            "/tickets/{id}",
            vec![
                (M::GET, h(tickets::get)),
                (M::PATCH, h(tickets::update)),
                (M::DELETE, h(tickets::delete)),
            ],
        );
        r.add("/tickets/{id}/events", vec![(M::GET, h(tickets::events))]);
        r.add(
            "/tickets/{id}/attachments",
            vec![
                (M::GET, h(tickets::attachments)),
                (M::POST, h(attachments::upload_to_ticket)),
            ],
        );

        r.add(
            "/conversations",
            vec![
                (M::GET, h(conversations::list)),
                (M::POST, h(conversations::create)),
            ],
        );
        r.add(
            "/conversations/{id}",
            vec![
                (M::GET, h(conversations::get)),
                (M::PATCH, h(conversations::rename)),
            ],
        );
        r.add(
            "/conversations/{id}/members",
            vec![(M::POST, h(conversations::add_member))],
        );
        r.add(
            "/conversations/{id}/members/{user_id}",
            vec![(M::DELETE, h(conversations::remove_member))],
        );
        r.add(
            "/conversations/{id}/messages",
            vec![(M::GET, h(messages::list)), (M::POST, h(messages::send))],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}",
            vec![
                (M::GET, h(messages::get)),
                (M::PATCH, h(messages::edit)),
                (M::DELETE, h(messages::delete)),
            ],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/thread",
            vec![(M::GET, h(messages::thread))],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/receipts",
            vec![(M::GET, h(messages::receipts))],
        );
        r.add(
            "/conversations/{id}/messages/{message_id}/read",
            vec![(M::POST, h(messages::mark_read))],
        );
        r.add(
            "/conversations/{id}/read",
            vec![(M::POST, h(messages::mark_all_read))],
        );
        r.add(
            "/conversations/{id}/read-up-to/{message_id}",
            vec![(M::POST, h(messages::mark_read_up_to))],
        );

        r.add("/notifications", vec![(M::GET, h(notifications::list))]);
        r.add(
            "/notifications/{id}/read",
            vec![(M::POST, h(notifications::mark_read))],
        );
        r.add(
            "/notifications/read-all",
            vec![(M::POST, h(notifications::mark_all_read))],
        );

        r.add(
            "/kb/articles",
            vec![(M::GET, h(kb::list)), (M::POST, h(kb::create))],
        );
        r.add(
            "/kb/articles/{key}",
            vec![
                (M::GET, h(kb::get)),
                (M::PATCH, h(kb::update)),
                (M::DELETE, h(kb::delete)),
            ],
        );
        r.add("/kb/search", vec![(M::GET, h(kb::search))]);
        r.add("/kb/tags", vec![(M::GET, h(kb::tags))]);

        r.add(
            "/webhooks",
            vec![(M::GET, h(webhooks::list)), (M::POST, h(webhooks::create))],
        );
        r.add(
            "/webhooks/{id}",
            vec![
                (M::GET, h(webhooks::get)),
                (M::PATCH, h(webhooks::update)),
                (M::DELETE, h(webhooks::delete)),
            ],
        );
        r.add(
            "/webhooks/{id}/rotate-secret",
            vec![(M::POST, h(webhooks::rotate))],
        );
        r.add("/webhooks/{id}/test", vec![(M::POST, h(webhooks::test))]);
        r.add(
            "/webhooks/{id}/deliveries",
            vec![(M::GET, h(webhooks::deliveries))],
        );
        r.add(
            "/webhooks/{id}/deliveries/{delivery_id}/retry",
            vec![(M::POST, h(webhooks::retry))],
        );

        r.add("/attachments", vec![(M::POST, h(attachments::upload))]);
        r.add("/attachments/{id}", vec![(M::GET, h(attachments::get))]);
        r.add(
            "/attachments/{id}/content",
            vec![(M::GET, h(attachments::content))],
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
    fn add(&mut self, path: &str, methods: Vec<(Method, Handler)>) {
        self.router.add(format!("{}{path}", self.base), methods);
    }
}
