//! Two-step sign-in: enrolment on Profile, the second step of sign-in, reuse and throttling,
//! recovery codes, re-authentication for changes, a Company Admin's reset of a lost second
//! step (portal and API), and the audit trail.

use lantern::clock::Clock;
use lantern::iam::mfa;

use crate::support::*;

/// The text of the first `<code class="copyable-value">` (the key, grouped).
fn shown_key(body: &str) -> String {
    let at = body.find("class=\"copyable-value\">").expect("a key") + 23;
    let rest = &body[at..];
    rest[..rest.find('<').unwrap()].replace(' ', "")
}

/// The recovery codes shown once after enrolment or regeneration.
fn shown_recovery_codes(body: &str) -> Vec<String> {
    let at = body.find("Your recovery codes").expect("recovery codes");
    let rest = &body[at..];
    let start = rest.find("<pre><code>").unwrap() + 11;
    let rest = &rest[start..];
    rest[..rest.find('<').unwrap()]
        .lines()
        .map(str::to_string)
        .collect()
}

/// The code the user's app shows at the test clock's time, `offset_steps` steps away.
pub fn code(t: &TestApp, key: &str, offset_steps: i64) -> String {
    let secret = mfa::base32_decode(key).unwrap();
    mfa::totp(&secret, t.clock.now_secs() + offset_steps * 30, 6)
}

/// Enrols the signed-in client; returns the key and the recovery codes.
pub async fn enrol(t: &TestApp, c: &Client) -> (String, Vec<String>) {
    let setup = c.get("/profile/two-step").await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(
        setup
            .body
            .contains("enter this key in your authenticator app")
            || setup
                .body
                .contains("Enter this key in your authenticator app")
    );
    let key = shown_key(&setup.body);
    assert_eq!(key.len(), 32);
    assert!(
        setup
            .body
            .contains(&format!("secret={key}&amp;issuer=Lantern"))
    );
    // The key survives a reload until confirmed.
    assert_eq!(shown_key(&c.get("/profile/two-step").await.body), key);
    let csrf = setup.csrf();
    let wrong = c
        .post_form(
            "/profile/two-step/enable",
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("this code is not right"));
    let on = c
        .post_form(
            "/profile/two-step/enable",
            &[("csrf", &csrf), ("code", &code(t, &key, 0))],
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert!(on.body.contains("Two-step sign-in is on"));
    let codes = shown_recovery_codes(&on.body);
    assert_eq!(codes.len(), 10);
    // Shown once: neither the codes nor the key appear again.
    let again = c.get("/profile/two-step").await;
    assert!(!again.body.contains(&codes[0]));
    assert!(!again.body.contains(&key[..8]));
    (key, codes)
}

/// Signs out, then signs in with the password; returns the answer to the password post.
async fn password_step(t: &TestApp) -> (Client, Resp) {
    let c = t.client();
    let r = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    (c, r)
}

pub async fn second_step(c: &Client, typed: &str) -> Resp {
    let form = c.get("/sign-in/two-step").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body
            .contains("Enter the 6-digit code (or a recovery code)")
    );
    c.post_form(
        "/sign-in/two-step",
        &[("csrf", &form.csrf()), ("code", typed)],
    )
    .await
}

async fn audit_kinds(admin: &Client) -> String {
    admin
        .get("/settings/security/audit-events/export?format=jsonl")
        .await
        .body
}

#[tokio::test]
async fn enrolled_sign_in_needs_a_fresh_code_once() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (key, _) = enrol(&t, &admin).await;

    let (c, r) = password_step(&t).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/sign-in/two-step"));
    // No session yet: the portal still asks to sign in.
    assert_eq!(c.get("/profile").await.status, 303);
    assert!(
        c.get("/profile")
            .await
            .header("location")
            .unwrap()
            .starts_with("/sign-in")
    );

    // A code the admin just used to enrol is refused, as is a wrong one.
    let reused = second_step(&c, &code(&t, &key, 0)).await;
    assert_eq!(reused.status, 401, "{}", reused.body);
    assert!(reused.body.contains("not correct"));
    // The next step's code (one step of drift) works, and starts the session.
    let ok = second_step(&c, &code(&t, &key, 1)).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(c.get("/profile").await.status, 200);
    // The pending step was used once: posting again goes back to sign-in.
    let form_again = c.get("/sign-in/two-step").await;
    assert_eq!(form_again.status, 303);

    // The same code cannot sign in a second browser.
    let (c2, _) = password_step(&t).await;
    assert_eq!(second_step(&c2, &code(&t, &key, 1)).await.status, 401);
    t.clock.advance_ms(60_000);
    assert_eq!(second_step(&c2, &code(&t, &key, 0)).await.status, 303);

    let trail = audit_kinds(&admin).await;
    assert!(trail.contains("\"mfa.enable\""));
    assert!(trail.contains("\"auth.second_step\""));
    let failures = trail
        .lines()
        .filter(|l| l.contains("\"auth.second_step\"") && l.contains("\"failure\""))
        .count();
    assert_eq!(
        failures, 2,
        "the reused code and the second browser's reuse"
    );
    t.stop().await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords_and_steps_expire() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (key, _) = enrol(&t, &admin).await;
    let (c, _) = password_step(&t).await;
    for _ in 0..5 {
        assert_eq!(second_step(&c, "123456").await.status, 401);
    }
    let throttled = second_step(&c, &code(&t, &key, 0)).await;
    assert_eq!(throttled.status, 429);
    // The password form is throttled too: the failures count on the same account.
    assert_eq!(
        t.client().sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status,
        429
    );

    // After five minutes the pending step is gone.
    t.clock.advance_ms(6 * 60_000);
    let expired = c.get("/sign-in/two-step").await;
    assert_eq!(expired.status, 303);
    let (c, r) = password_step(&t).await;
    assert_eq!(r.status, 303);
    assert_eq!(second_step(&c, &code(&t, &key, 0)).await.status, 303);
    t.stop().await;
}

#[tokio::test]
async fn a_recovery_code_works_once_and_can_be_regenerated() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (key, codes) = enrol(&t, &admin).await;

    let (c, _) = password_step(&t).await;
    assert_eq!(second_step(&c, &codes[0]).await.status, 303);
    let (c, _) = password_step(&t).await;
    assert_eq!(second_step(&c, &codes[0]).await.status, 401);
    assert_eq!(second_step(&c, &codes[1].to_uppercase()).await.status, 303);
    let page = c.get("/profile/two-step").await;
    assert!(
        page.body.contains("8 recovery codes are left"),
        "{}",
        page.body
    );

    // Regenerating needs the password and a code.
    let csrf = page.csrf();
    let no_code = c
        .post_form(
            "/profile/two-step/recovery-codes",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("code", ""),
            ],
        )
        .await;
    assert_eq!(no_code.status, 400);
    t.clock.advance_ms(30_000);
    let fresh = c
        .post_form(
            "/profile/two-step/recovery-codes",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("code", &code(&t, &key, 0)),
            ],
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let new_codes = shown_recovery_codes(&fresh.body);
    assert_eq!(new_codes.len(), 10);
    let (c2, _) = password_step(&t).await;
    assert_eq!(
        second_step(&c2, &codes[2]).await.status,
        401,
        "old codes are void"
    );
    assert_eq!(second_step(&c2, &new_codes[0]).await.status, 303);

    let trail = audit_kinds(&admin).await;
    assert!(trail.contains("\"mfa.recovery_code_used\""));
    assert!(trail.contains("\"mfa.recovery_codes\""));
    t.stop().await;
}

#[tokio::test]
async fn disabling_and_password_change_need_password_and_code() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (key, _) = enrol(&t, &admin).await;
    t.clock.advance_ms(30_000);

    let page = admin.get("/profile/two-step").await;
    let csrf = page.csrf();
    let wrong_password = admin
        .post_form(
            "/profile/two-step/disable",
            &[
                ("csrf", &csrf),
                ("current_password", "not my password"),
                ("code", &code(&t, &key, 0)),
            ],
        )
        .await;
    assert_eq!(wrong_password.status, 400);
    assert!(wrong_password.body.contains("not your current password"));
    let no_code = admin
        .post_form(
            "/profile/two-step/disable",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("code", ""),
            ],
        )
        .await;
    assert_eq!(no_code.status, 400);
    assert!(
        admin
            .get("/profile")
            .await
            .body
            .contains("Manage two-step sign-in")
    );

    // A password change asks for a code while two-step sign-in is on.
    let profile = admin.get("/profile").await;
    assert!(profile.body.contains("name=\"code\""));
    let new_password = "brighter lamp 2027";
    let change = |typed: String| {
        let admin = admin.clone();
        let csrf = profile.csrf();
        async move {
            admin
                .post_form(
                    "/profile/password",
                    &[
                        ("csrf", &csrf),
                        ("current_password", ADMIN_PASSWORD),
                        ("new_password", new_password),
                        ("new_password_confirm", new_password),
                        ("code", &typed),
                    ],
                )
                .await
        }
    };
    let refused = change("000000".into()).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("this code is not right"));

    t.clock.advance_ms(30_000);
    let off = admin
        .post_form(
            "/profile/two-step/disable",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("code", &code(&t, &key, 0)),
            ],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(off.body.contains("Two-step sign-in is off."));
    // Sign-in is one step again.
    let (c, r) = password_step(&t).await;
    assert_eq!(r.header("location"), Some("/"));
    assert_eq!(c.get("/profile").await.status, 200);

    let trail = audit_kinds(&admin).await;
    assert!(trail.contains("\"mfa.disable\""));
    t.stop().await;
}

#[tokio::test]
async fn the_policy_forces_enrolment_before_anything_else() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let identity = admin.get("/settings/iam/identity").await;
    assert_eq!(identity.status, 200);
    assert!(identity.body.contains("Two-step sign-in"));
    let saved = admin
        .post_form(
            "/settings/iam/identity/two-step",
            &[("csrf", &identity.csrf()), ("roles", "company-admin")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("policy was saved"));
    assert!(saved.body.contains("value=\"company-admin\" checked"));

    // The admin has not enrolled: every page but Profile and the setup leads to the setup.
    for path in [
        "/getting-started",
        "/settings/iam/users",
        "/settings/iam/identity",
    ] {
        let r = admin.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), Some("/profile/two-step"), "{path}");
    }
    let profile = admin.get("/profile").await;
    assert_eq!(profile.status, 200);
    let csrf = profile.csrf();
    let blocked = admin
        .post_form(
            "/settings/iam/identity/two-step",
            &[("csrf", &csrf), ("everyone", "on")],
        )
        .await;
    assert_eq!(blocked.status, 303);
    let setup = admin.get("/profile/two-step").await;
    assert!(setup.body.contains("requires two-step sign-in"));

    // Signing in again lands on the setup too.
    let (c, r) = password_step(&t).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        c.get("/getting-started").await.header("location"),
        Some("/profile/two-step")
    );

    enrol(&t, &admin).await;
    assert_eq!(admin.get("/getting-started").await.status, 200);
    let after = admin.get("/settings/iam/identity").await;
    assert_eq!(after.status, 200);
    // The blocked post changed nothing: "everyone" is still off.
    assert!(after.body.contains("name=\"everyone\" value=\"on\""));
    assert!(
        !after
            .body
            .contains("name=\"everyone\" value=\"on\" checked")
    );

    let trail = audit_kinds(&admin).await;
    assert!(trail.contains("\"mfa.policy\""));
    t.stop().await;
}

/// Sends an API request with a bearer key.
async fn api(c: &Client, method: &str, path: &str, key: &str) -> Resp {
    let auth = format!("Bearer {key}");
    c.request(
        method,
        &format!("/api/v1{path}"),
        &[("authorization", &auth)],
        Default::default(),
    )
    .await
}

/// Signs `email` in with the password and, when asked, `typed` as the second step.
async fn sign_in_two_steps(t: &TestApp, email: &str, typed: &str) -> Client {
    let c = t.client();
    let r = c.sign_in(email, crate::pools::USER_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/sign-in/two-step"));
    let ok = second_step(&c, typed).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    c
}

#[tokio::test]
async fn a_company_admin_resets_a_lost_second_step() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (dev, dev_id) = crate::pools::user(&t, "dev@example.org", &["developer"]).await;
    let (viewer, _) = crate::pools::user(&t, "viewer@example.org", &["company-viewer"]).await;
    // Developers must use two-step sign-in; the developer sets it up.
    let identity = admin.get("/settings/iam/identity").await;
    let saved = admin
        .post_form(
            "/settings/iam/identity/two-step",
            &[("csrf", &identity.csrf()), ("roles", "developer")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let (key, _codes) = enrol(&t, &dev).await;
    let second = sign_in_two_steps(&t, "dev@example.org", &code(&t, &key, 1)).await;
    assert_eq!(second.get("/getting-started").await.status, 200);

    // The admin sees the state and the button; a Company Viewer sees neither and is refused.
    let page = format!("/settings/iam/users/{dev_id}");
    let detail = admin.get(&page).await;
    assert!(
        detail.body.contains("Two-step sign-in</dt><dd>on"),
        "{}",
        detail.body
    );
    assert!(detail.body.contains("Reset two-step sign-in"));
    let seen = viewer.get(&page).await;
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains("reset-two-step"));
    let refused = viewer
        .post_form(&format!("{page}/reset-two-step"), &[("csrf", &seen.csrf())])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        second.get("/getting-started").await.status,
        200,
        "nothing changed"
    );
    let no_token = admin
        .post_form(&format!("{page}/reset-two-step"), &[])
        .await;
    assert_eq!(no_token.status, 403, "the form needs the CSRF token");

    let reset = admin
        .post_form(
            &format!("{page}/reset-two-step"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert_eq!(reset.status, 303, "{}", reset.body);
    let after = admin.get(reset.header("location").unwrap()).await;
    assert!(
        after.body.contains("Two-step sign-in was reset"),
        "{}",
        after.body
    );
    assert!(after.body.contains("Two-step sign-in</dt><dd>off"));
    assert!(!after.body.contains("reset-two-step"));
    // Both of the developer's sessions ended.
    for c in [&dev, &second] {
        let r = c.get("/getting-started").await;
        assert_eq!(r.status, 303);
        assert!(r.header("location").unwrap().starts_with("/sign-in"));
    }
    let records = crate::pools::audit_records(&t, "mfa.reset").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event.target.as_deref(), Some(dev_id.as_str()));
    assert!(format!("{:?}", records[0].event.actor).contains(ADMIN_EMAIL));
    assert_eq!(records[0].event.details["recovery_codes_left"], 10);

    // Nothing left to reset: 409, audited as a failure.
    let again = admin
        .post_form(
            &format!("{page}/reset-two-step"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("has no two-step sign-in to reset"));
    let failures = crate::pools::audit_records(&t, "mfa.reset").await;
    assert_eq!(failures.len(), 2);
    assert_eq!(
        failures[0].event.outcome,
        lantern::security::audit::Outcome::Failure
    );

    // The old key and codes are gone: the password alone signs in, and the policy sends the
    // developer to set it up again before anything else, with a new key.
    let back = t.client();
    let r = back
        .sign_in("dev@example.org", crate::pools::USER_PASSWORD)
        .await;
    assert_eq!(r.header("location"), Some("/"), "no second step any more");
    assert_eq!(
        back.get("/getting-started").await.header("location"),
        Some("/profile/two-step")
    );
    let (new_key, _) = enrol(&t, &back).await;
    assert_ne!(new_key, key);

    // The same over the REST API, with a Company Admin's key.
    let admin_key = lantern::cli::api_key_create(&t.data_dir(), ADMIN_EMAIL, "admin tools", &[], 5)
        .await
        .unwrap();
    let dev_key =
        lantern::cli::api_key_create(&t.data_dir(), "dev@example.org", "dev tools", &[], 5)
            .await
            .unwrap();
    let c = t.client();
    let path = format!("/users/{dev_id}/mfa");
    assert_eq!(api(&c, "DELETE", &path, &dev_key).await.status, 403);
    let r = api(&c, "DELETE", &path, &admin_key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("\"email\":\"dev@example.org\""),
        "{}",
        r.body
    );
    assert_eq!(back.get("/profile").await.status, 303, "signed out");
    let r = api(&c, "DELETE", &path, &admin_key).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("\"code\":\"conflict\""), "{}", r.body);
    let unknown = api(
        &c,
        "DELETE",
        "/users/0123456789abcdef0123456789abcdef/mfa",
        &admin_key,
    )
    .await;
    assert_eq!(unknown.status, 404);
    // Not for one's own account: that is turned off on Profile, with password and code.
    let me = admin.get("/profile").await;
    assert_eq!(me.status, 200);
    let admin_id = crate::pools::audit_records(&t, "user.create").await;
    let own_id = admin_id
        .iter()
        .find(|r| r.event.details["via"] == "setup link")
        .and_then(|r| r.event.target.clone())
        .unwrap();
    let own = api(&c, "DELETE", &format!("/users/{own_id}/mfa"), &admin_key).await;
    assert_eq!(own.status, 409);
    assert!(own.body.contains("your own"), "{}", own.body);
    // Two resets and three refusals (the unknown user is a plain 404, as everywhere).
    assert_eq!(crate::pools::audit_records(&t, "mfa.reset").await.len(), 5);
    t.stop().await;
}
