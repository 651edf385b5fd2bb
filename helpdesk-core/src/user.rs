//! Users: accounts, roles, activation, profile updates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::Cursor;
use crate::principal::Role;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Email, stored lowercased; unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A deactivated user cannot log in and their tokens stop working.
    pub is_active: bool,
    /// argon2id PHC string; `None` for a user without a password, who signs in only
    /// through the application that embeds helpdesk ([`crate::Helpdesk::issue_tokens`]).
    pub password_hash: Option<String>,
    /// The customer's organization ([`crate::organization::Organization`]); staff have
    /// none.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// A customer who sees their organization's tickets under `managers` sharing.
    #[serde(default)]
    pub is_org_manager: bool,
    /// A service account: staff that cannot log in and act only through API keys.
    #[serde(default)]
    pub is_service: bool,
    /// Whether others see this user's reads (read receipts v2); set by the user only.
    #[serde(default)]
    pub read_receipts: crate::receipt::ReadReceipts,
    /// Whether their notifications are also mailed (API-email.md "Outbound"); set by
    /// the user only, off unless the user was made from mail.
    #[serde(default)]
    pub email_notifications: bool,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// Filters for listing users, ordered by `(created_at, id)` ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only this role.
    pub role: Option<Role>,
    /// Case-insensitive substring of name or email.
    pub q: Option<String>,
    /// Only members of this organization.
    pub organization_id: Option<Uuid>,
    /// Continue after this position (key: `created_at` in microseconds).
    pub cursor: Option<Cursor>,
    /// Page size.
    pub limit: usize,
}

use crate::error::{Error, Result};

/// Input for creating a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Password (8..=1024 bytes); `None` for a user who cannot log in with one (outside
    /// authentication, or a service account).
    pub password: Option<String>,
    /// A service account ([`User::is_service`]): an agent or admin without a password.
    pub is_service: bool,
    /// The customer's organization; `None`: the one listing their email's domain, if
    /// any (see [`crate::organization`]).
    pub organization_id: Option<Uuid>,
    /// A manager of that organization (needs `organization_id`).
    pub is_org_manager: bool,
    /// Their notifications are mailed too ([`User::email_notifications`]; customers
    /// made from mail have it).
    pub email_notifications: bool,
}

impl NewUser {
    /// A user who logs in with a password.
    pub fn new(email: &str, name: &str, role: Role, password: &str) -> Self {
        NewUser {
            password: Some(password.to_string()),
            ..NewUser::without_password(email, name, role)
        }
    }
    /// A user without a password: your application authenticates them and asks for a
    /// principal ([`crate::Helpdesk::principal`]) or tokens
    /// ([`crate::Helpdesk::issue_tokens`]); a password login fails for them as for a wrong
    /// password.
    pub fn without_password(email: &str, name: &str, role: Role) -> Self {
        NewUser {
            email: email.to_string(),
            name: name.to_string(),
            role,
            password: None,
            is_service: false,
            organization_id: None,
            is_org_manager: false,
            email_notifications: false,
        }
    }
    /// A service account: staff (`role` agent or admin) that cannot log in and acts only
    /// through the API keys an admin makes for it.
    pub fn service(email: &str, name: &str, role: Role) -> Self {
        NewUser {
            is_service: true,
            ..NewUser::without_password(email, name, role)
        }
    }
}

/// What a user may change about themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New name.
    pub name: Option<String>,
    /// New password (needs `current_password`).
    pub password: Option<String>,
    /// The current password.
    pub current_password: Option<String>,
    /// Show reads to others or not.
    pub read_receipts: Option<crate::receipt::ReadReceipts>,
    /// Have notifications mailed or not.
    pub email_notifications: Option<bool>,
}

/// What an admin may change about a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Join an organization (`Some(Some(id))`) or leave it (`Some(None)`); customers
    /// only.
    pub organization_id: Option<Option<Uuid>>,
    /// Make or unmake a manager of the organization.
    pub is_org_manager: Option<bool>,
}

/// Lowercases and trims an email.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks an email's shape: one `@`, something on both sides, a dot in the domain, no
/// spaces, at most 254 characters.
pub fn validate_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("email", "is not a valid email address"))
    }
}

/// Checks and trims a display name (1..=200 characters).
pub fn validate_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// Which users [`crate::Helpdesk::list_users`] lists, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only this role.
    pub role: Option<Role>,
    /// Case-insensitive substring of name or email.
    pub q: Option<String>,
    /// Only members of this organization.
    pub organization_id: Option<Uuid>,
    /// Continue after this position.
    pub cursor: Option<Cursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}
