//! User administration (Settings › Identity and Access Management › Users): listing with
//! search and role filter, creating, changing roles, enabling, disabling and deleting users,
//! new activation links, resetting a user's two-step sign-in and the RBAC mode switch.
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
    /// The request's source address; empty for the command line on the appliance host
    /// (the record then has no source, like the CLI's other records).
    pub source: String,
    /// The time of the change, unix ms (from the injected clock).
    pub now_ms: i64,
}

impl Acting {
    fn event(&self, kind: &str, target: &str, details: serde_json::Value) -> AuditEvent {
        let event = AuditEvent::new(kind, self.actor.clone(), Outcome::Success)
            .target(target)
            .details(details);
        if self.source.is_empty() {
            event
        } else {
            event.source(&self.source)
        }
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
    // ROLES.md: disabling ends the user's API keys at once (re-enabling does not revive them).
    let revoked_keys = if enabled {
        0
    } else {
        super::api_keys::revoke_all_of(tx, id)?
    };
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
            json!({"email": user.email, "was_disabled": before, "roles": user.roles, "api_keys_revoked": revoked_keys}),
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
    let revoked_keys = super::api_keys::revoke_all_of(tx, id)?;
    super::groups::remove_user_everywhere(tx, id)?;
    super::mfa::remove(tx, id)?;
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "user.delete",
            id,
            json!({"email": user.email, "roles": user.roles, "api_keys_revoked": revoked_keys}),
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

/// Resets a user's two-step sign-in, for someone who lost both their authenticator and their
/// recovery codes: the TOTP secret and the recovery codes are removed, audited as
/// `mfa.reset`. The caller ends the user's sessions once this is durable (sessions live in
/// memory, outside the transaction); if the two-step policy covers the user, their next
/// sign-in leads straight to setting it up again (`mfa::must_enrol`).
///
/// Refused with `Conflict` when the user has no two-step sign-in turned on (nothing to
/// reset), and for the administrator's own account: turning one's own off asks for the
/// password and a current code on Profile, which a borrowed session must not get around.
pub fn reset_mfa(tx: &mut WriteTx<'_>, id: &str, acting: &Acting) -> Result<User, StoreError> {
    let user = load(tx, id)?;
    if user.id == acting.user_id {
        return Err(StoreError::Conflict(
            "you cannot reset your own two-step sign-in here; turn it off on your Profile, or ask another Company Admin".into(),
        ));
    }
    let Some(record) = super::mfa::get(tx, id)?.filter(|r| r.enabled) else {
        return Err(StoreError::Conflict(format!(
            "{} has no two-step sign-in to reset",
            user.email
        )));
    };
    super::mfa::remove(tx, id)?;
    audit::append(
        tx,
        acting.now_ms,
        acting.event(
            "mfa.reset",
            id,
            json!({"email": user.email, "recovery_codes_left": record.recovery.len()}),
        ),
    )?;
    Ok(user)
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

#[cfg(test)]
// Tests may fail loudly; the denies exist for production paths.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::iam::tokens::digest;
    use crate::store::{Store, StoreOptions};

    const NOW_MS: i64 = 1_800_000_000_000;

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("store.redb"), StoreOptions::default()).unwrap()
    }

    fn acting(user_id: &str) -> Acting {
        Acting {
            actor: Actor::System,
            user_id: user_id.into(),
            source: "127.0.0.1".into(),
            now_ms: NOW_MS,
        }
    }

    fn add(store: &Store, email: &str, roles: &[Role], link: Option<&str>) -> User {
        let new = NewUser {
            email: email.into(),
            name: String::new(),
            roles: roles.to_vec(),
            password_hash: link.is_none().then(|| "hash".to_string()),
        };
        let key = link.map(digest);
        store
            .write_blocking(move |tx| create(tx, &new, key, &acting("creator")))
            .unwrap()
            .0
    }

    #[test]
    fn the_last_enabled_admin_stays() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let a = add(&s, "a@x.org", &[Role::CompanyAdmin], None);
        let b = add(&s, "b@x.org", &[Role::CompanyAdmin, Role::Security], None);
        let (a_id, b_id) = (a.id.clone(), b.id.clone());
        let refuse_self = s.write_blocking({
            let a_id = a_id.clone();
            move |tx| set_enabled(tx, &a_id, false, &acting(&a_id))
        });
        assert!(matches!(refuse_self, Err(StoreError::Conflict(m)) if m.contains("your own")));
        // b may go while a remains; then a is the last one.
        s.write_blocking({
            let (a_id, b_id) = (a_id.clone(), b_id.clone());
            move |tx| set_enabled(tx, &b_id, false, &acting(&a_id))
        })
        .unwrap();
        for result in [
            s.write_blocking({
                let a_id = a_id.clone();
                move |tx| set_roles(tx, &a_id, vec![Role::Developer], &acting("someone"))
            })
            .map(|_| ()),
            s.write_blocking({
                let a_id = a_id.clone();
                move |tx| delete(tx, &a_id, &acting("someone")).map(|_| ())
            }),
        ] {
            assert!(matches!(result, Err(StoreError::Conflict(m)) if m.contains("last enabled")));
        }
        // Demoting a disabled admin is fine.
        let b = s
            .write_blocking(move |tx| set_roles(tx, &b_id, vec![], &acting(&a_id)))
            .unwrap();
        assert_eq!(
            b.roles,
            vec![Role::Developer],
            "none chosen means Developer"
        );
    }

    #[test]
    fn delete_frees_the_address_and_revokes_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        add(&s, "a@x.org", &[Role::CompanyAdmin], None);
        let p = add(&s, "p@x.org", &[], Some("tok"));
        let id = p.id.clone();
        s.write_blocking(move |tx| delete(tx, &id, &acting("admin")).map(|_| ()))
            .unwrap();
        assert!(
            s.read_blocking(|tx| activation::lookup(tx, "tok", NOW_MS))
                .unwrap()
                .is_none()
        );
        let again = add(&s, "P@x.org", &[], None);
        assert_ne!(again.id, p.id);
    }

    #[test]
    fn activation_links_work_once_until_they_expire_and_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let p = add(&s, "p@x.org", &[], Some("first"));
        let lookup = |token: &'static str, at: i64| {
            s.read_blocking(move |tx| activation::lookup(tx, token, at))
                .unwrap()
                .map(|u| u.id)
        };
        let expiry = NOW_MS + activation::ACTIVATION_TTL_MS;
        assert_eq!(lookup("first", expiry - 1), Some(p.id.clone()));
        assert_eq!(lookup("first", expiry), None, "expired at the instant");
        let id = p.id.clone();
        s.write_blocking(move |tx| new_activation_link(tx, &id, digest("second"), &acting("a")))
            .unwrap();
        assert_eq!(lookup("first", NOW_MS), None, "replaced");
        let used = s
            .write_blocking(|tx| activation::consume(tx, "second", "phc", NOW_MS))
            .unwrap();
        assert_eq!(used.password_hash.as_deref(), Some("phc"));
        let twice = s.write_blocking(|tx| activation::consume(tx, "second", "phc", NOW_MS));
        assert!(matches!(twice, Err(StoreError::NotFound(_))));
        let id = p.id.clone();
        let renew = s.write_blocking(move |tx| {
            new_activation_link(tx, &id, digest("third"), &acting("a")).map(|_| ())
        });
        assert!(
            matches!(renew, Err(StoreError::Conflict(_))),
            "already active"
        );
    }

    #[test]
    fn resetting_two_step_sign_in_needs_one_on_and_another_admin() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        let p = add(&s, "p@x.org", &[], None);
        let id = p.id.clone();
        let reset = |by: &'static str| {
            let id = id.clone();
            s.write_blocking(move |tx| reset_mfa(tx, &id, &acting(by)).map(|_| ()))
        };
        assert!(
            matches!(reset("admin"), Err(StoreError::Conflict(m)) if m.contains("no two-step")),
            "nothing to reset"
        );
        let record = crate::iam::mfa::MfaRecord {
            secret: crate::iam::mfa::new_secret(),
            enabled: true,
            last_step: None,
            recovery: vec!["x".into(); 3],
        };
        let stored = (id.clone(), record);
        s.write_blocking(move |tx| crate::iam::mfa::put(tx, &stored.0, &stored.1))
            .unwrap();
        let own = {
            let id = id.clone();
            s.write_blocking(move |tx| reset_mfa(tx, &id, &acting(&id.clone())).map(|_| ()))
        };
        assert!(matches!(own, Err(StoreError::Conflict(m)) if m.contains("your own")));
        reset("admin").unwrap();
        let id2 = id.clone();
        assert!(
            s.read_blocking(move |tx| crate::iam::mfa::get(tx, &id2))
                .unwrap()
                .is_none()
        );
        let trail = s
            .read_blocking(|tx| tx.scan_prefix(&audit::AUDIT, b"", 100))
            .unwrap();
        let last: audit::AuditRecord = serde_json::from_slice(&trail.last().unwrap().1).unwrap();
        assert_eq!(last.event.kind, "mfa.reset");
        assert_eq!(last.event.target.as_deref(), Some(id.as_str()));
        assert_eq!(last.event.details["recovery_codes_left"], 3);
        let missing = s.write_blocking(|tx| reset_mfa(tx, "nobody", &acting("admin")).map(|_| ()));
        assert!(matches!(missing, Err(StoreError::NotFound(_))));
    }

    #[test]
    fn non_rbac_mode_refuses_other_roles_and_the_list_filters() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir);
        add(&s, "ann@x.org", &[Role::Appsec], None);
        add(&s, "bob@corp.org", &[Role::Developer], None);
        let changed = s
            .write_blocking(|tx| set_rbac_mode(tx, false, &acting("a")))
            .unwrap();
        assert!(changed);
        assert!(!s.read_blocking(settings::rbac_enabled).unwrap());
        let refused = s.write_blocking(|tx| {
            let new = NewUser {
                email: "c@x.org".into(),
                name: String::new(),
                roles: vec![Role::Security],
                password_hash: None,
            };
            create(tx, &new, None, &acting("a")).map(|_| ())
        });
        assert!(matches!(refused, Err(StoreError::Conflict(m)) if m.contains("non-RBAC")));
        let page = |q: &str, role: Option<Role>| {
            let query = ListQuery {
                q: q.into(),
                role,
                limit: 10,
                ..Default::default()
            };
            s.read_blocking(move |tx| list(tx, &query)).unwrap()
        };
        assert_eq!(page("", None).total, 2);
        assert_eq!(page("CORP", None).items[0].email, "bob@corp.org");
        assert_eq!(page("", Some(Role::Appsec)).total, 1);
        assert_eq!(page("nobody", None).total, 0);
    }
}
