//! Bad input at the edge: plain HTTP on the TLS port, slow handshakes and headers, oversized
//! headers and bodies, broken forms. Each is answered or closed, and others are unaffected.

use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Bound on waiting for the appliance to answer or close; a hang fails the test.
const LIMIT: Duration = Duration::from_secs(30);

async fn read_all(stream: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(LIMIT, stream.read_to_end(&mut out))
        .await
        .expect("the appliance answered or closed in time");
    String::from_utf8_lossy(&out).into_owned()
}

async fn raw_tls(t: &TestApp, request: &[u8]) -> String {
    let mut s = tls_stream(t).await;
    s.write_all(request).await.unwrap();
    read_all(&mut s).await
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_told_to_use_https() {
    let mut t = TestApp::start().await;
    let mut s = TcpStream::connect(t.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("HTTPS"));
    t.stop().await;
}

#[tokio::test]
async fn slow_handshakes_and_slow_headers_are_cut_while_others_are_served() {
    let mut t = TestApp::start_with(&[
        ("LANTERN_TLS_HANDSHAKE_TIMEOUT_SECS", "1"),
        ("LANTERN_HTTP_HEADER_READ_TIMEOUT_SECS", "1"),
    ])
    .await;
    // A client that connects and says nothing.
    let mut silent = TcpStream::connect(t.addr).await.unwrap();
    // A client that starts a request and never finishes its headers.
    let mut slow = tls_stream(&t).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Meanwhile everybody else is served.
    assert_eq!(t.client().get("/healthz").await.status, 200);
    let silent_answer = read_all(&mut silent).await;
    assert!(silent_answer.is_empty(), "closed without an answer");
    let slow_answer = read_all(&mut slow).await;
    assert!(
        slow_answer.is_empty() || slow_answer.starts_with("HTTP/1.1 408"),
        "{slow_answer}"
    );
    t.stop().await;
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused() {
    let mut t = TestApp::start().await;
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let answer = raw_tls(&t, big_header.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );

    let big_body = "POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3000000\r\nConnection: close\r\n\r\n";
    let answer = raw_tls(&t, big_body.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A chunked body without a declared length is cut at the limit too.
    let mut chunked = b"POST /sign-in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..3 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let mut s = tls_stream(&t).await;
    // The server may stop reading once over the limit: ignore write errors.
    let _ = s.write_all(&chunked).await;
    let answer = read_all(&mut s).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 413"),
        "{answer}"
    );
    assert_eq!(t.client().get("/healthz").await.status, 200);
    t.stop().await;
}

#[tokio::test]
async fn broken_forms_get_400() {
    let mut t = TestApp::start().await;
    let c = t.client();
    let origin = c.origin();
    for body in ["email=%ff%fe", "email=%4", "a=1&".repeat(300).as_str()] {
        let r = c
            .request(
                "POST",
                "/sign-in",
                &[
                    ("origin", &origin),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                body.to_string().into(),
            )
            .await;
        assert_eq!(r.status, 400, "{body}");
    }
    let r = c.get("/sign-in?x=%zz").await;
    assert_eq!(r.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let mut t = TestApp::start_with(&[("LANTERN_HTTP_MAX_CONNECTIONS", "1")]).await;
    let tls = connector(&t.data_dir(), vec![b"http/1.1".to_vec()]);
    let name = ServerName::IpAddress(t.addr.ip().into());
    let first = tls
        .connect(name.clone(), TcpStream::connect(t.addr).await.unwrap())
        .await
        .unwrap();
    // The only slot is taken: a second client's handshake is not served meanwhile.
    let second = tls.connect(name, TcpStream::connect(t.addr).await.unwrap());
    tokio::pin!(second);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut second)
            .await
            .is_err(),
        "the second connection waits"
    );
    drop(first);
    let second = tokio::time::timeout(LIMIT, second)
        .await
        .expect("served once the first closed");
    assert!(second.is_ok());
    t.stop().await;
}
