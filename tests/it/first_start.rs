//! First start: data directory, TLS material, setup link, first admin.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

#[tokio::test]
async fn first_start_makes_a_private_data_dir_a_certificate_and_a_setup_link() {
    let mut t = TestApp::start().await;
    let data = t.data_dir();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("tls/key.pem")), 0o600);
    assert_eq!(mode(&data.join("control.sock")), 0o600);
    let banner = t.app().banner().join("\n");
    assert!(
        banner.contains("listening on https://127.0.0.1:"),
        "{banner}"
    );
    assert!(
        banner.contains("TLS certificate pin (for agents): sha256/"),
        "{banner}"
    );
    assert!(banner.contains("/setup?token="), "{banner}");

    let c = t.client();
    let health = c.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, r#"{"status":"ok"}"#);
    let home = c.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location"), Some("/sign-in?next=/"));
    assert_eq!(c.get("/setup?token=wrong").await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let mut t = TestApp::start().await;
    let c = t.client();
    let setup = t.setup_path();
    let token = setup.split("token=").nth(1).unwrap().to_string();
    let page = c.get(&setup).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();

    // Bad input keeps what was typed and says what is wrong next to the field.
    let bad = c
        .post_form(
            "/setup",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.org"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("ada@example.org"));
    assert!(bad.body.contains("at least 8 characters"), "{}", bad.body);
    let mismatch = c
        .post_form(
            "/setup",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("name", "Ada"),
                ("email", "ada@example.org"),
                ("password", ADMIN_PASSWORD),
                ("password_confirm", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.body.contains("the two passwords differ"));

    let signed_in = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = signed_in.get("/getting-started").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Ada Admin"));

    // The link is spent: neither the form nor a replayed post works.
    assert_eq!(c.get(&setup).await.status, 404);
    let replay = c
        .post_form(
            "/setup",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("name", "Eve"),
                ("email", "eve@example.org"),
                ("password", ADMIN_PASSWORD),
                ("password_confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(replay.status, 404);

    // A restart with a user in the store issues no new link.
    let dir = std::mem::replace(&mut t.dir, tempfile::tempdir().unwrap());
    t.stop().await;
    let mut again = TestApp::start_in(dir, &[]).await;
    assert!(again.app().setup_link.is_none());
    again.stop().await;
}

#[tokio::test]
async fn setup_links_expire() {
    let mut t = TestApp::start_with(&[("LANTERN_AUTH_SETUP_LINK_MINUTES", "5")]).await;
    let c = t.client();
    assert_eq!(c.get(&t.setup_path()).await.status, 200);
    t.clock.advance_ms(5 * 60_000 + 1);
    let expired = c.get(&t.setup_path()).await;
    assert_eq!(expired.status, 404);
    assert!(
        expired.body.contains("lantern admin create"),
        "{}",
        expired.body
    );
    t.stop().await;
}
