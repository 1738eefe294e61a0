//! User accounts: the stored record, e-mail normalisation and the table operations that the
//! sign-in, setup and profile flows run inside store transactions.

use serde::{Deserialize, Serialize};

use super::IamError;
use super::roles::Role;
use crate::store::{ReadTx, StoreError, Table, WriteTx};

/// Users by id.
pub const USERS: Table = Table::new("users_v1");
/// User ids by normalised e-mail address (the unique key).
pub const USER_EMAILS: Table = Table::new("user_emails_v1");

/// Longest accepted e-mail address (RFC 5321 path limit).
const MAX_EMAIL: usize = 254;
/// Longest accepted display name.
const MAX_NAME: usize = 100;

/// A stored user account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Random 128-bit id, hex.
    pub id: String,
    /// Normalised (trimmed, lowercase) e-mail address; unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The roles the user holds; they add up.
    pub roles: Vec<Role>,
    /// argon2id PHC string; `None` while an activation link is pending.
    pub password_hash: Option<String>,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// Unix seconds of creation.
    pub created_secs: i64,
    /// Unix seconds of the last password change.
    pub password_changed_secs: i64,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail as typed (normalised on creation).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Roles to hold.
    pub roles: Vec<Role>,
    /// Password hash, already computed outside the write transaction.
    pub password_hash: Option<String>,
}

/// Trims and lowercases an e-mail address and checks its shape.
pub fn normalize_email(raw: &str) -> Result<String, IamError> {
    let email = raw.trim().to_lowercase();
    let bad = |m: &str| Err(IamError::invalid("email", m));
    if email.is_empty() {
        return bad("enter an e-mail address");
    }
    if email.len() > MAX_EMAIL {
        return bad("the e-mail address is too long");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return bad("an e-mail address looks like name@example.org");
    };
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return bad("an e-mail address looks like name@example.org");
    }
    Ok(email)
}

/// Trims a display name and checks its length; an empty name becomes the e-mail's local part.
pub fn normalize_name(raw: &str, email: &str) -> Result<String, IamError> {
    let name = raw.trim();
    if name.chars().count() > MAX_NAME {
        return Err(IamError::invalid(
            "name",
            format!("use at most {MAX_NAME} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(IamError::invalid("name", "the name has control characters"));
    }
    if name.is_empty() {
        return Ok(email.split('@').next().unwrap_or(email).to_string());
    }
    Ok(name.to_string())
}

/// Creates a user inside a write transaction and adds them to the Default access group;
/// `Conflict` if the e-mail is taken.
pub fn create(tx: &mut WriteTx<'_>, new: &NewUser, now_secs: i64) -> Result<User, StoreError> {
    let email = normalize_email(&new.email).map_err(|e| StoreError::Conflict(e.to_string()))?;
    if tx.get(&USER_EMAILS, email.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "a user with the e-mail address {email} already exists"
        )));
    }
    let name =
        normalize_name(&new.name, &email).map_err(|e| StoreError::Conflict(e.to_string()))?;
    let mut roles = new.roles.clone();
    roles.sort();
    roles.dedup();
    let user = User {
        id: super::tokens::random_id(),
        email,
        name,
        roles,
        password_hash: new.password_hash.clone(),
        disabled: false,
        created_secs: now_secs,
        password_changed_secs: now_secs,
    };
    tx.put_json(&USERS, user.id.as_bytes(), &user)?;
    tx.put(&USER_EMAILS, user.email.as_bytes(), user.id.as_bytes())?;
    super::groups::add_to_default(tx, &user.id)?;
    Ok(user)
}

/// Replaces a user's password hash.
pub fn set_password(
    tx: &mut WriteTx<'_>,
    id: &str,
    password_hash: &str,
    now_secs: i64,
) -> Result<User, StoreError> {
    let mut user: User = tx
        .get_json(&USERS, id.as_bytes())?
        .ok_or_else(|| StoreError::NotFound(format!("no user with id {id}")))?;
    user.password_hash = Some(password_hash.to_string());
    user.password_changed_secs = now_secs;
    tx.put_json(&USERS, id.as_bytes(), &user)?;
    Ok(user)
}

/// The user with this id.
pub fn get(tx: &ReadTx, id: &str) -> Result<Option<User>, StoreError> {
    tx.get_json(&USERS, id.as_bytes())
}

/// The user with this (normalised) e-mail address.
pub fn find_by_email(tx: &ReadTx, email: &str) -> Result<Option<User>, StoreError> {
    match tx.get(&USER_EMAILS, email.as_bytes())? {
        Some(id) => {
            let id = String::from_utf8_lossy(&id).into_owned();
            get(tx, &id)
        }
        None => Ok(None),
    }
}

/// How many users exist.
pub fn count(tx: &ReadTx) -> Result<u64, StoreError> {
    tx.len(&USERS)
}

/// Counts users inside a write transaction (used to keep "first admin" atomic).
pub fn count_in_write(tx: &WriteTx<'_>) -> Result<u64, StoreError> {
    tx.len(&USERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Alice@Example.ORG ").unwrap(),
            "alice@example.org"
        );
        for bad in [
            "",
            "alice",
            "@example.org",
            "alice@",
            "a b@c.d",
            "a@b@c",
            "a@.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_name("  ", "bob@x.y").unwrap(), "bob");
        assert!(normalize_name(&"n".repeat(101), "bob@x.y").is_err());
    }
}
