//! Saved views: a named ticket filter in the one condition language
//! ([`crate::condition`], [`Usage::View`](crate::condition::Usage::View)) with a list
//! order, scoped like canned replies ([`crate::ownership`]). The record, the checks on
//! its input, its order and its count limits. The operations are in `ops/view.rs`.
//!
//! Views write no events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::condition::{Condition, Field, Op, Operand, Predicate, Value};
use crate::error::{Error, Result};
use crate::ownership::{ItemScope, Scoped};
use crate::status::StatusKey;
use crate::ticket::{AssigneeFilter, OrganizationMatch, TicketQuery, TicketSort};
use crate::wire::Ts;

/// Most `personal` and `group` views one owner (their creator) may have.
pub const MAX_PER_OWNER: usize = 100;
/// Most `global` views.
pub const MAX_GLOBAL: usize = 100;
/// Longest name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 100;
/// Largest `position`.
pub const MAX_POSITION: i64 = i32::MAX as i64;

/// A saved view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// Id.
    pub id: Uuid,
    /// Name (1..=100 characters, trimmed).
    pub name: String,
    /// Who may use it (fixed).
    pub scope: ItemScope,
    /// Its group: set exactly when `scope` is `group` (fixed).
    pub group_id: Option<Uuid>,
    /// Who made it (fixed); `None` when the system did.
    pub owner_id: Option<Uuid>,
    /// The tickets it shows (checked for views when saved).
    pub filter: Condition,
    /// Their order.
    #[serde(with = "sort_serde")]
    pub sort: TicketSort,
    /// The list order, then `id`.
    pub position: i64,
    /// Created.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(deserialize_with = "crate::wire::de_ts")]
    pub updated_at: DateTime<Utc>,
}

/// A sort as its API name (`-created_at`).
mod sort_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::ticket::TicketSort;

    pub fn serialize<S: Serializer>(s: &TicketSort, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.as_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TicketSort, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Scoped for View {
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
    what: "views",
};

/// Input for creating a view; `filter` is the condition's JSON, checked when made.
#[derive(Debug, Clone, PartialEq)]
pub struct NewView {
    /// Name.
    pub name: String,
    /// Who may use it.
    pub scope: ItemScope,
    /// Its group: required when `scope` is `group`, refused otherwise.
    pub group_id: Option<Uuid>,
    /// The condition (`None`: `{}`, every ticket).
    pub filter: Option<serde_json::Value>,
    /// The order (`None`: `-created_at`).
    pub sort: Option<TicketSort>,
    /// The list position (`None`: after the last view the caller may use).
    pub position: Option<i64>,
}

/// A change to a view; `None` leaves a field alone. Its scope, group and owner are
/// fixed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewPatch {
    /// New name.
    pub name: Option<String>,
    /// New condition (JSON, checked).
    pub filter: Option<serde_json::Value>,
    /// New order.
    pub sort: Option<TicketSort>,
    /// New position.
    pub position: Option<i64>,
}

/// Sorts views as they are listed: by position, then id.
pub fn sort_views(views: &mut [View]) {
    views.sort_by_key(|v| (v.position, v.id));
}

/// Checks and trims a name (1..=100 characters).
pub fn validate_name(name: &str) -> Result<String> {
    crate::text::label("name", name, MAX_NAME_CHARS)
}

/// Checks a position (0..=2^31-1).
pub fn validate_position(position: i64) -> Result<i64> {
    if !(0..=MAX_POSITION).contains(&position) {
        return Err(Error::invalid(
            "position",
            format!("must be an integer from 0 to {MAX_POSITION}"),
        ));
    }
    Ok(position)
}

/// The store query that view pages and counts read: the caller's visibility (`groups`:
/// the groups whose tickets they see, `None` for every group), the view's sort, and the
/// part of the filter that maps onto [`TicketQuery`] pushed down, so the store returns
/// fewer tickets that [`Condition::matches`] then refuses. `None` when no ticket can be
/// visible (no group left).
///
/// Pushed down are `all` predicates only (every one must hold), each only when the
/// query does not already constrain its field (a second such predicate is left to the
/// evaluation): `status` and `status_category` `eq`/`in` (today the five categories are
/// the statuses), `priority` `eq`, `assignee_id` `eq`/`is_not_set`, `requester_id` `eq`,
/// `group_id` `eq`/`in` (intersected with the visible groups), `tags` `contains`, and
/// `requester.organization_id` `eq`/`is_not_set`. The pushdown only ever narrows to a
/// superset of the matching tickets: correctness never depends on it, as every
/// candidate is evaluated with the whole condition ([`Condition::matches`]).
pub fn store_query(
    filter: &Condition,
    groups: Option<Vec<Uuid>>,
    sort: TicketSort,
) -> Option<TicketQuery> {
    let mut q = TicketQuery {
        sort,
        group_ids: groups,
        ..TicketQuery::default()
    };
    let mut groups_narrowed = false;
    for Predicate { field, op, value } in &filter.all {
        let ids = || -> Vec<Uuid> { operands(value).filter_map(as_id).collect() };
        match (field, op) {
            (Field::Status, Op::Eq | Op::In) if q.statuses.is_empty() => {
                q.statuses = operands(value)
                    .filter_map(|o| match o {
                        Operand::Text(k) => Some(StatusKey::new(k.as_str())),
                        _ => None,
                    })
                    .collect();
            }
            (Field::StatusCategory, Op::Eq | Op::In) if q.categories.is_empty() => {
                q.categories = operands(value)
                    .filter_map(|o| match o {
                        Operand::Category(c) => Some(*c),
                        _ => None,
                    })
                    .collect();
            }
            (Field::Priority, Op::Eq) if q.priority.is_none() => {
                if let Value::One(Operand::Priority(p)) = value {
                    q.priority = Some(*p);
                }
            }
            (Field::AssigneeId, Op::Eq) if q.assignee.is_none() => {
                q.assignee = ids().first().copied().map(AssigneeFilter::User);
            }
            (Field::AssigneeId, Op::IsNotSet) if q.assignee.is_none() => {
                q.assignee = Some(AssigneeFilter::Nobody);
            }
            (Field::RequesterId, Op::Eq) if q.requester_id.is_none() => {
                q.requester_id = ids().first().copied();
            }
            (Field::GroupId, Op::Eq | Op::In) if !groups_narrowed => {
                let named = ids();
                q.group_ids = Some(match q.group_ids.take() {
                    Some(visible) => named.into_iter().filter(|g| visible.contains(g)).collect(),
                    None => named,
                });
                groups_narrowed = true;
            }
            (Field::Tags, Op::Contains) if q.tag.is_none() => {
                if let Value::One(Operand::Text(t)) = value {
                    q.tag = Some(crate::tag::fold_tag(t));
                }
            }
            (Field::RequesterOrganizationId, Op::Eq) if q.organization.is_none() => {
                q.organization = ids().first().copied().map(OrganizationMatch::Is);
            }
            (Field::RequesterOrganizationId, Op::IsNotSet) if q.organization.is_none() => {
                q.organization = Some(OrganizationMatch::Nobody);
            }
            _ => {}
        }
    }
    match &q.group_ids {
        Some(g) if g.is_empty() => None,
        _ => Some(q),
    }
}

/// The operands of a value, one or many.
fn operands(value: &Value) -> impl Iterator<Item = &Operand> {
    let (one, many): (Option<&Operand>, &[Operand]) = match value {
        Value::None => (None, &[]),
        Value::One(o) => (Some(o), &[]),
        Value::Many(m) => (None, m.as_slice()),
    };
    one.into_iter().chain(many)
}

fn as_id(o: &Operand) -> Option<Uuid> {
    match o {
        Operand::Id(id) => Some(*id),
        _ => None,
    }
}

/// The API rendering of a view.
#[derive(Serialize)]
pub struct ViewJson<'a> {
    id: Uuid,
    name: &'a str,
    scope: ItemScope,
    group_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    filter: &'a Condition,
    sort: &'static str,
    position: i64,
    created_at: Ts,
    updated_at: Ts,
}

/// The API rendering of a view: `{id, name, scope, group_id, owner_id, filter, sort,
/// position, created_at, updated_at}`.
pub fn view_json(v: &View) -> ViewJson<'_> {
    ViewJson {
        id: v.id,
        name: &v.name,
        scope: v.scope,
        group_id: v.group_id,
        owner_id: v.owner_id,
        filter: &v.filter,
        sort: v.sort.as_str(),
        position: v.position,
        created_at: Ts(v.created_at),
        updated_at: Ts(v.updated_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusCategory;

    #[test]
    fn input_is_checked() {
        assert_eq!(validate_name("  Mine ").unwrap(), "Mine");
        assert!(validate_name(" ").is_err());
        assert!(validate_name(&"é".repeat(100)).is_ok());
        assert!(validate_name(&"é".repeat(101)).is_err());
        assert!(validate_position(-1).is_err());
        assert!(validate_position(0).is_ok());
        assert!(validate_position(MAX_POSITION + 1).is_err());
    }

    #[test]
    fn the_pushdown_narrows_only_by_all_predicates() {
        use crate::condition::{NoCustomFields, Usage};
        let (g, h, u) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let c = Condition::parse(
            &serde_json::json!({
                "all": [
                    {"field": "status", "op": "in", "value": ["open", "pending"]},
                    {"field": "status_category", "op": "eq", "value": "closed"},
                    {"field": "priority", "op": "eq", "value": "high"},
                    {"field": "assignee_id", "op": "is_not_set"},
                    {"field": "group_id", "op": "in", "value": [g, h]},
                    {"field": "tags", "op": "contains", "value": "VIP"}
                ],
                "any": [{"field": "requester_id", "op": "eq", "value": u}]
            }),
            "filter",
            Usage::View,
            &NoCustomFields,
        )
        .unwrap();
        let q = store_query(&c, Some(vec![g]), TicketSort::Priority).unwrap();
        assert_eq!(
            q.statuses,
            [StatusKey::new("open"), StatusKey::new("pending")]
        );
        assert_eq!(q.categories, [StatusCategory::Closed]);
        assert_eq!(q.assignee, Some(AssigneeFilter::Nobody));
        assert_eq!(q.group_ids, Some(vec![g]));
        assert_eq!(q.tag.as_deref(), Some("vip"));
        assert_eq!((q.requester_id, q.sort), (None, TicketSort::Priority));
        assert!(q.priority.is_some());
        assert_eq!(store_query(&c, Some(vec![]), TicketSort::Priority), None);
        assert_eq!(
            store_query(&c, None, q.sort).unwrap().group_ids,
            Some(vec![g, h])
        );
        let empty = store_query(&Condition::default(), None, TicketSort::default()).unwrap();
        assert_eq!(empty, TicketQuery::default());
    }

    #[test]
    fn views_round_trip_as_json() {
        let v = View {
            id: Uuid::now_v7(),
            name: "n".into(),
            scope: ItemScope::Personal,
            group_id: None,
            owner_id: Some(Uuid::now_v7()),
            filter: Condition::default(),
            sort: TicketSort::PriorityDesc,
            position: 3,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let back: View = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back.sort, v.sort);
        assert_eq!(back.filter, v.filter);
    }
}
