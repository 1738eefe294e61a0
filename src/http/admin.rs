//! What the administration handlers (pools, groups, grants, entities) share: the audited write that
//! stores a change and its audit record in one transaction — a refusal is recorded as a
//! failure in the same way — and small form helpers.

use std::collections::BTreeSet;

use super::handler::{Call, Principal};
use crate::agents::sources::SourceError;
use crate::agents::tags::TagError;
use crate::agents::view::AgentError;
use crate::error::Error;
use crate::iam::grants::GrantError;
use crate::iam::groups::GroupError;
use crate::iam::pools::PoolError;
use crate::iam::users::User;
use crate::security::audit::{self, AuditEvent, Outcome};
use crate::store::{StoreError, WriteTx};

/// A domain refusal that may hide a store failure: the store failure aborts the transaction,
/// anything else is a refusal to record.
pub trait Refusal: std::fmt::Display + Send + 'static + Sized {
    /// `Err` with the store failure, or `Ok` with the refusal itself.
    fn refusal(self) -> Result<Self, StoreError>;
}

impl Refusal for PoolError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            PoolError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl Refusal for GroupError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            GroupError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl Refusal for GrantError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            GrantError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl Refusal for SourceError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            SourceError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl Refusal for TagError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            TagError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

impl Refusal for AgentError {
    fn refusal(self) -> Result<Self, StoreError> {
        match self {
            AgentError::Store(e) => Err(e),
            other => Ok(other),
        }
    }
}

/// A change as the audit trail describes it.
#[derive(Debug)]
pub struct Change<T> {
    /// What the handler gets back.
    pub value: T,
    /// The object's id.
    pub target: String,
    /// What changed (never a secret).
    pub details: serde_json::Value,
}

/// The signed-in user of a call (the routes using this require one).
pub fn principal(call: &Call) -> Result<&Principal, Error> {
    call.principal.as_ref().ok_or(Error::Unauthorized)
}

/// The user a change acts as: the signed-in user, or an API key's owner holding only the
/// roles the key acts with (a key's scopes narrow what its owner may do, `ROLES.md`).
pub fn acting_user(call: &Call) -> Result<User, Error> {
    match (&call.principal, &call.api_key) {
        (Some(p), _) => Ok(p.user.clone()),
        (None, Some(k)) => {
            let mut user = k.owner.clone();
            user.roles.clone_from(&k.roles);
            Ok(user)
        }
        (None, None) => Err(Error::Unauthorized),
    }
}

/// Runs `f` as the signed-in user (or API key, see [`acting_user`]) in one write transaction and appends the audit record of
/// `kind` to the same transaction: `Success` with the change's target and details, or, when
/// `f` refuses, `Failure` with `target` and the reason. The domain functions validate before
/// they write, so a refusal stores nothing but its audit record.
pub async fn audited<T, E, F>(
    call: &Call,
    kind: &'static str,
    target: impl Into<String>,
    mut f: F,
) -> Result<Result<T, E>, Error>
where
    T: Send + 'static,
    E: Refusal,
    F: FnMut(&mut WriteTx<'_>, &User, i64) -> Result<Change<T>, E> + Send + 'static,
{
    let actor_user = acting_user(call)?;
    let actor = call.actor();
    let source = call.peer.ip();
    let now_ms = call.state.clock.now_ms();
    let target: String = target.into();
    let result = call
        .state
        .store
        .write(move |tx| match f(tx, &actor_user, now_ms) {
            Ok(change) => {
                let event = AuditEvent::new(kind, actor.clone(), Outcome::Success)
                    .source(source)
                    .target(change.target.clone())
                    .details(change.details.clone());
                audit::append(tx, now_ms, event)?;
                Ok(Ok(change.value))
            }
            Err(e) => {
                let e = e.refusal()?;
                let event = AuditEvent::new(kind, actor.clone(), Outcome::Failure)
                    .source(source)
                    .target(target.clone())
                    .details(serde_json::json!({ "reason": e.to_string() }));
                audit::append(tx, now_ms, event)?;
                Ok(Err(e))
            }
        })
        .await?;
    Ok(result)
}

/// Every value of a repeated form field, as a set.
pub fn set(call: &Call, name: &str) -> BTreeSet<String> {
    call.form
        .all(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A user as choices show them: "Name <email>".
pub fn user_label(u: &User) -> String {
    format!("{} <{}>", u.name, u.email)
}
