//! Sign-in, sessions, sign-out, throttling and CSRF.

use crate::support::*;

#[tokio::test]
async fn sign_in_sets_a_strict_host_cookie_and_shows_the_whole_navigation() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    let r = c
        .sign_in_to("/sign-in?next=/profile", "ADA@example.org ", ADMIN_PASSWORD)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/profile"));
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-lantern="))
        .unwrap();
    for part in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-lantern=");
    assert!(id.len() >= 43, "256-bit id");

    let page = c.get("/getting-started").await;
    assert_eq!(page.status, 200);
    for entry in lantern::ui::nav::NAV {
        assert!(
            page.body.contains(&format!("href=\"{}\"", entry.path)),
            "navigation lacks {}",
            entry.path
        );
    }
    // Every navigation page answers for the Company Admin.
    for entry in lantern::ui::nav::NAV {
        let p = c.get(entry.path).await;
        assert_eq!(p.status, 200, "{}", entry.path);
        assert!(
            p.body.contains(&entry.label.replace('&', "&amp;")),
            "{}",
            entry.path
        );
    }

    // Sign out needs the session's CSRF token.
    let profile = c.get("/profile").await;
    let no_token = c.post_form("/sign-out", &[]).await;
    assert_eq!(no_token.status, 403);
    let out = c.post_form("/sign-out", &[("csrf", &profile.csrf())]).await;
    assert_eq!(out.status, 303);
    assert_eq!(c.get("/profile").await.status, 303, "signed out");
    t.stop().await;
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    // Same length e-mails, so that the re-rendered forms can be compared byte for byte.
    let wrong = c.sign_in(ADMIN_EMAIL, "not the password").await;
    let unknown = c.sign_in("adb@example.org", "not the password").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(
        wrong
            .body
            .contains("e-mail address or password is not correct")
    );
    assert_eq!(
        wrong.body.replace(ADMIN_EMAIL, "X"),
        unknown.body.replace("adb@example.org", "X")
    );
    t.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_429_then_allowed_again() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    for _ in 0..5 {
        assert_eq!(
            c.sign_in(ADMIN_EMAIL, "guess guess guess").await.status,
            401
        );
    }
    let throttled = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("60"));
    t.clock.advance_ms(61_000);
    assert_eq!(c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 303);
    t.stop().await;
}

#[tokio::test]
async fn forms_without_the_token_or_from_another_origin_are_refused() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    let form = c.get("/sign-in").await;
    let csrf = form.csrf();
    // Missing token.
    let r = c
        .post_form(
            "/sign-in",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    // Right token, foreign origin.
    let body = format!(
        "csrf={csrf}&email={}&password={}",
        encode(ADMIN_EMAIL),
        encode(ADMIN_PASSWORD)
    );
    let r = c
        .request(
            "POST",
            "/sign-in",
            &[
                ("origin", "https://evil.example"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.clone().into(),
        )
        .await;
    assert_eq!(r.status, 403);
    // No Origin and no Fetch-Metadata at all.
    let r = c
        .request(
            "POST",
            "/sign-in",
            &[("content-type", "application/x-www-form-urlencoded")],
            body.into(),
        )
        .await;
    assert_eq!(r.status, 403);
    // A different browser (no cookie) replaying the token.
    let other = t.client();
    let r = other
        .post_form(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    t.stop().await;
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(c.get("/profile").await.status, 200);
    t.clock.advance_ms(29 * 60_000);
    assert_eq!(
        c.get("/profile").await.status,
        200,
        "activity keeps it alive"
    );
    t.clock.advance_ms(31 * 60_000);
    let r = c.get("/profile").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/sign-in?next=/profile"));
    t.stop().await;
}

#[tokio::test]
async fn open_redirects_are_refused() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let c = t.client();
    let form = c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in?next=//evil.example/x",
            &[
                ("csrf", &form.csrf()),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/"));
    t.stop().await;
}
