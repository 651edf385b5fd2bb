//! The ticket schema each instance keeps (statuses, fields, SLA policies, rules): the
//! store's schema stamp moves with every write to them, so a change made through one
//! instance is in force on every other at its next operation.

use std::sync::Arc;

use serde_json::json;

use super::{World, expect_err};
use crate::calendar::{CalendarPatch, NewCalendar};
use crate::custom_field::{CustomFieldPatch, FieldType, NewCustomField};
use crate::rule::{NewRule, RulePatch};
use crate::sla_policy::{NewSlaPolicy, SlaPolicyPatch};
use crate::status::{NewStatus, StatusCategory, StatusKey, StatusPatch};
use crate::store::Store;
use crate::ticket::{NewTicket, TicketPatch};
use crate::{Config, Error, Helpdesk};

/// Every write to statuses, fields, calendars, SLA policies and rules moves the stamp;
/// reading does not.
pub async fn schema_stamp_moves_with_every_schema_write(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let hd = &w.hd;
    let p = &admin.p;
    let mut last = w.store.schema_stamp().await.unwrap();
    let mut moved = async |what: &str| {
        let now = w.store.schema_stamp().await.unwrap();
        assert!(now > last, "{what} did not move the schema stamp");
        last = now;
    };

    let status = hd.create_status(p, status("waiting_vendor")).await.unwrap();
    moved("a new status").await;
    let relabel = StatusPatch {
        agent_label: Some("Vendor".into()),
        ..Default::default()
    };
    hd.update_status(p, status.id, relabel).await.unwrap();
    moved("a status's change").await;
    hd.delete_status(p, status.id).await.unwrap();
    moved("a status's deletion").await;

    let field = hd.create_field(p, field("cost")).await.unwrap();
    moved("a new field").await;
    let relabel = CustomFieldPatch {
        label: Some("Price".into()),
        ..Default::default()
    };
    hd.update_field(p, field.id, relabel).await.unwrap();
    moved("a field's change").await;
    hd.delete_field(p, field.id).await.unwrap();
    moved("a field's deletion").await;

    let calendar = hd.create_calendar(p, calendar("Office")).await.unwrap();
    moved("a new calendar").await;
    let rename = CalendarPatch {
        name: Some("Desk".into()),
        ..Default::default()
    };
    hd.update_calendar(p, calendar.id, rename).await.unwrap();
    moved("a calendar's change").await;
    hd.delete_calendar(p, calendar.id).await.unwrap();
    moved("a calendar's deletion").await;

    let policy = hd.create_sla_policy(p, policy("Standard")).await.unwrap();
    moved("a new SLA policy").await;
    let rename = SlaPolicyPatch {
        name: Some("Gold".into()),
        ..Default::default()
    };
    hd.update_sla_policy(p, policy.id, rename).await.unwrap();
    moved("an SLA policy's change").await;
    hd.delete_sla_policy(p, policy.id).await.unwrap();
    moved("an SLA policy's deletion").await;

    let rule = hd.create_rule(p, tag_rule("Tag")).await.unwrap();
    moved("a new rule").await;
    let off = RulePatch {
        active: Some(false),
        ..Default::default()
    };
    hd.update_rule(p, rule.id, off).await.unwrap();
    moved("a rule's change").await;
    hd.delete_rule(p, rule.id).await.unwrap();
    moved("a rule's deletion").await;

    hd.ticket_schema().await.unwrap();
    hd.list_statuses(p).await.unwrap();
    assert_eq!(
        w.store.schema_stamp().await.unwrap(),
        last,
        "reads moved it"
    );
}

/// Two instances over one store: what an admin changes through one is in force on the
/// other at once, though the other read the schema before.
pub async fn schema_changes_reach_every_instance_at_once(store: Arc<dyn Store>) {
    let w = World::new(store);
    let other = Helpdesk::with_clock(w.store.clone(), Config::for_tests(), w.clock.clone());
    let admin = w.admin().await;
    let agent = w.agent().await;
    let t = w.ticket(&agent, "Printer").await;
    let before = other.ticket_schema().await.unwrap();
    assert!(before.statuses.get("waiting_vendor").is_none());

    let status =
        w.hd.create_status(&admin.p, status("waiting_vendor"))
            .await
            .unwrap();
    let field = w.hd.create_field(&admin.p, field("cost")).await.unwrap();
    w.hd.create_rule(&admin.p, tag_rule("Tag new tickets"))
        .await
        .unwrap();
    let policy =
        w.hd.create_sla_policy(&admin.p, policy("Standard"))
            .await
            .unwrap();

    let moved = TicketPatch {
        status: Some(StatusKey::new("waiting_vendor")),
        fields: serde_json::from_value(json!({"cost": 12})).unwrap(),
        ..Default::default()
    };
    let t = other.update_ticket(&agent.p, t.id, moved).await.unwrap();
    assert_eq!(t.status.as_str(), "waiting_vendor");
    let made = other
        .create_ticket(&agent.p, NewTicket::new("Scanner", "jammed"))
        .await
        .unwrap();
    let made = w.store.get_ticket(made.id).await.unwrap().unwrap();
    assert!(
        made.tags.iter().any(|tag| tag == "triaged"),
        "the other instance ran the new rule: {:?}",
        made.tags
    );
    assert_eq!(made.sla.policy_id, Some(policy.id));

    let off = CustomFieldPatch {
        active: Some(false),
        ..Default::default()
    };
    w.hd.update_field(&admin.p, field.id, off).await.unwrap();
    let cost = TicketPatch {
        fields: serde_json::from_value(json!({"cost": 13})).unwrap(),
        ..Default::default()
    };
    expect_err!(
        other.update_ticket(&agent.p, made.id, cost).await,
        Error::UnknownField(f) if f == "fields.cost"
    );
    let back = TicketPatch {
        status: Some(StatusKey::new("open")),
        ..Default::default()
    };
    other.update_ticket(&agent.p, t.id, back).await.unwrap();
    w.hd.delete_status(&admin.p, status.id).await.unwrap();
    let gone = TicketPatch {
        status: Some(StatusKey::new("waiting_vendor")),
        ..Default::default()
    };
    expect_err!(
        other.update_ticket(&agent.p, t.id, gone).await,
        Error::Validation(f) if f[0].field == "status"
    );
}

fn status(key: &str) -> NewStatus {
    super::statuses::new_status(key, StatusCategory::Pending, key)
}

fn field(key: &str) -> NewCustomField {
    super::fields::new_field(key, FieldType::Number)
}

fn calendar(name: &str) -> NewCalendar {
    super::calendars::office(name)
}

fn policy(name: &str) -> NewSlaPolicy {
    super::sla::policy(name, json!({"first_response": {"normal": 60}}))
}

fn tag_rule(name: &str) -> NewRule {
    let created = json!({"all": [{"field": "event", "op": "eq", "value": "ticket.created"}]});
    super::rules::trigger(
        name,
        created,
        json!([{"action": "add_tags", "value": ["triaged"]}]),
    )
}
