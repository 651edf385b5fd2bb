//! What tickets are made of in an installation: its statuses ([`crate::status`]) and
//! custom fields ([`crate::custom_field`]), read once per operation from the store
//! ([`crate::Helpdesk::ticket_schema`]) for the checks on ticket input, conditions, and
//! rendering tickets.

use crate::custom_field::{FieldType, Fields};
use crate::status::Statuses;

/// The statuses and custom fields in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketSchema {
    /// The statuses.
    pub statuses: Statuses,
    /// The custom fields.
    pub fields: Fields,
}

impl TicketSchema {
    /// The five default statuses only, no custom field.
    pub fn defaults() -> Self {
        TicketSchema {
            statuses: Statuses::defaults(),
            fields: Fields::default(),
        }
    }
}

impl crate::condition::Schema for TicketSchema {
    fn field_type(&self, key: &str) -> Option<FieldType> {
        self.fields.field_type(key)
    }
    fn is_option(&self, key: &str, value: &str) -> bool {
        self.fields.is_option(key, value)
    }
    fn status(&self, key: &str) -> Option<bool> {
        self.statuses.get(key).map(|s| s.active)
    }
}
