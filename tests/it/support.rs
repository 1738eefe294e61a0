//! Test kit: starts the real appliance in-process on 127.0.0.1:0 with a temporary data
//! directory, and an HTTPS client that trusts the certificate the appliance made.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use lantern::app::{self, Appliance};
use lantern::clock::{ManualClock, SharedClock};
use lantern::config::{self, Config, Overrides};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A running appliance with its temporary data directory.
pub struct TestApp {
    pub app: Option<Appliance>,
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub addr: SocketAddr,
}

/// A configuration for tests: loopback, port 0, the given data dir, plus `vars`.
pub fn test_config(data_dir: &Path, vars: &[(&str, &str)]) -> Config {
    let mut env: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.entry("LANTERN_LISTEN".into())
        .or_insert("127.0.0.1:0".into());
    env.entry("LANTERN_AUTH_MAX_CONCURRENT_HASHES".into())
        .or_insert("2".into());
    let overrides = Overrides {
        data_dir: Some(data_dir.to_path_buf()),
        listen: None,
    };
    config::load(None, &env, &overrides).expect("test config")
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(&[]).await
    }

    pub async fn start_with(vars: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, vars).await
    }

    pub async fn start_in(dir: tempfile::TempDir, vars: &[(&str, &str)]) -> TestApp {
        let data = dir.path().join("data");
        let config = test_config(&data, vars);
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let shared: SharedClock = clock.clone();
        let app = app::start(config, shared).await.expect("appliance starts");
        let addr = app.addr;
        TestApp {
            app: Some(app),
            dir,
            clock,
            addr,
        }
    }

    pub fn app(&self) -> &Appliance {
        self.app.as_ref().unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr, &self.data_dir())
    }

    /// The setup link's path and query (`/setup?token=...`).
    pub fn setup_path(&self) -> String {
        let link = self.app().setup_link.clone().expect("a setup link");
        let at = link.find("/setup").unwrap();
        link[at..].to_string()
    }

    pub async fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await.unwrap();
        }
    }

    /// Creates the first admin through the setup link; returns a signed-in client.
    pub async fn with_admin(&self, email: &str, password: &str) -> Client {
        let c = self.client();
        let page = c.get(&self.setup_path()).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let token = self
            .setup_path()
            .split("token=")
            .nth(1)
            .unwrap()
            .to_string();
        let r = c
            .post_form(
                "/setup",
                &[
                    ("csrf", &page.csrf()),
                    ("token", &token),
                    ("name", "Ada Admin"),
                    ("email", email),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        c
    }
}

/// An answer, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
    /// The body as sent (downloads that are not text).
    pub bytes: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden `csrf` input in the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let tag_start = self.body[..at].rfind('<').unwrap();
        let tag_end = at + self.body[at..].find('>').unwrap();
        let tag = &self.body[tag_start..tag_end];
        let v = tag.find("value=\"").unwrap() + 7;
        let rest = &tag[v..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// An HTTPS client with a cookie jar, trusting the appliance's own certificate.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    tls: TlsConnector,
    pub cookies: Arc<Mutex<HashMap<String, String>>>,
}

impl Client {
    pub fn new(addr: SocketAddr, data_dir: &Path) -> Client {
        Client {
            addr,
            tls: connector(data_dir, vec![b"http/1.1".to_vec()]),
            cookies: Arc::default(),
        }
    }

    pub fn origin(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Signs in through the form, as a browser does; returns the answer to the post.
    pub async fn sign_in(&self, email: &str, password: &str) -> Resp {
        self.sign_in_to("/sign-in", email, password).await
    }

    /// Like [`Client::sign_in`], posting to `action` (to pass `?next=`).
    pub async fn sign_in_to(&self, action: &str, email: &str, password: &str) -> Resp {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post_form(
            action,
            &[
                ("csrf", &form.csrf()),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], Bytes::new()).await
    }

    /// Posts an urlencoded form with a same-origin `Origin` header.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let origin = self.origin();
        self.request(
            "POST",
            path,
            &[
                ("origin", &origin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Bytes::from(body.join("&")),
        )
        .await
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Resp {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::IpAddress(self.addr.ip().into());
        let tls = self.tls.connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        let cookie: Vec<String> = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookie.is_empty() {
            req = req.header("cookie", cookie.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if set.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body,
        }
    }
}

/// A TLS connector trusting only the appliance's certificate in `data_dir`.
pub fn connector(data_dir: &Path, alpn: Vec<Vec<u8>>) -> TlsConnector {
    let pem = std::fs::read(data_dir.join("tls/cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    TlsConnector::from(Arc::new(config))
}

/// A raw TLS connection (HTTP/1.1 by ALPN) to the test appliance, for hand-written requests.
pub async fn tls_stream(t: &TestApp) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(t.addr).await.unwrap();
    connector(&t.data_dir(), vec![b"http/1.1".to_vec()])
        .connect(ServerName::IpAddress(t.addr.ip().into()), tcp)
        .await
        .unwrap()
}

pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub const ADMIN_EMAIL: &str = "ada@example.org";
pub const ADMIN_PASSWORD: &str = "lamp lighter 2026";
