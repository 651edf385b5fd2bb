//! CSAT surveys (API-workflow.md "CSAT"): one survey per resolution of a customer's
//! ticket, made with the resolve (PATCH, macros and bulk alike) and crediting the
//! assignee and group of that moment; the token only in the requester's notification;
//! answers until expiry (the last wins) with `csat.responded`; a ticket's surveys; the
//! report's numbers; surveys leave with their ticket. The archive round trip is in
//! `archive.rs` (its populated store answers a survey).

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::{Who, World, expect_err};
use crate::csat::{CsatConfig, SurveyQuery};
use crate::event::EventKind;
use crate::macros::BulkChange;
use crate::notification::{NotificationFilter, NotificationKind};
use crate::status::StatusCategory;
use crate::store::Store;
use crate::ticket::{Ticket, TicketPatch};
use crate::{Config, Error};

/// The newest CSAT token in `who`'s notifications, if any.
pub(crate) async fn latest_token(w: &World, who: &Who) -> Option<String> {
    let list =
        w.hd.list_notifications(&who.p, NotificationFilter::default())
            .await
            .unwrap();
    list.page
        .items
        .into_iter()
        .find(|n| n.kind == NotificationKind::CsatRequested)
        .and_then(|n| n.data.csat_token)
}

/// Every CSAT token in `who`'s notifications, newest first.
async fn tokens(w: &World, who: &Who) -> Vec<String> {
    let list =
        w.hd.list_notifications(&who.p, NotificationFilter::default())
            .await
            .unwrap();
    list.page
        .items
        .into_iter()
        .filter_map(|n| n.data.csat_token)
        .collect()
}

/// Moves a ticket to a category's default status as `who`.
async fn set_status(w: &World, who: &Who, id: Uuid, to: StatusCategory) -> Ticket {
    w.tick();
    w.hd.update_ticket(
        &who.p,
        id,
        TicketPatch {
            status: Some(to.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Assigns a ticket as `who` (an admin).
async fn assign(w: &World, who: &Who, id: Uuid, to: Option<Uuid>) {
    w.hd.update_ticket(
        &who.p,
        id,
        TicketPatch {
            assignee_id: Some(to),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

/// Each resolution of a customer's ticket makes one survey, for its cycle, whichever
/// path resolves it (PATCH, a bulk change); moves that do not enter `resolved` make
/// none. Its token is in the requester's `csat_requested` notification only.
pub async fn one_survey_per_resolution(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Printer on fire").await;
    assign(&w, &admin, t.id, Some(agent.id())).await;
    set_status(&w, &agent, t.id, StatusCategory::Pending).await;
    assert!(latest_token(&w, &customer).await.is_none());
    set_status(&w, &agent, t.id, StatusCategory::Resolved).await;
    let surveys = w.hd.ticket_surveys(&agent.p, t.id).await.unwrap();
    assert_eq!(surveys.len(), 1);
    assert_eq!(surveys[0].cycle, 1);
    assert_eq!(surveys[0].rating, None);
    assert_eq!(
        surveys[0].expires_at,
        surveys[0].created_at + Duration::days(14)
    );
    let first = latest_token(&w, &customer).await.expect("a csat_requested");
    assert!(first.len() >= 22, "at least 128 bits");
    // Nobody else is told the token; the stored survey has its hash only.
    for who in [&admin, &agent] {
        assert!(tokens(&w, who).await.is_empty());
    }
    assert_ne!(surveys[0].token_hash, first);
    // The customer reopens; the bulk path resolves again: cycle 2.
    set_status(&w, &customer, t.id, StatusCategory::Open).await;
    w.tick();
    let done =
        w.hd.bulk_change(
            &admin.p,
            &[t.id],
            BulkChange::Actions(json!([{"action": "set_status", "value": "resolved"}])),
        )
        .await
        .unwrap();
    assert!(done[0].1.is_ok());
    let surveys = w.hd.ticket_surveys(&agent.p, t.id).await.unwrap();
    assert_eq!(surveys.iter().map(|s| s.cycle).collect::<Vec<_>>(), [1, 2]);
    let all = tokens(&w, &customer).await;
    assert_eq!(all.len(), 2);
    assert_ne!(all[0], first);
    // A change that stays in `resolved` asks nothing more.
    w.hd.update_ticket(
        &agent.p,
        t.id,
        TicketPatch {
            subject: Some("Printer fixed".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(w.hd.ticket_surveys(&agent.p, t.id).await.unwrap().len(), 2);
    // Customers do not list surveys; staff who cannot see the ticket do not find it.
    expect_err!(
        w.hd.ticket_surveys(&customer.p, t.id).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.ticket_surveys(&agent.p, Uuid::nil()).await,
        Error::NotFound
    );
}

/// A ticket whose requester is staff gets no survey, and `--csat off` makes none.
pub async fn no_survey_for_staff_requesters_or_when_off(store: Arc<dyn Store>) {
    let w = World::with_config(
        store,
        Config {
            csat: CsatConfig {
                enabled: false,
                ..CsatConfig::default()
            },
            ..Config::for_tests()
        },
    );
    let admin = w.admin().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Off").await;
    set_status(&w, &admin, t.id, StatusCategory::Resolved).await;
    assert!(
        w.hd.ticket_surveys(&admin.p, t.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(latest_token(&w, &customer).await.is_none());

    let on = World::new(w.store.clone());
    let agent = on.agent().await;
    let own = on.ticket(&agent, "Asked by an agent").await;
    set_status(&on, &admin, own.id, StatusCategory::Resolved).await;
    assert!(
        on.hd
            .ticket_surveys(&admin.p, own.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(tokens(&on, &agent).await.is_empty());
    let report = on.hd.csat_report(&admin.p, query()).await.unwrap();
    assert_eq!(report.sent, 0);
}

/// A survey credits the assignee and group the ticket had when it was resolved,
/// whatever happens to the ticket afterwards.
pub async fn survey_credits_the_assignee_and_group_of_the_resolve(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let agent = w.agent().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Credit").await;
    let first_group = t.group_id;
    assign(&w, &admin, t.id, Some(agent.id())).await;
    set_status(&w, &agent, t.id, StatusCategory::Resolved).await;
    set_status(&w, &customer, t.id, StatusCategory::Open).await;
    let tier2 =
        w.hd.create_group(
            &admin.p,
            crate::group::NewGroup {
                name: "Tier 2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    w.hd.update_ticket(
        &admin.p,
        t.id,
        TicketPatch {
            group_id: Some(tier2),
            assignee_id: Some(Some(admin.id())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    set_status(&w, &admin, t.id, StatusCategory::Resolved).await;
    // Afterwards the ticket moves on: the credits stay.
    assign(&w, &admin, t.id, None).await;
    let surveys = w.hd.ticket_surveys(&admin.p, t.id).await.unwrap();
    assert_eq!(surveys.len(), 2);
    assert_eq!(
        (surveys[0].assignee_id, surveys[0].group_id),
        (Some(agent.id()), first_group)
    );
    assert_eq!(
        (surveys[1].assignee_id, surveys[1].group_id),
        (Some(admin.id()), tier2)
    );
    // The page names the credited agent.
    let token = tokens(&w, &customer).await.pop().unwrap();
    let page = w.hd.csat_page(&token).await.unwrap();
    assert_eq!(page.agent_name.as_deref(), Some(agent.user.name.as_str()));
    assert_eq!(page.ticket_number, t.number);
    assert_eq!(page.ticket_subject, "Credit");
}

/// Reading the page records nothing; answers may repeat until the token expires (the
/// last wins), each with `csat.responded`; then 409 `csat_expired`. Bad answers are
/// refused at their field, unknown tokens are not found.
pub async fn answers_until_expiry_the_last_winning(store: Arc<dyn Store>) {
    let w = World::with_config(
        store,
        Config {
            csat: CsatConfig {
                ttl: std::time::Duration::from_secs(3600),
                ..CsatConfig::default()
            },
            ..Config::for_tests()
        },
    );
    let admin = w.admin().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Answers").await;
    assign(&w, &admin, t.id, Some(admin.id())).await;
    set_status(&w, &admin, t.id, StatusCategory::Resolved).await;
    let token = latest_token(&w, &customer).await.unwrap();
    let before = w.last_event().await;
    let page = w.hd.csat_page(&token).await.unwrap();
    assert!(!page.expired);
    assert_eq!((page.survey.rating, page.survey.responded_at), (None, None));
    assert_eq!(
        page.survey.expires_at,
        page.survey.created_at + Duration::hours(1)
    );
    assert_eq!(w.last_event().await, before, "GET records nothing");
    assert_eq!(
        w.hd.ticket_surveys(&admin.p, t.id).await.unwrap()[0].responded_at,
        None
    );

    w.tick();
    let first = w.hd.respond_csat(&token, 2, None).await.unwrap();
    assert_eq!(first.survey.rating, Some(2));
    w.tick();
    let second =
        w.hd.respond_csat(&token, 5, Some("Fixed it fast"))
            .await
            .unwrap();
    assert_eq!(second.survey.rating, Some(5));
    assert!(second.survey.responded_at > first.survey.responded_at);
    let stored = &w.hd.ticket_surveys(&admin.p, t.id).await.unwrap()[0];
    assert_eq!(stored.rating, Some(5));
    assert_eq!(stored.comment.as_deref(), Some("Fixed it fast"));
    assert_eq!(stored.responded_at, second.survey.responded_at);
    let responded: Vec<_> = w
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::CsatResponded)
        .collect();
    assert_eq!(responded.len(), 2);
    assert!(responded[1].audience.staff);
    assert_eq!(
        responded[1].data,
        json!({
            "survey_id": stored.id,
            "ticket_id": t.id,
            "rating": 5,
            "comment": "Fixed it fast",
            "assignee_id": admin.id(),
        })
    );

    let field = |e: Error| match e {
        Error::Validation(f) => f[0].field.clone(),
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(
        field(w.hd.respond_csat(&token, 0, None).await.unwrap_err()),
        "rating"
    );
    assert_eq!(
        field(w.hd.respond_csat(&token, 6, None).await.unwrap_err()),
        "rating"
    );
    let long = "x".repeat(2_001);
    assert_eq!(
        field(w.hd.respond_csat(&token, 3, Some(&long)).await.unwrap_err()),
        "comment"
    );
    expect_err!(w.hd.csat_page("no-such-token").await, Error::NotFound);
    expect_err!(
        w.hd.respond_csat("no-such-token", 3, None).await,
        Error::NotFound
    );

    w.advance(Duration::hours(1));
    let page = w.hd.csat_page(&token).await.unwrap();
    assert!(page.expired);
    expect_err!(w.hd.respond_csat(&token, 1, None).await, Error::CsatExpired);
    let stored = &w.hd.ticket_surveys(&admin.p, t.id).await.unwrap()[0];
    assert_eq!(stored.rating, Some(5), "an expired token changes nothing");
}

fn query() -> SurveyQuery {
    SurveyQuery {
        from: None,
        to: None,
        assignee_id: None,
        group_id: None,
    }
}

/// A resolved customer ticket assigned to `to` (`None`: nobody), its survey answered
/// with `rating` unless `None`.
async fn rated(w: &World, admin: &Who, customer: &Who, to: Option<Uuid>, rating: Option<i64>) {
    let t = w.ticket(customer, "Rated").await;
    if to.is_some() {
        assign(w, admin, t.id, to).await;
    }
    set_status(w, admin, t.id, StatusCategory::Resolved).await;
    if let Some(r) = rating {
        let token = latest_token(w, customer).await.unwrap();
        w.hd.respond_csat(&token, r, None).await.unwrap();
    }
}

/// The report: sent, answered, averages and rate to 2 decimals (null on 0), the
/// distribution, rows by id with "no assignee" last, the `[from, to)` window and the
/// filters; staff only.
pub async fn report_counts_rounds_and_orders(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let a = w.agent().await;
    let b = w.agent().await;
    let customer = w.customer().await;
    let start = w.hd.now();
    rated(&w, &admin, &customer, Some(a.id()), Some(5)).await;
    w.tick();
    let second = w.hd.now();
    rated(&w, &admin, &customer, Some(a.id()), Some(4)).await;
    rated(&w, &admin, &customer, Some(a.id()), Some(4)).await;
    rated(&w, &admin, &customer, Some(b.id()), None).await;
    rated(&w, &admin, &customer, None, Some(3)).await;
    w.tick();
    let end = w.hd.now();

    let r = w.hd.csat_report(&admin.p, query()).await.unwrap();
    assert_eq!((r.sent, r.count), (5, 4));
    assert_eq!(r.average, Some(4.0));
    assert_eq!(r.response_rate, Some(0.8));
    assert_eq!(r.distribution, [0, 0, 1, 2, 1]);
    let mut agents = [a.id(), b.id()];
    agents.sort();
    let ids: Vec<_> = r.by_agent.iter().map(|row| row.id).collect();
    assert_eq!(ids, [Some(agents[0]), Some(agents[1]), None]);
    let row_a = r
        .by_agent
        .iter()
        .find(|row| row.id == Some(a.id()))
        .unwrap();
    assert_eq!((row_a.count, row_a.average), (3, Some(4.33)));
    let row_b = r
        .by_agent
        .iter()
        .find(|row| row.id == Some(b.id()))
        .unwrap();
    assert_eq!((row_b.count, row_b.average), (0, None));
    assert_eq!((r.by_agent[2].count, r.by_agent[2].average), (1, Some(3.0)));
    assert_eq!(r.by_group.len(), 1);
    assert_eq!((r.by_group[0].count, r.by_group[0].average), (4, Some(4.0)));

    // One agent: 4.33 average, all answered.
    let only_a =
        w.hd.csat_report(
            &admin.p,
            SurveyQuery {
                assignee_id: Some(a.id()),
                ..query()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (only_a.sent, only_a.average, only_a.response_rate),
        (3, Some(4.33), Some(1.0))
    );
    // `[from, to)`: the first survey was made at `start`..`second`; `to` excludes.
    let window =
        w.hd.csat_report(
            &admin.p,
            SurveyQuery {
                from: Some(second),
                to: Some(end),
                ..query()
            },
        )
        .await
        .unwrap();
    assert_eq!((window.sent, window.count), (4, 3));
    assert_eq!(window.response_rate, Some(0.75));
    let none =
        w.hd.csat_report(
            &admin.p,
            SurveyQuery {
                to: Some(start),
                ..query()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (none.sent, none.average, none.response_rate),
        (0, None, None)
    );
    assert!(none.by_agent.is_empty());
    let other_group =
        w.hd.csat_report(
            &admin.p,
            SurveyQuery {
                group_id: Some(Uuid::nil()),
                ..query()
            },
        )
        .await
        .unwrap();
    assert_eq!(other_group.sent, 0);
    // Staff only; an upside-down window is refused.
    expect_err!(
        w.hd.csat_report(&customer.p, query()).await,
        Error::Forbidden(_)
    );
    expect_err!(
        w.hd.csat_report(
            &admin.p,
            SurveyQuery {
                from: Some(end),
                to: Some(start),
                ..query()
            }
        )
        .await,
        Error::Validation(_)
    );
    // The agent's report reads the same numbers.
    assert_eq!(w.hd.csat_report(&a.p, query()).await.unwrap(), r);
}

/// Deleting a ticket deletes its surveys: the token finds nothing, the report counts
/// it no more.
pub async fn surveys_leave_with_their_ticket(store: Arc<dyn Store>) {
    let w = World::new(store);
    let admin = w.admin().await;
    let customer = w.customer().await;
    let t = w.ticket(&customer, "Doomed").await;
    set_status(&w, &admin, t.id, StatusCategory::Resolved).await;
    set_status(&w, &customer, t.id, StatusCategory::Open).await;
    set_status(&w, &admin, t.id, StatusCategory::Resolved).await;
    let kept = w.ticket(&customer, "Kept").await;
    set_status(&w, &admin, kept.id, StatusCategory::Resolved).await;
    let all = tokens(&w, &customer).await;
    assert_eq!(all.len(), 3);
    w.hd.delete_ticket(&admin.p, t.id).await.unwrap();
    expect_err!(w.hd.csat_page(&all[1]).await, Error::NotFound);
    expect_err!(w.hd.csat_page(&all[2]).await, Error::NotFound);
    assert!(w.hd.csat_page(&all[0]).await.is_ok());
    assert_eq!(w.hd.csat_report(&admin.p, query()).await.unwrap().sent, 1);
}
