//! The one error type the HTTP layer answers with. Domain errors convert into it here; it is
//! turned into an HTML page or the JSON error of `INTERFACES.md` in exactly one place
//! (`http::respond`). Users see a clear sentence and, for internal errors, an id that is also
//! in the log next to the detail.

use crate::agents::sources::SourceError;
use crate::agents::tags::TagError;
use crate::agents::view::AgentError;
use crate::iam::IamError;
use crate::iam::grants::GrantError;
use crate::iam::groups::GroupError;
use crate::iam::pools::PoolError;
use crate::store::StoreError;

/// An answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 400: a field failed validation.
    #[error("{field}: {message}")]
    Invalid {
        /// The field or property.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// 401: not signed in / no valid API key.
    #[error("sign in to continue")]
    Unauthorized,
    /// 403: signed in, but the roles do not allow it (or a CSRF check failed).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such page or object (also for objects outside the caller's scope).
    #[error("there is nothing at this address")]
    NotFound,
    /// 405: the path exists, the method does not.
    #[error("this address does not accept {0} requests")]
    MethodNotAllowed(String),
    /// 408: the client was too slow to send its request.
    #[error("the request took too long to arrive")]
    Timeout,
    /// 409: conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is over the limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 429: slow down.
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// 503: not ready or shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: something broke on our side; `id` is in the log with the detail.
    #[error("an internal error occurred (error id {id})")]
    Internal {
        /// Correlates the answer with the log line.
        id: String,
    },
}

impl Error {
    /// Logs `detail` under a fresh error id and returns the 500 answer carrying that id.
    pub fn internal(detail: impl std::fmt::Display) -> Error {
        let id = crate::iam::tokens::hex(&crate::iam::tokens::random_bytes::<6>());
        tracing::error!(error_id = %id, "internal error: {detail}");
        Error::Internal { id }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) | Error::Invalid { .. } => 400,
            Error::Unauthorized => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::Timeout => 408,
            Error::Conflict(_) => 409,
            Error::PayloadTooLarge { .. } => 413,
            Error::TooManyRequests { .. } => 429,
            Error::Unavailable(_) => 503,
            Error::Internal { .. } => 500,
        }
    }

    /// The machine-readable code of the JSON error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Invalid { .. } => "validation_failed",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound => "not_found",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Timeout => "request_timeout",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::TooManyRequests { .. } => "too_many_requests",
            Error::Unavailable(_) => "unavailable",
            Error::Internal { .. } => "internal_error",
        }
    }

    /// A short title for the HTML error page.
    pub fn title(&self) -> &'static str {
        match self {
            Error::BadRequest(_) | Error::Invalid { .. } => "Bad request",
            Error::Unauthorized => "Sign-in required",
            Error::Forbidden(_) => "Not allowed",
            Error::NotFound => "Not found",
            Error::MethodNotAllowed(_) => "Method not allowed",
            Error::Timeout => "Request timed out",
            Error::Conflict(_) => "Conflict",
            Error::PayloadTooLarge { .. } => "Too large",
            Error::TooManyRequests { .. } => "Too many attempts",
            Error::Unavailable(_) => "Unavailable",
            Error::Internal { .. } => "Something went wrong",
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::NotFound(_) => Error::NotFound,
            StoreError::QueueFull => {
                Error::Unavailable("the appliance is busy writing; try again in a moment".into())
            }
            StoreError::Closed => Error::Unavailable("the appliance is shutting down".into()),
            other => Error::internal(other),
        }
    }
}

impl From<IamError> for Error {
    fn from(e: IamError) -> Self {
        match e {
            IamError::BadCredentials => Error::Forbidden(e.to_string()),
            IamError::Invalid { field, message } => Error::Invalid { field, message },
            IamError::Conflict(m) => Error::Conflict(m),
            IamError::NotFound(_) => Error::NotFound,
            IamError::Throttled { retry_after_secs } => Error::TooManyRequests { retry_after_secs },
            IamError::SetupLinkInvalid => Error::NotFound,
            IamError::Store(s) => s.into(),
            IamError::Hash(m) => Error::internal(m),
        }
    }
}

impl From<PoolError> for Error {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Invalid { field, message } => Error::Invalid { field, message },
            PoolError::Conflict(m) => Error::Conflict(m),
            PoolError::NotFound => Error::NotFound,
            PoolError::NotAllowed(m) => Error::Forbidden(m),
            PoolError::Store(s) => s.into(),
        }
    }
}

impl From<GroupError> for Error {
    fn from(e: GroupError) -> Self {
        match e {
            GroupError::Invalid { field, message } => Error::Invalid { field, message },
            GroupError::Conflict(m) => Error::Conflict(m),
            GroupError::NotFound => Error::NotFound,
            GroupError::NotAllowed(m) => Error::Forbidden(m),
            GroupError::Store(s) => s.into(),
        }
    }
}

impl From<GrantError> for Error {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Invalid { field, message } => Error::Invalid { field, message },
            GrantError::Conflict(m) => Error::Conflict(m),
            GrantError::NotFound => Error::NotFound,
            GrantError::NotAllowed(m) => Error::Forbidden(m),
            GrantError::Store(s) => s.into(),
        }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Invalid { field, message } => Error::Invalid { field, message },
            SourceError::Conflict(m) => Error::Conflict(m),
            SourceError::NotFound => Error::NotFound,
            SourceError::Store(s) => s.into(),
        }
    }
}

impl From<TagError> for Error {
    fn from(e: TagError) -> Self {
        match e {
            TagError::InUse(m) => Error::Conflict(m),
            TagError::NotFound => Error::NotFound,
            TagError::Store(s) => s.into(),
        }
    }
}

impl From<AgentError> for Error {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::NotFound => Error::NotFound,
            AgentError::NotConnected(m) => Error::Conflict(m),
            AgentError::Store(s) => s.into(),
        }
    }
}
