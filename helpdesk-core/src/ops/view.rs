//! Saved views: staff make, change, delete and list the ones their scope lets them
//! ([`ScopeUser`], the rules canned replies share); customers may do none of it. A view
//! the caller may not use is `NotFound`, like one that does not exist.

use uuid::Uuid;

use crate::Helpdesk;
use crate::condition::{Condition, Reference, Target, Usage};
use crate::error::{Error, Result, StoreError};
use crate::ownership::{ItemScope, ScopeUser, Scoped, validate_group_id};
use crate::page::{Cursor, Page, limit};
use crate::principal::Principal;
use crate::ticket::{Ticket, TicketQuery};
use crate::view::*;

/// What the views of this module are called in messages.
const WHAT: &str = "views";

impl Helpdesk {
    /// The staff caller as a user of scoped items (canned replies, views), their groups
    /// read now; customers: `Forbidden`.
    pub(crate) async fn scope_user(&self, p: &Principal) -> Result<ScopeUser> {
        p.require_staff()?;
        Ok(ScopeUser {
            user_id: p.user_id(),
            admin: p.is_admin(),
            groups: self.visible_groups(p).await?.unwrap_or_default(),
        })
    }

    /// Checks that every id a condition names exists (a user, an active staff user, a
    /// group, an organization, a canned reply): 422 at the value's path otherwise.
    pub(crate) async fn check_references(&self, refs: Vec<Reference>) -> Result<()> {
        let mut errors = Vec::new();
        for r in refs {
            let ok = match r.target {
                Target::User(id) => self.st().get_user(id).await?.is_some(),
                Target::StaffUser(id) => self
                    .st()
                    .get_user(id)
                    .await?
                    .is_some_and(|u| u.is_active && u.role.is_staff()),
                Target::Group(id) => self.st().get_group(id).await?.is_some(),
                Target::Organization(id) => self.st().get_organization(id).await?.is_some(),
                Target::CannedReply(id) => self.st().get_canned_reply(id).await?.is_some(),
            };
            if !ok {
                errors.push(crate::error::FieldError {
                    field: r.path,
                    message: "names nothing that exists".into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errors))
        }
    }

    /// A view filter: `json` checked as a condition for views at `filter`, and the ids
    /// it names looked up.
    async fn view_filter(&self, json: &serde_json::Value) -> Result<Condition> {
        let c = Condition::parse(json, "filter", Usage::View, &self.ticket_schema().await?)?;
        self.check_references(c.references("filter")).await?;
        Ok(c)
    }

    /// Makes a view, owned by the caller (staff). A `global` one needs an admin, a
    /// `group` one a member of the group or an admin (else `Forbidden`); the group must
    /// exist (else invalid). At most [`MAX_PER_OWNER`] personal and group views per
    /// owner and [`MAX_GLOBAL`] global ones (invalid above). Without a position it goes
    /// after the last view the caller may use.
    pub async fn create_view(&self, p: &Principal, input: NewView) -> Result<View> {
        let user = self.scope_user(p).await?;
        if input.scope == ItemScope::Personal && p.is_system() {
            return Err(Error::forbidden("the system owns no personal views"));
        }
        if input.scope == ItemScope::Global {
            user.may_write(ItemScope::Global, None, WHAT)?;
        }
        validate_group_id(input.scope, input.group_id, "view")?;
        if let Some(g) = input.group_id {
            if self.st().get_group(g).await?.is_none() {
                return Err(unknown_group());
            }
            user.may_write(ItemScope::Group, Some(g), WHAT)?;
        }
        let name = validate_name(&input.name)?;
        let filter = match &input.filter {
            Some(json) => self.view_filter(json).await?,
            None => Condition::default(),
        };
        let position = match input.position {
            Some(n) => validate_position(n)?,
            None => self
                .st()
                .list_views(&user)
                .await?
                .iter()
                .map(|v| v.position)
                .max()
                .map_or(0, |n| (n + 1).min(MAX_POSITION)),
        };
        let now = self.now();
        let view = View {
            id: crate::clock::new_id(),
            name,
            scope: input.scope,
            group_id: input.group_id,
            owner_id: p.actor(),
            filter,
            sort: input.sort.unwrap_or_default(),
            position,
            created_at: now,
            updated_at: now,
        };
        let bucket = view.bucket();
        match self.st().insert_view(&view, LIMITS.max(bucket)).await {
            Ok(true) => Ok(view),
            Ok(false) => Err(LIMITS.exceeded(bucket)),
            // The group went away since it was read.
            Err(StoreError::NotFound) => Err(unknown_group()),
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// A view the caller may use (staff; customers: `Forbidden`); any other is
    /// `NotFound`.
    pub async fn get_view(&self, p: &Principal, id: Uuid) -> Result<View> {
        let user = self.scope_user(p).await?;
        self.st()
            .get_view(id)
            .await?
            .filter(|v| user.may_use(v))
            .ok_or(Error::NotFound)
    }

    /// A view the caller may change or delete: one they may use whose scope lets them
    /// write it (a `global` one: admins; else `Forbidden`).
    pub async fn view_to_write(&self, p: &Principal, id: Uuid) -> Result<View> {
        let user = self.scope_user(p).await?;
        let view = self
            .st()
            .get_view(id)
            .await?
            .filter(|v| user.may_use(v))
            .ok_or(Error::NotFound)?;
        user.may_write(view.scope, view.group_id, WHAT)?;
        Ok(view)
    }

    /// Changes a view's name, filter, sort or position (who may: as for deleting).
    pub async fn update_view(&self, p: &Principal, id: Uuid, patch: ViewPatch) -> Result<View> {
        let mut view = self.view_to_write(p, id).await?;
        let name = patch.name.as_deref().map(validate_name).transpose()?;
        let position = patch.position.map(validate_position).transpose()?;
        let filter = match &patch.filter {
            Some(json) => Some(self.view_filter(json).await?),
            None => None,
        };
        let before = view.clone();
        if let Some(n) = name {
            view.name = n;
        }
        if let Some(f) = filter {
            view.filter = f;
        }
        if let Some(s) = patch.sort {
            view.sort = s;
        }
        if let Some(n) = position {
            view.position = n;
        }
        if view == before {
            return Ok(view);
        }
        view.updated_at = self.now();
        match self.st().update_view(&view).await {
            Ok(()) => Ok(view),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Deletes a view: one the caller may use whose scope lets them write it (a
    /// `global` one: admins; a `group` one: its members and admins; else `Forbidden`).
    pub async fn delete_view(&self, p: &Principal, id: Uuid) -> Result<()> {
        self.view_to_write(p, id).await?;
        if self.st().delete_view(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Every view the caller may use (staff), by `(position, id)`.
    pub async fn list_views(&self, p: &Principal) -> Result<Vec<View>> {
        let user = self.scope_user(p).await?;
        Ok(self.st().list_views(&user).await?)
    }
}

impl Helpdesk {
    /// The tickets of a view the caller may use ([`Helpdesk::get_view`]): those they can
    /// see that match its filter, in its sort, a page of `limit` (default 50, 1..=200)
    /// after `cursor`, as [`Helpdesk::list_tickets`] pages.
    pub async fn view_tickets(
        &self,
        p: &Principal,
        id: Uuid,
        cursor: Option<Cursor>,
        page_limit: Option<usize>,
    ) -> Result<Page<Ticket>> {
        let view = self.get_view(p, id).await?;
        let limit = limit(page_limit)?;
        let Some(query) = self.view_query(p, &view).await? else {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        };
        let sort = query.sort;
        let found = self
            .scan_tickets(query, &view.filter, cursor, limit + 1)
            .await?;
        Ok(Page::from_overfetch(found, limit, |t| {
            Cursor::new(sort.key(t), t.id)
        }))
    }

    /// How many tickets each view the caller may use shows them now, in list order.
    pub async fn view_counts(&self, p: &Principal) -> Result<Vec<(Uuid, u64)>> {
        let mut out = Vec::new();
        for view in self.list_views(p).await? {
            let n = match self.view_query(p, &view).await? {
                Some(q) => self
                    .scan_tickets(q, &view.filter, None, usize::MAX)
                    .await?
                    .len(),
                None => 0,
            };
            out.push((view.id, n as u64));
        }
        Ok(out)
    }

    /// The store query of a view for the caller ([`store_query`]).
    async fn view_query(&self, p: &Principal, view: &View) -> Result<Option<TicketQuery>> {
        let query = store_query(&view.filter, self.visible_groups(p).await?, view.sort);
        Ok(match query {
            Some(q) if !q.statuses.is_empty() => {
                Some(q.with_status_categories(&self.ticket_schema().await?.statuses))
            }
            other => other,
        })
    }
}

fn unknown_group() -> Error {
    Error::invalid("group_id", "is not a group")
}
