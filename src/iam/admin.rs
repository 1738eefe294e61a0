//! User administration (Settings › Identity and Access Management › Users): listing with
//! search and role filter, creating, changing roles, enabling, disabling and deleting users,
//! new activation links and the RBAC mode switch.
//!
//! Every change runs inside the caller's write transaction together with its audit record
//! (`audit::append`), so a change and its record are durable together or not at all. The
//! rules that keep the appliance administrable live here: nobody disables or deletes
//! themselves, and the last enabled Company Admin cannot be disabled, deleted or demoted.
//! Refusals come back as `StoreError::Conflict` with a sentence for the user.

use serde_json::json;

use super::activation;
use super::roles::Role;
use super::settings;
use super::users::{self, NewUser, USER_EMAILS, USERS, User};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::store::{ReadTx, StoreError, WriteTx};

/// Most users read by one list or count; an appliance has far fewer.
const MAX_USERS: usize = 100_000;
/// Most rows on one page of the list.
pub const MAX_PAGE: usize = 1000;
/// Rows on a page when the URL does not say.
pub const DEFAULT_PAGE: usize = 20;

/// Who makes a change, for the audit record and the self-protection rules.
#[derive(Debug, Clone)]
pub struct Acting {
    /// The audit actor (the signed-in administrator).
    pub actor: Actor,
    /// Their user id (they may not disable or delete themselves).
    pub user_id: String,
    /// The request's source address.
    pub source: String,
    /// The time of the change, unix ms (from the injected clock).
    pub now_ms: i64,
}

impl Acting {
    fn event(&self, kind: &str, target: &str, details: serde_json::Value) -> AuditEvent {
        AuditEvent::new(kind, self.actor.clone(), Outcome::Success)
            .source(&self.source)
            .target(target)
            .details(details)
    }
}

/// A user's state as the list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Can sign in.
    Enabled,
    /// Cannot sign in.
    Disabled,
    /// Has no password yet: waits for their activation link.
    Pending,
}

/// The status of a stored user (disabled wins over pending).
pub fn status(user: &User) -> Status {
    if user.disabled {
        Status::Disabled
    } else if user.password_hash.is_none() {
        Status::Pending
    } else {
        Status::Enabled
    }
}

/// The column the list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Display name, case-insensitive (then e-mail).
    #[default]
    Name,
    /// E-mail address.
    Email,
    /// Creation time (then e-mail).
    Created,
}

impl SortKey {
    /// Every key, for the column headers.
    pub const ALL: [SortKey; 3] = [SortKey::Name, SortKey::Email, SortKey::Created];

    /// The key's name in the URL (`?sort=`).
    pub fn id(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Email => "email",
            SortKey::Created => "created",
        }
    }

    /// Parses `?sort=`.
    pub fn from_id(id: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.id() == id)
    }
}

/// The list's filters and page, as they come from the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Case-insensitive substring of the name or e-mail; empty for all.
    pub q: String,
    /// Only users holding this role.
    pub role: Option<Role>,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return (1..=[`MAX_PAGE`]).
    pub limit: usize,
    /// The sort column.
    pub sort: SortKey,
    /// Reverse order.
    pub descending: bool,
}

/// One page of the list and how many users match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    /// The users of this page, in the query's order.
    pub items: Vec<User>,
    /// How many users match the filters.
    pub total: usize,
}

fn all_users(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<User> {
    rows.into_iter()
        .filter_map(|(_, v)| serde_json::from_slice::<User>(&v).ok())
        .collect()
}

/// The users matching `query`, in the order it asks for.
pub fn list(tx: &ReadTx, query: &ListQuery) -> Result<UserPage, StoreError> {
    let needle = query.q.trim().to_lowercase();
    let mut matching: Vec<User> = all_users(tx.scan_prefix(&USERS, b"", MAX_USERS)?)
        .into_iter()
        .filter(|u| {
            needle.is_empty()
                || u.name.to_lowercase().contains(&needle)
                || u.email.contains(&needle)
        })
        .filter(|u| query.role.is_none_or(|r| u.roles.contains(&r)))
        .collect();
    matching.sort_by(|a, b| {
        let order = match query.sort {
            SortKey::Name => {
                (a.name.to_lowercase(), &a.email).cmp(&(b.name.to_lowercase(), &b.email))
            }
            SortKey::Email => a.email.cmp(&b.email),
            SortKey::Created => (a.created_secs, &a.email).cmp(&(b.created_secs, &b.email)),
        };
        if query.descending {
            order.reverse()
        } else {
            order
        }
    });
    let total = matching.len();
    let limit = query.limit.clamp(1, MAX_PAGE);
    let items = matching
        .into_iter()
        .skip(query.offset)
        .take(limit)
        .collect();
    Ok(UserPage { items, total })
}

/// How many enabled users hold Company Admin, other than `except`.
fn other_enabled_admins(tx: &WriteTx<'_>, except: &str) -> Result<usize, StoreError> {
    Ok(all_users(tx.scan_prefix(&USERS, b"", MAX_USERS)?)
        .iter()
        .filter(|u| u.id != except && !u.disabled && u.roles.contains(&Role::CompanyAdmin))
        .count())
}

fn load(tx: &WriteTx<'_>, id: &str) -> Result<User, StoreError> {
    tx.get_json(&USERS, id.as_bytes())?
        .ok_or_else(|| StoreError::NotFound(format!("no user with id {id}")))
}

/// Whether every role may be assigned in the stored mode; `Conflict` naming the first that
/// may not.
fn check_assignable(tx: &WriteTx<'_>, roles: &[Role]) -> Result<(), StoreError> {
    let allowed = settings::assignable_roles(settings::rbac_enabled_in_write(tx)?);
    match roles.iter().find(|r| !allowed.contains(r)) {
        Some(r) => Err(StoreError::Conflict(format!(
            "the role {} cannot be assigned in non-RBAC mode; only Developer and Company Admin exist there",
            r.label()
        ))),
        None => Ok(()),
    }
}

/// Sorted, deduplicated roles; none chosen means Developer (`ROLES.md`: a new user gets
/// Developer).
pub fn normalize_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        roles.push(Role::Developer);
    }
    roles
}

/// Creates a user. With `activation_key` (the SHA-256 of a token the caller made) the user
/// gets an activation link instead of a password; answers the link's expiry then.
pub fn create(
    tx: &mut WriteTx<'_>,
    new: &NewUser,
    activation_key: Option<[u8; 32]>,
    acting: &Acting,
) -> Result<(User, Option<i64>), StoreError> {
    let mut new = new.clone();
    new.roles = normalize_roles(new.roles);
    check_assignable(tx, &new.roles)?;
    let user = users::create(tx, &new, acting.now_ms.div_euclid(1000))?;
    let expires = match activation_key {
        Some(key) => Some(activation::issue(tx, &user.id, key, acting.now_ms)?),
        None => None,
    };
    let via = if expires.is_some() {
        "activation link"
    } else {
        "password"
    };
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "user.create",
            &user.id,
            json!({"email": user.email, "roles": user.roles, "via": via}),
        ),
    )?;
    Ok((user, expires))
}

/// Replaces a user's roles; refuses to take Company Admin from the last enabled one.
pub fn set_roles(
    tx: &mut WriteTx<'_>,
    id: &str,
    roles: Vec<Role>,
    acting: &Acting,
) -> Result<User, StoreError> {
    let roles = normalize_roles(roles);
    check_assignable(tx, &roles)?;
    let mut user = load(tx, id)?;
    let before = user.roles.clone();
    let loses_admin = before.contains(&Role::CompanyAdmin) && !roles.contains(&Role::CompanyAdmin);
    if loses_admin && !user.disabled && other_enabled_admins(tx, id)? == 0 {
        return Err(StoreError::Conflict(
            "this is the last enabled Company Admin: make someone else Company Admin first".into(),
        ));
    }
    user.roles = roles;
    tx.put_json(&USERS, id.as_bytes(), &user)?;
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "user.roles_change",
            id,
            json!({"email": user.email, "before": before, "after": user.roles}),
        ),
    )?;
    Ok(user)
}

/// The refusal shared by disable and delete, or `Ok` when the change keeps the appliance
/// administrable.
fn check_removable(
    tx: &WriteTx<'_>,
    user: &User,
    acting: &Acting,
    verb: &str,
) -> Result<(), StoreError> {
    if user.id == acting.user_id {
        return Err(StoreError::Conflict(format!(
            "you cannot {verb} your own account; ask another Company Admin"
        )));
    }
    if !user.disabled
        && user.roles.contains(&Role::CompanyAdmin)
        && other_enabled_admins(tx, &user.id)? == 0
    {
        return Err(StoreError::Conflict(format!(
            "you cannot {verb} the last enabled Company Admin"
        )));
    }
    Ok(())
}

/// Enables or disables a user. The caller ends a disabled user's sessions once this is
/// durable (sessions live in memory, outside the transaction).
pub fn set_enabled(
    tx: &mut WriteTx<'_>,
    id: &str,
    enabled: bool,
    acting: &Acting,
) -> Result<User, StoreError> {
    let mut user = load(tx, id)?;
    if !enabled {
        check_removable(tx, &user, acting, "disable")?;
    }
    let before = user.disabled;
    user.disabled = !enabled;
    tx.put_json(&USERS, id.as_bytes(), &user)?;
    let kind = if enabled {
        "user.enable"
    } else {
        "user.disable"
    };
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            kind,
            id,
            json!({"email": user.email, "was_disabled": before, "roles": user.roles}),
        ),
    )?;
    Ok(user)
}

/// Deletes a user with their e-mail index entry and activation link. The caller ends their
/// sessions once this is durable.
pub fn delete(tx: &mut WriteTx<'_>, id: &str, acting: &Acting) -> Result<User, StoreError> {
    let user = load(tx, id)?;
    check_removable(tx, &user, acting, "delete")?;
    tx.delete(&USERS, id.as_bytes())?;
    tx.delete(&USER_EMAILS, user.email.as_bytes())?;
    activation::revoke_for(tx, id)?;
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "user.delete",
            id,
            json!({"email": user.email, "roles": user.roles}),
        ),
    )?;
    Ok(user)
}

/// A new activation link for a user who has not activated yet (the old one stops working);
/// answers its expiry.
pub fn new_activation_link(
    tx: &mut WriteTx<'_>,
    id: &str,
    key: [u8; 32],
    acting: &Acting,
) -> Result<(User, i64), StoreError> {
    let user = load(tx, id)?;
    if user.password_hash.is_some() {
        return Err(StoreError::Conflict(
            "this user has already activated their account".into(),
        ));
    }
    let expires = activation::issue(tx, id, key, acting.now_ms)?;
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "user.activation_link",
            id,
            json!({"email": user.email, "expires_ms": expires}),
        ),
    )?;
    Ok((user, expires))
}

/// Switches the RBAC mode; answers whether anything changed.
pub fn set_rbac_mode(tx: &mut WriteTx<'_>, on: bool, acting: &Acting) -> Result<bool, StoreError> {
    let before = settings::rbac_enabled_in_write(tx)?;
    if before == on {
        return Ok(false);
    }
    settings::set_rbac_enabled(tx, on)?;
    let mode = |on: bool| if on { "rbac" } else { "non-rbac" };
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "settings.rbac_mode",
            "rbac_mode",
            json!({"before": mode(before), "after": mode(on)}),
        ),
    )?;
    Ok(true)
}
