//! A minimal agent for tests: real TLS, the real websocket upgrade with an agent-pool key,
//! and the protocol's JSON frames. It speaks whatever a test tells it to, bad frames
//! included, so that the gateway's answers can be checked.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::support::*;

pub type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// Makes the Default pool's key through the REST API as a Company Admin; answers it.
pub async fn default_pool_key(t: &TestApp) -> String {
    pool_key(t, "default").await
}

/// Rotates (or first makes) a pool's key; answers the new key.
pub async fn pool_key(t: &TestApp, pool: &str) -> String {
    let admin = admin_api_key(t).await;
    let r = t
        .client()
        .request(
            "POST",
            &format!("/api/v1/agent-pools/{pool}/keys"),
            &[("authorization", &format!("Bearer {admin}"))],
            Vec::new().into(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["key"].as_str().unwrap().to_string()
}

/// A Company Admin's API key (the admin is made on first use).
pub async fn admin_api_key(t: &TestApp) -> String {
    let exists = lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "agent tests",
        &["company-admin".into()],
        5,
    )
    .await;
    match exists {
        Ok(k) => k,
        Err(_) => {
            let _ = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
            lantern::cli::api_key_create(
                &t.data_dir(),
                ADMIN_EMAIL,
                "agent tests",
                &["company-admin".into()],
                5,
            )
            .await
            .unwrap()
        }
    }
}

/// Opens the websocket with `key`; `Err` carries the HTTP status of a refusal and its body.
pub async fn connect(t: &TestApp, key: &str) -> Result<Ws, (u16, String)> {
    let tcp = TcpStream::connect(t.addr).await.unwrap();
    let tls = connector(&t.data_dir(), vec![b"http/1.1".to_vec()])
        .connect(ServerName::IpAddress(t.addr.ip().into()), tcp)
        .await
        .unwrap();
    let mut req = format!("wss://{}/agent/v1", t.addr)
        .into_client_request()
        .unwrap();
    if !key.is_empty() {
        req.headers_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    match tokio_tungstenite::client_async(req, tls).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

/// A `hello` for an agent called `name` with `tags`.
pub fn hello(name: &str, tags: &[&str]) -> Value {
    json!({"type": "hello", "protocol": 1, "agent_id": format!("id-{name}"),
           "instance_id": "i1", "runtime": {"name": "java", "version": "17.0.15"},
           "agent_version": "0.1.0", "display_name": name, "host": "test-host", "pid": 4242,
           "tags": tags, "capabilities": ["class_loads"]})
}

pub async fn send(ws: &mut Ws, v: &Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Sends one text message as a fragmented message of frames of at most `frame_bytes` (cut at
/// byte boundaries: only the joined message has to be UTF-8).
pub async fn send_fragmented(ws: &mut Ws, text: &str, frame_bytes: usize) {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let chunks: Vec<&[u8]> = text.as_bytes().chunks(frame_bytes).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let op = if i == 0 { Data::Text } else { Data::Continue };
        let last = i + 1 == chunks.len();
        let frame = Frame::message(chunk.to_vec(), OpCode::Data(op), last);
        ws.send(Message::Frame(frame)).await.unwrap();
    }
}

/// The next text frame as JSON (pings skipped), within 10 s.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match next(ws).await {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next frame, within 10 s.
pub async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("no frame within 10 s")
        .expect("the connection ended")
        .expect("read error")
}

/// Waits for the close frame; answers its code and reason.
pub async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("not closed within 15 s")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => return (0, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("read error before close: {e}"),
        }
    }
}

/// Connects, says hello, checks `hello_ack`.
pub async fn connect_hello(t: &TestApp, key: &str, name: &str, tags: &[&str]) -> Ws {
    let mut ws = connect(t, key).await.unwrap();
    send(&mut ws, &hello(name, tags)).await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "hello_ack", "{ack}");
    ws
}

/// Polls `cond` every 20 ms for up to 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}
