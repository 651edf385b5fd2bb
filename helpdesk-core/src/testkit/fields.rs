//! Custom fields: their definitions (keys, options, flags, limits, deletion in use),
//! tickets' values (checks per type, who may set what, required on create and on
//! resolve, deactivated fields), the list's `field.<key>` filters, and what customers
//! see of them in tickets and events.

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::Error;
use crate::custom_field::{CustomField, CustomFieldPatch, FieldType, NewCustomField};
use crate::event::EventKind;
use crate::principal::TicketView;
use crate::schema::ticket_json_for;
use crate::status::StatusKey;
use crate::store::Store;
use crate::ticket::{FieldValues, NewTicket, Ticket, TicketFilter, TicketPatch};

pub(super) fn new_field(key: &str, field_type: FieldType) -> NewCustomField {
    NewCustomField {
        key: key.into(),
        field_type,
        label: key.into(),
        options: Vec::new(),
        customer_visible: None,
        customer_editable: None,
        required_on_create: None,
        required_on_resolve: None,
        position: None,
        active: None,
    }
}

fn values(v: Value) -> FieldValues {
    serde_json::from_value(v).unwrap()
}

async fn make(w: &World, input: NewCustomField) -> CustomField {
    let admin = w.admin().await;
    w.hd.create_field(&admin.p, input)
        .await
        .unwrap_or_else(|e| panic!("create field: {e:?}"))
}

/// The fields most cases use: a staff-only number, a select customers see, a
/// multiselect and a checkbox customers set.
async fn catalogue(w: &World) {
    make(w, new_field("cost", FieldType::Number)).await;
    make(
        w,
        NewCustomField {
            options: vec!["eu".into(), "us".into()],
            customer_visible: Some(true),
            ..new_field("region", FieldType::Select)
        },
    )
    .await;
    make(
        w,
        NewCustomField {
            options: vec!["web".into(), "mobile".into(), "api".into()],
            customer_visible: Some(true),
            customer_editable: Some(true),
            ..new_field("platforms", FieldType::Multiselect)
        },
    )
    .await;
    make(
        w,
        NewCustomField {
            customer_visible: Some(true),
            customer_editable: Some(true),
            ..new_field("urgent_for_me", FieldType::Checkbox)
        },
    )
    .await;
}

async fn open(w: &World, who: &Who, fields: Value) -> crate::Result<Ticket> {
    w.hd.create_ticket(
        &who.p,
        NewTicket {
            fields: values(fields),
            ..NewTicket::new("Fields", "x")
        },
    )
    .await
}

fn set(fields: Value) -> TicketPatch {
    TicketPatch {
        fields: values(fields),
        ..Default::default()
    }
}

/// Keys, options and flags are checked; customers read active visible fields only;
/// admins write; at most 100 fields are active.
pub async fn field_definitions_are_checked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    catalogue(&w).await;
    expect_err!(
        w.hd.create_field(&admin.p, new_field("cost", FieldType::Text))
            .await,
        Error::KeyTaken
    );
    expect_err!(
        w.hd.create_field(&admin.p, new_field("Cost", FieldType::Text)).await,
        Error::Validation(f) if f[0].field == "key"
    );
    expect_err!(
        w.hd.create_field(&admin.p, new_field("size", FieldType::Select)).await,
        Error::Validation(f) if f[0].field == "options"
    );
    let twice = NewCustomField {
        options: vec!["a".into(), "a".into()],
        ..new_field("size", FieldType::Select)
    };
    expect_err!(w.hd.create_field(&admin.p, twice).await, Error::Validation(f) if f[0].field == "options[1]");
    let stray = NewCustomField {
        options: vec!["a".into()],
        ..new_field("size", FieldType::Text)
    };
    expect_err!(w.hd.create_field(&admin.p, stray).await, Error::Validation(f) if f[0].field == "options");
    let hidden_editable = NewCustomField {
        customer_editable: Some(true),
        ..new_field("size", FieldType::Text)
    };
    expect_err!(
        w.hd.create_field(&admin.p, hidden_editable).await,
        Error::Validation(f) if f[0].field == "customer_editable"
    );
    expect_err!(
        w.hd.create_field(&agent.p, new_field("size", FieldType::Text))
            .await,
        Error::Forbidden(_)
    );
    let keys = |list: Vec<CustomField>| list.into_iter().map(|f| f.key).collect::<Vec<_>>();
    assert_eq!(
        keys(w.hd.list_fields(&agent.p).await.unwrap()),
        ["cost", "region", "platforms", "urgent_for_me"]
    );
    assert_eq!(
        keys(w.hd.list_fields(&customer.p).await.unwrap()),
        ["region", "platforms", "urgent_for_me"]
    );
    // The limit of active fields: 4 exist.
    for i in 4..crate::custom_field::MAX_ACTIVE {
        make(&w, new_field(&format!("f{i}"), FieldType::Text)).await;
    }
    expect_err!(
        w.hd.create_field(&admin.p, new_field("one_more", FieldType::Text)).await,
        Error::Validation(f) if f[0].field == "active"
    );
    let off = NewCustomField {
        active: Some(false),
        ..new_field("one_more", FieldType::Text)
    };
    let extra = w.hd.create_field(&admin.p, off).await.unwrap();
    expect_err!(
        w.hd.update_field(&admin.p, extra.id, CustomFieldPatch { active: Some(true), ..Default::default() })
            .await,
        Error::Validation(f) if f[0].field == "active"
    );
}

/// Values are checked per type at `fields.<key>` (every bad one reported), unknown and
/// invisible keys are `UnknownField`, a customer setting a field they may not edit is
/// `ForbiddenField`; PATCH merges per key, `null` clears, multiselects keep option order.
pub async fn ticket_values_are_checked(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let customer = w.customer().await;
    catalogue(&w).await;
    let t = open(
        &w,
        &agent,
        json!({"cost": 12.5, "platforms": ["api", "web"]}),
    )
    .await
    .unwrap();
    assert_eq!(
        t.fields,
        values(json!({"cost": 12.5, "platforms": ["web", "api"]}))
    );
    match open(
        &w,
        &agent,
        json!({"cost": "12", "region": "asia", "platforms": []}),
    )
    .await
    {
        Err(Error::Validation(errors)) => {
            let mut at: Vec<String> = errors.into_iter().map(|e| e.field).collect();
            at.sort();
            assert_eq!(at, ["fields.cost", "fields.platforms", "fields.region"]);
        }
        other => panic!("{other:?}"),
    }
    expect_err!(open(&w, &agent, json!({"nope": 1})).await, Error::UnknownField(f) if f == "fields.nope");
    expect_err!(open(&w, &customer, json!({"cost": 1})).await, Error::UnknownField(f) if f == "fields.cost");
    expect_err!(
        open(&w, &customer, json!({"region": "eu"})).await,
        Error::ForbiddenField(f) if f == "fields.region"
    );
    let mine = open(&w, &customer, json!({"urgent_for_me": true}))
        .await
        .unwrap();
    let t =
        w.hd.update_ticket(&agent.p, t.id, set(json!({"region": "eu", "cost": null})))
            .await
            .unwrap();
    assert_eq!(
        t.fields,
        values(json!({"region": "eu", "platforms": ["web", "api"]}))
    );
    // The requester changes what they may edit; resending an unchanged value is fine.
    let mine =
        w.hd.update_ticket(
            &customer.p,
            mine.id,
            set(json!({"platforms": ["mobile"], "urgent_for_me": true})),
        )
        .await
        .unwrap();
    assert_eq!(
        mine.fields,
        values(json!({"platforms": ["mobile"], "urgent_for_me": true}))
    );
    expect_err!(
        w.hd.update_ticket(&customer.p, mine.id, set(json!({"region": "us"})))
            .await,
        Error::ForbiddenField(_)
    );
    // Customers see the fields they may see, staff every active one.
    let schema = w.hd.ticket_schema().await.unwrap();
    let both =
        w.hd.update_ticket(&agent.p, mine.id, set(json!({"cost": 3})))
            .await
            .unwrap();
    let staff = serde_json::to_value(ticket_json_for(&both, TicketView::Staff, &schema)).unwrap();
    let theirs =
        serde_json::to_value(ticket_json_for(&both, TicketView::Customer, &schema)).unwrap();
    assert_eq!(staff["fields"]["cost"], json!(3));
    assert!(theirs["fields"].get("cost").is_none(), "{theirs}");
    assert_eq!(theirs["fields"]["platforms"], json!(["mobile"]));
}

/// Required fields bind on create and on entering resolved (only moves the table
/// allows: a disallowed move is still `InvalidTransition`); a customer is bound by the
/// fields they may edit only.
pub async fn required_fields(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let customer = w.customer().await;
    make(
        &w,
        NewCustomField {
            required_on_create: Some(true),
            ..new_field("product", FieldType::Text)
        },
    )
    .await;
    make(
        &w,
        NewCustomField {
            required_on_resolve: Some(true),
            customer_visible: Some(true),
            customer_editable: Some(true),
            ..new_field("solved_by", FieldType::Text)
        },
    )
    .await;
    expect_err!(
        open(&w, &agent, json!({})).await,
        Error::Validation(f) if f[0].field == "fields.product" && f[0].message == "required"
    );
    let t = open(&w, &agent, json!({"product": "Printer"}))
        .await
        .unwrap();
    // A customer does not see `product`: it does not bind them.
    let mine = open(&w, &customer, json!({})).await.unwrap();
    let resolve = TicketPatch {
        status: Some(StatusKey::new("resolved")),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_ticket(&agent.p, t.id, resolve.clone()).await,
        Error::Validation(f) if f[0].field == "fields.solved_by"
    );
    expect_err!(
        w.hd.update_ticket(&customer.p, mine.id, resolve.clone()).await,
        Error::Validation(f) if f[0].field == "fields.solved_by"
    );
    let with_it = TicketPatch {
        fields: values(json!({"solved_by": "a reboot"})),
        ..resolve.clone()
    };
    let done =
        w.hd.update_ticket(&customer.p, mine.id, with_it)
            .await
            .unwrap();
    assert_eq!(done.status.as_str(), "resolved");
    // Closing: no move the table allows from open, whatever the fields.
    let close = TicketPatch {
        status: Some(StatusKey::new("closed")),
        ..Default::default()
    };
    expect_err!(
        w.hd.update_ticket(&agent.p, t.id, close).await,
        Error::InvalidTransition { .. }
    );
}

/// A deactivated field vanishes from tickets and requests, its values kept; a field a
/// ticket has a value of, or a view names, is in use.
pub async fn deactivated_and_used_fields(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    catalogue(&w).await;
    let cost =
        w.hd.list_fields(&admin.p)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.key == "cost")
            .unwrap();
    let t = open(&w, &agent, json!({"cost": 7})).await.unwrap();
    let off = CustomFieldPatch {
        active: Some(false),
        ..Default::default()
    };
    w.hd.update_field(&admin.p, cost.id, off).await.unwrap();
    let schema = w.hd.ticket_schema().await.unwrap();
    let t = w.hd.get_ticket(&agent.p, t.id).await.unwrap();
    assert_eq!(t.fields, values(json!({"cost": 7})));
    let shown = serde_json::to_value(ticket_json_for(&t, TicketView::Staff, &schema)).unwrap();
    assert_eq!(shown["fields"], json!({}));
    expect_err!(
        w.hd.update_ticket(&agent.p, t.id, set(json!({"cost": 8})))
            .await,
        Error::UnknownField(_)
    );
    expect_err!(w.hd.delete_field(&admin.p, cost.id).await, Error::InUse(_));
    let on = CustomFieldPatch {
        active: Some(true),
        ..Default::default()
    };
    w.hd.update_field(&admin.p, cost.id, on).await.unwrap();
    let t =
        w.hd.update_ticket(&agent.p, t.id, set(json!({"cost": null})))
            .await
            .unwrap();
    assert!(t.fields.is_empty());
    let view =
        w.hd.create_view(
            &admin.p,
            crate::view::NewView {
                name: "Costly".into(),
                scope: crate::ownership::ItemScope::Global,
                group_id: None,
                filter: Some(json!({"all": [{"field": "field.cost", "op": "gt", "value": 5}]})),
                sort: None,
                position: None,
            },
        )
        .await
        .unwrap();
    expect_err!(w.hd.delete_field(&admin.p, cost.id).await, Error::InUse(_));
    w.hd.delete_view(&admin.p, view.id).await.unwrap();
    w.hd.delete_field(&admin.p, cost.id).await.unwrap();
    expect_err!(w.hd.get_field(&admin.p, cost.id).await, Error::NotFound);
}

/// `field.<key>=<value>` filters (ANDed): equality, a multiselect containing the value,
/// a checkbox `false` matching unset too; unknown or invisible keys and bad values are
/// invalid.
pub async fn list_filters_by_field(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let customer = w.customer().await;
    catalogue(&w).await;
    let a = open(
        &w,
        &customer,
        json!({"platforms": ["web", "api"], "urgent_for_me": true}),
    )
    .await
    .unwrap();
    let b = open(&w, &customer, json!({"platforms": ["api"]}))
        .await
        .unwrap();
    let c = open(&w, &customer, json!({"urgent_for_me": false}))
        .await
        .unwrap();
    w.hd.update_ticket(&agent.p, b.id, set(json!({"cost": 10, "region": "eu"})))
        .await
        .unwrap();
    let ids = |who: &Who, filters: &[(&str, &str)]| {
        let filter = TicketFilter {
            fields: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            limit: Some(1),
            ..Default::default()
        };
        let (w, p) = (&w, who.p);
        async move {
            // One per page: the scan pages correctly.
            let mut out: Vec<Uuid> = Vec::new();
            let mut filter = filter;
            loop {
                let page = w.hd.list_tickets(&p, filter.clone()).await.unwrap();
                out.extend(page.items.iter().map(|t| t.id));
                match page.next_cursor {
                    Some(c) => filter.cursor = Some(c),
                    None => break,
                }
            }
            out.sort();
            out
        }
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(&agent, &[("platforms", "api")]).await,
        sorted(vec![a.id, b.id])
    );
    assert_eq!(
        ids(&agent, &[("platforms", "api"), ("region", "eu")]).await,
        vec![b.id]
    );
    assert_eq!(ids(&agent, &[("cost", "10")]).await, vec![b.id]);
    assert_eq!(
        ids(&agent, &[("urgent_for_me", "false")]).await,
        sorted(vec![b.id, c.id])
    );
    assert_eq!(
        ids(&customer, &[("urgent_for_me", "true")]).await,
        vec![a.id]
    );
    for (who, key, value) in [
        (&agent, "nope", "1"),
        (&agent, "cost", "ten"),
        (&agent, "region", "asia"),
        (&agent, "urgent_for_me", "yes"),
        (&customer, "cost", "10"),
    ] {
        let filter = TicketFilter {
            fields: vec![(key.to_string(), value.to_string())],
            ..Default::default()
        };
        expect_err!(
            w.hd.list_tickets(&who.p, filter).await,
            Error::Validation(f) if f[0].field == format!("field.{key}")
        );
    }
}

/// A change of fields customers do not see is staff business: the event is staff-only
/// and customers' events never carry those fields.
pub async fn hidden_fields_stay_out_of_customer_events(store: Arc<dyn Store>) {
    let w = World::new(store);
    let agent = w.agent().await;
    let customer = w.customer().await;
    catalogue(&w).await;
    let t = open(&w, &customer, json!({"platforms": ["web"]}))
        .await
        .unwrap();
    w.hd.update_ticket(&agent.p, t.id, set(json!({"cost": 99})))
        .await
        .unwrap();
    let events = w.hd.events_after(None, 1000).await.unwrap();
    let updated = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::TicketUpdated)
        .unwrap();
    assert_eq!(updated.data["changes"], json!(["fields.cost"]));
    assert!(updated.audience.staff_only);
    w.hd.update_ticket(&agent.p, t.id, set(json!({"cost": 98, "region": "us"})))
        .await
        .unwrap();
    let events = w.hd.events_after(None, 1000).await.unwrap();
    let updated = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::TicketUpdated)
        .unwrap();
    assert!(!updated.audience.staff_only);
    assert_eq!(updated.data["ticket"]["fields"]["cost"], json!(98));
    let theirs = updated.customer_view().unwrap();
    assert_eq!(theirs.data["changes"], json!(["fields.region"]));
    assert!(theirs.data["ticket"]["fields"].get("cost").is_none());
    assert_eq!(theirs.data["ticket"]["fields"]["region"], json!("us"));
}
