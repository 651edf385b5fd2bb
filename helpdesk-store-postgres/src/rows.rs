//! The tables' rows as the queries read them: one row struct per record (decoded by
//! sqlx, column by column, by name) with the column list the queries select, converted
//! into the core record with `TryFrom`, where what a column cannot promise (an enum's
//! text, a JSON document, a priority rank) is checked: a bad value is
//! [`StoreError::Corrupt`]. [`fetch_optional_as`] and [`fetch_all_as`] run a query and
//! decode what it returns.

use chrono::{DateTime, Utc};
use helpdesk_core::StoreError;
use helpdesk_core::apikey::ApiKey;
use helpdesk_core::attachment::{Attachment, AttachmentParent};
use helpdesk_core::auth::Session;
use helpdesk_core::canned_reply::CannedReply;
use helpdesk_core::conversation::{Conversation, Member};
use helpdesk_core::custom_field::CustomField;
use helpdesk_core::event::{Audience, Event, EventId};
use helpdesk_core::group::{Group, Membership};
use helpdesk_core::kb::Article;
use helpdesk_core::message::Message;
use helpdesk_core::notification::{Notification, NotificationData};
use helpdesk_core::organization::Organization;
use helpdesk_core::receipt::{Mark, Participant};
use helpdesk_core::status::{Status, StatusKey};
use helpdesk_core::store::StoreResult;
use helpdesk_core::ticket::{Channel, Priority, Ticket, TicketEvent};
use helpdesk_core::user::User;
use helpdesk_core::view::View;
use helpdesk_core::webhook::{ClaimedDelivery, Delivery, DeliveryStatus, Webhook};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::error::SqlxResultExt;

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A stored count (bigint) as the core's u64.
pub(crate) fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A core count as bigint.
pub(crate) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A cursor key in microseconds as a time.
pub(crate) fn micros(key: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(key).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn parse<T: std::str::FromStr>(s: &str, what: &str) -> StoreResult<T> {
    s.parse().map_err(|_| corrupt(format!("bad {what} {s:?}")))
}

fn json<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> StoreResult<T> {
    serde_json::from_value(v).map_err(|e| corrupt(format!("bad {what}: {e}")))
}

/// A text column holding a serde name (`"mention"`, `"dead"`), as its enum.
fn json_name<T: serde::de::DeserializeOwned>(s: String, what: &str) -> StoreResult<T> {
    json(Value::String(s), what)
}

/// Serializes a value for a jsonb column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<Value> {
    serde_json::to_value(v).map_err(StoreError::other)
}

/// `cols` with every column prefixed by `alias.` (the result's column names stay the
/// same, so the row struct of `cols` decodes it).
pub(crate) fn prefixed(cols: &str, alias: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `cols` of table `alias` renamed `alias_col`, for a statement that selects several
/// tables whose columns share names (see [`ClaimedRow`]).
pub(crate) fn with_alias(cols: &str, alias: &str) -> String {
    cols.split(',')
        .map(|c| {
            let c = c.trim();
            format!("{alias}.{c} AS {alias}_{c}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A query with its arguments bound, as the callers of the fetch helpers build them.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Decodes a row into the core record `T` through its row struct `R`.
pub(crate) fn decode<R, T>(row: &PgRow) -> StoreResult<T>
where
    R: for<'r> FromRow<'r, PgRow>,
    T: TryFrom<R, Error = StoreError>,
{
    T::try_from(R::from_row(row).store()?)
}

/// Runs `query` and decodes the row it returns, if any, through the row struct `R`.
pub(crate) async fn fetch_optional_as<'q, 'c, R, T>(
    query: PgQuery<'q>,
    conn: impl PgExecutor<'c>,
) -> StoreResult<Option<T>>
where
    R: for<'r> FromRow<'r, PgRow>,
    T: TryFrom<R, Error = StoreError>,
{
    let row = query.fetch_optional(conn).await.store()?;
    row.as_ref().map(decode::<R, T>).transpose()
}

/// Runs `query` and decodes every row it returns through the row struct `R`.
pub(crate) async fn fetch_all_as<'q, 'c, R, T>(
    query: PgQuery<'q>,
    conn: impl PgExecutor<'c>,
) -> StoreResult<Vec<T>>
where
    R: for<'r> FromRow<'r, PgRow>,
    T: TryFrom<R, Error = StoreError>,
{
    let rows = query.fetch_all(conn).await.store()?;
    rows.iter().map(decode::<R, T>).collect()
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    role: String,
    is_active: bool,
    password_hash: Option<String>,
    organization_id: Option<Uuid>,
    is_org_manager: bool,
    is_service: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    read_receipts: String,
    email_notifications: bool,
}

impl UserRow {
    pub(crate) const COLS: &str = "id, email, name, role, is_active, password_hash, \
         organization_id, is_org_manager, is_service, created_at, updated_at, read_receipts, \
         email_notifications";
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<User> {
        Ok(User {
            id: r.id,
            email: r.email,
            name: r.name,
            role: parse(&r.role, "role")?,
            is_active: r.is_active,
            password_hash: r.password_hash,
            organization_id: r.organization_id,
            is_org_manager: r.is_org_manager,
            is_service: r.is_service,
            read_receipts: parse(&r.read_receipts, "read_receipts")?,
            email_notifications: r.email_notifications,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    refresh_hash: String,
    refresh_expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl SessionRow {
    pub(crate) const COLS: &str =
        "id, user_id, refresh_hash, refresh_expires_at, created_at, revoked_at";
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> StoreResult<Session> {
        Ok(Session {
            id: r.id,
            user_id: r.user_id,
            refresh_hash: r.refresh_hash,
            refresh_expires_at: r.refresh_expires_at,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ApiKeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    token_hash: String,
    scopes: Vec<String>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl ApiKeyRow {
    pub(crate) const COLS: &str = "id, user_id, name, prefix, token_hash, scopes, expires_at, \
         last_used_at, created_at";
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> StoreResult<ApiKey> {
        Ok(ApiKey {
            id: r.id,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            token_hash: r.token_hash,
            scopes: helpdesk_core::scope::Scopes::parse(&r.scopes).map_err(corrupt)?,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
        })
    }
}

/// A priority as stored: its rank (`Priority::ALL` order), so that it sorts.
pub(crate) fn priority_rank(p: Priority) -> i16 {
    p.rank() as i16
}

fn priority_of(rank: i16) -> StoreResult<Priority> {
    Priority::ALL
        .get(usize::try_from(rank).map_err(|_| corrupt("negative priority"))?)
        .copied()
        .ok_or_else(|| corrupt(format!("bad priority {rank}")))
}

/// A `channel` column's text as the channel.
fn channel_of(s: &str) -> StoreResult<Channel> {
    Channel::parse(s).ok_or_else(|| corrupt(format!("bad channel {s:?}")))
}

#[derive(FromRow)]
pub(crate) struct TicketRow {
    id: Uuid,
    number: i64,
    subject: String,
    description: String,
    status: String,
    status_category: String,
    status_changed_at: Option<DateTime<Utc>>,
    priority: i16,
    requester_id: Uuid,
    assignee_id: Option<Uuid>,
    tags: Vec<String>,
    conversation_id: Uuid,
    group_id: Uuid,
    organization_id: Option<Uuid>,
    cc: Vec<Uuid>,
    followers: Vec<Uuid>,
    fields: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    version: i64,
    merged_into_id: Option<Uuid>,
    merged_ids: Vec<Uuid>,
    pre_merge_status: Option<String>,
    snooze: Option<Value>,
    sla: Value,
    automation_at: Option<DateTime<Utc>>,
    resolved_count: i32,
    channel: String,
    mailbox_id: Option<Uuid>,
    follow_up_of: Option<Uuid>,
}

impl TicketRow {
    pub(crate) const COLS: &str = "id, number, subject, description, status, status_category, \
         status_changed_at, priority, requester_id, assignee_id, tags, conversation_id, \
         group_id, organization_id, cc, followers, fields, created_at, updated_at, \
         first_response_at, resolved_at, closed_at, version, merged_into_id, merged_ids, \
         pre_merge_status, snooze, sla, automation_at, resolved_count, channel, mailbox_id, \
         follow_up_of";
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> StoreResult<Ticket> {
        Ok(Ticket {
            id: r.id,
            number: r.number,
            subject: r.subject,
            description: r.description,
            status: StatusKey::new(r.status),
            status_category: parse(&r.status_category, "status category")?,
            status_changed_at: r.status_changed_at,
            priority: priority_of(r.priority)?,
            requester_id: r.requester_id,
            assignee_id: r.assignee_id,
            tags: r.tags,
            conversation_id: r.conversation_id,
            group_id: r.group_id,
            organization_id: r.organization_id,
            cc: r.cc,
            followers: r.followers,
            fields: json(r.fields, "ticket fields")?,
            created_at: r.created_at,
            updated_at: r.updated_at,
            first_response_at: r.first_response_at,
            resolved_at: r.resolved_at,
            closed_at: r.closed_at,
            merged_into_id: r.merged_into_id,
            merged_ids: r.merged_ids,
            pre_merge_status: r.pre_merge_status.map(StatusKey::new),
            snooze: r.snooze.map(|v| json(v, "ticket snooze")).transpose()?,
            sla: json(r.sla, "ticket sla")?,
            automation_at: r.automation_at,
            resolved_count: u32::try_from(r.resolved_count)
                .map_err(|_| corrupt(format!("bad resolved_count {}", r.resolved_count)))?,
            version: u(r.version),
            channel: channel_of(&r.channel)?,
            mailbox_id: r.mailbox_id,
            follow_up_of: r.follow_up_of,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct FieldRow {
    id: Uuid,
    key: String,
    #[sqlx(rename = "type")]
    field_type: String,
    label: String,
    options: Vec<String>,
    customer_visible: bool,
    customer_editable: bool,
    required_on_create: bool,
    required_on_resolve: bool,
    position: i64,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl FieldRow {
    pub(crate) const COLS: &str = "id, key, type, label, options, customer_visible, \
         customer_editable, required_on_create, required_on_resolve, position, active, \
         created_at, updated_at";
}

impl TryFrom<FieldRow> for CustomField {
    type Error = StoreError;
    fn try_from(r: FieldRow) -> StoreResult<CustomField> {
        Ok(CustomField {
            id: r.id,
            key: r.key,
            field_type: json(Value::String(r.field_type), "field type")?,
            label: r.label,
            options: r.options,
            customer_visible: r.customer_visible,
            customer_editable: r.customer_editable,
            required_on_create: r.required_on_create,
            required_on_resolve: r.required_on_resolve,
            position: r.position,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct StatusRow {
    id: Uuid,
    key: String,
    category: String,
    agent_label: String,
    customer_label: String,
    position: i64,
    active: bool,
    is_default: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl StatusRow {
    pub(crate) const COLS: &str = "id, key, category, agent_label, customer_label, position, \
         active, is_default, created_at, updated_at";
}

impl TryFrom<StatusRow> for Status {
    type Error = StoreError;
    fn try_from(r: StatusRow) -> StoreResult<Status> {
        Ok(Status {
            id: r.id,
            key: StatusKey::new(r.key),
            category: parse(&r.category, "status category")?,
            agent_label: r.agent_label,
            customer_label: r.customer_label,
            position: r.position,
            active: r.active,
            is_default: r.is_default,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct GroupRow {
    id: Uuid,
    name: String,
    description: String,
    is_default: bool,
    created_at: DateTime<Utc>,
}

impl GroupRow {
    pub(crate) const COLS: &str = "id, name, description, is_default, created_at";
}

/// A group's row with one of its memberships, its columns named `member_...` (all NULL
/// when the group has none): [`group_with_members`] makes the group and its members.
#[derive(FromRow)]
pub(crate) struct GroupMemberRow {
    #[sqlx(flatten)]
    group: GroupRow,
    member_user_id: Option<Uuid>,
    member_access: Option<String>,
    member_created_at: Option<DateTime<Utc>>,
}

impl GroupMemberRow {
    /// The membership columns, of table `m`, as this row names them.
    pub(crate) const MEMBER_COLS: &str = "m.user_id AS member_user_id, \
         m.access AS member_access, m.created_at AS member_created_at";
}

/// The group of `rows` (one group joined with its memberships) and its members, in the
/// rows' order; `None` without rows.
pub(crate) fn group_with_members(
    rows: Vec<GroupMemberRow>,
) -> StoreResult<Option<(Group, Vec<Membership>)>> {
    let (mut group, mut members) = (None, Vec::new());
    for r in rows {
        if let (Some(user_id), Some(access), Some(created_at)) =
            (r.member_user_id, r.member_access, r.member_created_at)
        {
            members.push(Membership {
                group_id: r.group.id,
                user_id,
                access: parse(&access, "access")?,
                created_at,
            });
        }
        if group.is_none() {
            group = Some(Group::try_from(r.group)?);
        }
    }
    Ok(group.map(|g| (g, members)))
}

impl TryFrom<GroupRow> for Group {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> StoreResult<Group> {
        Ok(Group {
            id: r.id,
            name: r.name,
            description: r.description,
            is_default: r.is_default,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct OrganizationRow {
    id: Uuid,
    name: String,
    domains: Vec<String>,
    sharing: String,
    created_at: DateTime<Utc>,
}

impl OrganizationRow {
    pub(crate) const COLS: &str = "id, name, domains, sharing, created_at";
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = StoreError;
    fn try_from(r: OrganizationRow) -> StoreResult<Organization> {
        Ok(Organization {
            id: r.id,
            name: r.name,
            domains: r.domains,
            sharing: parse(&r.sharing, "sharing")?,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct CannedReplyRow {
    id: Uuid,
    title: String,
    shortcut: String,
    body: String,
    scope: String,
    group_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl CannedReplyRow {
    pub(crate) const COLS: &str =
        "id, title, shortcut, body, scope, group_id, owner_id, created_at, updated_at";
}

impl TryFrom<CannedReplyRow> for CannedReply {
    type Error = StoreError;
    fn try_from(r: CannedReplyRow) -> StoreResult<CannedReply> {
        Ok(CannedReply {
            id: r.id,
            title: r.title,
            shortcut: r.shortcut,
            body: r.body,
            scope: parse(&r.scope, "canned reply scope")?,
            group_id: r.group_id,
            owner_id: r.owner_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ViewRow {
    id: Uuid,
    name: String,
    scope: String,
    group_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    filter: serde_json::Value,
    sort: String,
    position: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ViewRow {
    pub(crate) const COLS: &str =
        "id, name, scope, group_id, owner_id, filter, sort, position, created_at, updated_at";
}

impl TryFrom<ViewRow> for View {
    type Error = StoreError;
    fn try_from(r: ViewRow) -> StoreResult<View> {
        Ok(View {
            id: r.id,
            name: r.name,
            scope: parse(&r.scope, "view scope")?,
            group_id: r.group_id,
            owner_id: r.owner_id,
            filter: serde_json::from_value(r.filter)
                .map_err(|e| StoreError::Corrupt(format!("view filter: {e}")))?,
            sort: parse(&r.sort, "view sort")?,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct CalendarRow {
    id: Uuid,
    name: String,
    timezone: String,
    hours: serde_json::Value,
    holidays: Vec<chrono::NaiveDate>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl CalendarRow {
    pub(crate) const COLS: &str = "id, name, timezone, hours, holidays, created_at, updated_at";
}

impl TryFrom<CalendarRow> for helpdesk_core::calendar::Calendar {
    type Error = StoreError;
    fn try_from(r: CalendarRow) -> StoreResult<helpdesk_core::calendar::Calendar> {
        Ok(helpdesk_core::calendar::Calendar {
            id: r.id,
            name: r.name,
            timezone: r.timezone,
            hours: serde_json::from_value(r.hours)
                .map_err(|e| StoreError::Corrupt(format!("calendar hours: {e}")))?,
            holidays: r.holidays,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MacroRow {
    id: Uuid,
    name: String,
    actions: serde_json::Value,
    position: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MacroRow {
    pub(crate) const COLS: &str = "id, name, actions, position, created_at, updated_at";
}

impl TryFrom<MacroRow> for helpdesk_core::macros::Macro {
    type Error = StoreError;
    fn try_from(r: MacroRow) -> StoreResult<helpdesk_core::macros::Macro> {
        Ok(helpdesk_core::macros::Macro {
            id: r.id,
            name: r.name,
            actions: serde_json::from_value(r.actions)
                .map_err(|e| StoreError::Corrupt(format!("macro actions: {e}")))?,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct RuleRow {
    doc: serde_json::Value,
}

impl RuleRow {
    pub(crate) const COLS: &str = "doc";
}

impl TryFrom<RuleRow> for helpdesk_core::rule::Rule {
    type Error = StoreError;
    fn try_from(r: RuleRow) -> StoreResult<helpdesk_core::rule::Rule> {
        serde_json::from_value(r.doc).map_err(|e| StoreError::Corrupt(format!("rule: {e}")))
    }
}

#[derive(FromRow)]
pub(crate) struct RuleRunRow {
    doc: serde_json::Value,
}

impl RuleRunRow {
    pub(crate) const COLS: &str = "doc";
}

impl TryFrom<RuleRunRow> for helpdesk_core::rule::RuleRun {
    type Error = StoreError;
    fn try_from(r: RuleRunRow) -> StoreResult<helpdesk_core::rule::RuleRun> {
        serde_json::from_value(r.doc).map_err(|e| StoreError::Corrupt(format!("rule run: {e}")))
    }
}

#[derive(FromRow)]
pub(crate) struct MembershipRow {
    group_id: Uuid,
    user_id: Uuid,
    access: String,
    created_at: DateTime<Utc>,
}

impl MembershipRow {
    pub(crate) const COLS: &str = "group_id, user_id, access, created_at";
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(r: MembershipRow) -> StoreResult<Membership> {
        Ok(Membership {
            group_id: r.group_id,
            user_id: r.user_id,
            access: parse(&r.access, "access")?,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TicketEventRow {
    id: Uuid,
    ticket_id: Uuid,
    kind: String,
    actor_id: Option<Uuid>,
    at: DateTime<Utc>,
    data: Value,
    via: Option<Value>,
}

impl TicketEventRow {
    pub(crate) const COLS: &str = "id, ticket_id, kind, actor_id, at, data, via";
}

impl TryFrom<TicketEventRow> for TicketEvent {
    type Error = StoreError;
    fn try_from(r: TicketEventRow) -> StoreResult<TicketEvent> {
        Ok(TicketEvent {
            id: r.id,
            ticket_id: r.ticket_id,
            kind: json_name(r.kind, "timeline kind")?,
            actor_id: r.actor_id,
            at: r.at,
            data: r.data,
            via: r
                .via
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("timeline via: {e}")))?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ConversationRow {
    id: Uuid,
    kind: String,
    title: Option<String>,
    ticket_id: Option<Uuid>,
    members: Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    last_message_at: Option<DateTime<Utc>>,
    last_seq: i64,
    last_public_seq: i64,
    public_count: i64,
    direct_key: Option<String>,
}

impl ConversationRow {
    /// Shares no column name with [`ParticipantRow::COLS`], so one row can hold both.
    pub(crate) const COLS: &str = "id, kind, title, ticket_id, members, created_by, \
         created_at, last_message_at, last_seq, last_public_seq, public_count, direct_key";
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;
    fn try_from(r: ConversationRow) -> StoreResult<Conversation> {
        let members: Vec<Member> = json(r.members, "members")?;
        Ok(Conversation {
            id: r.id,
            kind: parse(&r.kind, "conversation kind")?,
            title: r.title,
            ticket_id: r.ticket_id,
            members,
            created_by: r.created_by,
            created_at: r.created_at,
            last_message_at: r.last_message_at,
            last_seq: u(r.last_seq),
            last_public_seq: u(r.last_public_seq),
            public_count: u(r.public_count),
            direct_key: r.direct_key,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct MessageRow {
    id: Uuid,
    conversation_id: Uuid,
    seq: i64,
    sender_id: Option<Uuid>,
    content: String,
    parent_id: Option<Uuid>,
    reply_count: i64,
    internal_reply_count: i64,
    attachment_ids: Vec<Uuid>,
    internal: bool,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    public_ordinal: i64,
    sender_ordinal: i64,
    channel: String,
}

impl MessageRow {
    pub(crate) const COLS: &str = "id, conversation_id, seq, sender_id, content, \
         parent_id, reply_count, internal_reply_count, attachment_ids, internal, created_at, \
         edited_at, deleted_at, public_ordinal, sender_ordinal, channel";
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> StoreResult<Message> {
        Ok(Message {
            id: r.id,
            conversation_id: r.conversation_id,
            seq: u(r.seq),
            sender_id: r.sender_id,
            content: r.content,
            parent_id: r.parent_id,
            reply_count: u(r.reply_count),
            internal_reply_count: u(r.internal_reply_count),
            attachment_ids: r.attachment_ids,
            internal: r.internal,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted_at: r.deleted_at,
            public_ordinal: u(r.public_ordinal),
            sender_ordinal: u(r.sender_ordinal),
            channel: channel_of(&r.channel)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ParticipantRow {
    conversation_id: Uuid,
    user_id: Uuid,
    last_read_seq: i64,
    public_at_watermark: i64,
    own_at_watermark: i64,
    read_above: Vec<i64>,
    delivered_seq: i64,
    sent_count: i64,
    // Decoded straight from the column: a group's thousand records are read at once.
    read_marks: Json<Vec<Mark>>,
    delivered_marks: Json<Vec<Mark>>,
    version: i64,
    public_read_seq: i64,
    public_read_above: Vec<i64>,
}

impl ParticipantRow {
    pub(crate) const COLS: &str = "conversation_id, user_id, last_read_seq, \
         public_at_watermark, own_at_watermark, read_above, delivered_seq, sent_count, \
         read_marks, delivered_marks, version, public_read_seq, public_read_above";
}

impl TryFrom<ParticipantRow> for Participant {
    type Error = StoreError;
    fn try_from(r: ParticipantRow) -> StoreResult<Participant> {
        Ok(Participant {
            conversation_id: r.conversation_id,
            user_id: r.user_id,
            last_read_seq: u(r.last_read_seq),
            public_at_watermark: u(r.public_at_watermark),
            own_at_watermark: u(r.own_at_watermark),
            read_above: r.read_above.into_iter().map(u).collect(),
            delivered_seq: u(r.delivered_seq),
            sent_count: u(r.sent_count),
            read_marks: r.read_marks.0,
            delivered_marks: r.delivered_marks.0,
            version: u(r.version),
            public_read_seq: u(r.public_read_seq),
            public_read_above: r.public_read_above.into_iter().map(u).collect(),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct NotificationRow {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    title: String,
    body: String,
    ticket_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    message_id: Option<Uuid>,
    read_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    csat_token: Option<String>,
}

impl NotificationRow {
    pub(crate) const COLS: &str = "id, user_id, kind, title, body, ticket_id, \
         conversation_id, message_id, read_at, created_at, csat_token";
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;
    fn try_from(r: NotificationRow) -> StoreResult<Notification> {
        Ok(Notification {
            id: r.id,
            user_id: r.user_id,
            kind: json_name(r.kind, "notification kind")?,
            title: r.title,
            body: r.body,
            data: NotificationData {
                ticket_id: r.ticket_id,
                conversation_id: r.conversation_id,
                message_id: r.message_id,
                csat_token: r.csat_token,
            },
            read_at: r.read_at,
            created_at: r.created_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ArticleRow {
    id: Uuid,
    slug: String,
    title: String,
    body: String,
    tags: Vec<String>,
    status: String,
    author_id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

impl ArticleRow {
    pub(crate) const COLS: &str =
        "id, slug, title, body, tags, status, author_id, created_at, updated_at, published_at";
}

impl TryFrom<ArticleRow> for Article {
    type Error = StoreError;
    fn try_from(r: ArticleRow) -> StoreResult<Article> {
        Ok(Article {
            id: r.id,
            slug: r.slug,
            title: r.title,
            body: r.body,
            tags: r.tags,
            status: parse(&r.status, "article status")?,
            author_id: r.author_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            published_at: r.published_at,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct AttachmentRow {
    id: Uuid,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    uploaded_by: Uuid,
    created_at: DateTime<Utc>,
    parent_kind: Option<String>,
    ticket_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    message_id: Option<Uuid>,
}

impl AttachmentRow {
    pub(crate) const COLS: &str = "id, filename, content_type, size, sha256, \
         uploaded_by, created_at, parent_kind, ticket_id, conversation_id, message_id";
}

impl TryFrom<AttachmentRow> for Attachment {
    type Error = StoreError;
    fn try_from(r: AttachmentRow) -> StoreResult<Attachment> {
        let parent = match (
            r.parent_kind.as_deref(),
            r.ticket_id,
            r.conversation_id,
            r.message_id,
        ) {
            (None, ..) => None,
            (Some("ticket"), Some(ticket_id), _, _) => Some(AttachmentParent::Ticket { ticket_id }),
            (Some("message"), _, Some(conversation_id), Some(message_id)) => {
                Some(AttachmentParent::Message {
                    conversation_id,
                    message_id,
                })
            }
            _ => return Err(corrupt("bad attachment parent")),
        };
        Ok(Attachment {
            id: r.id,
            filename: r.filename,
            content_type: r.content_type,
            size: u(r.size),
            sha256: r.sha256,
            uploaded_by: r.uploaded_by,
            created_at: r.created_at,
            parent,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct EventRow {
    id: i64,
    kind: String,
    at: DateTime<Utc>,
    audience: Value,
    data: Value,
    only_webhook: Option<Uuid>,
}

impl EventRow {
    pub(crate) const COLS: &str = "id, kind, at, audience, data, only_webhook";
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> StoreResult<Event> {
        let audience: Audience = json(r.audience, "audience")?;
        Ok(Event {
            id: EventId(u(r.id)),
            kind: parse(&r.kind, "event kind")?,
            at: r.at,
            audience,
            data: r.data,
            only_webhook: r.only_webhook,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct WebhookRow {
    id: Uuid,
    url: String,
    events: Vec<String>,
    description: String,
    active: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl WebhookRow {
    pub(crate) const COLS: &str = "id, url, events, description, active, secret, \
         previous_secret, previous_secret_until, created_at, updated_at";
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: r.id,
            url: r.url,
            events: r.events,
            description: r.description,
            active: r.active,
            secret: r.secret,
            previous_secret: r.previous_secret.zip(r.previous_secret_until),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) fn delivery_status_str(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Dead => "dead",
    }
}

#[derive(FromRow)]
pub(crate) struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    event_id: i64,
    event_type: String,
    status: String,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl DeliveryRow {
    pub(crate) const COLS: &str = "id, webhook_id, event_id, event_type, status, \
         attempts, last_status_code, last_error, next_attempt_at, created_at";
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> StoreResult<Delivery> {
        Ok(Delivery {
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: EventId(u(r.event_id)),
            event_type: parse(&r.event_type, "event type")?,
            status: json_name(r.status, "delivery status")?,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            last_status_code: r.last_status_code.and_then(|c| u16::try_from(c).ok()),
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
        })
    }
}

/// A claimed delivery as `claim_deliveries` selects it: the delivery's columns under
/// their names, its event's and its endpoint's under `e_` and `w_` ([`with_alias`] of
/// [`EventRow::COLS`] and [`WebhookRow::COLS`]), since the three tables share names.
#[derive(FromRow)]
pub(crate) struct ClaimedRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    e_id: i64,
    e_kind: String,
    e_at: DateTime<Utc>,
    e_audience: Value,
    e_data: Value,
    e_only_webhook: Option<Uuid>,
    w_id: Uuid,
    w_url: String,
    w_events: Vec<String>,
    w_description: String,
    w_active: bool,
    w_secret: String,
    w_previous_secret: Option<String>,
    w_previous_secret_until: Option<DateTime<Utc>>,
    w_created_at: DateTime<Utc>,
    w_updated_at: DateTime<Utc>,
}

impl TryFrom<ClaimedRow> for ClaimedDelivery {
    type Error = StoreError;
    fn try_from(r: ClaimedRow) -> StoreResult<ClaimedDelivery> {
        let event = EventRow {
            id: r.e_id,
            kind: r.e_kind,
            at: r.e_at,
            audience: r.e_audience,
            data: r.e_data,
            only_webhook: r.e_only_webhook,
        };
        let webhook = WebhookRow {
            id: r.w_id,
            url: r.w_url,
            events: r.w_events,
            description: r.w_description,
            active: r.w_active,
            secret: r.w_secret,
            previous_secret: r.w_previous_secret,
            previous_secret_until: r.w_previous_secret_until,
            created_at: r.w_created_at,
            updated_at: r.w_updated_at,
        };
        Ok(ClaimedDelivery {
            delivery: r.delivery.try_into()?,
            event: event.try_into()?,
            webhook: webhook.try_into()?,
        })
    }
}

/// The columns of `surveys`, in the order the inserts bind them.
pub(crate) const SURVEY_COLS: &str = "id, ticket_id, cycle, assignee_id, group_id, rating, \
     comment, created_at, expires_at, responded_at, token_hash";

/// A cycle (or a ticket's `resolved_count`) as its `integer` column holds it.
pub(crate) fn cycle(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
