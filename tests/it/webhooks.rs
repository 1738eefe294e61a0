//! Webhooks end to end: a receiver on loopback over HTTPS, whose self-signed certificate is
//! the appliance's configured CA bundle, gets the signed `test` event and checks signature,
//! headers and body; a plain-HTTP loopback receiver that answers 500 twice then 200 proves
//! the retries and the delivery log; the API refuses bad input next to its field, never
//! shows the secret after creation, is audited and follows the role matrix.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::*;

/// What the receiver saw of one request.
#[derive(Debug)]
pub struct Seen {
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

/// Starts a receiver that answers the statuses in `script` in turn (then 200), over TLS
/// when `tls` is given. Answers its address and the requests it receives.
pub async fn receiver(
    tls: Option<Arc<rustls::ServerConfig>>,
    script: Vec<u16>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            let script = Arc::clone(&script);
            let tls = tls.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        let script = Arc::clone(&script);
                        async move {
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            tx.send(Seen { headers, body }).unwrap();
                            let status = script.lock().unwrap().pop_front().unwrap_or(200);
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from_static(b"ok")))
                                    .unwrap(),
                            )
                        }
                    });
                let http = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(cfg) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(cfg).accept(tcp).await
                        else {
                            return;
                        };
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// A self-signed certificate for 127.0.0.1, written as the CA bundle, and the server side.
pub fn receiver_tls(dir: &std::path::Path) -> (std::path::PathBuf, Arc<rustls::ServerConfig>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let bundle = dir.join("site-ca.pem");
    std::fs::write(&bundle, cert.pem()).unwrap();
    let der_key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der_key)
    .unwrap();
    (bundle, Arc::new(config))
}

/// An API key of a new user holding `role` (made by the admin's key through the API).
pub async fn key(t: &TestApp, role: &str) -> String {
    let admin = lantern::cli::api_key_create(&t.data_dir(), ADMIN_EMAIL, "admin", &[], 5)
        .await
        .unwrap();
    if role == "company-admin" {
        return admin;
    }
    let email = format!("{role}@example.org");
    let body =
        json!({"email": email, "name": role, "roles": [role], "password": "quiet harbour 2026"});
    let (status, made) = api(&t.client(), "POST", "/users", &admin, body).await;
    assert_eq!(status, 201, "{made}");
    lantern::cli::api_key_create(&t.data_dir(), &email, role, &[], 5)
        .await
        .unwrap()
}

pub async fn api(c: &Client, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let auth = format!("Bearer {key}");
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let r = c
        .request(
            method,
            &format!("/api/v1{path}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await;
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
    };
    (r.status, v)
}

pub fn hmac_hex(secret: &str, material: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&key, material)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn webhooks_deliver_a_signed_test_event_over_https_with_the_site_ca() {
    let certs = tempfile::tempdir().unwrap();
    let (bundle, server_tls) = receiver_tls(certs.path());
    let (addr, mut seen) = receiver(Some(server_tls), vec![]).await;
    let t = TestApp::start_with(&[("LANTERN_WEBHOOKS_CA_BUNDLE", bundle.to_str().unwrap())]).await;
    let _admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = key(&t, "company-admin").await;
    let c = t.client();

    // Refusals name their field.
    let bad = [
        (
            json!({"name": "x", "url": format!("http://{addr}/hook")}),
            "url",
        ),
        (
            json!({"name": "x", "url": "https://10.0.0.1/", "template": "{\"a\": ${TITLE}}"}),
            "template",
        ),
        (
            json!({"name": "x", "url": "https://10.0.0.1/", "headers": [{"name": "Host", "value": "evil"}]}),
            "headers",
        ),
        (json!({"name": "", "url": "https://10.0.0.1/"}), "name"),
    ];
    for (body, field) in bad {
        let (status, v) = api(&c, "POST", "/webhooks", &admin, body).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["code"], "validation_failed", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }

    let template = r#"{"event":"${TYPE}","id":"${ID}","at":"${DATE}","title":"${TITLE}","text":"${EVENT_MSG}"}"#;
    let (status, created) = api(
        &c,
        "POST",
        "/webhooks",
        &admin,
        json!({"name": "SOC", "url": format!("https://{addr}/hook?src=lantern"), "template": template,
               "headers": [{"name": "Authorization", "value": "Bearer receiver-token"}]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);

    // The secret is shown once; readers do not see header values.
    let (_, got) = api(&c, "GET", &format!("/webhooks/{id}"), &admin, Value::Null).await;
    assert!(got.get("secret").is_none(), "{got}");
    assert_eq!(got["headers"][0]["value"], "Bearer receiver-token");
    let viewer = key(&t, "company-viewer").await;
    let (status, list) = api(&c, "GET", "/webhooks", &viewer, Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["headers"][0]["value"], Value::Null);
    assert!(!list.to_string().contains(&secret));
    let (status, _) = api(
        &c,
        "POST",
        &format!("/webhooks/{id}/test"),
        &viewer,
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);

    let (status, d) = api(
        &c,
        "POST",
        &format!("/webhooks/{id}/test"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(d["status"], 200);
    assert_eq!(d["attempt"], 1);

    let got = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let h = |n: &str| got.headers.get(n).unwrap().to_str().unwrap().to_string();
    let ts = h("x-lantern-timestamp");
    let mut material = format!("{ts}.").into_bytes();
    material.extend_from_slice(&got.body);
    assert_eq!(
        h("x-lantern-signature"),
        format!("sha256={}", hmac_hex(&secret, &material))
    );
    assert_eq!(h("x-lantern-event"), "test");
    assert_eq!(h("authorization"), "Bearer receiver-token");
    assert_eq!(h("content-type"), "application/json");
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["event"], "test");
    assert_eq!(body["id"], h("x-lantern-delivery"));
    assert_eq!(body["title"], "Lantern test event");
    assert!(body["text"].as_str().unwrap().contains("\"SOC\""), "{body}");

    // Rotation: a new secret, shown once, signs from now on.
    let (status, rotated) = api(
        &c,
        "POST",
        &format!("/webhooks/{id}/rotate-secret"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["secret"], created["secret"]);

    // Audited, without the secret.
    let (_, events) = api(
        &c,
        "GET",
        "/audit-events?type=webhook.&limit=20",
        &admin,
        Value::Null,
    )
    .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect();
    for k in ["webhook.create", "webhook.test", "webhook.rotate_secret"] {
        assert!(kinds.contains(&k), "{k} in {events}");
    }
    assert!(!events.to_string().contains(&secret));
    assert!(!events.to_string().contains("receiver-token"));

    let (status, _) = api(
        &c,
        "DELETE",
        &format!("/webhooks/{id}"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api(&c, "GET", &format!("/webhooks/{id}"), &admin, Value::Null).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn webhooks_retry_with_back_off_and_log_every_attempt() {
    let (addr, mut seen) = receiver(None, vec![500, 500]).await;
    let t = TestApp::start_with(&[
        ("LANTERN_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true"),
        ("LANTERN_WEBHOOKS_RETRY_FIRST_MS", "20"),
        ("LANTERN_WEBHOOKS_RETRY_FACTOR", "2"),
    ])
    .await;
    let _admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let appsec = key(&t, "appsec").await;
    let c = t.client();
    let (status, created) = api(
        &c,
        "POST",
        "/webhooks",
        &appsec,
        json!({"name": "flaky", "url": format!("http://{addr}/in")}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();

    let (status, first) = api(
        &c,
        "POST",
        &format!("/webhooks/{id}/test"),
        &appsec,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["ok"].clone(),
            first["status"].clone(),
            first["retrying"].clone()
        ),
        (json!(false), json!(500), json!(true))
    );

    let mut log = Value::Null;
    for _ in 0..100 {
        let (_, l) = api(
            &c,
            "GET",
            &format!("/webhooks/{id}/deliveries"),
            &appsec,
            Value::Null,
        )
        .await;
        log = l;
        if log["total"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log["total"], 3, "{log}");
    let items = log["items"].as_array().unwrap();
    let attempts: Vec<(u64, u64, bool)> = items
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap(),
                d["status"].as_u64().unwrap(),
                d["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        vec![(3, 200, true), (2, 500, false), (1, 500, false)]
    );
    assert!(items.iter().all(|d| d["event_id"] == items[0]["event_id"]));
    assert_eq!(items[2]["error"], "the receiver answered 500");

    // The receiver saw one event three times, with the same delivery id.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let s = tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .unwrap()
            .unwrap();
        ids.push(
            s.headers
                .get("x-lantern-delivery")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(ids.iter().all(|i| *i == ids[0]));

    // Pages: the list, the detail with its log, and a form error next to its field.
    let web = t.client();
    web.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let list = web.get("/settings/reachability/webhooks").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("flaky"));
    let detail = web
        .get(&format!("/settings/reachability/webhooks/{id}"))
        .await;
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("the receiver answered 500"),
        "{}",
        detail.body
    );
    let r = web
        .post_form(
            "/settings/reachability/webhooks",
            &[
                ("csrf", &list.csrf()),
                ("name", "bad"),
                ("url", "ftp://x/"),
                ("template", "{\"a\": ${TITLE}}"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("f-url-error") && r.body.contains("f-template-error"),
        "{}",
        r.body
    );
    assert!(r.body.contains("ftp://x/"), "the form keeps what was typed");
    // Without the CSRF token nothing changes; with it, rotation shows the new secret once.
    let rotate = format!("/settings/reachability/webhooks/{id}/rotate");
    let r = web.post_form(&rotate, &[]).await;
    assert_eq!(r.status, 403);
    let r = web.post_form(&rotate, &[("csrf", &detail.csrf())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("you will not see this again"), "{}", r.body);
    let (_, after) = api(&c, "GET", &format!("/webhooks/{id}"), &appsec, Value::Null).await;
    assert_ne!(after["secret_created_at"], Value::Null);
}
