//! Organizations of customers: the record, its sharing rule, the checks on its input
//! (names, email domains, free-mail domains), the rule of a user's organization fields,
//! and its events. The operations are in `ops/organization.rs`.
//!
//! A customer belongs to one organization at most; a ticket keeps its requester's
//! organization at creation. A new customer joins the organization that lists exactly
//! their email's domain ([`email_domain`]), never through a free-mail domain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::event::{Audience, EventKind, NewEvent};
use crate::page::NameCursor;
use crate::principal::Role;
use crate::wire::Ts;

/// The free-mail domains of [`crate::Config::free_mail_domains`] by default: no
/// organization may list them, and they never place a new customer in one.
pub const DEFAULT_FREE_MAIL_DOMAINS: [&str; 11] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "gmx.de",
    "web.de",
];

/// [`DEFAULT_FREE_MAIL_DOMAINS`] as a list to configure.
pub fn default_free_mail_domains() -> Vec<String> {
    DEFAULT_FREE_MAIL_DOMAINS.map(String::from).to_vec()
}

/// Most domains one organization lists.
pub const MAX_DOMAINS: usize = 50;

/// Which tickets of an organization its customers see (read-only), besides their own
/// and those they are CC on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// None besides their own.
    #[default]
    None,
    /// Managers see all of the organization's tickets.
    Managers,
    /// Every member does.
    All,
}

impl Sharing {
    /// Every rule.
    pub const ALL: [Sharing; 3] = [Sharing::None, Sharing::Managers, Sharing::All];
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::None => "none",
            Sharing::Managers => "managers",
            Sharing::All => "all",
        }
    }
    /// Whether a member (a manager or not) sees the organization's tickets.
    pub fn shows_to(self, is_manager: bool) -> bool {
        match self {
            Sharing::None => false,
            Sharing::Managers => is_manager,
            Sharing::All => true,
        }
    }
}

impl std::str::FromStr for Sharing {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Sharing::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::invalid("sharing", "must be none, managers or all"))
    }
}

/// An organization of customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Id.
    pub id: Uuid,
    /// Name (1..=200 characters, trimmed), unique case-insensitively.
    pub name: String,
    /// Lowercase DNS names, unique across organizations; new customers whose email is
    /// at exactly one of them join (never free-mail domains).
    pub domains: Vec<String>,
    /// Which of its tickets its customers see.
    pub sharing: Sharing,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
}

impl Organization {
    /// The key its name is unique by and listed in: [`crate::group::name_key`].
    pub fn name_key(&self) -> String {
        crate::group::name_key(&self.name)
    }
    /// Its position in the list, for the next page's cursor.
    pub fn cursor(&self) -> NameCursor {
        NameCursor::new(self.name_key(), self.id)
    }
}

/// Input for creating an organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewOrganization {
    /// Name (1..=200 characters, trimmed).
    pub name: String,
    /// Email domains (0..=50 DNS names; lowercased; no free-mail domain).
    pub domains: Vec<String>,
    /// Which of its tickets its customers see (default `none`).
    pub sharing: Sharing,
}

/// A change to an organization; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationPatch {
    /// New name.
    pub name: Option<String>,
    /// New domains: the whole list, replacing the old one.
    pub domains: Option<Vec<String>>,
    /// New sharing rule.
    pub sharing: Option<Sharing>,
}

/// Which organizations [`crate::Helpdesk::list_organizations`] lists, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationFilter {
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// Only the organization listing exactly this domain (case-insensitive).
    pub domain: Option<String>,
    /// Continue after this position.
    pub cursor: Option<NameCursor>,
    /// Page size (default 50, 1..=200).
    pub limit: Option<usize>,
}

/// A store's list query: organizations matching [`OrganizationQuery::matches`], by
/// `(name key, id)` ascending, strictly after the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganizationQuery {
    /// Lowercased substring of the name key.
    pub q: Option<String>,
    /// A lowercased domain the organization lists.
    pub domain: Option<String>,
    /// Continue after this position.
    pub cursor: Option<NameCursor>,
    /// Page size.
    pub limit: usize,
}

impl OrganizationQuery {
    /// Whether `o` passes the filters (the cursor aside).
    pub fn matches(&self, o: &Organization) -> bool {
        self.q.as_ref().is_none_or(|q| o.name_key().contains(q))
            && self
                .domain
                .as_ref()
                .is_none_or(|d| o.domains.iter().any(|x| x == d))
    }
    /// Whether `o` comes after the cursor.
    pub fn after_cursor(&self, o: &Organization) -> bool {
        self.cursor
            .as_ref()
            .is_none_or(|c| c.is_before(&o.name_key(), o.id))
    }
}

/// Sorts organizations as they are listed: by name key, then id.
pub fn sort_organizations(orgs: &mut [Organization]) {
    orgs.sort_by_cached_key(|o| (o.name_key(), o.id));
}

/// Checks and trims an organization name (1..=200 characters).
pub fn validate_organization_name(name: &str) -> Result<String> {
    crate::text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

/// Whether `s` is a DNS name as an email domain has it: two or more dot-separated
/// labels of 1..=63 ASCII letters, digits and hyphens (no hyphen at either end), at most
/// 253 characters. Internationalized names are written in their `xn--` form.
pub fn is_dns_name(s: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= 253 && s.contains('.') && s.split('.').all(label_ok)
}

/// Whether `domain` (lowercase) is one of the free-mail domains.
pub fn is_free_mail(domain: &str, free_mail: &[String]) -> bool {
    free_mail.iter().any(|f| f == domain)
}

/// Checks an organization's domains: at most [`MAX_DOMAINS`], each a DNS name
/// ([`is_dns_name`]) and none a free-mail domain. Returns them lowercased, each once, in
/// the order given.
pub fn validate_domains(domains: &[String], free_mail: &[String]) -> Result<Vec<String>> {
    if domains.len() > MAX_DOMAINS {
        return Err(Error::invalid(
            "domains",
            format!("must list at most {MAX_DOMAINS} domains"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for (i, d) in domains.iter().enumerate() {
        let field = format!("domains[{i}]");
        crate::text::check(&field, d)?;
        let d = d.to_ascii_lowercase();
        if !is_dns_name(&d) {
            return Err(Error::invalid(
                field,
                "must be a DNS name such as example.com",
            ));
        }
        if is_free_mail(&d, free_mail) {
            return Err(Error::invalid(
                field,
                format!("{d} is a free-mail domain: its users are not one organization"),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// The domain of an (already lowercased) email address: what follows its last `@`.
pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// A user's organization fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Affiliation {
    /// The organization (customers only).
    pub organization_id: Option<Uuid>,
    /// A manager of it.
    pub is_org_manager: bool,
}

impl Affiliation {
    /// The fields of `user`.
    pub fn of(user: &crate::user::User) -> Self {
        Affiliation {
            organization_id: user.organization_id,
            is_org_manager: user.is_org_manager,
        }
    }

    /// The fields a user of `role` ends with when a write asks for `organization_id`
    /// (`Some(None)`: none) and `is_org_manager` (`None`: leave alone) over these.
    ///
    /// Only customers belong: staff asking for an organization or the manager flag are
    /// invalid, and staff keep neither (a role change to agent or admin resets both).
    /// A manager needs an organization; a customer who leaves or changes organization
    /// stops being a manager unless the write says otherwise.
    pub fn change(
        self,
        role: Role,
        organization_id: Option<Option<Uuid>>,
        is_org_manager: Option<bool>,
    ) -> Result<Affiliation> {
        if role.is_staff() {
            let only_customers = "only customers belong to an organization";
            if matches!(organization_id, Some(Some(_))) {
                return Err(Error::invalid("organization_id", only_customers));
            }
            if is_org_manager == Some(true) {
                return Err(Error::invalid("is_org_manager", only_customers));
            }
            return Ok(Affiliation::default());
        }
        let org = organization_id.unwrap_or(self.organization_id);
        let moved = org != self.organization_id;
        let manager = is_org_manager.unwrap_or(self.is_org_manager && !moved);
        if manager && org.is_none() {
            return Err(Error::invalid("is_org_manager", "needs an organization_id"));
        }
        Ok(Affiliation {
            organization_id: org,
            is_org_manager: manager,
        })
    }
}

/// Who sees organization events: staff.
pub fn organization_audience() -> Audience {
    Audience {
        staff: true,
        ..Default::default()
    }
}

/// An `organization.created` or `organization.updated` event: `{organization}`.
pub fn organization_event(kind: EventKind, o: &Organization, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        kind,
        at,
        organization_audience(),
        serde_json::json!({"organization": crate::wire::to_json(organization_json(o))}),
    )
}

/// The `organization.deleted` event: `{organization_id}`.
pub fn organization_deleted_event(id: Uuid, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(
        EventKind::OrganizationDeleted,
        at,
        organization_audience(),
        serde_json::json!({"organization_id": id}),
    )
}

/// The API rendering of an organization (responses and event payloads).
#[derive(Serialize)]
pub struct OrganizationJson<'a> {
    id: Uuid,
    name: &'a str,
    domains: &'a [String],
    sharing: Sharing,
    created_at: Ts,
}

/// The API rendering of an organization: `{id, name, domains, sharing, created_at}`.
pub fn organization_json(o: &Organization) -> OrganizationJson<'_> {
    OrganizationJson {
        id: o.id,
        name: &o.name,
        domains: &o.domains,
        sharing: o.sharing,
        created_at: Ts(o.created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free() -> Vec<String> {
        default_free_mail_domains()
    }

    #[test]
    fn names_are_checked_and_trimmed() {
        assert_eq!(validate_organization_name("  Acme ").unwrap(), "Acme");
        assert!(validate_organization_name(" \t ").is_err());
        assert!(validate_organization_name(&"é".repeat(200)).is_ok());
        assert!(validate_organization_name(&"x".repeat(201)).is_err());
        assert!(validate_organization_name("a\u{0}b").is_err());
    }

    #[test]
    fn dns_names() {
        for ok in [
            "example.com",
            "a.b.example.co.uk",
            "xn--bcher-kva.de",
            "a-1.io",
            "x.y2",
            "10.0.0.1",
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        for bad in [
            "",
            "com",
            "example..com",
            ".example.com",
            "example.com.",
            "-a.com",
            "a-.com",
            "a_b.com",
            "ex ample.com",
            "bücher.de",
            "user@example.com",
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
        assert!(!is_dns_name(&format!("{}.com", "a".repeat(64))));
        assert!(!is_dns_name(&format!("{}com", "a.".repeat(127))));
    }

    #[test]
    fn domains_are_lowercased_deduplicated_and_free_mail_refused() {
        let got = validate_domains(
            &[
                "Example.COM".into(),
                "b.example.com".into(),
                "example.com".into(),
            ],
            &free(),
        )
        .unwrap();
        assert_eq!(got, ["example.com", "b.example.com"]);
        let e = validate_domains(&["acme.com".into(), "GMAIL.com".into()], &free()).unwrap_err();
        match e {
            Error::Validation(f) => assert_eq!(f[0].field, "domains[1]"),
            other => panic!("{other:?}"),
        }
        assert!(validate_domains(&["not a domain".into()], &free()).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("d{i}.example.com")).collect();
        assert!(validate_domains(&many, &free()).is_err());
        assert!(validate_domains(&many[..50], &free()).is_ok());
        // Another free-mail list: gmail.com is an ordinary domain then.
        assert!(validate_domains(&["gmail.com".into()], &[]).is_ok());
    }

    #[test]
    fn email_domains() {
        assert_eq!(email_domain("ann@example.com"), "example.com");
        assert_eq!(email_domain("\"a@b\"@sub.example.com"), "sub.example.com");
        assert_eq!(email_domain("nobody"), "");
    }

    #[test]
    fn affiliation_rules() {
        let org = Uuid::now_v7();
        let other = Uuid::now_v7();
        let none = Affiliation::default();
        let member = Affiliation {
            organization_id: Some(org),
            is_org_manager: false,
        };
        let manager = Affiliation {
            organization_id: Some(org),
            is_org_manager: true,
        };
        use Role::*;
        // Customers join, become managers, leave.
        assert_eq!(
            none.change(Customer, Some(Some(org)), None).unwrap(),
            member
        );
        assert_eq!(member.change(Customer, None, Some(true)).unwrap(), manager);
        assert_eq!(
            manager.change(Customer, Some(Some(org)), None).unwrap(),
            manager
        );
        assert_eq!(manager.change(Customer, Some(None), None).unwrap(), none);
        assert_eq!(
            manager.change(Customer, Some(Some(other)), None).unwrap(),
            Affiliation {
                organization_id: Some(other),
                is_org_manager: false
            }
        );
        // A manager needs an organization.
        assert!(none.change(Customer, None, Some(true)).is_err());
        assert!(manager.change(Customer, Some(None), Some(true)).is_err());
        // Staff: never, and a role change resets both.
        assert_eq!(manager.change(Agent, None, None).unwrap(), none);
        assert_eq!(
            manager.change(Admin, Some(None), Some(false)).unwrap(),
            none
        );
        assert!(none.change(Agent, Some(Some(org)), None).is_err());
        assert!(none.change(Admin, None, Some(true)).is_err());
    }

    #[test]
    fn queries_filter_by_name_and_domain() {
        let o = Organization {
            id: Uuid::now_v7(),
            name: "Acme Corp".into(),
            domains: vec!["acme.com".into()],
            sharing: Sharing::None,
            created_at: Utc::now(),
        };
        let q = |q: Option<&str>, d: Option<&str>| OrganizationQuery {
            q: q.map(String::from),
            domain: d.map(String::from),
            ..Default::default()
        };
        assert!(q(Some("me c"), None).matches(&o));
        assert!(q(None, Some("acme.com")).matches(&o));
        assert!(!q(None, Some("sub.acme.com")).matches(&o));
        assert!(!q(Some("zeta"), None).matches(&o));
    }
}
