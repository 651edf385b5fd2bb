//! Business-hours calendars: admins make, change and delete them, staff list and read
//! them and preview due times ([`Helpdesk::preview_calendar`]); customers may do none of
//! it.

use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use crate::Helpdesk;
use crate::calendar::*;
use crate::error::{Error, Result, StoreError};
use crate::principal::Principal;

impl Helpdesk {
    /// Makes a calendar (admins). At most [`MAX_CALENDARS`] (invalid above).
    pub async fn create_calendar(&self, p: &Principal, input: NewCalendar) -> Result<Calendar> {
        self.require_admin(p).await?;
        let name = validate_name(&input.name)?;
        let timezone = validate_timezone(&input.timezone)?;
        let hours = WeekHours::parse(&input.hours)?;
        let holidays = match &input.holidays {
            Some(json) => parse_holidays(json)?,
            None => Vec::new(),
        };
        let now = self.now();
        let c = Calendar {
            id: crate::clock::new_id(),
            name,
            timezone,
            hours,
            holidays,
            created_at: now,
            updated_at: now,
        };
        if self.st().insert_calendar(&c, MAX_CALENDARS).await? {
            Ok(c)
        } else {
            Err(limit_reached())
        }
    }

    /// A calendar (staff; customers: `Forbidden`).
    pub async fn get_calendar(&self, p: &Principal, id: Uuid) -> Result<Calendar> {
        p.require_staff()?;
        self.st().get_calendar(id).await?.ok_or(Error::NotFound)
    }

    /// Every calendar (staff), by `(name, id)`.
    pub async fn list_calendars(&self, p: &Principal) -> Result<Vec<Calendar>> {
        p.require_staff()?;
        Ok(self.st().list_calendars().await?)
    }

    /// Changes a calendar's name, time zone, hours or holidays (admins).
    pub async fn update_calendar(
        &self,
        p: &Principal,
        id: Uuid,
        patch: CalendarPatch,
    ) -> Result<Calendar> {
        self.require_admin(p).await?;
        let mut c = self.st().get_calendar(id).await?.ok_or(Error::NotFound)?;
        let name = patch.name.as_deref().map(validate_name).transpose()?;
        let timezone = patch
            .timezone
            .as_deref()
            .map(validate_timezone)
            .transpose()?;
        let hours = patch.hours.as_ref().map(WeekHours::parse).transpose()?;
        let holidays = patch.holidays.as_ref().map(parse_holidays).transpose()?;
        let before = c.clone();
        if let Some(n) = name {
            c.name = n;
        }
        if let Some(t) = timezone {
            c.timezone = t;
        }
        if let Some(h) = hours {
            c.hours = h;
        }
        if let Some(h) = holidays {
            c.holidays = h;
        }
        if c == before {
            return Ok(c);
        }
        c.updated_at = self.now();
        match self.st().update_calendar(&c).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(Error::NotFound),
            Err(e) => return Err(Error::Store(e)),
        }
        // The SLA due times it counts move with it.
        if self.calendar_in_use(id).await? {
            self.settle_all().await?;
        }
        Ok(c)
    }

    /// Deletes a calendar (admins); one an SLA policy uses is `InUse`.
    pub async fn delete_calendar(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.require_admin(p).await?;
        if self.st().get_calendar(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        if self.calendar_in_use(id).await? {
            return Err(Error::InUse("an SLA policy uses the calendar".into()));
        }
        if self.st().delete_calendar(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// The end of `minutes` business minutes of a calendar from `start` (staff):
    /// `minutes` above 0 and at most [`MAX_MINUTES`] (else invalid at `minutes`); a due
    /// time past the year 9999 is invalid too.
    pub async fn preview_calendar(
        &self,
        p: &Principal,
        id: Uuid,
        start: DateTime<Utc>,
        minutes: f64,
    ) -> Result<DateTime<Utc>> {
        let c = self.get_calendar(p, id).await?;
        let minutes = validate_minutes("minutes", minutes)?;
        if start.year() < 1 || start > far_future() {
            return Err(Error::invalid(
                "start",
                "must be a time from the year 1 to 9999",
            ));
        }
        c.add_business_checked(start, minutes).ok_or_else(|| {
            Error::invalid(
                "minutes",
                "the calendar is open too little for these minutes to end before the year 10000",
            )
        })
    }
}
