//! Agent Pools and Access Groups through the portal: Default pool and group, keys shown once,
//! rotation grace, detach, delete refusals, validation, pool scope on the pages, Group Admin
//! limits, audit records.

use lantern::iam::pools::{self, PoolKeyError};
use lantern::iam::users;
use lantern::security::audit::{self, AuditRecord, Filter, Outcome};

use crate::support::*;

pub const POOLS: &str = "/settings/iam/agent-pools";
pub const GROUPS: &str = "/settings/iam/access-groups";
const PASSWORD: &str = "correct horse 2026";

/// Creates a user with `roles` through the CLI path and answers a signed-in client and the
/// user's id.
pub async fn user(t: &TestApp, email: &str, roles: &[&str]) -> (Client, String) {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let mut stdin = format!("{PASSWORD}\n").into_bytes();
    lantern::cli::admin_create(&t.data_dir(), email, None, &roles, &mut stdin.as_slice())
        .await
        .unwrap();
    stdin.clear();
    let c = sign_in(t, email, PASSWORD).await;
    let email = email.to_string();
    let id = t
        .app()
        .state
        .store
        .read(move |tx| users::find_by_email(tx, &email))
        .await
        .unwrap()
        .unwrap()
        .id;
    (c, id)
}

/// A fresh client signed in as `email` (sessions end after 30 idle minutes, so tests that
/// move the clock by hours sign in again).
pub async fn sign_in(t: &TestApp, email: &str, password: &str) -> Client {
    let c = t.client();
    let form = c.get("/sign-in").await;
    let r = c
        .post_form(
            "/sign-in",
            &[
                ("csrf", &form.csrf()),
                ("email", email),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    c
}

/// The password of the users made by [`user`].
pub const USER_PASSWORD: &str = PASSWORD;

/// The secret shown once on a page (the `secret-once` block), if any.
pub fn shown_key(body: &str) -> Option<String> {
    let at = body.find("class=\"secret-once\"")?;
    let rest = &body[at..];
    let v = rest.find("class=\"copyable-value\">")? + "class=\"copyable-value\">".len();
    let rest = &rest[v..];
    Some(rest[..rest.find('<')?].to_string())
}

/// Creates a pool as `c` (a Company Admin); answers its id and key.
pub async fn create_pool(c: &Client, name: &str) -> (String, String) {
    let form = c.get(&format!("{POOLS}/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let r = c
        .post_form(
            POOLS,
            &[
                ("csrf", &form.csrf()),
                ("name", name),
                ("description", "made by a test"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let key = shown_key(&r.body).expect("the key is shown on creation");
    let t = &t_pool_id(&r.body);
    (t.clone(), key)
}

/// The `key_made` stamp of the rotate form on a pool's detail page.
pub fn key_made(body: &str) -> String {
    let marker = "name=\"key_made\" value=\"";
    let at = body.find(marker).expect("a rotate form") + marker.len();
    let rest = &body[at..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The pool id from the forms of a pool's detail page.
fn t_pool_id(body: &str) -> String {
    let marker = format!("action=\"{POOLS}/");
    let at = body.find(&marker).expect("a pool form") + marker.len();
    let rest = &body[at..];
    rest[..rest.find('/').unwrap()].to_string()
}

pub async fn authenticate(t: &TestApp, key: &str) -> Result<pools::Pool, PoolKeyError> {
    let key = key.to_string();
    let now = t.clock.now_ms();
    t.app()
        .state
        .store
        .read(move |tx| Ok(pools::authenticate_key(tx, &key, now)))
        .await
        .unwrap()
}

pub async fn audit_records(t: &TestApp, kind: &str) -> Vec<AuditRecord> {
    let filter = Filter {
        kind: Some(kind.to_string()),
        ..Filter::default()
    };
    t.app()
        .state
        .store
        .read(move |tx| audit::list(tx, &filter, 0, 1000))
        .await
        .unwrap()
        .0
}

use lantern::clock::Clock;

#[tokio::test]
async fn default_pool_and_group_exist_from_the_first_start() {
    let mut t = TestApp::start().await;
    let (pools_now, groups_now) = t
        .app()
        .state
        .store
        .read(|tx| {
            Ok((
                lantern::iam::pools::list(tx)?,
                lantern::iam::groups::list(tx)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(pools_now.len(), 1);
    assert_eq!(pools_now[0].id, pools::DEFAULT_POOL_ID);
    assert_eq!(groups_now.len(), 1);
    assert!(groups_now[0].pools.contains(pools::DEFAULT_POOL_ID));
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = c.get(POOLS).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">Default</a>"), "{}", page.body);
    assert!(
        page.body
            .contains("<a href=\"/entities/agents?pool=default\">0 connected</a>"),
        "the live agent count links to the pool's agents"
    );
    let groups = c.get(GROUPS).await;
    assert!(groups.body.contains(">Default</a>"));
    let profile = c.get("/profile").await;
    assert!(
        profile.body.contains(">Default</span>"),
        "the admin joined it"
    );
    // The Default pool cannot be deleted.
    let detail = c.get(&format!("{POOLS}/default")).await;
    assert!(!detail.body.contains("Delete pool"));
    let r = c
        .post_form(
            &format!("{POOLS}/default/delete"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        audit_records(&t, "pool.delete").await[0].event.outcome,
        Outcome::Failure
    );
    t.stop().await;
}

#[tokio::test]
async fn keys_are_shown_once_rotate_with_grace_and_detach_refuses() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (id, k1) = create_pool(&c, "payments-prod").await;
    assert_eq!(k1.len(), 43);
    for path in [
        POOLS.to_string(),
        format!("{POOLS}/{id}"),
        GROUPS.to_string(),
        "/profile".to_string(),
        "/getting-started".to_string(),
    ] {
        let page = c.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(&k1), "the key shows again on {path}");
        assert_eq!(shown_key(&page.body), None, "{path}");
    }
    assert_eq!(authenticate(&t, &k1).await.unwrap().id, id);

    let detail = c.get(&format!("{POOLS}/{id}")).await;
    let r = c
        .post_form(
            &format!("{POOLS}/{id}/rotate"),
            &[
                ("csrf", &detail.csrf()),
                ("key_made", &key_made(&detail.body)),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let k2 = shown_key(&r.body).unwrap();
    assert_ne!(k1, k2);
    assert!(!r.body.contains(&k1));
    // The same form posted again (a reload of the answer) does not rotate a second time.
    let again = c
        .post_form(
            &format!("{POOLS}/{id}/rotate"),
            &[
                ("csrf", &detail.csrf()),
                ("key_made", &key_made(&detail.body)),
            ],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(shown_key(&again.body), None);
    assert_eq!(
        audit_records(&t, "pool.key_rotate").await[0].event.outcome,
        Outcome::Failure
    );
    assert!(authenticate(&t, &k1).await.is_ok(), "old key in grace");
    assert!(authenticate(&t, &k2).await.is_ok());
    t.clock.advance_ms(pools::KEY_GRACE_MS - 1_000);
    assert!(authenticate(&t, &k1).await.is_ok(), "still in grace");
    t.clock.advance_ms(1_000);
    assert!(matches!(
        authenticate(&t, &k1).await,
        Err(PoolKeyError::Unknown)
    ));
    assert!(authenticate(&t, &k2).await.is_ok());

    // A day passed: the session idled out.
    let c = sign_in(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let detail = c.get(&format!("{POOLS}/{id}")).await;
    assert!(
        !detail.body.contains(&k2),
        "the new key shows only once, too"
    );
    let r = c
        .post_form(
            &format!("{POOLS}/{id}/detach"),
            &[("csrf", &detail.csrf()), ("reason", "moved to the new DC")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    match authenticate(&t, &k2).await {
        Err(PoolKeyError::Detached { reason, .. }) => assert_eq!(reason, "moved to the new DC"),
        other => panic!("{other:?}"),
    }
    let r = c
        .post_form(&format!("{POOLS}/{id}/enable"), &[("csrf", &detail.csrf())])
        .await;
    assert_eq!(r.status, 200);
    assert!(authenticate(&t, &k2).await.is_ok());

    // Every change is audited, and no key ever reaches the audit trail.
    for kind in [
        "pool.create",
        "pool.key_rotate",
        "pool.detach",
        "pool.reenable",
    ] {
        let records: Vec<_> = audit_records(&t, kind)
            .await
            .into_iter()
            .filter(|r| r.event.outcome == Outcome::Success)
            .collect();
        assert_eq!(records.len(), 1, "{kind}");
        assert_eq!(records[0].event.target.as_deref(), Some(id.as_str()));
    }
    let all = serde_json::to_string(&audit_records(&t, "").await).unwrap();
    assert!(!all.contains(&k1) && !all.contains(&k2));

    // Deleting takes the key with it.
    let r = c
        .post_form(&format!("{POOLS}/{id}/delete"), &[("csrf", &detail.csrf())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(authenticate(&t, &k2).await.is_err());
    assert_eq!(c.get(&format!("{POOLS}/{id}")).await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn validation_keeps_what_was_typed() {
    let mut t = TestApp::start().await;
    let c = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let form = c.get(&format!("{POOLS}/new")).await;
    let long = "d".repeat(256);
    let r = c
        .post_form(
            POOLS,
            &[
                ("csrf", &form.csrf()),
                ("name", "too-long"),
                ("description", &long),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("use at most 255 characters"), "{}", r.body);
    assert!(r.body.contains("id=\"f-description-error\""));
    assert!(r.body.contains("value=\"too-long\""), "the name is kept");
    assert_eq!(shown_key(&r.body), None);
    let r = c
        .post_form(
            POOLS,
            &[
                ("csrf", &form.csrf()),
                ("name", "default"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "names are unique regardless of case");
    // Nothing was stored by either refusal, and both were audited as failures.
    let n = t
        .app()
        .state
        .store
        .read(lantern::iam::pools::list)
        .await
        .unwrap()
        .len();
    assert_eq!(n, 1);
    let failures = audit_records(&t, "pool.create").await;
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|r| r.event.outcome == Outcome::Failure));
    // Editing the description: the same limit, on the detail page.
    let detail = c.get(&format!("{POOLS}/default")).await;
    let r = c
        .post_form(
            &format!("{POOLS}/default/description"),
            &[("csrf", &detail.csrf()), ("description", &long)],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("use at most 255 characters"));
    t.stop().await;
}

#[tokio::test]
async fn developers_see_their_pools_and_viewers_see_all_without_buttons() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (team_pool, _) = create_pool(&admin, "team-pool").await;
    let (secret_pool, _) = create_pool(&admin, "secret-pool").await;
    let (dev, dev_id) = user(&t, "dev@example.org", &["developer"]).await;
    let (viewer, _) = user(&t, "viewer@example.org", &["company-viewer"]).await;

    // A group with the developer and the team pool.
    let form = admin.get(&format!("{GROUPS}/new")).await;
    let r = admin
        .post_form(
            GROUPS,
            &[
                ("csrf", &form.csrf()),
                ("name", "Team"),
                ("members", &dev_id),
                ("pools", &team_pool),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let page = dev.get(POOLS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("team-pool"));
    assert!(page.body.contains(">Default</a>"), "via the Default group");
    assert!(!page.body.contains("secret-pool"));
    assert!(!page.body.contains("New pool"));
    assert_eq!(dev.get(&format!("{POOLS}/{secret_pool}")).await.status, 404);
    let mine = dev.get(&format!("{POOLS}/{team_pool}")).await;
    assert_eq!(mine.status, 200);
    assert!(!mine.body.contains("Rotate key"), "developers only read");
    let r = dev
        .post_form(
            &format!("{POOLS}/{team_pool}/rotate"),
            &[("csrf", &mine.csrf())],
        )
        .await;
    assert_eq!(r.status, 403);

    let page = viewer.get(POOLS).await;
    assert!(page.body.contains("team-pool") && page.body.contains("secret-pool"));
    assert!(!page.body.contains("New pool"));
    let detail = viewer.get(&format!("{POOLS}/{secret_pool}")).await;
    assert_eq!(detail.status, 200);
    for button in [
        "Rotate key",
        "Detach pool",
        "Delete pool",
        "Save description",
    ] {
        assert!(!detail.body.contains(button), "{button}");
    }
    let before = audit_records(&t, "access.denied").await.len();
    let r = viewer
        .post_form(
            &format!("{POOLS}/{secret_pool}/rotate"),
            &[("csrf", &detail.csrf())],
        )
        .await;
    assert_eq!(r.status, 403);
    let denied = audit_records(&t, "access.denied").await;
    assert_eq!(denied.len(), before + 1);
    assert_eq!(denied[0].event.outcome, Outcome::Denied);
    assert_eq!(
        denied[0].event.target.as_deref(),
        Some(format!("{POOLS}/{secret_pool}/rotate").as_str())
    );
    let r = viewer
        .post_form(POOLS, &[("csrf", &detail.csrf()), ("name", "sneaky")])
        .await;
    assert_eq!(r.status, 403);
    t.stop().await;
}

#[tokio::test]
async fn group_admins_edit_only_the_groups_they_administer() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (lead, lead_id) = user(&t, "lead@example.org", &["group-admin"]).await;
    let (_, dev_id) = user(&t, "dev@example.org", &["developer"]).await;
    let form = admin.get(&format!("{GROUPS}/new")).await;
    for (name, admins) in [("Mine", lead_id.as_str()), ("Theirs", "")] {
        let mut fields = vec![("csrf", form.csrf()), ("name", name.to_string())];
        if !admins.is_empty() {
            fields.push(("admins", admins.to_string()));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = admin.post_form(GROUPS, &fields).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let groups = t
        .app()
        .state
        .store
        .read(lantern::iam::groups::list)
        .await
        .unwrap();
    let id_of = |n: &str| groups.iter().find(|g| g.name == n).unwrap().id.clone();
    let (mine, theirs) = (id_of("Mine"), id_of("Theirs"));

    let list = lead.get(GROUPS).await;
    assert!(list.body.contains("Mine") && !list.body.contains("Theirs"));
    assert!(!list.body.contains("New group"));
    assert_eq!(lead.get(&format!("{GROUPS}/{theirs}")).await.status, 404);
    let page = lead.get(&format!("{GROUPS}/{mine}")).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let r = lead
        .post_form(
            &format!("{GROUPS}/{theirs}"),
            &[("csrf", &csrf), ("name", "Theirs"), ("members", &dev_id)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let refused = audit_records(&t, "group.update").await;
    assert_eq!(refused[0].event.outcome, Outcome::Failure);
    assert_eq!(refused[0].event.target.as_deref(), Some(theirs.as_str()));
    let r = lead
        .post_form(
            &format!("{GROUPS}/{mine}"),
            &[
                ("csrf", &csrf),
                ("name", "Mine"),
                ("members", &dev_id),
                ("admins", &lead_id),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("The group was saved."));
    // Group Admins do not create or delete groups.
    let r = lead
        .post_form(&format!("{GROUPS}/{mine}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 403);
    t.stop().await;
}
