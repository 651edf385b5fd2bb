//! proptest strategies for conditions over the fields tickets have today, in the
//! canonical JSON that [`Condition::to_json`](super::Condition::to_json) gives back, for
//! property tests that compare an evaluation with [`Condition::matches`](super::Condition::matches):
//! the condition module's own reference, and a store's own filter.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Value as Json, json};
use uuid::Uuid;

/// What generated predicates compare with: the ids, tags and subject words of the tickets
/// under test (add ids no ticket holds to test misses).
#[derive(Debug, Clone, Default)]
pub struct Pools {
    /// Users (assignees, requesters).
    pub users: Vec<Uuid>,
    /// Groups.
    pub groups: Vec<Uuid>,
    /// Organizations.
    pub organizations: Vec<Uuid>,
    /// Tags, folded.
    pub tags: Vec<String>,
    /// Words for `subject` values; each is also tried lowercased and uppercased.
    pub words: Vec<String>,
}

const STATUSES: [&str; 5] = ["open", "pending", "on_hold", "resolved", "closed"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const HOURS: [&str; 3] = [
    "hours_since_created",
    "hours_since_updated",
    "hours_since_status_changed",
];

fn p(field: &str, op: &str, value: Json) -> Json {
    json!({"field": field, "op": op, "value": value})
}

/// A predicate on `field` with one of `ops`, its values drawn from `values` (not empty).
fn keyed(field: &'static str, ops: &[&'static str], values: Vec<Json>) -> BoxedStrategy<Json> {
    let many = subsequence(values.clone(), 1..=values.len().min(super::MAX_LIST))
        .prop_shuffle()
        .prop_map(Json::Array);
    (select(ops.to_vec()), select(values), many)
        .prop_map(move |(op, one, many)| match op {
            "in" | "not_in" => p(field, op, many),
            "is_set" | "is_not_set" => json!({"field": field, "op": op}),
            _ => p(field, op, one),
        })
        .boxed()
}

fn strings<S: AsRef<str>>(items: &[S]) -> Vec<Json> {
    items.iter().map(|s| json!(s.as_ref())).collect()
}

fn ids(items: &[Uuid]) -> Vec<Json> {
    items.iter().map(|u| json!(u.to_string())).collect()
}

/// One predicate over a field tickets have today (custom fields and trigger-only fields
/// aside), valid in a view. A pool left empty leaves its fields out.
pub fn predicate(pools: &Pools) -> BoxedStrategy<Json> {
    let equality = ["eq", "ne", "in", "not_in"];
    let id_ops = ["eq", "ne", "in", "not_in", "is_set", "is_not_set"];
    let mut arms = vec![
        keyed("status", &equality, strings(&STATUSES)),
        keyed("status_category", &equality, strings(&STATUSES)),
        keyed(
            "priority",
            &["eq", "ne", "in", "not_in", "gt", "lt"],
            strings(&PRIORITIES),
        ),
        keyed("snoozed", &["eq"], vec![json!(true), json!(false)]),
        keyed("sla.breached", &["eq"], vec![json!(true), json!(false)]),
        // Quarter hours up to 12: exact in binary, so boundaries compare exactly.
        (1u32..=48, select(HOURS.to_vec()), select(vec!["gt", "lt"]))
            .prop_map(|(quarters, field, op)| {
                let h = f64::from(quarters) / 4.0;
                let value = if h.fract() == 0.0 {
                    json!(quarters / 4)
                } else {
                    json!(h)
                };
                p(field, op, value)
            })
            .boxed(),
    ];
    for (field, pool) in [
        ("assignee_id", &pools.users),
        ("requester_id", &pools.users),
        ("group_id", &pools.groups),
        ("requester.organization_id", &pools.organizations),
    ] {
        if !pool.is_empty() {
            arms.push(keyed(field, &id_ops, ids(pool)));
        }
    }
    if !pools.tags.is_empty() {
        arms.push(keyed(
            "tags",
            &["contains", "in", "not_in", "is_set", "is_not_set"],
            strings(&pools.tags),
        ));
    }
    if !pools.words.is_empty() {
        let words: Vec<Json> = pools
            .words
            .iter()
            .flat_map(|w| [json!(w), json!(w.to_lowercase()), json!(w.to_uppercase())])
            .collect();
        arms.push(keyed("subject", &["eq", "ne", "contains"], words));
    }
    proptest::strategy::Union::new(arms).boxed()
}

/// A condition of up to 4 `all` and 4 `any` predicates; an empty list is left out.
pub fn condition(pools: &Pools) -> BoxedStrategy<Json> {
    let one = predicate(pools);
    (vec(one.clone(), 0..5), vec(one, 0..5))
        .prop_map(|(all, any)| {
            let mut c = serde_json::Map::new();
            for (name, list) in [("all", all), ("any", any)] {
                if !list.is_empty() {
                    c.insert(name.into(), Json::Array(list));
                }
            }
            Json::Object(c)
        })
        .boxed()
}
