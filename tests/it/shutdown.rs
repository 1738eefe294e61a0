//! Graceful shutdown: requests in flight finish, then the store closes; a request that never
//! completes does not hold shutdown past the grace period.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const LIMIT: Duration = Duration::from_secs(30);

async fn wait_until_refused(addr: std::net::SocketAddr) {
    for _ in 0..500 {
        if TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the listener was not closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_is_answered_during_shutdown() {
    let mut t = TestApp::start().await;
    let mut s = tls_stream(&t).await;
    s.write_all(b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nemail")
        .await
        .unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let app = t.app.take().unwrap();
    let addr = t.addr;
    let stopping = tokio::spawn(app.shutdown());
    wait_until_refused(addr).await;
    s.write_all(b"=x@y.").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    // No Origin and no token: the CSRF check answers, which proves the request ran to the end.
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    tokio::time::timeout(LIMIT, stopping)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_request_does_not_hold_shutdown_past_the_grace_period() {
    let mut t = TestApp::start_with(&[("LANTERN_HTTP_SHUTDOWN_GRACE_SECS", "1")]).await;
    let mut s = tls_stream(&t).await;
    s.write_all(b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nemail")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let app = t.app.take().unwrap();
    tokio::time::timeout(LIMIT, app.shutdown())
        .await
        .expect("shutdown ends at the grace deadline")
        .unwrap();
    // The store was closed: it opens again at once.
    let store = lantern::store::Store::open(
        &lantern::app::store_path(&t.data_dir()),
        lantern::store::StoreOptions::default(),
    )
    .unwrap();
    store.close().unwrap();
}
