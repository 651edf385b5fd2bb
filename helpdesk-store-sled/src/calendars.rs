//! [`CalendarStore`]: calendars by id, and how many there are (a counter in `meta`, kept
//! inside the writing transaction so the limit holds under concurrent inserts).
//! Listing reads every calendar: at most 100.

use async_trait::async_trait;
use uuid::Uuid;

use helpdesk_core::calendar::{Calendar, sort_calendars};
use helpdesk_core::store::{CalendarStore, StoreResult};
use helpdesk_core::{Conflict, StoreError};

use crate::canned_replies::count;
use crate::keys::{TREE_NAMES, tree};
use crate::{SledStore, Tx, TxResult, abort, decode};

/// The `meta` key of the number of calendars.
const CALENDAR_COUNT: &[u8] = b"calendar_count";

/// Writes a new calendar with its counter (a new calendar, or an imported one).
pub(crate) fn put_new(tx: &Tx<'_>, c: &Calendar) -> TxResult<()> {
    tx.put_json(tree::CALENDARS, c.id.as_bytes(), c)?;
    count(tx, tree::META, CALENDAR_COUNT, 1)
}

#[async_trait]
impl CalendarStore for SledStore {
    async fn insert_calendar(&self, c: &Calendar, limit: usize) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if tx.exists(tree::CALENDARS, c.id.as_bytes())? {
                return abort(StoreError::Conflict(Conflict::Unique));
            }
            let held = tx.get_u64(tree::META, CALENDAR_COUNT)?;
            if usize::try_from(held).unwrap_or(usize::MAX) >= limit {
                return Ok(false);
            }
            put_new(tx, c)?;
            Ok(true)
        })
        .await
    }

    async fn update_calendar(&self, c: &Calendar) -> StoreResult<()> {
        self.write_schema(|tx| {
            let Some(old) = tx.get_json::<Calendar>(tree::CALENDARS, c.id.as_bytes())? else {
                return abort(StoreError::NotFound);
            };
            let new = Calendar {
                name: c.name.clone(),
                timezone: c.timezone.clone(),
                hours: c.hours.clone(),
                holidays: c.holidays.clone(),
                updated_at: c.updated_at,
                ..old
            };
            tx.put_json(tree::CALENDARS, new.id.as_bytes(), &new)
        })
        .await
    }

    async fn delete_calendar(&self, id: Uuid) -> StoreResult<bool> {
        self.write_schema(|tx| {
            if !tx.exists(tree::CALENDARS, id.as_bytes())? {
                return Ok(false);
            }
            tx.del(tree::CALENDARS, id.as_bytes())?;
            count(tx, tree::META, CALENDAR_COUNT, -1)?;
            Ok(true)
        })
        .await
    }

    async fn get_calendar(&self, id: Uuid) -> StoreResult<Option<Calendar>> {
        self.get_json(tree::CALENDARS, id.as_bytes())
    }

    async fn list_calendars(&self) -> StoreResult<Vec<Calendar>> {
        let mut calendars = Vec::new();
        for entry in self.scan(tree::CALENDARS, &[], None, false) {
            let (_, value) = entry?;
            calendars.push(decode(&value, TREE_NAMES[tree::CALENDARS])?);
        }
        sort_calendars(&mut calendars);
        Ok(calendars)
    }
}
