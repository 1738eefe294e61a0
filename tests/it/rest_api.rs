//! The REST API for identity objects (`users`, `groups`, `agent-pools`, `temp-access`) and
//! its OpenAPI document, spoken to with bearer API keys as a script would.

use serde_json::{Value, json};

use crate::support::*;

const PASSWORD: &str = "quiet harbour 2026";

async fn api(c: &Client, method: &str, path: &str, key: &str, body: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        method,
        &format!("/api/v1{path}"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string().into(),
    )
    .await
}

fn json(r: &Resp) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Starts the appliance with a Company Admin and answers a client and their API key.
async fn admin_key(t: &TestApp) -> (Client, String) {
    let _ = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let key = lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "identity tools",
        &["company-admin".into()],
        5,
    )
    .await
    .unwrap();
    (t.client(), key)
}

/// Creates a user with a password through the API; answers their id.
async fn make_user(c: &Client, key: &str, email: &str, roles: &[&str]) -> String {
    let body = json!({"email": email, "name": "Some One", "roles": roles, "password": PASSWORD});
    let r = api(c, "POST", "/users", key, &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    json(&r)["id"].as_str().unwrap().to_string()
}

async fn user_key(t: &TestApp, email: &str) -> String {
    lantern::cli::api_key_create(&t.data_dir(), email, "user tools", &[], 5)
        .await
        .unwrap()
}

#[tokio::test]
async fn users_are_created_changed_disabled_and_deleted_by_api() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;

    // With a password: enabled at once, no activation link.
    let with = json!({"email": "Dee@Example.org", "name": "Dee", "roles": ["developer"], "password": PASSWORD});
    let r = api(&c, "POST", "/users", &key, &with.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let dee = json(&r);
    assert_eq!(dee["email"], "dee@example.org");
    assert_eq!(dee["status"], "enabled");
    assert!(dee.get("activation_link").is_none());
    let id = dee["id"].as_str().unwrap().to_string();

    // Without: pending, with an activation link shown this once.
    let without = json!({"email": "pat@example.org", "name": "Pat", "roles": []});
    let r = api(&c, "POST", "/users", &key, &without.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pat = json(&r);
    assert_eq!(pat["status"], "pending");
    assert_eq!(
        pat["roles"],
        json!(["developer"]),
        "new users get Developer"
    );
    let link = pat["activation_link"].as_str().unwrap();
    assert!(link.contains("/activate?token="), "{link}");
    let pat_id = pat["id"].as_str().unwrap();
    let again = api(&c, "GET", &format!("/users/{pat_id}"), &key, "").await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains("activation_link"), "shown once only");

    // A duplicate address is a conflict; a bad address names the field.
    let dup = api(&c, "POST", "/users", &key, &with.to_string()).await;
    assert_eq!(dup.status, 409, "{}", dup.body);
    assert_eq!(json(&dup)["error"]["code"], "conflict");
    let bad = json!({"email": "nope", "name": "X"});
    let r = api(&c, "POST", "/users", &key, &bad.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "validation_failed");
    assert!(
        json(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("email")
    );
    let weak = json!({"email": "w@example.org", "name": "W", "password": "short"});
    let r = api(&c, "POST", "/users", &key, &weak.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("password"), "{}", r.body);
    let role = json!({"email": "r@example.org", "name": "R", "roles": ["root"]});
    let r = api(&c, "POST", "/users", &key, &role.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("roles"), "{}", r.body);

    // The list searches and pages.
    let r = api(&c, "GET", "/users?q=dee&limit=1", &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = json(&r);
    assert_eq!(page["total"], 1);
    assert_eq!(page["limit"], 1);
    assert_eq!(page["offset"], 0);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let all = json(&api(&c, "GET", "/users", &key, "").await);
    assert_eq!(all["total"], 3);
    assert_eq!(all["limit"], 20);

    // Roles change; Dee signs in and gets a key of her own.
    let r = api(
        &c,
        "PATCH",
        &format!("/users/{id}"),
        &key,
        r#"{"roles":["developer","appsec"]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["roles"], json!(["appsec", "developer"]));
    let browser = t.client();
    assert_eq!(
        browser.sign_in("dee@example.org", PASSWORD).await.status,
        303
    );
    assert_eq!(browser.get("/profile").await.status, 200);
    let dee_key = user_key(&t, "dee@example.org").await;
    assert_eq!(
        api(&c, "GET", "/agent-pools", &dee_key, "").await.status,
        200
    );

    // Disabling ends her session and her key at once.
    let r = api(
        &c,
        "PATCH",
        &format!("/users/{id}"),
        &key,
        r#"{"enabled":false}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["status"], "disabled");
    assert_eq!(browser.get("/profile").await.status, 303, "session ended");
    assert_eq!(
        api(&c, "GET", "/agent-pools", &dee_key, "").await.status,
        401,
        "key revoked"
    );

    // The caller cannot delete the account its key belongs to.
    let me = json(&api(&c, "GET", "/users?q=ada", &key, "").await);
    let my_id = me["items"][0]["id"].as_str().unwrap().to_string();
    let r = api(&c, "DELETE", &format!("/users/{my_id}"), &key, "").await;
    assert_eq!(r.status, 409, "{}", r.body);

    let r = api(&c, "DELETE", &format!("/users/{id}"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api(&c, "GET", &format!("/users/{id}"), &key, "")
            .await
            .status,
        404
    );

    // Every change is in the audit trail with the key as the actor.
    let events = json(&api(&c, "GET", "/audit-events?type=user.&limit=100", &key, "").await);
    let kinds: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (kind, outcome) in [
        ("user.create", "success"),
        ("user.create", "failure"),
        ("user.roles_change", "success"),
        ("user.disable", "success"),
        ("user.delete", "success"),
        ("user.delete", "failure"),
    ] {
        assert!(
            kinds.iter().any(|(k, o)| k == kind && o == outcome),
            "{kind} {outcome} in {kinds:?}"
        );
    }
    assert!(
        events["items"][0]["actor"]
            .to_string()
            .contains("identity tools")
    );
}

#[tokio::test]
async fn a_users_api_needs_the_users_permission() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    make_user(&c, &key, "dev@example.org", &["developer"]).await;
    let dev = user_key(&t, "dev@example.org").await;
    let r = api(&c, "GET", "/users", &dev, "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "forbidden");
    let r = api(&c, "POST", "/agent-pools", &dev, r#"{"name":"mine"}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        api(&c, "GET", "/users", "lk_nonsense", "").await.status,
        401
    );
    let r = api(&c, "GET", "/users", "", "").await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn pools_give_their_key_once_rotate_detach_and_keep_the_default() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    let r = api(
        &c,
        "POST",
        "/agent-pools",
        &key,
        r#"{"name":"payments","description":"prod"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pool = json(&r);
    let id = pool["id"].as_str().unwrap().to_string();
    let first = pool["key"].as_str().unwrap().to_string();
    assert!(first.len() > 20, "{first}");

    let read = api(&c, "GET", &format!("/agent-pools/{id}"), &key, "").await;
    assert_eq!(read.status, 200);
    assert!(!read.body.contains(&first), "the key is shown once");
    assert!(json(&read).get("key").is_none());
    let list = json(&api(&c, "GET", "/agent-pools", &key, "").await);
    assert_eq!(list["total"], 2, "Default and payments");
    assert!(!list.to_string().contains(&first));

    let taken = api(&c, "POST", "/agent-pools", &key, r#"{"name":"Payments"}"#).await;
    assert_eq!(taken.status, 409, "{}", taken.body);

    let r = api(&c, "POST", &format!("/agent-pools/{id}/keys"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = json(&r);
    let second = rotated["key"].as_str().unwrap();
    assert_ne!(second, first);
    assert!(rotated["previous_key_valid_until"].is_string(), "{rotated}");

    let r = api(
        &c,
        "PATCH",
        &format!("/agent-pools/{id}"),
        &key,
        r#"{"description":"production payments"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["description"], "production payments");

    let r = api(
        &c,
        "POST",
        &format!("/agent-pools/{id}/detach"),
        &key,
        r#"{"reason":"leaked key"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["detached"], true);
    assert_eq!(json(&r)["detach_reason"], "leaked key");
    let r = api(&c, "POST", &format!("/agent-pools/{id}/enable"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["detached"], false);

    let r = api(&c, "DELETE", "/agent-pools/default", &key, "").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "conflict");
    let r = api(&c, "DELETE", &format!("/agent-pools/{id}"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api(&c, "GET", &format!("/agent-pools/{id}"), &key, "")
            .await
            .status,
        404
    );

    let events = api(&c, "GET", "/audit-events?type=pool.&limit=100", &key, "").await;
    for kind in [
        "pool.create",
        "pool.key_rotate",
        "pool.update",
        "pool.detach",
        "pool.reenable",
        "pool.delete",
    ] {
        assert!(events.body.contains(kind), "{kind}: {}", events.body);
    }
}

#[tokio::test]
async fn a_developer_key_sees_only_its_pools() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    let dev_id = make_user(&c, &key, "dev@example.org", &["developer"]).await;
    let dev = user_key(&t, "dev@example.org").await;
    let r = api(&c, "POST", "/agent-pools", &key, r#"{"name":"secret-ops"}"#).await;
    let other = json(&r)["id"].as_str().unwrap().to_string();

    let mine = json(&api(&c, "GET", "/agent-pools", &dev, "").await);
    assert_eq!(mine["total"], 1, "{mine}");
    assert_eq!(mine["items"][0]["id"], "default");
    let r = api(&c, "GET", &format!("/agent-pools/{other}"), &dev, "").await;
    assert_eq!(r.status, 404, "outside the scope: 404, not 403");
    assert_eq!(json(&r)["error"]["code"], "not_found");

    // A group puts the pool into the developer's scope; removing it takes it out again.
    let body = json!({"name": "ops", "members": [dev_id], "pools": [other]});
    let r = api(&c, "POST", "/groups", &key, &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let group = json(&r)["id"].as_str().unwrap().to_string();
    let r = api(&c, "GET", &format!("/agent-pools/{other}"), &dev, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &c,
        "PATCH",
        &format!("/groups/{group}"),
        &key,
        r#"{"pools":[]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["name"], "ops", "left-out fields keep their value");
    let r = api(&c, "GET", &format!("/agent-pools/{other}"), &dev, "").await;
    assert_eq!(r.status, 404);

    let groups = json(&api(&c, "GET", "/groups", &key, "").await);
    assert_eq!(groups["total"], 2);
    let r = api(&c, "DELETE", "/groups/default", &key, "").await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = api(&c, "DELETE", &format!("/groups/{group}"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        api(&c, "GET", &format!("/groups/{group}"), &key, "")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn temporary_access_has_limits_and_can_be_revoked() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    let dev_id = make_user(&c, &key, "dev@example.org", &["developer"]).await;
    let dev = user_key(&t, "dev@example.org").await;
    let r = api(
        &c,
        "POST",
        "/agent-pools",
        &key,
        r#"{"name":"night-shift"}"#,
    )
    .await;
    let pool = json(&r)["id"].as_str().unwrap().to_string();

    let grant = |hours: i64, roles: &[&str]| {
        json!({
            "users": [dev_id],
            "pools": [pool],
            "roles": roles,
            "incident": "INC-42",
            "hours": hours,
        })
        .to_string()
    };
    let r = api(
        &c,
        "POST",
        "/temp-access",
        &key,
        &grant(31 * 24 + 1, &["developer"]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "validation_failed");
    assert!(r.body.contains("31 days"), "{}", r.body);
    let r = api(&c, "POST", "/temp-access", &key, &grant(0, &["developer"])).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(
        &c,
        "POST",
        "/temp-access",
        &key,
        &grant(2, &["company-admin"]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("roles"), "{}", r.body);
    let r = api(&c, "POST", "/temp-access", &key, &grant(2, &["wizard"])).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("wizard is not a role"), "{}", r.body);

    let r = api(
        &c,
        "POST",
        "/temp-access",
        &key,
        &grant(2, &["incident-responder"]),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = json(&r);
    assert_eq!(made["status"], "active");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(
        api(&c, "GET", &format!("/agent-pools/{pool}"), &dev, "")
            .await
            .status,
        200,
        "the grant reaches the pool"
    );
    let list = json(&api(&c, "GET", "/temp-access", &key, "").await);
    assert_eq!(list["total"], 1);

    let r = api(&c, "DELETE", &format!("/temp-access/{id}"), &key, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["status"], "revoked");
    let r = api(&c, "DELETE", &format!("/temp-access/{id}"), &key, "").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        api(&c, "GET", &format!("/agent-pools/{pool}"), &dev, "")
            .await
            .status,
        404,
        "revoked at once"
    );

    // At most 100 grants are active at once: the next one is a conflict, with the reason.
    for _ in 0..100 {
        let r = api(&c, "POST", "/temp-access", &key, &grant(1, &["developer"])).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = api(&c, "POST", "/temp-access", &key, &grant(1, &["developer"])).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "conflict");
    assert!(
        r.body.contains("the most allowed at once is 100"),
        "{}",
        r.body
    );
    let page = json(&api(&c, "GET", "/temp-access?offset=100&limit=5", &key, "").await);
    assert_eq!(page["total"], 101);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_the_reason() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    let r = api(&c, "POST", "/users", &key, r#"{"email": "a@example.org", "#).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "bad_request");
    assert!(r.body.contains("EOF"), "serde's message: {}", r.body);

    let r = api(
        &c,
        "POST",
        "/users",
        &key,
        r#"{"email":"a@example.org","name":"A","admin":true}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "bad_request");
    assert!(r.body.contains("unknown field `admin`"), "{}", r.body);

    let r = api(
        &c,
        "POST",
        "/agent-pools",
        &key,
        r#"{"name":"p","colour":"red"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(&c, "PATCH", "/agent-pools/default", &key, "[]").await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api(&c, "GET", "/users?limit=1001", &key, "").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "validation_failed");
    let r = api(&c, "PUT", "/users", &key, "").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(json(&r)["error"]["code"], "not_found");
    // Nothing was created by any of these.
    assert_eq!(json(&api(&c, "GET", "/users", &key, "").await)["total"], 1);
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_key() {
    let t = TestApp::start().await;
    let r = t.client().get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let doc = json(&r);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/users",
        "/groups/{id}",
        "/agent-pools/{id}/keys",
        "/temp-access",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn a_group_admin_key_changes_only_the_groups_it_administers() {
    let t = TestApp::start().await;
    let (c, key) = admin_key(&t).await;
    let lead = make_user(&c, &key, "lead@example.org", &["group-admin"]).await;
    let dev = make_user(&c, &key, "dev@example.org", &["developer"]).await;
    let ga = user_key(&t, "lead@example.org").await;
    let pool = |name: &'static str| {
        let c = &c;
        let key = &key;
        async move {
            let r = api(
                c,
                "POST",
                "/agent-pools",
                key,
                &json!({ "name": name }).to_string(),
            )
            .await;
            json(&r)["id"].as_str().unwrap().to_string()
        }
    };
    let ours = pool("team-pool").await;
    let theirs = pool("other-pool").await;
    let team = json!({"name": "team", "admins": [lead], "pools": [ours]});
    let r = api(&c, "POST", "/groups", &key, &team.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let team = json(&r)["id"].as_str().unwrap().to_string();
    let other = json!({"name": "other", "pools": [theirs]});
    let r = api(&c, "POST", "/groups", &key, &other.to_string()).await;
    let other = json(&r)["id"].as_str().unwrap().to_string();

    let r = api(
        &c,
        "PATCH",
        &format!("/groups/{team}"),
        &ga,
        &json!({"members": [dev]}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json(&r)["members"], json!([dev]));
    let r = api(
        &c,
        "PATCH",
        &format!("/groups/{team}"),
        &ga,
        r#"{"name":"mine now"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = api(
        &c,
        "PATCH",
        &format!("/groups/{team}"),
        &ga,
        &json!({"pools": [ours, theirs]}).to_string(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("pool scope"), "{}", r.body);
    let r = api(
        &c,
        "PATCH",
        &format!("/groups/{other}"),
        &ga,
        r#"{"members":[]}"#,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api(&c, "POST", "/groups", &ga, r#"{"name":"new"}"#).await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The pools of the groups they administer are in their scope; others are not.
    let r = api(&c, "POST", &format!("/agent-pools/{ours}/keys"), &ga, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(&c, "POST", &format!("/agent-pools/{theirs}/keys"), &ga, "").await;
    assert_eq!(r.status, 404, "{}", r.body);
}
