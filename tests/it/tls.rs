//! TLS: HTTP/2 over ALPN, TLS 1.2 still served, and installing a site certificate while
//! running (the control socket reloads it for new connections).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::support::*;

#[tokio::test]
async fn http2_is_negotiated_by_alpn() {
    let mut t = TestApp::start().await;
    let tcp = TcpStream::connect(t.addr).await.unwrap();
    let tls = connector(&t.data_dir(), vec![b"h2".to_vec()])
        .connect(ServerName::IpAddress(t.addr.ip().into()), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri(format!("https://{}/healthz", t.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), hyper::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"status":"ok"}"#);
    t.stop().await;
}

#[tokio::test]
async fn tls_1_2_is_served_too() {
    let mut t = TestApp::start().await;
    let pem = std::fs::read(t.data_dir().join("tls/cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(t.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(t.addr.ip().into()), tcp)
        .await
        .unwrap();
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    t.stop().await;
}

#[tokio::test]
async fn an_installed_certificate_is_served_without_a_restart() {
    let mut t = TestApp::start().await;
    let old_pin = lantern::cli::tls_pin(&t.data_dir()).unwrap();
    let (cert, key) =
        lantern::tls::generate_self_signed("site.example", &["127.0.0.1".parse().unwrap()])
            .unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("c.pem"), &cert).unwrap();
    std::fs::write(src.path().join("k.pem"), &key).unwrap();
    let said = lantern::cli::tls_install(
        &t.data_dir(),
        &src.path().join("c.pem"),
        &src.path().join("k.pem"),
    )
    .await
    .unwrap();
    assert!(said.contains("reloaded"), "{said}");
    let pins = lantern::cli::tls_pin(&t.data_dir()).unwrap();
    assert!(
        pins.ends_with(&old_pin),
        "the old pin is still listed: {pins}"
    );
    // A client that trusts only the new certificate connects.
    assert_eq!(t.client().get("/healthz").await.status, 200);
    t.stop().await;
}
