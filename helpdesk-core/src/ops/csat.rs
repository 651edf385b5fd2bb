//! CSAT surveys (API-workflow.md "CSAT"): the survey a resolve makes (added to the
//! resolving change's effects, [`Helpdesk::request_csat`]), the token's page and answer
//! (no principal: the token is the credential), a ticket's surveys and the report.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::Helpdesk;
use crate::csat::{Report, Survey, SurveyPage, SurveyQuery, check_answer, token_hash};
use crate::error::{Error, Result};
use crate::event::{Audience, Effects, EventKind, NewEvent};
use crate::group::Access;
use crate::notification::{NotificationKind, notification_json};
use crate::ops::ticket::ticket_notification;
use crate::principal::{Principal, Role};
use crate::status::StatusCategory;
use crate::ticket::Ticket;

/// The longest token looked up: longer ones are no token (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 128;

impl Helpdesk {
    /// Who is asked about a ticket's resolution: its requester, if a customer and CSAT
    /// is on. Read before the change whose effects [`Helpdesk::request_csat`] extends.
    pub(crate) async fn csat_recipient(&self, t: &Ticket) -> Result<Option<Uuid>> {
        if !self.config().csat.enabled {
            return Ok(None);
        }
        Ok(self
            .st()
            .get_user(t.requester_id)
            .await?
            .filter(|u| u.role == Role::Customer)
            .map(|u| u.id))
    }

    /// The one place a survey is made: when the change from `before` to `after` enters
    /// category `resolved` and `to` is the requester to ask, adds the survey of the
    /// ticket's cycle and the `csat_requested` notification carrying its token to `fx`.
    /// The notification's `notification.created` goes to the requester's connections
    /// only, never to webhooks: nothing but the requester's notification shows a token.
    pub(crate) fn request_csat(
        &self,
        fx: &mut Effects,
        before: &Ticket,
        after: &Ticket,
        to: Option<Uuid>,
        at: DateTime<Utc>,
    ) {
        let Some(to) = to else { return };
        if after.status_category != StatusCategory::Resolved
            || before.status_category == StatusCategory::Resolved
        {
            return;
        }
        let (survey, token) = Survey::new(after, at, self.config().csat.ttl);
        let mut n = ticket_notification(
            to,
            NotificationKind::CsatRequested,
            after,
            format!("How did we do on ticket #{}?", after.number),
            at,
            None,
        );
        n.data.csat_token = Some(token);
        fx.events.push(NewEvent::own_connections(
            EventKind::NotificationCreated,
            at,
            to,
            crate::wire::to_json(notification_json(&n)),
        ));
        fx.notifications.push(n);
        fx.surveys.push(survey);
    }

    /// The survey of a token, with what its page shows. An unknown token: `NotFound`.
    async fn survey_page(&self, token: &str) -> Result<SurveyPage> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(Error::NotFound);
        }
        let survey = self
            .st()
            .get_survey_by_token(&token_hash(token))
            .await?
            .ok_or(Error::NotFound)?;
        self.page_of(survey).await
    }

    async fn page_of(&self, survey: Survey) -> Result<SurveyPage> {
        let ticket = self
            .st()
            .get_ticket(survey.ticket_id)
            .await?
            .ok_or(Error::NotFound)?;
        let agent_name = match survey.assignee_id {
            Some(a) => self.st().get_user(a).await?.map(|u| u.name),
            None => None,
        };
        Ok(SurveyPage {
            expired: survey.is_expired(self.now()),
            ticket_number: ticket.number,
            ticket_subject: ticket.subject,
            agent_name,
            survey,
        })
    }

    /// A survey's page, to anyone with its token (`GET /api/csat/{token}`): reading it
    /// records nothing (link scanners open links). An unknown token: `NotFound`.
    pub async fn csat_page(&self, token: &str) -> Result<SurveyPage> {
        self.survey_page(token).await
    }

    /// Answers a survey, to anyone with its token: `rating` 1..=5 and an optional
    /// `comment` (≤ 2,000 characters; else invalid at the field). May be repeated until
    /// the token expires, the last answer winning; expired: `CsatExpired`. Emits
    /// `csat.responded` to staff and webhooks. Returns the page as it is now.
    pub async fn respond_csat(
        &self,
        token: &str,
        rating: i64,
        comment: Option<&str>,
    ) -> Result<SurveyPage> {
        let page = self.survey_page(token).await?;
        let (rating, comment) = check_answer(rating, comment)?;
        if page.expired {
            return Err(Error::CsatExpired);
        }
        let now = self.now();
        let survey = Survey {
            rating: Some(rating),
            comment,
            responded_at: Some(now),
            ..page.survey
        };
        let fx = Effects::event(NewEvent::new(
            EventKind::CsatResponded,
            now,
            Audience::staff(),
            json!({
                "survey_id": survey.id,
                "ticket_id": survey.ticket_id,
                "rating": survey.rating,
                "comment": survey.comment,
                "assignee_id": survey.assignee_id,
            }),
        ));
        self.written(self.st().respond_survey(&survey, &fx)).await?;
        // Triggers on `csat.responded`, caused by the requester (who holds the token).
        let origin = crate::ops::rules::Origin {
            event: crate::condition::TriggerEvent::CsatResponded,
            ticket_id: survey.ticket_id,
            actor_role: crate::condition::ActorRole::Customer,
            message_internal: None,
        };
        self.run_triggers(origin).await?;
        Ok(SurveyPage { survey, ..page })
    }

    /// A ticket's surveys, by cycle (staff with read access to it; customers:
    /// `Forbidden`). [`crate::csat::survey_json`] renders them without the token.
    pub async fn ticket_surveys(&self, p: &Principal, ticket_id: Uuid) -> Result<Vec<Survey>> {
        p.require_staff()?;
        let (_, relation) = self.ticket_as(p, ticket_id).await?;
        relation.require_staff(Access::Read)?;
        Ok(self.st().list_ticket_surveys(ticket_id).await?)
    }

    /// The CSAT report of the surveys made in `[from, to)`, optionally crediting one
    /// assignee or group (staff).
    pub async fn csat_report(&self, p: &Principal, q: SurveyQuery) -> Result<Report> {
        p.require_staff()?;
        if let (Some(from), Some(to)) = (q.from, q.to)
            && from > to
        {
            return Err(Error::invalid("to", "must not be before from"));
        }
        let surveys = self.st().list_surveys(&q).await?;
        Ok(Report::of(&surveys))
    }
}
