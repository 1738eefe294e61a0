//! Building answers: security headers on every response, HTML and JSON bodies, redirects,
//! cookies, and the one place where an [`Error`] becomes an HTTP answer.

use bytes::Bytes;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use maud::Markup;
use tokio::sync::mpsc;

use crate::error::Error;

/// The body type of every answer: a buffered page or a stream (exports).
pub type Body = BoxBody<Bytes, Infallible>;

/// A body fed chunk by chunk through a bounded channel, so an export of any size is sent
/// without holding it in memory; the producer waits while the client is slow.
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

/// A streamed answer and the sender that feeds it (chunks queue at most `bound` deep).
pub fn stream(
    content_type: &'static str,
    download_name: &str,
    bound: usize,
) -> (Response<Body>, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(bound.max(1));
    let mut r = Response::new(ChannelBody { rx }.boxed());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{download_name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    (r, tx)
}

/// A server-sent-events answer (`text/event-stream`) and the sender that feeds it, events
/// queued at most `bound` deep. Proxies are asked not to buffer it, so each event arrives as
/// it is sent.
pub fn event_stream(bound: usize) -> (Response<Body>, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel(bound.max(1));
    let mut r = Response::new(ChannelBody { rx }.boxed());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    r.headers_mut().insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    (r, tx)
}

/// The session cookie (`__Host-` prefix: Secure, Path=/, no Domain — browsers enforce it).
pub const SESSION_COOKIE: &str = "__Host-lantern";
/// The double-submit CSRF cookie of the forms shown before sign-in.
pub const PRE_CSRF_COOKIE: &str = "__Host-lantern-csrf";

/// The Content-Security-Policy of every answer: nothing but our own origin, no framing, no
/// inline script or style (the portal has none), forms post only to us.
pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                       form-action 'self'; object-src 'none'";

/// Adds the security headers that every answer carries.
pub fn add_security_headers(headers: &mut HeaderMap) {
    let fixed: [(HeaderName, &'static str); 8] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // No referrer at all: setup links carry a one-time token in their query.
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

fn with_body(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// An answer without a body (`101 Switching Protocols`).
pub fn empty() -> Body {
    Full::new(Bytes::new()).boxed()
}

/// An HTML page.
pub fn html(status: u16, markup: Markup) -> Response<Body> {
    with_body(status, "text/html; charset=utf-8", markup.into_string())
}

/// A JSON document.
pub fn json(status: u16, value: &serde_json::Value) -> Response<Body> {
    with_body(status, "application/json", value.to_string())
}

/// Bytes with a content type (assets).
pub fn bytes(content_type: &'static str, body: &'static [u8]) -> Response<Body> {
    with_body(200, content_type, Bytes::from_static(body))
}

/// A whole body of bytes made at run time (exports).
pub fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

/// `303 See Other` to a local path (after a form post).
pub fn redirect(location: &str) -> Response<Body> {
    let mut r = with_body(303, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Adds a `Set-Cookie` for a `__Host-` cookie; `max_age_secs == 0` deletes it.
pub fn set_cookie(r: &mut Response<Body>, name: &str, value: &str, max_age_secs: u64) {
    let cookie = if max_age_secs == 0 {
        format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
    } else {
        format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}")
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The JSON error of `INTERFACES.md`.
pub fn json_error(err: &Error) -> Response<Body> {
    let body = serde_json::json!({
        "error": { "code": err.code(), "message": err.to_string() }
    });
    let mut r = json(err.status(), &body);
    add_retry_after(err, &mut r);
    if err.status() == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"lantern\""),
        );
    }
    r
}

/// Adds `Retry-After` to 429 answers.
pub fn add_retry_after(err: &Error, r: &mut Response<Body>) {
    if let Error::TooManyRequests { retry_after_secs } = err
        && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// A local path safe to redirect to after sign-in (no scheme, no host, no `//`).
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.contains("://")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next(Some("/profile")), Some("/profile"));
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn every_answer_gets_the_headers() {
        let mut r = json_error(&Error::TooManyRequests {
            retry_after_secs: 7,
        });
        add_security_headers(r.headers_mut());
        let h = r.headers();
        assert_eq!(h.get(header::RETRY_AFTER).unwrap(), "7");
        assert!(
            h.get(header::CONTENT_SECURITY_POLICY)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}
