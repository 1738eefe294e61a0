//! Identity and access: users, passwords, sessions, the first-admin setup link, activation
//! links, user administration, the RBAC mode, API keys, sign-in throttling, the
//! role/permission matrix, agent pools, access groups, temporary access, pool scope and two-step
//! sign-in (TOTP).
//! Knows nothing about HTTP; stores through [`crate::store`].

pub mod activation;
pub mod admin;
pub mod api_keys;
pub mod grants;
pub mod groups;
pub mod mfa;
pub mod passwords;
pub mod pools;
pub mod roles;
pub mod scope;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;

use crate::store::StoreError;

/// What can go wrong in identity and access; the HTTP layer maps each to an answer.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// The e-mail/password pair does not match (deliberately vague).
    #[error("the e-mail address or password is not correct")]
    BadCredentials,
    /// A field failed validation: the field name and a sentence.
    #[error("{field}: {message}")]
    Invalid {
        /// The form field or API property.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The object already exists (e.g. a user with this e-mail).
    #[error("{0}")]
    Conflict(String),
    /// No such object.
    #[error("{0}")]
    NotFound(String),
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// The setup link was used, replaced or has expired.
    #[error("this setup link was already used or has expired")]
    SetupLinkInvalid,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Password hashing failed internally.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl IamError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        IamError::Invalid {
            field,
            message: message.into(),
        }
    }
}
