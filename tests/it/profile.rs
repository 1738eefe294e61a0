//! Profile: roles shown, password change with re-authentication.

use crate::support::*;

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // A second browser signed in as the same user.
    let other = t.client();
    let r = other.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status, 303);

    let profile = c.get("/profile").await;
    assert_eq!(profile.status, 200);
    assert!(profile.body.contains("Company Admin"));
    assert!(profile.body.contains(ADMIN_EMAIL));
    let csrf = profile.csrf();
    let new_password = "brighter lamp 2027";

    let wrong = c
        .post_form(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current_password", "not it at all"),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("not your current password"));
    let weak = c
        .post_form(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("new_password", "password123"),
                ("new_password_confirm", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("too common"), "{}", weak.body);

    let ok = c
        .post_form(
            "/profile/password",
            &[
                ("csrf", &csrf),
                ("current_password", ADMIN_PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("Your password was changed"));
    assert_eq!(c.get("/profile").await.status, 200, "this session stays");
    assert_eq!(
        other.get("/profile").await.status,
        303,
        "the other one ended"
    );

    let fresh = t.client();
    let old = fresh.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(old.status, 401);
    let new = fresh.sign_in(ADMIN_EMAIL, new_password).await;
    assert_eq!(new.status, 303);
    t.stop().await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookies = c.cookies.lock().unwrap().clone();
    let dir = std::mem::replace(&mut t.dir, tempfile::tempdir().unwrap());
    t.stop().await;
    let mut again = TestApp::start_in(dir, &[]).await;
    let c2 = again.client();
    *c2.cookies.lock().unwrap() = cookies;
    assert_eq!(c2.get("/profile").await.status, 200);
    again.stop().await;
}
