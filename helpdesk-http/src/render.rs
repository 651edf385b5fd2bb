//! JSON renderings the core does not provide: users (email only to self and staff),
//! per-caller conversation views, and list pages.

use helpdesk_core::conversation::{ConversationView, conversation_json};
use helpdesk_core::event::ts;
use helpdesk_core::message::message_json;
use helpdesk_core::user::User;
use helpdesk_core::{Cursor, Page, Principal};
use serde_json::{Value, json};

/// A user as `viewer` may see it: the whole account to self and staff, the public
/// profile (id, name, role) to customers looking at someone else.
pub fn user_json(u: &User, viewer: &Principal) -> Value {
    if viewer.user_id == u.id || viewer.is_staff() {
        json!({
            "id": u.id,
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "is_active": u.is_active,
            "created_at": ts(u.created_at),
        })
    } else {
        json!({"id": u.id, "name": u.name, "role": u.role})
    }
}

/// A conversation with the caller's `last_message` and `unread_count`.
pub fn conversation_view_json(v: &ConversationView) -> Value {
    let mut out = conversation_json(&v.conversation);
    out["last_message"] = v.last_message.as_ref().map_or(Value::Null, message_json);
    out["unread_count"] = json!(v.unread_count);
    out
}

/// A cursor page `{items, next_cursor}`.
pub fn page_json<T>(page: Page<T>, f: impl FnMut(&T) -> Value) -> Value {
    json!({
        "items": page.items.iter().map(f).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor.as_ref().map(Cursor::encode),
    })
}

/// A short list `{items}`.
pub fn items_json(items: Vec<Value>) -> Value {
    json!({ "items": items })
}
