//! The accept loop: one TLS port for the portal, the API and (later) the agent websocket.
//!
//! Each connection takes a permit from a semaphore (the connection cap), must finish its TLS
//! handshake within the handshake timeout, then is served by hyper (HTTP/1.1 or HTTP/2 by
//! ALPN) with a header-read timeout and a header size cap. A client that speaks plain HTTP
//! to the TLS port gets a short 400 telling it to use https instead of a TLS alert. On
//! shutdown the loop stops accepting, asks every connection to finish its requests, and cuts
//! whatever is still open when the grace period ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::app::AppState;

/// The first byte of every TLS record that starts a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Serves connections from `listener` until `shutdown` turns true, then drains.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Arc<rustls::ServerConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let http = &state.config.http;
    let limit = Arc::new(Semaphore::new(http.max_connections));
    let graceful = GracefulShutdown::new();
    let builder = builder(&state);
    let acceptor = TlsAcceptor::from(tls);
    let handshake_timeout = state.config.tls.handshake_timeout();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&limit).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            state: Arc::clone(&state),
            acceptor: acceptor.clone(),
            builder: builder.clone(),
            watcher: graceful.watcher(),
            handshake_timeout,
            peer,
            permit: Arc::new(permit),
        };
        tokio::spawn(conn.run(stream));
    }
    drop(listener);
    let grace = state.config.http.shutdown_grace();
    tracing::info!(
        open = graceful.count(),
        "no longer accepting; draining for at most {} s",
        grace.as_secs()
    );
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("drain deadline reached; closing the remaining connections");
    }
}

fn builder(state: &AppState) -> auto::Builder<TokioExecutor> {
    let http = &state.config.http;
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout())
        .max_buf_size(http.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(http.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(100)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

/// One accepted connection on its way through TLS to hyper.
struct Conn {
    state: Arc<AppState>,
    acceptor: TlsAcceptor,
    builder: auto::Builder<TokioExecutor>,
    watcher: Watcher,
    handshake_timeout: Duration,
    peer: SocketAddr,
    /// Held for the connection's life: the connection cap. Each request carries a clone
    /// ([`ConnectionPermit`]) so that an upgraded agent connection, which outlives hyper's
    /// connection future, keeps its place under the cap.
    permit: Arc<OwnedSemaphorePermit>,
}

/// The connection-cap permit of the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnectionPermit(pub Arc<OwnedSemaphorePermit>);

impl Conn {
    async fn run(self, stream: TcpStream) {
        let peer = self.peer;
        let handshake = async {
            if !starts_with_tls(&stream).await {
                answer_plain_http(stream).await;
                return None;
            }
            self.acceptor.accept(stream).await.ok()
        };
        let tls = match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Ok(Some(tls)) => tls,
            Ok(None) => return,
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        };
        let state = self.state;
        let permit = self.permit;
        let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(ConnectionPermit(Arc::clone(&permit)));
            super::handler::handle(Arc::clone(&state), peer, req)
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(tls), service)
            .into_owned();
        if let Err(e) = self.watcher.watch(conn).await {
            tracing::debug!(%peer, "connection ended: {e}");
        }
    }
}

/// Peeks at the first byte: a TLS client starts with a handshake record.
async fn starts_with_tls(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE_RECORD)
}

/// Tells a plain-HTTP client, in plain HTTP, to use https; then closes.
async fn answer_plain_http(mut stream: TcpStream) {
    let body = "This port speaks HTTPS only. Use https:// in the address.\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}
