//! Links the portal shows lead somewhere the viewer may go (found by the every-page browser
//! crawl, tests/browser/every_page.test.mjs): the Data Explorer links to actions only for roles
//! that open Entities › Actions (not Company Viewer or Security), an action's page links to
//! its results only for roles that open the Data Explorer (not AppSec), and Runtime
//! Reachability's "no advisories" notice links to Package Enrichment only for roles that open
//! it. Each link that is shown answers 200 for the role it is shown to.

use serde_json::json;

use crate::action_pages::page_with;
use crate::actions::{actions_agent, call, json_of};
use crate::agent_client::*;
use crate::pools::{sign_in, user};
use crate::support::*;

/// The same-origin `href`s of a page that start with `prefix`.
fn links(body: &str, prefix: &str) -> Vec<String> {
    let needle = format!("href=\"{prefix}");
    body.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &body[at + "href=\"".len()..];
            rest[..rest.find('"').unwrap()].replace("&amp;", "&")
        })
        .collect()
}

/// Every link of `body` under `prefix` answers 200 for `c`.
async fn all_open(c: &Client, body: &str, prefix: &str) {
    for href in links(body, prefix) {
        let r = c.get(&href).await;
        assert_eq!(r.status, 200, "{href}");
    }
}

#[tokio::test]
async fn links_are_shown_only_to_roles_that_may_follow_them() {
    let t = TestApp::start().await;
    let key = admin_api_key(&t).await;
    let pool_key = default_pool_key(&t).await;
    let api = t.client();
    let (mut ws, _) = actions_agent(&t, &pool_key, "shop", &["prod"]).await;
    let r = call(
        &api,
        &key,
        "POST",
        "/actions",
        Some(
            json!({"type": "snapshot", "location": {"file": "Shop.java", "line": 12},
                    "target": {"kind": "agent", "id": "id-shop"}}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = json_of(&r)["id"].as_str().unwrap().to_string();
    send(
        &mut ws,
        &json!({"type": "snapshot", "id": id, "time": 1_764_301_234_567_i64, "thread": "main",
                "frames": [{"class": "demo.Shop", "method": "checkout", "file": "Shop.java", "line": 12}],
                "locals": [], "watches": []}),
    )
    .await;
    let admin = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (viewer, _) = user(&t, "viewer@example.org", &["company-viewer"]).await;
    let (security, _) = user(&t, "security@example.org", &["security"]).await;
    let (appsec, _) = user(&t, "appsec@example.org", &["appsec"]).await;
    let detail = format!("/entities/actions/{id}");
    let hit = format!("/data-explorer/snapshots/{id}/1");

    // The Data Explorer: the admin gets the action's links, readers of results the location.
    let explorer = page_with(&admin, "/data-explorer", "Shop.java:12").await;
    assert!(explorer.body.contains(&format!("href=\"{detail}\"")));
    assert!(
        admin
            .get(&hit)
            .await
            .body
            .contains(&format!("href=\"{detail}\""))
    );
    assert!(
        admin
            .get("/data-explorer/metrics")
            .await
            .body
            .contains("href=\"/entities/actions/new\""),
        "an admin may place a metric from the empty tab"
    );
    for reader in [&viewer, &security] {
        for path in [
            "/data-explorer",
            "/data-explorer/logs",
            "/data-explorer/metrics",
            &hit,
        ] {
            let r = reader.get(path).await;
            assert_eq!(r.status, 200, "{path}");
            assert!(
                links(&r.body, "/entities/actions/").is_empty(),
                "{path}: {:?}",
                links(&r.body, "/entities/actions/")
            );
            all_open(reader, &r.body, "/data-explorer").await;
        }
        assert!(
            reader
                .get("/data-explorer")
                .await
                .body
                .contains("Shop.java:12")
        );
        assert_eq!(
            reader.get(&detail).await.status,
            403,
            "still closed to them"
        );
    }

    // An action's page: its results for the admin, not for AppSec (no Data Explorer).
    assert!(
        admin
            .get(&detail)
            .await
            .body
            .contains("/data-explorer?action=")
    );
    let r = appsec.get(&detail).await;
    assert_eq!(r.status, 200);
    assert!(
        links(&r.body, "/data-explorer").is_empty(),
        "{:?}",
        links(&r.body, "/data-explorer")
    );
    let r = appsec.get("/entities/actions").await;
    assert!(links(&r.body, "/data-explorer").is_empty());
    all_open(&appsec, &r.body, "/entities/actions/").await;
    assert_eq!(appsec.get("/data-explorer").await.status, 403);

    // Runtime Reachability without advisories: the way to import them, or who does.
    let enrichment = "/settings/reachability/package-enrichment";
    for (c, shown) in [
        (&admin, true),
        (&appsec, true),
        (&viewer, true),
        (&security, false),
    ] {
        let r = c.get("/reachability").await;
        assert!(r.body.contains("No advisories loaded"));
        assert_eq!(
            r.body.contains("Import advisories in Package Enrichment"),
            shown
        );
        if !shown {
            assert!(links(&r.body, enrichment).is_empty());
            assert!(r.body.contains("imports them in Package Enrichment"));
        }
        assert_eq!(
            c.get(enrichment).await.status,
            if shown { 200 } else { 403 }
        );
    }
}
