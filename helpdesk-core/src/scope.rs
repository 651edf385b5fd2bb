//! The scopes of API keys ([`crate::apikey`]): what a key may be used for, within what
//! its owner may do. `admin` implies every other scope.
//!
//! This module names nothing else of the crate: the error type, the principal and the
//! event kinds refer to it, not the other way round.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One scope of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `admin`: admin-only operations; implies every other scope.
    Admin,
    /// `kb:read`: the knowledge base as staff see it (drafts included).
    KbRead,
    /// `kb:write`: knowledge base writes.
    KbWrite,
    /// `messages:read`: conversations, messages, receipts, unread counts, notifications.
    MessagesRead,
    /// `messages:write`: message and conversation writes, read marks, notification reads.
    MessagesWrite,
    /// `tickets:read`: tickets, timelines, ticket attachments, groups.
    TicketsRead,
    /// `tickets:write`: ticket writes, CCs, followers, ticket uploads.
    TicketsWrite,
    /// `users:read`: users and organizations.
    UsersRead,
}

impl Scope {
    /// Every scope, in the order of their names (the order keys answer them in).
    pub const ALL: [Scope; 8] = [
        Scope::Admin,
        Scope::KbRead,
        Scope::KbWrite,
        Scope::MessagesRead,
        Scope::MessagesWrite,
        Scope::TicketsRead,
        Scope::TicketsWrite,
        Scope::UsersRead,
    ];

    /// The API name (`tickets:read`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::KbRead => "kb:read",
            Scope::KbWrite => "kb:write",
            Scope::MessagesRead => "messages:read",
            Scope::MessagesWrite => "messages:write",
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::UsersRead => "users:read",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownScope(pub String);

impl std::fmt::Display for UnknownScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown scope `{}`", self.0)
    }
}

impl std::error::Error for UnknownScope {}

impl std::str::FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_string()))
    }
}

/// A set of scopes: a key's grant, or what a route needs (any one of them suffices).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u16);

impl Scopes {
    /// The empty set: as a route's need, no scope is needed.
    pub const NONE: Scopes = Scopes(0);

    /// The set of one scope.
    pub const fn one(scope: Scope) -> Self {
        Scopes(scope.bit())
    }

    /// This set and `scope`.
    pub const fn with(self, scope: Scope) -> Self {
        Scopes(self.0 | scope.bit())
    }

    /// Whether the set holds `scope` itself (`admin` implying it does not count here;
    /// see [`Scopes::allows`]).
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether a key granted this set may act under `scope`: it holds it, or `admin`.
    pub const fn allows(self, scope: Scope) -> bool {
        self.contains(Scope::Admin) || self.contains(scope)
    }

    /// Whether a key granted this set meets `need`: `need` is empty, or the set allows
    /// one of its scopes.
    pub fn meets(self, need: Scopes) -> bool {
        need.is_empty() || need.iter().any(|s| self.allows(s))
    }

    /// True for the empty set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes, in the order of their names.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The names, in order, without duplicates.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// The set of these names (duplicates allowed), or the first that is no scope.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownScope> {
        names.iter().try_fold(Scopes::NONE, |set, name| {
            Ok(set.with(name.as_ref().parse::<Scope>()?))
        })
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        iter.into_iter().fold(Scopes::NONE, Scopes::with)
    }
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

impl std::fmt::Display for Scopes {
    /// Space-separated, as `WWW-Authenticate`'s `scope` lists them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

impl Serialize for Scopes {
    /// A sorted array of names.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl<'de> Deserialize<'de> for Scopes {
    /// An array of names; an unknown one is an error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        Scopes::parse(&names).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        let mut names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        let listed = names.clone();
        names.sort_unstable();
        assert_eq!(names, listed, "ALL is in name order");
        assert_eq!(
            "tickets:delete".parse::<Scope>(),
            Err(UnknownScope("tickets:delete".into()))
        );
    }

    #[test]
    fn sets_are_sorted_without_duplicates() {
        let set = Scopes::parse(&["tickets:write", "kb:read", "tickets:write"]).unwrap();
        assert_eq!(set.names(), ["kb:read", "tickets:write"]);
        assert_eq!(
            serde_json::to_value(set).unwrap(),
            serde_json::json!(["kb:read", "tickets:write"])
        );
        let back: Scopes =
            serde_json::from_value(serde_json::json!(["tickets:write", "kb:read"])).unwrap();
        assert_eq!(back, set);
        assert!(serde_json::from_value::<Scopes>(serde_json::json!(["root"])).is_err());
        assert_eq!(set.to_string(), "kb:read tickets:write");
    }

    #[test]
    fn admin_implies_every_scope_and_needs_are_any_of() {
        let admin = Scopes::one(Scope::Admin);
        assert!(Scope::ALL.iter().all(|s| admin.allows(*s)));
        assert!(!admin.contains(Scope::KbRead));
        let reader = Scopes::one(Scope::TicketsRead);
        let either = Scopes::one(Scope::TicketsRead).with(Scope::MessagesRead);
        assert!(reader.meets(either));
        assert!(!reader.meets(Scopes::one(Scope::TicketsWrite)));
        assert!(reader.meets(Scopes::NONE));
        assert!(Scopes::NONE.meets(Scopes::NONE));
        assert!(!Scopes::NONE.meets(either));
    }
}
