//! Temporary Access through the portal: the limits of `DEFAULTS.md`, expiry by the injected
//! clock changing the pool scope, revocation, the grantee's Profile.

use lantern::clock::Clock;
use lantern::iam::grants;
use lantern::iam::scope::pool_scope;
use lantern::iam::users;
use lantern::security::audit::Outcome;

use crate::pools::{POOLS, USER_PASSWORD, audit_records, create_pool, sign_in, user};
use crate::support::*;

const GRANTS: &str = "/settings/iam/temporary-access";

async fn in_scope(t: &TestApp, user_id: &str, pool_id: &str) -> bool {
    let (user_id, pool_id) = (user_id.to_string(), pool_id.to_string());
    let now = t.clock.now_ms();
    t.app()
        .state
        .store
        .read(move |tx| {
            let u = users::get(tx, &user_id)?.unwrap();
            Ok(pool_scope(tx, &u, now)?.contains(&pool_id))
        })
        .await
        .unwrap()
}

async fn stored_grants(t: &TestApp) -> usize {
    t.app().state.store.read(grants::list).await.unwrap().len()
}

#[tokio::test]
async fn limits_are_refused_with_a_clear_message_and_nothing_is_stored() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, dev_id) = user(&t, "dev@example.org", &["developer"]).await;
    let form = admin.get(&format!("{GRANTS}/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let fake: Vec<String> = (0..51).map(|i| format!("u{i:031}")).collect();
    let fake_pools: Vec<String> = (0..21).map(|i| format!("p{i:031}")).collect();
    let base = |users: &[String], pools: &[String], days: &str| {
        let mut f: Vec<(String, String)> = vec![
            ("csrf".into(), csrf.clone()),
            ("incident".into(), "INC-42".into()),
            ("roles".into(), "developer".into()),
            ("days".into(), days.into()),
            ("hours".into(), "0".into()),
        ];
        f.extend(users.iter().map(|u| ("users".to_string(), u.clone())));
        f.extend(pools.iter().map(|p| ("pools".to_string(), p.clone())));
        f
    };
    let post = |fields: Vec<(String, String)>| {
        let admin = admin.clone();
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin.post_form(GRANTS, &f).await
        }
    };
    let default_pool = vec!["default".to_string()];
    let one_user = vec![dev_id.clone()];
    let r = post(base(&fake, &default_pool, "1")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 50 users"), "{}", r.body);
    let r = post(base(&one_user, &fake_pools, "1")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 20 pools"), "{}", r.body);
    let r = post(base(&one_user, &default_pool, "32")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 31 days"), "{}", r.body);
    assert!(
        r.body.contains("value=\"INC-42\""),
        "what was typed is kept"
    );
    assert_eq!(stored_grants(&t).await, 0);
    let failures = audit_records(&t, "grant.create").await;
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|r| r.event.outcome == Outcome::Failure));
    // At the limits themselves it works.
    let r = post(base(&one_user, &default_pool, "31")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stored_grants(&t).await, 1);
    t.stop().await;
}

#[tokio::test]
async fn expiry_and_revocation_change_the_pool_scope() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (pool_id, _) = create_pool(&admin, "incident-pool").await;
    let (dev, dev_id) = user(&t, "dev@example.org", &["developer"]).await;
    assert!(!in_scope(&t, &dev_id, &pool_id).await);
    assert_eq!(dev.get(&format!("{POOLS}/{pool_id}")).await.status, 404);

    let form = admin.get(&format!("{GRANTS}/new")).await;
    let r = admin
        .post_form(
            GRANTS,
            &[
                ("csrf", &form.csrf()),
                ("incident", "INC-7"),
                ("users", &dev_id),
                ("pools", &pool_id),
                ("roles", "incident-responder"),
                ("days", "0"),
                ("hours", "2"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("INC-7") && r.body.contains("Active"));
    assert!(in_scope(&t, &dev_id, &pool_id).await);
    assert_eq!(dev.get(&format!("{POOLS}/{pool_id}")).await.status, 200);
    let profile = dev.get("/profile").await;
    assert!(profile.body.contains("INC-7"), "{}", profile.body);
    assert!(profile.body.contains("incident-pool"));

    t.clock.advance_ms(2 * 3_600_000);
    // Two hours passed: both sessions idled out.
    let dev = sign_in(&t, "dev@example.org", USER_PASSWORD).await;
    let admin = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let form = admin.get(&format!("{GRANTS}/new")).await;
    assert!(!in_scope(&t, &dev_id, &pool_id).await, "expired");
    assert_eq!(dev.get(&format!("{POOLS}/{pool_id}")).await.status, 404);
    assert!(!dev.get("/profile").await.body.contains("INC-7"));
    let list = admin.get(GRANTS).await;
    assert!(list.body.contains("Expired"), "{}", list.body);
    assert!(!list.body.contains("/revoke\""), "nothing left to revoke");

    // A second grant, revoked before it expires.
    let r = admin
        .post_form(
            GRANTS,
            &[
                ("csrf", &form.csrf()),
                ("incident", "INC-8"),
                ("users", &dev_id),
                ("pools", &pool_id),
                ("roles", "developer"),
                ("days", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(in_scope(&t, &dev_id, &pool_id).await);
    let id = t
        .app()
        .state
        .store
        .read(grants::list)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.incident == "INC-8")
        .unwrap()
        .id;
    let r = admin
        .post_form(&format!("{GRANTS}/{id}/revoke"), &[("csrf", &form.csrf())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Revoked"));
    assert!(!in_scope(&t, &dev_id, &pool_id).await);
    let revoked = audit_records(&t, "grant.revoke").await;
    assert_eq!(revoked[0].event.outcome, Outcome::Success);
    assert_eq!(revoked[0].event.target.as_deref(), Some(id.as_str()));
    // Developers cannot grant.
    let r = dev
        .post_form(GRANTS, &[("csrf", &form.csrf()), ("incident", "x")])
        .await;
    assert_eq!(r.status, 403);
    t.stop().await;
}
