//! Who is acting, their role, and the permission checks every area uses.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::scope::{Scope, Scopes};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Staff: all tickets, KB editing.
    Agent,
    /// Own tickets, own conversations, published KB.
    Customer,
}

impl Role {
    /// Admins and agents.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Customer => "customer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            "customer" => Ok(Role::Customer),
            _ => Err(Error::invalid("role", "must be admin, agent or customer")),
        }
    }
}

/// The acting party of an operation.
///
/// A principal is made only by the library, from what the store holds: by
/// [`Helpdesk::principal`](crate::Helpdesk::principal) (a user your application
/// authenticated), by [`Helpdesk::authenticate`](crate::Helpdesk::authenticate) (an access
/// token), from [`AuthTokens`](crate::auth::AuthTokens) just issued, or as
/// [`Principal::system`]. Its fields are private, so a role cannot be claimed. It is a
/// snapshot: admin operations check the user's role and activation again.
///
/// A principal authenticated with an API key carries the key ([`Principal::api_key`]):
/// what it may do is its scopes within what its owner's role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The user, or `Uuid::nil()` for the system.
    pub(crate) user_id: Uuid,
    /// Their role.
    pub(crate) role: Role,
    /// The session their token belongs to, when acting through a token.
    pub(crate) session_id: Option<Uuid>,
    /// The API key acting, when acting through one.
    pub(crate) key: Option<KeyGrant>,
}

/// The API key a principal acts through: its id and its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGrant {
    /// The key.
    pub id: Uuid,
    /// What it may be used for.
    pub scopes: Scopes,
}

impl Principal {
    /// A user acting outside any session, as the store holds them.
    pub(crate) fn user(user_id: Uuid, role: Role) -> Self {
        Principal {
            user_id,
            role,
            session_id: None,
            key: None,
        }
    }
    /// The system itself (CLI without `--as`, background jobs): acts as an admin.
    pub fn system() -> Self {
        Principal {
            user_id: Uuid::nil(),
            role: Role::Admin,
            session_id: None,
            key: None,
        }
    }
    /// The user acting, or `Uuid::nil()` for the system.
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
    /// Their role, as the store held it when this principal was made.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The session their token belongs to, when acting through a token.
    pub fn session_id(&self) -> Option<Uuid> {
        self.session_id
    }
    /// The API key acting, when acting through one.
    pub fn api_key(&self) -> Option<KeyGrant> {
        self.key
    }
    /// Whether the principal may act under `scope`: always, unless it acts through an
    /// API key that does not allow it.
    pub fn allows(&self, scope: Scope) -> bool {
        self.key.is_none_or(|k| k.scopes.allows(scope))
    }
    /// Fails with `InsufficientScope` when the principal acts through an API key that
    /// allows none of `need` (an empty `need` needs nothing).
    pub fn require_scope(&self, need: Scopes) -> Result<()> {
        match self.key {
            Some(k) if !k.scopes.meets(need) => Err(Error::InsufficientScope(need)),
            _ => Ok(()),
        }
    }
    /// Fails with `Forbidden` when the principal acts through an API key: what only a
    /// signed-in user may do (managing keys, logging out, changing one's profile).
    pub fn require_session(&self) -> Result<()> {
        match self.key {
            Some(_) => Err(Error::forbidden("not with an API key")),
            None => Ok(()),
        }
    }
    /// True for the system principal.
    pub fn is_system(&self) -> bool {
        self.user_id.is_nil()
    }
    /// Admins and agents.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }
    /// Admins.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    /// Fails with `Forbidden` unless staff.
    pub fn require_staff(&self) -> Result<()> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(Error::forbidden("staff only"))
        }
    }
    /// Fails with `Forbidden` unless admin.
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("admins only"))
        }
    }
    /// The actor id recorded on changes: `None` for the system.
    pub fn actor(&self) -> Option<Uuid> {
        (!self.is_system()).then_some(self.user_id)
    }
}

/// Who a ticket is rendered for: staff see its group and followers, customers never do
/// (API-access.md: not on any path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketView {
    /// Staff, and webhooks: every field.
    Staff,
    /// Customers: everything but `group_id` and `followers`.
    Customer,
}

impl TicketView {
    /// The view a caller gets.
    pub fn of(p: &Principal) -> TicketView {
        if p.is_staff() {
            TicketView::Staff
        } else {
            TicketView::Customer
        }
    }
}
