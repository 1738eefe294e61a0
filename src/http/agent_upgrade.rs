//! `GET /agent/v1`: the HTTP half of an agent connection. The agent-pool key in
//! `Authorization: Bearer` is checked *before* the upgrade, so a wrong key never gets a
//! websocket (401, 403 for a detached pool, each with a reason); then the connection is
//! handed to `agents::gateway`, which owns everything after `101 Switching Protocols`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::respond::{self, Body};
use super::server::ConnectionPermit;
use crate::app::AppState;
use crate::iam::pools::{self, PoolKeyError};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};

/// How long hyper may take to hand over the upgraded connection.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

fn refuse(status: u16, code: &str, message: &str) -> Response<Body> {
    let mut r = respond::json(
        status,
        &serde_json::json!({"error": {"code": code, "message": message}}),
    );
    if status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"lantern-agents\""),
        );
    }
    r
}

fn header_has(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Answers an agent's upgrade request.
pub async fn upgrade(
    state: Arc<AppState>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Response<Body> {
    if !state.is_ready() {
        return refuse(
            503,
            "unavailable",
            "the appliance is starting or shutting down; retry later",
        );
    }
    if req.method() != hyper::Method::GET
        || !header_has(&req, header::UPGRADE, "websocket")
        || !header_has(&req, header::CONNECTION, "upgrade")
    {
        return refuse(
            400,
            "websocket_required",
            "this is the agent websocket: send a GET with Upgrade: websocket over HTTP/1.1",
        );
    }
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut r = refuse(
            426,
            "websocket_version",
            "only websocket version 13 is spoken here",
        );
        r.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return r;
    }
    let Some(accept) = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| derive_accept_key(k.as_bytes()))
    else {
        return refuse(400, "websocket_key_missing", "Sec-WebSocket-Key is missing");
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string());
    let Some(key) = presented else {
        return refuse(
            401,
            "unauthorized",
            "send the agent-pool key as Authorization: Bearer <key>",
        );
    };
    let now = state.clock.now_ms();
    let checked = state
        .store
        .read(move |tx| Ok(pools::authenticate_key(tx, &key, now)))
        .await;
    let pool = match checked {
        Ok(Ok(pool)) => pool,
        Ok(Err(PoolKeyError::Detached { pool, reason })) => {
            let message = if reason.is_empty() {
                format!("the agent pool {pool:?} is detached")
            } else {
                format!("the agent pool {pool:?} is detached: {reason}")
            };
            agent_refused(&state, peer, "pool_detached", &message).await;
            return refuse(403, "pool_detached", &message);
        }
        Ok(Err(PoolKeyError::Unknown)) => {
            agent_refused(&state, peer, "unknown_key", "no agent pool has this key").await;
            return refuse(
                401,
                "unauthorized",
                "no agent pool has this key; copy the key from Settings › Agent Pools",
            );
        }
        Ok(Err(PoolKeyError::Store(e))) | Err(e) => {
            tracing::error!("agent key check failed: {e}");
            return refuse(
                503,
                "unavailable",
                "the appliance could not check the key; retry later",
            );
        }
    };
    let permit = req.extensions_mut().remove::<ConnectionPermit>();
    let on_upgrade = hyper::upgrade::on(&mut req);
    let gateway = state.agents.clone();
    tokio::spawn(async move {
        match tokio::time::timeout(UPGRADE_TIMEOUT, on_upgrade).await {
            Ok(Ok(upgraded)) => {
                gateway
                    .serve(TokioIo::new(upgraded), peer, pool, permit)
                    .await;
            }
            Ok(Err(e)) => tracing::debug!(%peer, "agent upgrade failed: {e}"),
            Err(_) => tracing::debug!(%peer, "agent upgrade timed out"),
        }
    });
    let mut r = Response::new(respond::empty());
    // No security headers make sense on a 101; `handle` adds them anyway, harmlessly.
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// An agent was refused: audited, because a wrong key is someone trying to connect.
async fn agent_refused(state: &AppState, peer: SocketAddr, why: &str, message: &str) {
    tracing::info!(%peer, "agent refused: {message}");
    let event = AuditEvent::new(
        "agent.refused",
        Actor::Anonymous { claimed: None },
        Outcome::Denied,
    )
    .target("/agent/v1")
    .details(serde_json::json!({"reason": why, "message": message}))
    .source(peer.ip());
    audit::record(&state.store, state.clock.now_ms(), event).await;
}
