//! Delivering webhook events: a bounded queue ([`Dispatcher::fire`] never waits), one worker
//! that fans events out to their webhooks with at most `concurrency` deliveries in flight,
//! retries on the back-off schedule, and every attempt written to the delivery log.
//!
//! The client is hyper's HTTP/1.1 connection API over tokio-rustls (ring), trusting only the
//! CA bundle named in the configuration (or the system bundle). Every step that waits on the
//! receiver (name lookup, connect, TLS handshake, the answer's headers) has the configured
//! timeout; the answer's body is not read, only its status counts (2xx is success).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::webhooks::{
    self, Backoff, DELIVERY_HEADER, Delivery, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    Target, Webhook, WebhookEvent,
};
use crate::clock::SharedClock;
use crate::config::{SYSTEM_CA_BUNDLE, WebhooksConfig};
use crate::store::Store;

/// Which webhooks an event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Every enabled webhook.
    All,
    /// These webhooks (ids), when they exist and are enabled.
    Only(Vec<String>),
}

/// How deliveries are made; built once from `[webhooks]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Retry schedule.
    pub backoff: Backoff,
    /// Each waiting step's deadline.
    pub timeout: Duration,
    /// Whether `http://` to loopback is accepted.
    pub allow_http_loopback: bool,
    /// Queue bound.
    pub queue: usize,
    /// Deliveries in flight.
    pub concurrency: usize,
    /// The TLS client configuration with the trusted CAs.
    pub tls: Arc<rustls::ClientConfig>,
    /// How many CA certificates were loaded (shown at start-up).
    pub trusted_cas: usize,
}

impl Settings {
    /// Reads the CA bundle and builds the settings. A bundle that was named but cannot be
    /// read, or holds no certificate, is an error: a site that configured its CA must not
    /// silently get none. With no bundle named, a missing system bundle leaves an empty trust
    /// store (every https delivery then fails with a clear error in the log).
    pub fn from_config(c: &WebhooksConfig) -> Result<Settings, String> {
        let (roots, trusted_cas) = if c.ca_bundle.is_empty() {
            let system = Path::new(SYSTEM_CA_BUNDLE);
            if system.exists() {
                load_roots(system)?
            } else {
                tracing::warn!(
                    "no CA bundle for webhooks: {SYSTEM_CA_BUNDLE} is missing and webhooks.ca_bundle is empty"
                );
                (rustls::RootCertStore::empty(), 0)
            }
        } else {
            load_roots(Path::new(&c.ca_bundle))?
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Settings {
            backoff: Backoff {
                attempts: c.attempts.max(1),
                first: Duration::from_millis(c.retry_first_ms),
                factor: c.retry_factor.max(1),
            },
            timeout: Duration::from_secs(c.timeout_secs.max(1)),
            allow_http_loopback: c.allow_http_loopback,
            queue: c.queue.max(1),
            concurrency: c.concurrency.max(1),
            tls: Arc::new(tls),
            trusted_cas,
        })
    }
}

/// The certificates of a PEM bundle as a trust store.
fn load_roots(path: &Path) -> Result<(rustls::RootCertStore, usize), String> {
    let shown = path.display();
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("webhooks.ca_bundle {shown}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("webhooks.ca_bundle {shown}: {e}"))?;
        // A bundle may hold a certificate rustls cannot use as an anchor; the rest still count.
        if let Err(e) = roots.add(cert) {
            tracing::warn!("webhooks.ca_bundle {shown}: a certificate was skipped: {e}");
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "webhooks.ca_bundle {shown}: no usable CA certificate in the file"
        ));
    }
    let n = roots.len();
    Ok((roots, n))
}

struct Job {
    targets: Targets,
    event: WebhookEvent,
    /// Whether disabled webhooks get it too (a test sent by hand).
    include_disabled: bool,
    /// Answered with the first attempt of the first target.
    first: Option<oneshot::Sender<Delivery>>,
}

struct Shared {
    store: Store,
    clock: SharedClock,
    settings: Settings,
    slots: Arc<Semaphore>,
}

/// The handle other modules fire events through. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    queue: mpsc::Sender<Job>,
    dropped: Arc<AtomicU64>,
    settings: Settings,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Why a test delivery has no result.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The queue is full.
    #[error("the webhook queue is full; try again shortly")]
    Busy,
    /// The worker did not answer in time.
    #[error("no answer from the delivery worker in time")]
    Timeout,
}

impl Dispatcher {
    /// Starts the worker on the current runtime. It ends when every handle is dropped.
    pub fn start(store: Store, clock: SharedClock, settings: Settings) -> Dispatcher {
        let (queue, rx) = mpsc::channel(settings.queue);
        let shared = Arc::new(Shared {
            store,
            clock,
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            settings: settings.clone(),
        });
        tokio::spawn(worker(shared, rx));
        Dispatcher {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
            settings,
        }
    }

    /// Queues `event` for `targets` and returns at once; `false` when the queue is full
    /// (the event is dropped and counted: the caller is on a hot path and must not wait).
    pub fn fire(&self, event: WebhookEvent, targets: Targets) -> bool {
        let job = Job {
            targets,
            event,
            include_disabled: false,
            first: None,
        };
        match self.queue.try_send(job) {
            Ok(()) => true,
            Err(_) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    dropped = n,
                    "the webhook queue is full; an event was dropped"
                );
                false
            }
        }
    }

    /// Sends `event` to one webhook (enabled or not) and answers its first attempt; later
    /// attempts, if it failed, go on in the background and land in the delivery log.
    pub async fn test(&self, webhook_id: &str, event: WebhookEvent) -> Result<Delivery, TestError> {
        let (tx, rx) = oneshot::channel();
        let job = Job {
            targets: Targets::Only(vec![webhook_id.to_string()]),
            event,
            include_disabled: true,
            first: Some(tx),
        };
        self.queue.try_send(job).map_err(|_| TestError::Busy)?;
        // Lookup, connect, handshake and answer each have the timeout; add room for the
        // store write and a queue of other deliveries ahead.
        let wait = self.settings.timeout.saturating_mul(4) + Duration::from_secs(5);
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(d)) => Ok(d),
            _ => Err(TestError::Timeout),
        }
    }

    /// Events dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether `http://` to loopback is accepted (for validating input).
    pub fn allow_http_loopback(&self) -> bool {
        self.settings.allow_http_loopback
    }
}

async fn worker(shared: Arc<Shared>, mut rx: mpsc::Receiver<Job>) {
    while let Some(job) = rx.recv().await {
        let targets = job.targets.clone();
        let include_disabled = job.include_disabled;
        let hooks = shared
            .store
            .read(move |tx| {
                Ok(webhooks::list(tx)?
                    .into_iter()
                    .filter(|h| include_disabled || h.enabled)
                    .filter(|h| match &targets {
                        Targets::All => true,
                        Targets::Only(ids) => ids.contains(&h.id),
                    })
                    .collect::<Vec<Webhook>>())
            })
            .await;
        let hooks = match hooks {
            Ok(h) => h,
            Err(e) => {
                tracing::error!("webhooks could not be read for an event: {e}");
                continue;
            }
        };
        let mut first = job.first;
        for hook in hooks {
            // Waiting for a slot here is the back-pressure: the queue fills, `fire` drops.
            let Ok(permit) = Arc::clone(&shared.slots).acquire_owned().await else {
                return;
            };
            let shared = Arc::clone(&shared);
            let event = job.event.clone();
            let reply = first.take();
            tokio::spawn(async move {
                deliver(&shared, &hook, &event, reply).await;
                drop(permit);
            });
        }
    }
}

/// All attempts of one event to one webhook.
async fn deliver(
    shared: &Shared,
    hook: &Webhook,
    event: &WebhookEvent,
    mut reply: Option<oneshot::Sender<Delivery>>,
) {
    let settings = &shared.settings;
    let prepared = webhooks::render(&hook.template, event).and_then(|body| {
        Ok((
            body,
            webhooks::check_url(&hook.url, settings.allow_http_loopback)?,
        ))
    });
    let mut attempt = 1;
    loop {
        let started_ms = shared.clock.now_ms();
        let started = Instant::now();
        let result = match &prepared {
            Ok((body, target)) => {
                let ts = shared.clock.now_secs();
                let signature = webhooks::sign(&hook.secret, ts, body.as_bytes());
                let mut headers = hook.headers.clone();
                headers.push((TIMESTAMP_HEADER.into(), ts.to_string()));
                headers.push((SIGNATURE_HEADER.into(), signature));
                headers.push((EVENT_HEADER.into(), event.event_type.as_str().into()));
                headers.push((DELIVERY_HEADER.into(), event.id.clone()));
                post(settings, target, &headers, body.clone()).await
            }
            Err(e) => Err(e.to_string()),
        };
        let ok = matches!(result, Ok(status) if (200..300).contains(&status));
        let retrying =
            !ok && prepared.is_ok() && settings.backoff.delay_before(attempt + 1).is_some();
        let d = Delivery {
            at_ms: started_ms,
            event_id: event.id.clone(),
            event_type: event.event_type,
            attempt,
            status: result.as_ref().ok().copied(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error: match &result {
                Ok(s) if !ok => Some(format!("the receiver answered {s}")),
                Ok(_) => None,
                Err(e) => Some(webhooks::short_error(e)),
            },
            ok,
            retrying,
        };
        let id = hook.id.clone();
        let logged = d.clone();
        if let Err(e) = shared
            .store
            .write(move |tx| webhooks::log_delivery(tx, &id, &logged))
            .await
        {
            tracing::error!(webhook = %hook.id, "a webhook delivery could not be logged: {e}");
        }
        if let Some(r) = reply.take() {
            let _ = r.send(d);
        }
        if !retrying {
            if !ok {
                tracing::warn!(webhook = %hook.id, event = %event.id, attempts = attempt, "a webhook event was not delivered");
            }
            return;
        }
        attempt += 1;
        if let Some(wait) = settings.backoff.delay_before(attempt) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// One POST; answers the HTTP status or why there was none.
async fn post(
    settings: &Settings,
    target: &Target,
    headers: &[(String, String)],
    body: String,
) -> Result<u16, String> {
    let t = settings.timeout;
    let addr = resolve(target, t).await?;
    let tcp = tokio::time::timeout(t, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out after {} s", t.as_secs()))?
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if target.https {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|e| format!("{} is not a valid TLS server name: {e}", target.host))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&settings.tls));
        let tls = tokio::time::timeout(t, connector.connect(name, tcp))
            .await
            .map_err(|_| format!("the TLS handshake timed out after {} s", t.as_secs()))?
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(tls, target, headers, body, t).await
    } else {
        exchange(tcp, target, headers, body, t).await
    }
}

async fn resolve(target: &Target, t: Duration) -> Result<SocketAddr, String> {
    if let Ok(ip) = target.host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    let found = tokio::time::timeout(
        t,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| format!("looking up {} timed out", target.host))?
    .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
    .next();
    found.ok_or_else(|| format!("{} has no address", target.host))
}

async fn exchange<S>(
    io: S,
    target: &Target,
    headers: &[(String, String)],
    body: String,
    t: Duration,
) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        tokio::time::timeout(t, hyper::client::conn::http1::handshake(TokioIo::new(io)))
            .await
            .map_err(|_| "the HTTP handshake timed out".to_string())?
            .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(conn);
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let default_port = if target.https { 443 } else { 80 };
    let host = if target.port == default_port {
        host
    } else {
        format!("{host}:{}", target.port)
    };
    let mut req = Request::post(target.path.as_str())
        .header(HOST, host)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("Lantern/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("the request could not be built: {e}"))?;
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        req.headers_mut().append(name, value);
    }
    let answer = tokio::time::timeout(t, sender.send_request(req)).await;
    driver.abort();
    let response = answer
        .map_err(|_| format!("no answer within {} s", t.as_secs()))?
        .map_err(|e| format!("HTTP: {e}"))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn config(ca_bundle: &str) -> WebhooksConfig {
        WebhooksConfig {
            ca_bundle: ca_bundle.to_string(),
            timeout_secs: 10,
            attempts: 4,
            retry_first_ms: 1000,
            retry_factor: 5,
            queue: 10,
            concurrency: 2,
            allow_http_loopback: false,
        }
    }

    #[test]
    fn a_named_ca_bundle_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = Settings::from_config(&config(missing.to_str().unwrap())).unwrap_err();
        assert!(err.contains("webhooks.ca_bundle"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Settings::from_config(&config(empty.to_str().unwrap())).unwrap_err();
        assert!(err.contains("no usable CA certificate"), "{err}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca.example".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, cert.pem()).unwrap();
        let s = Settings::from_config(&config(good.to_str().unwrap())).unwrap();
        assert_eq!(s.trusted_cas, 1);
        assert_eq!(s.backoff.delay_before(4), Some(Duration::from_secs(25)));
    }
}
