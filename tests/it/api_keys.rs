//! API keys: created in the portal (shown once) or by the CLI, used as bearer keys on the
//! REST API, narrowed by scopes, revoked, expired; every step audited.

use crate::support::*;

async fn api(c: &Client, method: &str, path: &str, key: &str, body: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string().into(),
    )
    .await
}

fn json(r: &Resp) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn shown_key(body: &str) -> String {
    let at = body.find("lk_").expect("the new key is shown");
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[tokio::test]
async fn a_key_made_in_the_portal_works_on_the_api_until_revoked() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = admin.get("/settings/security/api-keys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No API keys yet"));
    let csrf = page.csrf();

    let too_short = admin
        .post_form(
            "/settings/security/api-keys",
            &[
                ("csrf", &csrf),
                ("label", "x"),
                ("scope_company-admin", "on"),
            ],
        )
        .await;
    assert_eq!(too_short.status, 400);
    assert!(too_short.body.contains("3 to 50 characters"));

    let created = admin
        .post_form(
            "/settings/security/api-keys",
            &[
                ("csrf", &csrf),
                ("label", "nightly export"),
                ("scope_company-admin", "on"),
                ("expires_in_days", "30"),
                ("current_password", "not my password"),
            ],
        )
        .await;
    assert_eq!(created.status, 400, "re-authentication is required");
    assert!(created.body.contains("not your current password"));
    assert!(!created.body.contains("lk_"));
    let created = admin
        .post_form(
            "/settings/security/api-keys",
            &[
                ("csrf", &csrf),
                ("label", "nightly export"),
                ("scope_company-admin", "on"),
                ("expires_in_days", "30"),
                ("current_password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("you will not see this again"));
    let key = shown_key(&created.body);
    let again = admin.get("/settings/security/api-keys").await;
    assert!(again.body.contains("nightly export"));
    assert!(!again.body.contains(&key), "shown once only");

    let c = t.client();
    let events = api(
        &c,
        "GET",
        "/api/v1/audit-events?type=api_key.&limit=5",
        &key,
        "",
    )
    .await;
    assert_eq!(events.status, 200, "{}", events.body);
    let v = json(&events);
    assert_eq!(v["limit"], 5);
    assert_eq!(v["items"][0]["kind"], "api_key.create");
    assert_eq!(v["items"][0]["details"]["label"], "nightly export");

    // Bad keys and bad input.
    assert_eq!(
        api(&c, "GET", "/api/v1/audit-events", "lk_wrong", "")
            .await
            .status,
        401
    );
    let no_key = c.get("/api/v1/audit-events").await;
    assert_eq!(no_key.status, 401);
    assert!(
        no_key
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(json(&no_key)["error"]["code"], "unauthorized");
    let bad_limit = api(&c, "GET", "/api/v1/audit-events?limit=5000", &key, "").await;
    assert_eq!(bad_limit.status, 400);
    assert_eq!(json(&bad_limit)["error"]["code"], "validation_failed");
    // A browser session is not an API credential.
    assert_eq!(admin.get("/api/v1/audit-events").await.status, 401);

    // Keys made through the API: narrower only.
    let wider = api(
        &c,
        "POST",
        "/api/v1/api-keys",
        &key,
        r#"{"label":"too wide","scopes":["metrics","root"]}"#,
    )
    .await;
    assert_eq!(wider.status, 400, "{}", wider.body);
    let made = api(
        &c,
        "POST",
        "/api/v1/api-keys",
        &key,
        r#"{"label":"dev only","scopes":["developer"],"expires_in_days":7}"#,
    )
    .await;
    assert_eq!(
        made.status, 400,
        "the admin does not hold the developer role: {}",
        made.body
    );
    let made = api(
        &c,
        "POST",
        "/api/v1/api-keys",
        &key,
        r#"{"label":"second","scopes":["company-admin"],"expires_in_days":7}"#,
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let second = json(&made);
    let second_key = second["key"].as_str().unwrap().to_string();
    let id = second["id"].as_str().unwrap().to_string();
    assert_eq!(
        api(&c, "GET", "/api/v1/api-keys", &second_key, "")
            .await
            .status,
        200
    );
    let revoked = api(&c, "DELETE", &format!("/api/v1/api-keys/{id}"), &key, "").await;
    assert_eq!(revoked.status, 200);
    assert_eq!(json(&revoked)["status"], "revoked");
    assert_eq!(
        api(&c, "GET", "/api/v1/api-keys", &second_key, "")
            .await
            .status,
        401
    );

    // Expiry follows the clock.
    t.clock.advance_ms(31 * 86_400_000);
    assert_eq!(
        api(&c, "GET", "/api/v1/audit-events", &key, "")
            .await
            .status,
        401
    );
    t.stop().await;
}

#[tokio::test]
async fn a_key_acts_only_with_its_scopes_that_its_owner_still_holds() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_key = lantern::cli::api_key_create(
        &t.data_dir(),
        ADMIN_EMAIL,
        "admin tools",
        &["company-admin".into()],
        5,
    )
    .await
    .unwrap();
    assert!(admin_key.starts_with("lk_"));
    let refused =
        lantern::cli::api_key_create(&t.data_dir(), ADMIN_EMAIL, "wider", &["security".into()], 5)
            .await
            .unwrap_err();
    assert!(
        refused.to_string().contains("wider than your own roles"),
        "{refused}"
    );
    let unknown =
        lantern::cli::api_key_create(&t.data_dir(), "nobody@example.org", "x-label", &[], 5)
            .await
            .unwrap_err();
    assert!(unknown.to_string().contains("no user"), "{unknown}");

    // A developer's key cannot read the audit trail: 403, audited.
    let mut stdin = std::io::Cursor::new(b"evening lamp light\n".to_vec());
    lantern::cli::admin_create(
        &t.data_dir(),
        "dev@example.org",
        None,
        &["developer".into()],
        &mut stdin,
    )
    .await
    .unwrap();
    let key = lantern::cli::api_key_create(&t.data_dir(), "dev@example.org", "dev tools", &[], 5)
        .await
        .unwrap();
    let c = t.client();
    let r = api(&c, "GET", "/api/v1/audit-events", &key, "").await;
    assert_eq!(r.status, 403);
    assert_eq!(json(&r)["error"]["code"], "forbidden");
    let denied = api(
        &c,
        "GET",
        "/api/v1/audit-events?type=access.denied",
        &admin_key,
        "",
    )
    .await;
    let items = json(&denied)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["actor"]["label"], "dev tools");
    t.stop().await;
}

#[tokio::test]
async fn disabling_the_owner_revokes_the_keys() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut stdin = std::io::Cursor::new(b"evening lamp light\n".to_vec());
    let said = lantern::cli::admin_create(
        &t.data_dir(),
        "ops@example.org",
        None,
        &["company-admin".into()],
        &mut stdin,
    )
    .await
    .unwrap();
    let id = said
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_string();
    let key = lantern::cli::api_key_create(&t.data_dir(), "ops@example.org", "ops tools", &[], 5)
        .await
        .unwrap();
    let c = t.client();
    assert_eq!(
        api(&c, "GET", "/api/v1/api-keys", &key, "").await.status,
        200
    );
    let detail = admin.get(&format!("/settings/iam/users/{id}")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let r = admin
        .post_form(
            &format!("/settings/iam/users/{id}/disable"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert!(r.status == 303 || r.status == 200, "{}", r.body);
    assert_eq!(
        api(&c, "GET", "/api/v1/api-keys", &key, "").await.status,
        401
    );
    let keys = admin.get("/settings/security/api-keys").await;
    assert!(keys.body.contains("revoked"), "{}", keys.body);
    t.stop().await;
}
