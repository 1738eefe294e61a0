//! A small HTTPS client for the appliance's own REST API, used by the command-line tools that
//! act as a person (`lantern action ...`). It trusts the appliance the way agents do: by the
//! SHA-256 pin of the certificate's public key (the appliance's certificate is self-signed), or
//! by a CA file for sites that installed their own certificate. The API key travels in the
//! `Authorization` header only, never in a URL or a log line.
//!
//! Every step has a timeout and the answer a size bound: a wedged or hostile peer costs at
//! most [`ApiClient::timeout`] and [`MAX_ANSWER_BYTES`].

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use tokio::net::TcpStream;

use crate::tls;

/// Largest answer read (lists are paged; a snapshot is ≤ 1 MiB on the wire).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why a call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The settings cannot work (bad URL, unreadable CA file, ...).
    #[error("{0}")]
    Setup(String),
    /// The appliance could not be reached or the exchange broke.
    #[error("{0}")]
    Transport(String),
}

/// How the client decides it talks to the right appliance.
#[derive(Clone)]
pub enum Trust {
    /// Any of these `sha256/BASE64` public-key pins.
    Pins(Vec<String>),
    /// A certificate chain to one of these CAs, for the URL's host name.
    Roots(Arc<rustls::RootCertStore>),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::Pins(p) => f.debug_tuple("Pins").field(p).finish(),
            Trust::Roots(r) => write!(f, "Roots({} CAs)", r.len()),
        }
    }
}

impl Trust {
    /// The CAs of a PEM file.
    pub fn ca_file(path: &Path) -> Result<Trust, ClientError> {
        let shown = path.display();
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ClientError::Setup(format!("CA file {shown}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| ClientError::Setup(format!("CA file {shown}: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ClientError::Setup(format!("CA file {shown}: {e}")))?;
        }
        if roots.is_empty() {
            return Err(ClientError::Setup(format!(
                "CA file {shown}: no certificate in it"
            )));
        }
        Ok(Trust::Roots(Arc::new(roots)))
    }

    /// Pins as given by the user (`sha256/...`), checked for shape.
    pub fn pins(pins: &[String]) -> Result<Trust, ClientError> {
        for p in pins {
            let ok = p.strip_prefix("sha256/").is_some_and(|b| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b)
                    .is_ok_and(|d| d.len() == 32)
            });
            if !ok {
                return Err(ClientError::Setup(format!(
                    "{p} is not a pin; a pin looks like sha256/ followed by 44 base64 characters (`lantern tls pin` prints the appliance's)"
                )));
            }
        }
        if pins.is_empty() {
            return Err(ClientError::Setup("no pin given".into()));
        }
        Ok(Trust::Pins(pins.to_vec()))
    }
}

/// Accepts a certificate whose public key has one of the pins, and checks the handshake
/// signatures with it (so the peer holds the private key).
#[derive(Debug)]
struct PinVerifier {
    pins: Vec<String>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pin = tls::spki_pin(end_entity)
            .map_err(|e| rustls::Error::General(format!("cannot read the certificate: {e}")))?;
        if self.pins.contains(&pin) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the appliance's key {pin} is not the pinned one"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// An answer: the status and the JSON body (`Value::Null` when there was none).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
}

fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

impl Answer {
    /// The API's error sentence (`{"error":{"message"}}`) with the per-field problems it
    /// lists, or the status when the body has none.
    pub fn error_text(&self) -> String {
        let e = at(&self.body, "error");
        let mut text = at(e, "message").as_str().map_or_else(
            || format!("the appliance answered {}", self.status),
            str::to_string,
        );
        if let Some(fields) = at(e, "fields").as_array() {
            for f in fields {
                text.push_str(&format!(
                    "\n  {}: {}",
                    at(f, "field").as_str().unwrap_or("?"),
                    at(f, "message").as_str().unwrap_or("")
                ));
            }
        }
        text
    }
}

/// The appliance's REST API at one base URL, with one API key.
pub struct ApiClient {
    target: (String, u16),
    host: String,
    server_name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    key: String,
    /// Bound on each step (connect, handshake, answer).
    pub timeout: Duration,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("ApiClient")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// A client for `base_url` (`https://HOST:PORT`; a host name is looked up when calling).
    pub fn new(base_url: &str, trust: Trust, key: &str) -> Result<ApiClient, ClientError> {
        let rest = base_url
            .trim_end_matches('/')
            .strip_prefix("https://")
            .ok_or_else(|| {
                ClientError::Setup(format!(
                    "{base_url} is not an https:// URL (the appliance speaks HTTPS only)"
                ))
            })?;
        if rest.contains('/') || rest.contains('@') || rest.is_empty() {
            return Err(ClientError::Setup(format!(
                "{base_url}: give the appliance's address only, like https://10.0.0.5:8443"
            )));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| {
            ClientError::Setup(format!("{base_url}: cannot read the host and port"))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Setup(format!("TLS: {e}")))?;
        let config = match trust {
            Trust::Roots(roots) => builder
                .with_root_certificates(Arc::clone(&roots))
                .with_no_client_auth(),
            Trust::Pins(pins) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinVerifier {
                    pins,
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth(),
        };
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|e| ClientError::Setup(format!("{host}: {e}")))?;
        Ok(ApiClient {
            target: (host.to_string(), port),
            host: rest.to_string(),
            server_name,
            tls: Arc::new(config),
            key: key.to_string(),
            timeout: Duration::from_secs(30),
        })
    }

    /// One call: `path` is below `/api/v1` (`/actions?limit=5`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ClientError> {
        let t = self.timeout;
        let late = |what: &str| {
            ClientError::Transport(format!("{what} timed out after {} s", t.as_secs()))
        };
        let (host, port) = (&self.target.0, self.target.1);
        let addr = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => tokio::time::timeout(t, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| late("looking up the host name"))?
                .map_err(|e| ClientError::Transport(format!("cannot resolve {host}: {e}")))?
                .next()
                .ok_or_else(|| ClientError::Transport(format!("{host} has no address")))?,
        };
        let tcp = tokio::time::timeout(t, TcpStream::connect(addr))
            .await
            .map_err(|_| late("connecting"))?
            .map_err(|e| ClientError::Transport(format!("cannot connect to {addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls));
        let stream = tokio::time::timeout(t, connector.connect(self.server_name.clone(), tcp))
            .await
            .map_err(|_| late("the TLS handshake"))?
            .map_err(|e| ClientError::Transport(format!("TLS with {addr}: {e}")))?;
        let (mut sender, conn) = tokio::time::timeout(
            t,
            hyper::client::conn::http1::handshake(TokioIo::new(stream)),
        )
        .await
        .map_err(|_| late("the HTTP handshake"))?
        .map_err(|e| ClientError::Transport(format!("HTTP: {e}")))?;
        let driver = tokio::spawn(conn);
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(HOST, &self.host)
            .header(AUTHORIZATION, format!("Bearer {}", self.key))
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(payload))
            .map_err(|e| ClientError::Setup(format!("cannot build the request: {e}")))?;
        let exchange = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| ClientError::Transport(format!("HTTP: {e}")))?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| ClientError::Transport(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok::<_, ClientError>((status, bytes))
        };
        let result = tokio::time::timeout(t, exchange).await;
        driver.abort();
        let (status, bytes) = result.map_err(|_| late("waiting for the answer"))??;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ClientError::Transport(format!("the answer ({status}) is not JSON: {e}"))
            })?
        };
        Ok(Answer { status, body })
    }
}

/// `host:port` or `[v6]:port`; the port defaults to 443.
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 443,
            None => return None,
        };
        return Some((host, port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, p.parse().ok()?)),
        Some(_) => None,
        None => Some((s, 443)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_addresses_only() {
        let pin = Trust::pins(&[format!("sha256/{}", "A".repeat(43) + "=")]).unwrap();
        assert!(ApiClient::new("https://10.0.0.5:8443", pin.clone(), "k").is_ok());
        assert!(ApiClient::new("https://[::1]:8443/", pin.clone(), "k").is_ok());
        assert!(ApiClient::new("https://appliance.example", pin.clone(), "k").is_ok());
        for bad in [
            "http://10.0.0.5:8443",
            "https://10.0.0.5:8443/api",
            "https://user@10.0.0.5",
            "https://10.0.0.5:x",
        ] {
            let e = ApiClient::new(bad, pin.clone(), "k").unwrap_err();
            assert!(matches!(e, ClientError::Setup(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn pins_are_checked_for_shape() {
        assert!(Trust::pins(&["sha256/short".into()]).is_err());
        assert!(Trust::pins(&["md5/AAAA".into()]).is_err());
        assert!(Trust::pins(&[]).is_err());
    }

    #[test]
    fn error_text_lists_fields() {
        let a = Answer {
            status: 400,
            body: serde_json::json!({"error": {"code": "invalid", "message": "the action is not valid",
                "fields": [{"field": "location.line", "message": "must be 1 or more"}]}}),
        };
        assert_eq!(
            a.error_text(),
            "the action is not valid\n  location.line: must be 1 or more"
        );
        let b = Answer {
            status: 502,
            body: Value::Null,
        };
        assert_eq!(b.error_text(), "the appliance answered 502");
    }
}
