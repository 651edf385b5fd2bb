//! Canned replies: texts staff insert into their answers, with placeholders
//! ([`crate::placeholder`]). The record, its scope and who may use and write it, the
//! checks on its input, its list query and its count limits. The operations are in
//! `ops/canned_reply.rs`.
//!
//! A reply is `personal` (its owner's), `group` (the members of its group, at any level,
//! and admins) or `global` (all staff). Writing takes what using does, and a `global`
//! reply needs an admin. Shortcuts are unique across every scope. Canned replies write
//! no events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ownership::{ItemScope, ScopeUser, Scoped};
use crate::page::NameCursor;
use crate::wire::Ts;

/// Most `personal` and `group` replies one owner (their creator) may have.
pub const MAX_PER_OWNER: usize = 1000;
/// Most `global` replies.
pub const MAX_GLOBAL: usize = 1000;
/// Longest title, in characters (after trimming).
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest shortcut, in characters.
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 32_000;

/// A canned reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    /// Id.
    pub id: Uuid,
    /// Title (1..=100 characters, trimmed).
    pub title: String,
    /// `^[a-z0-9_-]{1,32}$`, unique across every scope; the list order.
    pub shortcut: String,
    /// The text (1..=32,000 characters), with placeholders.
    pub body: String,
    /// Who may use it (fixed).
    pub scope: ItemScope,
    /// Its group: set exactly when `scope` is `group` (fixed).
    pub group_id: Option<Uuid>,
    /// Who made it (fixed); `None` when the system did.
    pub owner_id: Option<Uuid>,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

impl CannedReply {
    /// Its position in the list, for the next page's cursor.
    pub fn cursor(&self) -> NameCursor {
        NameCursor::new(self.shortcut.clone(), self.id)
    }
}

impl Scoped for CannedReply {
    fn scope(&self) -> ItemScope {
        self.scope
    }
    fn group_id(&self) -> Option<Uuid> {
        self.group_id
    }
    fn owner_id(&self) -> Option<Uuid> {
        self.owner_id
    }
}

/// The limits of the collection.
pub const LIMITS: crate::ownership::Limits = crate::ownership::Limits {
    global: MAX_GLOBAL,
    per_owner: MAX_PER_OWNER,
    what: "canned replies",
};

/// Input for creating a canned reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCannedReply {
    /// Title.
    pub title: String,
    /// Shortcut.
    pub shortcut: String,
    /// The text.
    pub body: String,
    /// Who may use it.
    pub scope: ItemScope,
    /// Its group: required when `scope` is `group`, refused otherwise.
    pub group_id: Option<Uuid>,
}

/// A change to a canned reply; `None` leaves a field alone. Its scope, group and owner
/// are fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CannedReplyPatch {
    /// New title.
    pub title: Option<String>,
    /// New shortcut.
    pub shortcut: Option<String>,
    /// New text.
    pub body: Option<String>,
}

/// Which canned replies [`crate::Helpdesk::list_canned_replies`] lists, of those the
/// caller may use, by shortcut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CannedReplyFilter {
    /// Shortcuts starting with this, compared case-insensitively.
    pub shortcut: Option<String>,
    /// Of this scope only.
    pub scope: Option<ItemScope>,
    /// Continue after this position.
    pub cursor: Option<NameCursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

/// A store's list query: canned replies matching [`CannedReplyQuery::matches`], by
/// `(shortcut, id)` ascending, strictly after the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReplyQuery {
    /// Only those this user may use.
    pub user: ScopeUser,
    /// Shortcuts starting with this (lowercase).
    pub shortcut_prefix: Option<String>,
    /// Of this scope only.
    pub scope: Option<ItemScope>,
    /// Continue after this position.
    pub cursor: Option<NameCursor>,
    /// Page size.
    pub limit: usize,
}

impl CannedReplyQuery {
    /// Whether `r` passes the filters (the cursor aside).
    pub fn matches(&self, r: &CannedReply) -> bool {
        self.user.may_use(r)
            && self.scope.is_none_or(|s| s == r.scope)
            && self
                .shortcut_prefix
                .as_ref()
                .is_none_or(|p| r.shortcut.starts_with(p.as_str()))
    }
    /// Whether `r` comes after the cursor.
    pub fn after_cursor(&self, r: &CannedReply) -> bool {
        self.cursor
            .as_ref()
            .is_none_or(|c| c.is_before(&r.shortcut, r.id))
    }
}

/// Sorts canned replies as they are listed: by shortcut, then id.
pub fn sort_canned_replies(replies: &mut [CannedReply]) {
    replies.sort_by(|a, b| (&a.shortcut, a.id).cmp(&(&b.shortcut, b.id)));
}

/// Checks and trims a title (1..=100 characters).
pub fn validate_title(title: &str) -> Result<String> {
    crate::text::check("title", title)?;
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::invalid(
            "title",
            format!("must be 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(title.to_string())
}

/// Whether `s` is a shortcut: 1..=32 of `a-z`, `0-9`, `_` and `-`.
pub fn is_shortcut(s: &str) -> bool {
    (1..=MAX_SHORTCUT_CHARS).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks a shortcut ([`is_shortcut`]).
pub fn validate_shortcut(shortcut: &str) -> Result<String> {
    if !is_shortcut(shortcut) {
        return Err(Error::invalid(
            "shortcut",
            format!("must be 1 to {MAX_SHORTCUT_CHARS} lowercase letters a-z, digits, `_` or `-`"),
        ));
    }
    Ok(shortcut.to_string())
}

/// Checks a body: text of 1..=32,000 characters, not only white space, whose `{{...}}`
/// are all placeholders ([`crate::placeholder::check_placeholders`]). Kept as given.
pub fn validate_body(body: &str) -> Result<String> {
    crate::text::check("body", body)?;
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid(
            "body",
            format!("must be at most {MAX_BODY_CHARS} characters"),
        ));
    }
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "must not be empty"));
    }
    crate::placeholder::check_placeholders(body).map_err(|written| {
        Error::invalid(
            "body",
            crate::placeholder::unknown_placeholder_message(&written),
        )
    })?;
    Ok(body.to_string())
}

/// Checks that `group_id` is given exactly for a `group` reply.
pub fn validate_group_id(scope: ItemScope, group_id: Option<Uuid>) -> Result<()> {
    crate::ownership::validate_group_id(scope, group_id, "canned reply")
}

/// The API rendering of a canned reply.
#[derive(Serialize)]
pub struct CannedReplyJson<'a> {
    id: Uuid,
    title: &'a str,
    shortcut: &'a str,
    body: &'a str,
    scope: ItemScope,
    group_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    created_at: Ts,
    updated_at: Ts,
}

/// The API rendering of a canned reply: `{id, title, shortcut, body, scope, group_id,
/// owner_id, created_at, updated_at}`.
pub fn canned_reply_json(r: &CannedReply) -> CannedReplyJson<'_> {
    CannedReplyJson {
        id: r.id,
        title: &r.title,
        shortcut: &r.shortcut,
        body: &r.body,
        scope: r.scope,
        group_id: r.group_id,
        owner_id: r.owner_id,
        created_at: Ts(r.created_at),
        updated_at: Ts(r.updated_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(scope: ItemScope, group_id: Option<Uuid>, owner_id: Option<Uuid>) -> CannedReply {
        CannedReply {
            id: Uuid::now_v7(),
            title: "t".into(),
            shortcut: "s".into(),
            body: "b".into(),
            scope,
            group_id,
            owner_id,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn scopes_decide_use_and_write() {
        let (me, other, g, h) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let agent = ScopeUser {
            user_id: me,
            admin: false,
            groups: vec![g],
        };
        let admin = ScopeUser {
            user_id: other,
            admin: true,
            groups: vec![],
        };
        let mine = reply(ItemScope::Personal, None, Some(me));
        assert!(agent.may_use(&mine) && !admin.may_use(&mine));
        let in_g = reply(ItemScope::Group, Some(g), Some(other));
        let in_h = reply(ItemScope::Group, Some(h), Some(other));
        assert!(agent.may_use(&in_g) && !agent.may_use(&in_h));
        assert!(admin.may_use(&in_g) && admin.may_use(&in_h));
        let global = reply(ItemScope::Global, None, None);
        assert!(agent.may_use(&global) && admin.may_use(&global));
        assert!(!agent.may_use(&reply(ItemScope::Personal, None, None)));

        assert!(
            agent
                .may_write(ItemScope::Personal, None, "canned replies")
                .is_ok()
        );
        assert!(
            agent
                .may_write(ItemScope::Group, Some(g), "canned replies")
                .is_ok()
        );
        assert!(
            agent
                .may_write(ItemScope::Group, Some(h), "canned replies")
                .is_err()
        );
        assert!(
            agent
                .may_write(ItemScope::Global, None, "canned replies")
                .is_err()
        );
        assert!(
            admin
                .may_write(ItemScope::Group, Some(h), "canned replies")
                .is_ok()
        );
        assert!(
            admin
                .may_write(ItemScope::Global, None, "canned replies")
                .is_ok()
        );
        assert_eq!(global.bucket(), crate::ownership::Bucket::Global);
        assert_eq!(in_g.bucket(), crate::ownership::Bucket::Owner(Some(other)));
    }

    #[test]
    fn input_is_checked() {
        assert_eq!(validate_title("  Greeting ").unwrap(), "Greeting");
        assert!(validate_title(" ").is_err());
        assert!(validate_title(&"é".repeat(100)).is_ok());
        assert!(validate_title(&"é".repeat(101)).is_err());
        for ok in ["a", "hello-world_2", &"z".repeat(32)] {
            assert!(validate_shortcut(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Hello", "a b", "é", "a.b", &"z".repeat(33)] {
            assert!(validate_shortcut(bad).is_err(), "{bad}");
        }
        assert!(validate_body(&"é".repeat(32_000)).is_ok());
        assert!(validate_body(&"é".repeat(32_001)).is_err());
        assert!(validate_body(" \n ").is_err());
        assert!(validate_body("Hi {{ requester.name }}").is_ok());
        match validate_body("Hi {{customer}}") {
            Err(Error::Validation(f)) => assert_eq!(f[0].field, "body"),
            other => panic!("{other:?}"),
        }
        assert!(validate_group_id(ItemScope::Group, None).is_err());
        assert!(validate_group_id(ItemScope::Global, Some(Uuid::nil())).is_err());
        assert!(validate_group_id(ItemScope::Group, Some(Uuid::nil())).is_ok());
        assert!("team".parse::<ItemScope>().is_err());
        for s in ItemScope::ALL {
            assert_eq!(s.as_str().parse::<ItemScope>().unwrap(), s);
        }
    }
}
