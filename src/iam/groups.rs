//! Access groups: which users may debug on which agent pools.
//!
//! Owns the table `access_groups_v1` and the **Default** group, which exists from the first
//! start, holds the Default pool and receives every new user ([`add_to_default`], called by
//! `users::create`). A Company Admin manages every group; a Group Admin only the groups that
//! list them as an admin — checked here, in the domain, not only by the page.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::pools::{self, DEFAULT_POOL_ID};
use super::roles::{self, Need, Permission, Role};
use super::scope;
use super::tokens;
use super::users::{self, User};
use crate::store::{Reads, StoreError, Table, WriteTx};

/// Groups by id.
pub const ACCESS_GROUPS: Table = Table::new("access_groups_v1");
/// The id of the group every new user joins.
pub const DEFAULT_GROUP_ID: &str = "default";
/// Longest group name.
pub const MAX_NAME: usize = 64;
/// Most groups read by one listing: bounds every loop over the table.
pub const MAX_GROUPS: usize = 1000;
/// Most members (and, separately, admins) of one group.
pub const MAX_MEMBERS: usize = 5000;

/// A stored access group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Group {
    /// `default` for the Default group, else a random 128-bit hex id.
    pub id: String,
    /// Unique name (compared without regard to case).
    pub name: String,
    /// User ids of the members.
    pub members: BTreeSet<String>,
    /// User ids of the Group Admins who manage this group.
    pub admins: BTreeSet<String>,
    /// Ids of the agent pools the members may act on.
    pub pools: BTreeSet<String>,
    /// Unix milliseconds of creation; `None` when the Default group had to be made lazily by
    /// a user creation that had no clock at hand.
    pub created_ms: Option<i64>,
}

impl Group {
    /// Whether this is the Default group.
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_GROUP_ID
    }
}

/// Why a group change was refused.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// A field failed validation (400).
    #[error("{field}: {message}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Conflicts with what is stored: a taken name, the Default group (409).
    #[error("{0}")]
    Conflict(String),
    /// No such group (404).
    #[error("there is no such access group")]
    NotFound,
    /// The actor may not change this group (403).
    #[error("{0}")]
    NotAllowed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A group's fields as submitted.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    /// Name as typed.
    pub name: String,
    /// Member user ids.
    pub members: BTreeSet<String>,
    /// Group Admin user ids.
    pub admins: BTreeSet<String>,
    /// Pool ids.
    pub pools: BTreeSet<String>,
}

fn default_group(created_ms: Option<i64>) -> Group {
    Group {
        id: DEFAULT_GROUP_ID.to_string(),
        name: "Default".to_string(),
        members: BTreeSet::new(),
        admins: BTreeSet::new(),
        pools: BTreeSet::from([DEFAULT_POOL_ID.to_string()]),
        created_ms,
    }
}

/// Creates the Default group (with the Default pool) if it is missing. Idempotent.
pub fn ensure_default(tx: &mut WriteTx<'_>, now_ms: i64) -> Result<Group, StoreError> {
    if let Some(g) = tx.get_json::<Group>(&ACCESS_GROUPS, DEFAULT_GROUP_ID.as_bytes())? {
        return Ok(g);
    }
    let g = default_group(Some(now_ms));
    tx.put_json(&ACCESS_GROUPS, g.id.as_bytes(), &g)?;
    Ok(g)
}

/// Adds a user to the Default group (making the group if a store predates it). Called by
/// `users::create`, so every new user, however created, joins it.
pub fn add_to_default(tx: &mut WriteTx<'_>, user_id: &str) -> Result<(), StoreError> {
    let mut g = tx
        .get_json::<Group>(&ACCESS_GROUPS, DEFAULT_GROUP_ID.as_bytes())?
        .unwrap_or_else(|| default_group(None));
    g.members.insert(user_id.to_string());
    tx.put_json(&ACCESS_GROUPS, g.id.as_bytes(), &g)
}

/// Every group, the Default group first, then by name.
pub fn list(tx: &impl Reads) -> Result<Vec<Group>, StoreError> {
    let mut groups = tx.scan_json::<Group>(&ACCESS_GROUPS, MAX_GROUPS)?;
    groups.sort_by(|a, b| {
        (!a.is_default(), a.name.to_lowercase()).cmp(&(!b.is_default(), b.name.to_lowercase()))
    });
    Ok(groups)
}

/// The group with this id.
pub fn get(tx: &impl Reads, id: &str) -> Result<Option<Group>, StoreError> {
    tx.get_json_value(&ACCESS_GROUPS, id.as_bytes())
}

/// The groups `user_id` is a member of.
pub fn groups_of(tx: &impl Reads, user_id: &str) -> Result<Vec<Group>, StoreError> {
    Ok(list(tx)?
        .into_iter()
        .filter(|g| g.members.contains(user_id))
        .collect())
}

/// Whether `actor` may change `group`: a Company Admin always, a Group Admin only when the
/// group lists them as an admin.
pub fn may_manage(actor: &User, group: &Group) -> bool {
    roles::allows(&actor.roles, Permission::AccessGroups, Need::Administer)
        || (roles::allows(&actor.roles, Permission::AccessGroups, Need::Change)
            && group.admins.contains(&actor.id))
}

fn check_administer(actor: &User, what: &str) -> Result<(), GroupError> {
    if roles::allows(&actor.roles, Permission::AccessGroups, Need::Administer) {
        Ok(())
    } else {
        Err(GroupError::NotAllowed(format!(
            "only a Company Admin may {what} access groups"
        )))
    }
}

/// Checks the name, the sizes and that every user and pool exists.
fn check_input(
    tx: &impl Reads,
    input: &GroupInput,
    except_id: Option<&str>,
) -> Result<String, GroupError> {
    let invalid = |field, m: String| GroupError::Invalid { field, message: m };
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "enter a name".into()));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("use at most {MAX_NAME} characters on one line"),
        ));
    }
    let lower = name.to_lowercase();
    if list(tx)?
        .iter()
        .any(|g| g.name.to_lowercase() == lower && Some(g.id.as_str()) != except_id)
    {
        return Err(GroupError::Conflict(format!(
            "an access group named {name} already exists"
        )));
    }
    for (field, ids) in [("members", &input.members), ("admins", &input.admins)] {
        if ids.len() > MAX_MEMBERS {
            return Err(invalid(field, format!("at most {MAX_MEMBERS} users")));
        }
        for id in ids {
            match tx.get_json_value::<User>(&users::USERS, id.as_bytes())? {
                None => return Err(invalid(field, format!("there is no user with id {id}"))),
                // Administering a group is what the Group Admin role is for; listing anyone
                // else would give them nothing but a misleading entry.
                Some(u) if field == "admins" && !u.roles.contains(&Role::GroupAdmin) => {
                    return Err(invalid(
                        field,
                        format!("{} does not hold the Group Admin role", u.email),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if input.pools.len() > pools::MAX_POOLS {
        return Err(invalid(
            "pools",
            format!("at most {} pools", pools::MAX_POOLS),
        ));
    }
    for id in &input.pools {
        if pools::get(tx, id)?.is_none() {
            return Err(invalid(
                "pools",
                format!("there is no agent pool with id {id}"),
            ));
        }
    }
    Ok(name.to_string())
}

/// Creates a group (Company Admins only).
pub fn create(
    tx: &mut WriteTx<'_>,
    actor: &User,
    input: &GroupInput,
    now_ms: i64,
) -> Result<Group, GroupError> {
    check_administer(actor, "create")?;
    let name = check_input(tx, input, None)?;
    if tx.len(&ACCESS_GROUPS)? >= MAX_GROUPS as u64 {
        return Err(GroupError::Conflict(format!(
            "there are already {MAX_GROUPS} access groups"
        )));
    }
    let group = Group {
        id: tokens::random_id(),
        name,
        members: input.members.clone(),
        admins: input.admins.clone(),
        pools: input.pools.clone(),
        created_ms: Some(now_ms),
    };
    tx.put_json(&ACCESS_GROUPS, group.id.as_bytes(), &group)?;
    Ok(group)
}

/// Changes a group. A Group Admin may change the members and pools of a group they
/// administer, and may add only pools that are already in their own pool scope (so nobody
/// widens their reach by editing a group); the name and the admins stay with Company Admins.
/// The Default group keeps its name.
pub fn update(
    tx: &mut WriteTx<'_>,
    actor: &User,
    id: &str,
    input: &GroupInput,
    now_ms: i64,
) -> Result<Group, GroupError> {
    let mut group = get(tx, id)?.ok_or(GroupError::NotFound)?;
    if !may_manage(actor, &group) {
        return Err(GroupError::NotAllowed(
            "you may change only the access groups you administer".into(),
        ));
    }
    let company_admin = roles::allows(&actor.roles, Permission::AccessGroups, Need::Administer);
    let mut input = input.clone();
    if !company_admin {
        if input.name.trim() != group.name || input.admins != group.admins {
            return Err(GroupError::NotAllowed(
                "only a Company Admin may rename a group or change its admins".into(),
            ));
        }
        let reach = scope::pool_scope(tx, actor, now_ms)?;
        if let Some(p) = input
            .pools
            .iter()
            .find(|p| !group.pools.contains(*p) && !reach.contains(p))
        {
            return Err(GroupError::Invalid {
                field: "pools",
                message: format!("the pool {p} is not in your pool scope"),
            });
        }
    }
    if group.is_default() && input.name.trim() != group.name {
        return Err(GroupError::Invalid {
            field: "name",
            message: "the Default group keeps its name".into(),
        });
    }
    let name = check_input(tx, &input, Some(&group.id))?;
    input.name = name;
    group.name = input.name;
    group.members = input.members;
    group.admins = input.admins;
    group.pools = input.pools;
    tx.put_json(&ACCESS_GROUPS, group.id.as_bytes(), &group)?;
    Ok(group)
}

/// Deletes a group (Company Admins only; never the Default group).
pub fn delete(tx: &mut WriteTx<'_>, actor: &User, id: &str) -> Result<Group, GroupError> {
    check_administer(actor, "delete")?;
    let group = get(tx, id)?.ok_or(GroupError::NotFound)?;
    if group.is_default() {
        return Err(GroupError::Conflict(
            "the Default group cannot be deleted".into(),
        ));
    }
    tx.delete(&ACCESS_GROUPS, group.id.as_bytes())?;
    Ok(group)
}

/// Takes a deleted user out of every group, as member and as admin. For user deletion
/// (user management) to call in the same transaction as the deletion.
pub fn remove_user_everywhere(tx: &mut WriteTx<'_>, user_id: &str) -> Result<(), StoreError> {
    for mut g in list(tx)? {
        let member = g.members.remove(user_id);
        let admin = g.admins.remove(user_id);
        if member || admin {
            tx.put_json(&ACCESS_GROUPS, g.id.as_bytes(), &g)?;
        }
    }
    Ok(())
}

/// Takes a deleted pool out of every group.
pub fn remove_pool_everywhere(tx: &mut WriteTx<'_>, pool_id: &str) -> Result<(), StoreError> {
    for mut g in list(tx)? {
        if g.pools.remove(pool_id) {
            tx.put_json(&ACCESS_GROUPS, g.id.as_bytes(), &g)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::iam::users::NewUser;
    use crate::store::{Store, StoreOptions};

    fn mk(tx: &mut WriteTx<'_>, email: &str, roles: &[Role]) -> User {
        users::create(
            tx,
            &NewUser {
                email: email.into(),
                name: String::new(),
                roles: roles.to_vec(),
                password_hash: None,
            },
            0,
        )
        .unwrap()
    }

    #[test]
    fn group_admins_manage_only_their_groups() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        s.write_blocking(|tx| {
            pools::ensure_default(tx, 0)?;
            ensure_default(tx, 0)?;
            let admin = mk(tx, "a@x.org", &[Role::CompanyAdmin]);
            let lead = mk(tx, "l@x.org", &[Role::GroupAdmin]);
            let dev = mk(tx, "d@x.org", &[Role::Developer]);
            // Every new user joined the Default group.
            let d = get(tx, DEFAULT_GROUP_ID)?.unwrap();
            assert!(d.members.contains(&dev.id) && d.members.contains(&lead.id));
            let mine = create(
                tx,
                &admin,
                &GroupInput {
                    name: "Team A".into(),
                    admins: BTreeSet::from([lead.id.clone()]),
                    ..Default::default()
                },
                0,
            )
            .unwrap();
            let other = create(
                tx,
                &admin,
                &GroupInput {
                    name: "Team B".into(),
                    ..Default::default()
                },
                0,
            )
            .unwrap();
            // Only holders of the Group Admin role administer groups.
            assert!(matches!(
                create(
                    tx,
                    &admin,
                    &GroupInput {
                        name: "Team C".into(),
                        admins: BTreeSet::from([dev.id.clone()]),
                        ..Default::default()
                    },
                    0,
                ),
                Err(GroupError::Invalid {
                    field: "admins",
                    ..
                })
            ));
            let add_dev = |g: &Group| GroupInput {
                name: g.name.clone(),
                members: BTreeSet::from([dev.id.clone()]),
                admins: g.admins.clone(),
                pools: g.pools.clone(),
            };
            assert!(update(tx, &lead, &mine.id, &add_dev(&mine), 0).is_ok());
            assert!(matches!(
                update(tx, &lead, &other.id, &add_dev(&other), 0),
                Err(GroupError::NotAllowed(_))
            ));
            assert!(matches!(
                update(tx, &dev, &mine.id, &add_dev(&mine), 0),
                Err(GroupError::NotAllowed(_))
            ));
            assert!(matches!(
                create(tx, &lead, &add_dev(&other), 0),
                Err(GroupError::NotAllowed(_))
            ));
            // The lead reaches the Default pool (Default group member) and may add it.
            let mut with_pool = add_dev(&mine);
            with_pool.pools.insert(DEFAULT_POOL_ID.into());
            assert!(update(tx, &lead, &mine.id, &with_pool, 0).is_ok());
            // ...but not a pool outside their scope.
            let (p, _) = pools::create(
                tx,
                &admin,
                &pools::NewPool {
                    name: "secret".into(),
                    description: String::new(),
                },
                0,
            )
            .unwrap();
            with_pool.pools.insert(p.id.clone());
            assert!(matches!(
                update(tx, &lead, &mine.id, &with_pool, 0),
                Err(GroupError::Invalid { field: "pools", .. })
            ));
            assert!(matches!(
                delete(tx, &admin, DEFAULT_GROUP_ID),
                Err(GroupError::Conflict(_))
            ));
            // Deleting a pool takes it out of groups.
            let mut admin_edit = add_dev(&mine);
            admin_edit.pools.insert(p.id.clone());
            update(tx, &admin, &mine.id, &admin_edit, 0).unwrap();
            pools::delete(tx, &admin, &p.id, 0).unwrap();
            assert!(!get(tx, &mine.id)?.unwrap().pools.contains(&p.id));
            // Deleting a user takes them out of groups.
            remove_user_everywhere(tx, &lead.id)?;
            assert!(!get(tx, &mine.id)?.unwrap().admins.contains(&lead.id));
            assert!(
                !get(tx, DEFAULT_GROUP_ID)?
                    .unwrap()
                    .members
                    .contains(&lead.id)
            );
            Ok(())
        })
        .unwrap();
    }
}
