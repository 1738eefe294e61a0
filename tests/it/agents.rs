//! The agent gateway over real TLS: the key checked before the upgrade, `hello` and its
//! version negotiation, the class-load stream into the registry, bad frames answered or
//! closed with a reason while other agents carry on, disconnects kept in the history.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::agent_client::*;
use crate::support::*;

fn registry(t: &TestApp) -> &lantern::agents::registry::Registry {
    &t.app().state.agents.registry
}

#[tokio::test]
async fn a_wrong_or_missing_key_gets_401_before_any_upgrade_and_is_audited() {
    let t = TestApp::start().await;
    let _ = default_pool_key(&t).await;
    let (status, body) = connect(&t, "lk_not-a-pool-key").await.err().unwrap();
    assert_eq!(status, 401);
    assert!(body.contains("no agent pool has this key"), "{body}");
    let (status, _) = connect(&t, "").await.err().unwrap();
    assert_eq!(status, 401);
    let state = &t.app().state;
    let (events, _) = state
        .store
        .read(|tx| lantern::security::audit::list(tx, &Default::default(), 0, 100))
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.event.kind == "agent.refused"),
        "no agent.refused event"
    );
}

#[tokio::test]
async fn a_detached_pool_is_refused_with_its_reason_and_its_agents_are_disconnected() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut ws = connect_hello(&t, &key, "before-detach", &[]).await;
    let admin = admin_api_key(&t).await;
    let r = t
        .client()
        .request(
            "POST",
            "/api/v1/agent-pools/default/detach",
            &[
                ("authorization", &format!("Bearer {admin}")),
                ("content-type", "application/json"),
            ],
            json!({"reason": "incident 42"}).to_string().into(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (code, _) = closed(&mut ws).await;
    assert_eq!(code, 1008, "a detached pool's agents are told why they go");
    let (status, body) = connect(&t, &key).await.err().unwrap();
    assert_eq!(status, 403);
    assert!(
        body.contains("pool_detached") && body.contains("incident 42"),
        "{body}"
    );
}

#[tokio::test]
async fn hello_then_class_loads_fill_the_registry_and_the_history() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut ws = connect_hello(&t, &key, "orders", &["production", "eu-west"]).await;
    send(&mut ws, &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [
            {"ref": 0, "location": "jrt:/", "kind": "runtime", "coordinates": [{"source": "runtime", "name": "openjdk", "version": "17.0.15"}]},
            {"ref": 1, "location": "/usr/share/tomcat10/lib/catalina.jar", "kind": "jar",
             "coordinates": [{"source": "manifest_bundle", "name": "org.apache.tomcat-catalina", "version": "10.1.31"}]},
            {"ref": 2, "location": "/srv/lib/unused.jar", "kind": "jar"}],
        "loads": [{"artifact": 0, "count": 870}, {"artifact": 1, "classes": ["org.apache.catalina.Server", "org.apache.catalina.Server"]}]})).await;
    send(&mut ws, &json!({"type": "class_loads", "seq": 2, "loads": [{"artifact": 1, "classes": ["org.apache.catalina.Engine"]}]})).await;
    send(
        &mut ws,
        &json!({"type": "agent_stats", "classes_seen": 873}),
    )
    .await;
    let reg = registry(&t);
    eventually("873 classes", || {
        reg.find("id-orders")
            .is_some_and(|a| a.classes_loaded == 872 && a.stats.is_some())
    })
    .await;
    let a = reg.find("id-orders").unwrap();
    assert!(a.initial_done);
    assert_eq!(a.hello.tags, ["production", "eu-west"]);
    assert_eq!(a.pool_id, "default");
    let arts = reg.artifacts(a.session, 10);
    assert_eq!(arts.len(), 3);
    let catalina = arts
        .iter()
        .find(|x| x.declared.location.ends_with("catalina.jar"))
        .unwrap();
    assert_eq!(catalina.class_count, 2, "a repeated name counts once");
    assert!(
        arts.iter()
            .any(|x| x.declared.location.ends_with("unused.jar") && x.class_count == 0)
    );
    let state = &t.app().state;
    let rec = state
        .store
        .read(|tx| lantern::agents::history::get(tx, "id-orders"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.connections, 1);
    assert!(rec.last_disconnect_reason.is_empty());
    ws.send(Message::Close(None)).await.unwrap();
    eventually("agent gone", || reg.find("id-orders").is_none()).await;
    let mut rec = None;
    for _ in 0..100 {
        rec = state
            .store
            .read(|tx| lantern::agents::history::get(tx, "id-orders"))
            .await
            .unwrap();
        if rec
            .as_ref()
            .is_some_and(|r| !r.last_disconnect_reason.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rec.unwrap().last_disconnect_reason, "agent_closed");
}

/// A start-up state bigger than a frame arrives as a fragmented message, as PROTOCOL.md asks;
/// the agent's close frame is answered (RFC 6455 §5.5.1) rather than left hanging.
#[tokio::test]
async fn a_big_state_in_fragments_is_taken_and_the_agents_close_is_answered() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut ws = connect_hello(&t, &key, "big-state", &[]).await;
    let names: Vec<String> = (0..15_000)
        .map(|i| {
            format!(
                "org.example.generated.pkg{}.SomeLongishClassName{i}",
                i % 97
            )
        })
        .collect();
    let frame = json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [{"ref": 1, "location": "/srv/app.jar", "kind": "jar"}],
        "loads": [{"artifact": 1, "classes": names}]})
    .to_string();
    assert!(frame.len() > 10 * 64 * 1024, "{} bytes", frame.len());
    send_fragmented(&mut ws, &frame, 64 * 1024).await;
    let reg = registry(&t);
    eventually("15,000 classes", || {
        reg.find("id-big-state")
            .is_some_and(|a| a.classes_loaded == 15_000 && a.initial_done)
    })
    .await;
    ws.send(Message::Close(Some(tungstenite::protocol::CloseFrame {
        code: tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    assert_eq!(closed(&mut ws).await.0, 1000, "the close is answered");
    eventually("agent gone", || reg.find("id-big-state").is_none()).await;
}

/// The reachability index keeps packages across a restart: what was loaded (by whom, in
/// which pool, with which tags, which classes) and what was only present.
#[tokio::test]
async fn packages_seen_before_a_restart_are_known_after_it() {
    use lantern::reach::PackageStatus;
    let mut t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut ws = connect_hello(&t, &key, "orders", &["production"]).await;
    send(&mut ws, &json!({"type": "class_loads", "seq": 1, "initial": true, "initial_done": true,
        "artifacts": [
            {"ref": 1, "location": "/srv/lib/snakeyaml-1.33.jar", "kind": "jar",
             "coordinates": [{"source": "pom_properties", "group": "org.yaml", "name": "snakeyaml", "version": "1.33"}]},
            {"ref": 2, "location": "/srv/lib/unused-2.0.jar", "kind": "jar",
             "coordinates": [{"source": "pom_properties", "group": "org.example", "name": "unused", "version": "2.0"}]}],
        "loads": [{"artifact": 1, "classes": ["org.yaml.snakeyaml.Yaml"]}]})).await;
    let reg = registry(&t);
    eventually("one class", || {
        reg.find("id-orders").is_some_and(|a| a.classes_loaded == 1)
    })
    .await;
    drop(ws);
    eventually("agent gone", || reg.is_empty()).await;
    t.stop().await;
    let t = TestApp::start_in(t.dir, &[]).await;
    let rows = registry(&t).with_index(|i| i.packages(0));
    let purls: Vec<&str> = rows.iter().map(|r| r.id.purl.as_str()).collect();
    assert_eq!(
        purls,
        [
            "pkg:maven/org.example/unused@2.0",
            "pkg:maven/org.yaml/snakeyaml@1.33"
        ]
    );
    assert_eq!(rows[0].status, PackageStatus::NotLoaded);
    let yaml = &rows[1];
    assert_eq!(yaml.status, PackageStatus::Loaded);
    assert_eq!(
        (yaml.pools.as_slice(), yaml.tags.as_slice()),
        (
            &["default".to_string()][..],
            &["production".to_string()][..]
        )
    );
    assert_eq!(yaml.ever_agents, 1);
    let detail = registry(&t)
        .with_index(|i| i.package_detail("pkg:maven/org.yaml/snakeyaml@1.33", 0, 10))
        .unwrap();
    assert_eq!(detail.classes, ["org.yaml.snakeyaml.Yaml"]);
    assert_eq!(detail.ever_agents, ["id-orders"]);
}

#[tokio::test]
async fn unknown_types_and_invalid_messages_get_an_error_and_the_connection_stays() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut ws = connect_hello(&t, &key, "tolerant", &[]).await;
    send(&mut ws, &json!({"type": "teleport", "to": "mars"})).await;
    let e = next_json(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("unknown_type")),
        "{e}"
    );
    send(
        &mut ws,
        &json!({"type": "class_loads", "seq": 1, "loads": [{"artifact": 9, "classes": ["a.B"]}]}),
    )
    .await;
    let e = next_json(&mut ws).await;
    assert_eq!(e["code"], "invalid_message", "{e}");
    assert!(e["message"].as_str().unwrap().contains("artifact 9"), "{e}");
    send(&mut ws, &hello("tolerant", &[])).await;
    assert_eq!(next_json(&mut ws).await["code"], "out_of_order");
    // The rejected frame did not use up its seq: 1 is still next.
    send(&mut ws, &json!({"type": "class_loads", "seq": 1, "artifacts": [{"ref": 9, "location": "/a.jar", "kind": "jar"}],
        "loads": [{"artifact": 9, "classes": ["a.B"]}]})).await;
    let reg = registry(&t);
    eventually("a.B loaded", || {
        reg.find("id-tolerant")
            .is_some_and(|a| a.classes_loaded == 1)
    })
    .await;
}

#[tokio::test]
async fn bad_frames_close_with_a_reason_and_other_agents_carry_on() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut bystander = connect_hello(&t, &key, "bystander", &[]).await;

    let mut ws = connect_hello(&t, &key, "malformed", &[]).await;
    ws.send(Message::text("{this is not json")).await.unwrap();
    assert_eq!(closed(&mut ws).await.0, 1002);

    let mut ws = connect_hello(&t, &key, "binary", &[]).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(closed(&mut ws).await.0, 1003);

    let mut ws = connect_hello(&t, &key, "huge", &[]).await;
    let huge = format!(
        "{{\"type\":\"agent_stats\",\"pad\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    let _ = ws.send(Message::text(huge)).await;
    assert_eq!(closed(&mut ws).await.0, 1009);

    // Under the message cap but in one frame over the 64 KiB frame cap.
    let mut ws = connect_hello(&t, &key, "wide-frame", &[]).await;
    let wide = format!(
        "{{\"type\":\"agent_stats\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    );
    let _ = ws.send(Message::text(wide)).await;
    assert_eq!(closed(&mut ws).await.0, 1009, "a frame over 64 KiB closes");

    // Over the message cap, each fragment small.
    let mut ws = connect_hello(&t, &key, "huge-fragmented", &[]).await;
    send_fragmented(
        &mut ws,
        &format!(
            "{{\"type\":\"agent_stats\",\"pad\":\"{}\"}}",
            "x".repeat(1_100_000)
        ),
        60_000,
    )
    .await;
    assert_eq!(
        closed(&mut ws).await.0,
        1009,
        "fragments join to more than 1 MiB"
    );

    let mut ws = connect_hello(&t, &key, "gap", &[]).await;
    send(&mut ws, &json!({"type": "class_loads", "seq": 2})).await;
    assert_eq!(closed(&mut ws).await.0, 1002, "a seq gap closes");

    let mut ws = connect(&t, &key).await.unwrap();
    send(&mut ws, &json!({"type": "agent_stats", "classes_seen": 1})).await;
    assert_eq!(next_json(&mut ws).await["code"], "out_of_order");
    assert_eq!(
        closed(&mut ws).await.0,
        1002,
        "the first message must be hello"
    );

    let mut ws = connect(&t, &key).await.unwrap();
    let mut old = hello("future", &[]);
    old["protocol"] = json!(7);
    old["min_protocol"] = json!(5);
    send(&mut ws, &old).await;
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, 4004);
    assert!(reason.contains("protocol 1 to 1"), "{reason}");

    // The bystander still talks.
    send(&mut bystander, &json!({"type": "nonsense"})).await;
    assert_eq!(next_json(&mut bystander).await["code"], "unknown_type");
    assert!(registry(&t).find("id-bystander").is_some());
}

#[tokio::test]
async fn a_reconnect_of_the_same_instance_replaces_the_old_connection() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut first = connect_hello(&t, &key, "twin", &[]).await;
    let _second = connect_hello(&t, &key, "twin", &[]).await;
    assert_eq!(closed(&mut first).await.0, 4001);
    let reg = registry(&t);
    eventually("one twin", || {
        reg.list()
            .iter()
            .filter(|a| a.hello.agent_id == "id-twin")
            .count()
            == 1
    })
    .await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_others_are_unaffected() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut bystander = connect_hello(&t, &key, "reader", &[]).await;
    let ws = connect_hello(&t, &key, "deaf", &[]).await;
    let (mut sink, _never_read) = futures_util::StreamExt::split(ws);
    // Every unknown message earns an error reply the client never reads: the appliance's
    // sends stall, and it must give up on this agent alone.
    let flood = async {
        let frame = json!({"type": "flood", "pad": "y".repeat(4000)}).to_string();
        for _ in 0..200_000 {
            if sink.send(Message::text(frame.clone())).await.is_err() {
                return true;
            }
        }
        false
    };
    let reg = registry(&t);
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            _ = flood => {}
            _ = async { loop { if reg.find("id-deaf").is_none() { break; } tokio::time::sleep(Duration::from_millis(50)).await; } } => {}
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the deaf client was not disconnected within 60 s"
    );
    eventually("deaf gone", || reg.find("id-deaf").is_none()).await;
    send(&mut bystander, &json!({"type": "still-there"})).await;
    assert_eq!(next_json(&mut bystander).await["code"], "unknown_type");
}

#[tokio::test]
async fn the_java_agent_is_downloaded_with_a_session_or_an_api_key_and_never_anonymously() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let anonymous = t.client().get("/downloads/lantern-agent.jar").await;
    assert_eq!(anonymous.status, 303, "anonymous users are sent to sign in");
    let r = t
        .client()
        .request(
            "GET",
            "/downloads/lantern-agent.jar",
            &[("authorization", &format!("Bearer {key}"))],
            Vec::new().into(),
        )
        .await;
    let jdk_here = std::process::Command::new("javac")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if jdk_here {
        // The build machine has a JDK, so build.rs must have embedded the agent.
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/java-archive"));
        let jar = lantern::agents::downloads::JAVA_AGENT.unwrap();
        assert!(jar.starts_with(b"PK"), "a jar is a zip file");
    } else {
        assert_eq!(r.status, 503);
        assert!(r.body.contains("built without a JDK"), "{}", r.body);
    }
    let bad = t
        .client()
        .request(
            "GET",
            "/downloads/lantern-agent.jar",
            &[("authorization", "Bearer lk_wrong")],
            Vec::new().into(),
        )
        .await;
    assert_eq!(bad.status, 401);
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_with_1007_and_others_carry_on() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut bystander = connect_hello(&t, &key, "bystander", &[]).await;
    let mut ws = connect_hello(&t, &key, "latin1", &[]).await;
    let payload = b"{\"type\":\"agent_stats\",\"name\":\"caf\xe9\"}".to_vec();
    let frame = Frame::message(payload, OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(frame)).await.unwrap();
    let (code, reason) = closed(&mut ws).await;
    assert_eq!((code, reason.as_str()), (1007, "invalid_utf8"));
    send(&mut bystander, &json!({"type": "still-there"})).await;
    assert_eq!(next_json(&mut bystander).await["code"], "unknown_type");
}

#[tokio::test]
async fn a_ping_flood_gets_bounded_answers_and_the_connection_still_works() {
    let t = TestApp::start().await;
    let key = default_pool_key(&t).await;
    let mut bystander = connect_hello(&t, &key, "bystander", &[]).await;
    let mut ws = connect_hello(&t, &key, "pinger", &[]).await;
    // 20,000 pings with the largest control payload, none of the pongs read meanwhile: the
    // appliance owes at most the latest pong (RFC 6455 §5.5.3), so what it buffers for this
    // client stays bounded, and its other work goes on.
    let pings = 20_000;
    for i in 0..pings {
        let mut payload = format!("{i:08}").into_bytes();
        payload.resize(125, b'p');
        ws.feed(Message::Ping(payload.into())).await.unwrap();
        if i % 500 == 0 {
            ws.flush().await.unwrap();
            send(&mut bystander, &json!({"type": "during-flood"})).await;
            assert_eq!(next_json(&mut bystander).await["code"], "unknown_type");
        }
    }
    ws.flush().await.unwrap();
    send(&mut ws, &json!({"type": "after-flood"})).await;
    let mut pongs = 0;
    let reply = loop {
        match next(&mut ws).await {
            Message::Pong(_) => pongs += 1,
            Message::Ping(_) => {}
            Message::Text(t) => {
                break serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
            other => panic!("expected pongs then a reply, got {other:?}"),
        }
    };
    assert_eq!(reply["code"], "unknown_type", "{reply}");
    assert!(pongs <= pings, "{pongs} pongs for {pings} pings");
    assert!(registry(&t).find("id-pinger").is_some());
}
