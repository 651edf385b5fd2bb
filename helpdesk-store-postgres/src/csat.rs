//! CSAT surveys: [`CsatStore`], their row and their import. New surveys are inserted by
//! the effects writer (`effects.rs`) in the transaction that resolves their ticket; the
//! foreign key deletes them with it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::csat::{Survey, SurveyQuery};
use helpdesk_core::event::Effects;
use helpdesk_core::store::{CsatStore, StoreResult};
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PostgresStore;
use crate::effects::Writes;
use crate::error::SqlxResultExt;
use crate::rows::{SURVEY_COLS, corrupt, cycle, fetch_all_as, fetch_optional_as};

#[derive(FromRow)]
pub(crate) struct SurveyRow {
    id: Uuid,
    ticket_id: Uuid,
    cycle: i32,
    assignee_id: Option<Uuid>,
    group_id: Uuid,
    rating: Option<i16>,
    comment: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    responded_at: Option<DateTime<Utc>>,
    token_hash: String,
}

impl SurveyRow {
    pub(crate) const COLS: &str = SURVEY_COLS;
}

impl TryFrom<SurveyRow> for Survey {
    type Error = StoreError;
    fn try_from(r: SurveyRow) -> StoreResult<Survey> {
        Ok(Survey {
            id: r.id,
            ticket_id: r.ticket_id,
            cycle: u32::try_from(r.cycle).map_err(|_| corrupt(format!("bad cycle {}", r.cycle)))?,
            assignee_id: r.assignee_id,
            group_id: r.group_id,
            rating: r
                .rating
                .map(|n| u8::try_from(n).map_err(|_| corrupt(format!("bad rating {n}"))))
                .transpose()?,
            comment: r.comment,
            created_at: r.created_at,
            expires_at: r.expires_at,
            responded_at: r.responded_at,
            token_hash: r.token_hash,
        })
    }
}

/// Inserts an imported survey (its ticket imported before it).
pub(crate) async fn insert_survey_row(conn: &mut PgConnection, s: &Survey) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO surveys ({SURVEY_COLS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (ticket_id, cycle) DO NOTHING"
    ))
    .bind(s.id)
    .bind(s.ticket_id)
    .bind(cycle(s.cycle))
    .bind(s.assignee_id)
    .bind(s.group_id)
    .bind(s.rating.map(i16::from))
    .bind(&s.comment)
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.responded_at)
    .bind(&s.token_hash)
    .execute(&mut *conn)
    .await
    .store()?;
    Ok(())
}

#[async_trait]
impl CsatStore for PostgresStore {
    async fn get_survey_by_token(&self, token_hash: &str) -> StoreResult<Option<Survey>> {
        let sql = format!("SELECT {SURVEY_COLS} FROM surveys WHERE token_hash = $1");
        fetch_optional_as::<SurveyRow, _>(sqlx::query(&sql).bind(token_hash), self.pool_ref()).await
    }

    async fn list_ticket_surveys(&self, ticket_id: Uuid) -> StoreResult<Vec<Survey>> {
        let sql = format!("SELECT {SURVEY_COLS} FROM surveys WHERE ticket_id = $1 ORDER BY cycle");
        fetch_all_as::<SurveyRow, _>(sqlx::query(&sql).bind(ticket_id), self.pool_ref()).await
    }

    async fn respond_survey(&self, survey: &Survey, fx: &Effects) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut w = Writes::new();
        let (id, rating, comment, at) = (
            survey.id,
            survey.rating.map(i16::from),
            survey.comment.clone(),
            survey.responded_at,
        );
        w.counted(|q| {
            q.push("UPDATE surveys SET rating = ")
                .push_bind(rating)
                .push(", comment = ")
                .push_bind(comment)
                .push(", responded_at = ")
                .push_bind(at)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(" RETURNING id");
        });
        let written = w.run(&mut tx, fx).await?;
        if written.counts.first() != Some(&1) {
            return Err(StoreError::NotFound);
        }
        self.commit(tx, written.wrote_events).await
    }

    async fn list_surveys(&self, q: &SurveyQuery) -> StoreResult<Vec<Survey>> {
        let mut b: QueryBuilder<Postgres> =
            QueryBuilder::new(format!("SELECT {SURVEY_COLS} FROM surveys WHERE true"));
        if let Some(from) = q.from {
            b.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = q.to {
            b.push(" AND created_at < ").push_bind(to);
        }
        if let Some(a) = q.assignee_id {
            b.push(" AND assignee_id = ").push_bind(a);
        }
        if let Some(g) = q.group_id {
            b.push(" AND group_id = ").push_bind(g);
        }
        b.push(" ORDER BY id");
        fetch_all_as::<SurveyRow, _>(b.build(), self.pool_ref()).await
    }
}
