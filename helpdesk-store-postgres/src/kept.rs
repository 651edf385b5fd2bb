//! Lists of tickets and messages read through records kept decoded
//! ([`helpdesk_core::kept`]), with the row version's `xmin` as witness: a page of 50
//! tickets first asks only for the ids and `xmin`s of its rows, in the list's own
//! statement, and fetches whole rows only for those not kept under that `xmin`.
//!
//! A write of a row gives the new row version the writing transaction's id as `xmin`, so
//! a kept record whose `xmin` is the row's is the row as it is. (Transaction ids are 32
//! bits wide: a row written again by the transaction exactly 2³² ids after the one that
//! wrote its kept version would look unchanged. That write would have to land on that one
//! id among four billion.)

use std::collections::HashMap;

use helpdesk_core::StoreError;
use helpdesk_core::kept::Kept;
use helpdesk_core::store::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::SqlxResultExt;
use crate::rows::decode;

/// The witness of a row version, as a column.
const STAMP: &str = "xmin::text::bigint AS stamp";

/// Lists of fewer rows than this fetch whole rows at once: for a few rows, a second
/// statement costs more than decoding them (a read mark lists the one or two messages
/// it moves over).
const KEPT_FROM: usize = 10;

/// Decoded records by id, witnessed by their row version's `xmin`.
pub(crate) type KeptRows = Kept<Uuid, i64>;

/// The records of the rows that `list(select_list)` returns (at most `limit`), in its
/// order, from the table `table` whose row struct `R` has the columns `cols` (one of
/// them `id`).
///
/// Two statements when some rows are not kept: the list's ids and stamps, then the
/// missing rows by id. Should one of those have been written between the two, the
/// list runs again with whole rows, so the answer is always one snapshot's.
pub(crate) async fn fetch_kept<'q, R, T>(
    pool: &PgPool,
    kept: &KeptRows,
    (table, cols): (&str, &str),
    limit: usize,
    list: impl Fn(&str) -> QueryBuilder<'q, Postgres>,
) -> StoreResult<Vec<T>>
where
    R: for<'r> FromRow<'r, PgRow>,
    T: TryFrom<R, Error = StoreError> + Clone + Send + 'static,
{
    if limit < KEPT_FROM {
        return fetch_whole::<R, T>(pool, kept, cols, list).await;
    }
    let stamps: Vec<(Uuid, i64)> = list(&format!("id, {STAMP}"))
        .build_query_as()
        .fetch_all(pool)
        .await
        .store()?;
    let mut found: Vec<Option<T>> = stamps.iter().map(|(id, s)| kept.get(id, s)).collect();
    let missing: Vec<Uuid> = stamps
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|((id, _), _)| *id)
        .collect();
    if missing.is_empty() {
        return Ok(found.into_iter().flatten().collect());
    }
    let sql = format!("SELECT {cols}, {STAMP} FROM {table} WHERE id = ANY($1)");
    let rows = sqlx::query(&sql)
        .bind(&missing)
        .fetch_all(pool)
        .await
        .store()?;
    let mut fetched: HashMap<Uuid, (i64, T)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let (id, stamp) = (row.try_get("id").store()?, row.try_get("stamp").store()?);
        fetched.insert(id, (stamp, decode::<R, T>(row)?));
    }
    for ((id, stamp), slot) in stamps.iter().zip(&mut found) {
        if slot.is_some() {
            continue;
        }
        match fetched.remove(id) {
            Some((s, record)) if s == *stamp => {
                kept.keep(*id, s, record.clone());
                *slot = Some(record);
            }
            // Written (or deleted) since the first statement.
            _ => return fetch_whole::<R, T>(pool, kept, cols, list).await,
        }
    }
    Ok(found.into_iter().flatten().collect())
}

/// The list with whole rows, each record kept.
async fn fetch_whole<'q, R, T>(
    pool: &PgPool,
    kept: &KeptRows,
    cols: &str,
    list: impl Fn(&str) -> QueryBuilder<'q, Postgres>,
) -> StoreResult<Vec<T>>
where
    R: for<'r> FromRow<'r, PgRow>,
    T: TryFrom<R, Error = StoreError> + Clone + Send + 'static,
{
    let rows = list(&format!("{cols}, {STAMP}"))
        .build()
        .fetch_all(pool)
        .await
        .store()?;
    rows.iter()
        .map(|row| {
            let record = decode::<R, T>(row)?;
            let (id, stamp) = (row.try_get("id").store()?, row.try_get("stamp").store()?);
            kept.keep(id, stamp, record.clone());
            Ok(record)
        })
        .collect()
}
