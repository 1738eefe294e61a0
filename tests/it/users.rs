//! Settings › Identity and Access Management › Users: creating users (password or activation
//! link, in the portal and with `lantern admin create --activation-link`), the read-only view,
//! roles, enable/disable, delete, the last Company Admin, the RBAC mode, and the audit
//! records of each.

use lantern::clock::{Clock, SystemClock};
use lantern::iam::users;
use lantern::security::audit::{AUDIT, Actor, AuditRecord, Outcome};

use crate::support::*;

const USERS: &str = "/settings/iam/users";
const PASSWORD: &str = "quiet harbour 1987";

async fn sign_in(c: &Client, email: &str, password: &str) -> Resp {
    let form = c.get("/sign-in").await;
    c.post_form(
        "/sign-in",
        &[
            ("csrf", &form.csrf()),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

/// Posts the create form; `password: None` asks for an activation link.
async fn create(
    c: &Client,
    name: &str,
    email: &str,
    roles: &[&str],
    password: Option<&str>,
) -> Resp {
    let form = c.get(&format!("{USERS}/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.csrf();
    let mut fields = vec![("csrf", csrf.as_str()), ("name", name), ("email", email)];
    for r in roles {
        fields.push(("role", r));
    }
    match password {
        Some(p) => {
            fields.push(("method", "password"));
            fields.push(("password", p));
            fields.push(("password_confirm", p));
        }
        None => fields.push(("method", "link")),
    }
    c.post_form(USERS, &fields).await
}

/// Posts a form on a page of the signed-in client (the csrf comes from `page`).
async fn post(c: &Client, path: &str, extra: &[(&str, &str)]) -> Resp {
    let page = c.get("/profile").await;
    let csrf = page.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(extra);
    c.post_form(path, &fields).await
}

async fn user_id(t: &TestApp, email: &str) -> Option<String> {
    let email = email.to_string();
    t.app()
        .state
        .store
        .read(move |tx| users::find_by_email(tx, &email))
        .await
        .unwrap()
        .map(|u| u.id)
}

async fn user_count(t: &TestApp) -> u64 {
    t.app().state.store.read(users::count).await.unwrap()
}

async fn audit(t: &TestApp) -> Vec<AuditRecord> {
    t.app()
        .state
        .store
        .read(|tx| tx.scan_prefix(&AUDIT, b"", 10_000))
        .await
        .unwrap()
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).unwrap())
        .collect()
}

async fn has_event(t: &TestApp, kind: &str, outcome: Outcome) -> bool {
    audit(t)
        .await
        .iter()
        .any(|r| r.event.kind == kind && r.event.outcome == outcome)
}

/// The path and query of the activation link in a page.
fn activation_path(body: &str) -> String {
    let at = body.find("/activate?token=").expect("an activation link");
    let rest = &body[at..];
    let end = rest.find(['"', '<']).unwrap();
    rest[..end].to_string()
}

async fn activate(c: &Client, path: &str, password: &str) -> Resp {
    let form = c.get(path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let token = path.split("token=").nth(1).unwrap();
    c.post_form(
        "/activate",
        &[
            ("csrf", &form.csrf()),
            ("token", token),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
}

#[tokio::test]
async fn a_user_created_with_a_password_can_sign_in_and_is_audited() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = create(
        &admin,
        "Dev One",
        "dev1@example.org",
        &["developer"],
        Some(PASSWORD),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = user_id(&t, "dev1@example.org").await.unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("{USERS}/{id}?notice=created").as_str())
    );
    let list = admin.get(USERS).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("dev1@example.org"));
    assert!(
        list.body.contains("Showing 1–2 of 2 users"),
        "{}",
        list.body
    );

    let dev = t.client();
    assert_eq!(
        sign_in(&dev, "dev1@example.org", PASSWORD).await.status,
        303
    );
    assert_eq!(dev.get("/getting-started").await.status, 200);
    assert_eq!(dev.get(USERS).await.status, 403);

    let created = audit(&t)
        .await
        .into_iter()
        .find(|r| r.event.kind == "user.create" && r.event.target.as_deref() == Some(&id))
        .unwrap();
    assert_eq!(created.event.outcome, Outcome::Success);
    assert!(format!("{:?}", created.event.actor).contains(ADMIN_EMAIL));
    assert_eq!(created.event.details["roles"][0], "developer");
    t.stop().await;
}

#[tokio::test]
async fn an_activation_link_signs_the_new_developer_in_once() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // No role chosen: the new user gets Developer.
    let r = create(&admin, "Newcomer", "new@example.org", &[], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("you will not see this again"));
    let path = activation_path(&r.body);
    let detail = admin
        .get(&format!(
            "{USERS}/{}",
            user_id(&t, "new@example.org").await.unwrap()
        ))
        .await;
    assert!(detail.body.contains("Pending activation"));
    assert!(!detail.body.contains("/activate?token="), "shown once only");

    let newcomer = t.client();
    let done = activate(&newcomer, &path, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let home = newcomer.get("/getting-started").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Newcomer"));
    assert!(
        !home.body.contains(&format!("href=\"{USERS}\"")),
        "no Users entry for a developer"
    );
    assert_eq!(newcomer.get(USERS).await.status, 403);
    assert!(has_event(&t, "user.activate", Outcome::Success).await);

    // The link works once.
    let again = t.client();
    assert_eq!(again.get(&path).await.status, 404);
    let form = again.get("/sign-in").await;
    let token = path.split("token=").nth(1).unwrap();
    let reuse = again
        .post_form(
            "/activate",
            &[
                ("csrf", &form.csrf()),
                ("token", token),
                ("password", "another pass 2030"),
                ("password_confirm", "another pass 2030"),
            ],
        )
        .await;
    assert_eq!(reuse.status, 404);
    assert_eq!(
        sign_in(&t.client(), "new@example.org", PASSWORD)
            .await
            .status,
        303
    );
    t.stop().await;
}

/// The path and query of the activation link `lantern admin create --activation-link`
/// printed, checking that the link starts with `base`.
fn printed_link(said: &str, base: &str) -> String {
    let link = said
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("https://"))
        .unwrap_or_else(|| panic!("no link in {said}"));
    assert!(
        link.starts_with(&format!("{base}/activate?token=")),
        "{link} (base {base})"
    );
    link[base.len()..].to_string()
}

/// `user.create` records written by the command line for an activation link.
async fn cli_link_records(t: &TestApp) -> Vec<AuditRecord> {
    audit(t)
        .await
        .into_iter()
        .filter(|r| {
            r.event.kind == "user.create"
                && r.event.actor == Actor::Cli
                && r.event.details["via"] == "activation link"
        })
        .collect()
}

#[tokio::test]
async fn the_command_line_prints_an_activation_link_with_and_without_the_running_appliance() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let no_password = lantern::cli::admin_create(
        &t.data_dir(),
        "x@example.org",
        None,
        &[],
        &mut std::io::Cursor::new(Vec::new()),
    )
    .await
    .unwrap_err();
    assert!(
        no_password.to_string().contains("--activation-link"),
        "the refusal names the other way: {no_password}"
    );

    // Running: through the control socket, with the appliance's own URL (the offline one is
    // not used).
    let base = t.app().state.public_url.clone();
    let said = lantern::cli::admin_create_with_link(
        &t.data_dir(),
        "https://not-used.invalid:1",
        "nia@example.org",
        Some("Nia Newcomer"),
        &["developer".into()],
    )
    .await
    .unwrap();
    assert!(said.starts_with("created user nia@example.org ("), "{said}");
    assert!(said.contains("works once, until "), "{said}");
    let path = printed_link(&said, &base);
    let id = user_id(&t, "nia@example.org").await.unwrap();
    let detail = admin.get(&format!("{USERS}/{id}")).await;
    assert!(
        detail.body.contains("Pending activation"),
        "{}",
        detail.body
    );
    let records = cli_link_records(&t).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event.target.as_deref(), Some(id.as_str()));
    assert_eq!(records[0].event.details["roles"][0], "developer");
    assert_eq!(records[0].event.source, None, "no network source");

    // The link activates the account over HTTPS, once; then the password signs in.
    let nia = t.client();
    assert_eq!(activate(&nia, &path, PASSWORD).await.status, 303);
    assert_eq!(nia.get("/getting-started").await.status, 200);
    assert_eq!(nia.get(USERS).await.status, 403, "a Developer");
    assert_eq!(t.client().get(&path).await.status, 404, "used once");
    assert_eq!(
        sign_in(&t.client(), "nia@example.org", PASSWORD)
            .await
            .status,
        303
    );
    let taken =
        lantern::cli::admin_create_with_link(&t.data_dir(), &base, "NIA@example.org", None, &[])
            .await
            .unwrap_err();
    assert!(taken.to_string().contains("already exists"), "{taken}");

    // Stopped: the store is opened directly and the link carries the configured URL.
    t.stop().await;
    let config = test_config(
        &t.data_dir(),
        &[
            ("LANTERN_PUBLIC_HOST", "lantern.example.org"),
            ("LANTERN_LISTEN", "127.0.0.1:9443"),
        ],
    );
    let offline_url = lantern::app::configured_public_url(&config);
    assert_eq!(offline_url, "https://lantern.example.org:9443");
    let said = lantern::cli::admin_create_with_link(
        &t.data_dir(),
        &offline_url,
        "omar@example.org",
        Some("Omar Ops"),
        &[],
    )
    .await
    .unwrap();
    let path = printed_link(&said, &offline_url);

    // Started again on the same data directory, the link works there.
    let TestApp { dir, .. } = t;
    let mut t = TestApp::start_in(dir, &[]).await;
    // The offline command dated the link by the real clock; the test clock starts elsewhere.
    let real_now = SystemClock.now_ms();
    t.clock.advance_ms(real_now - t.clock.now_ms());
    let omar = t.client();
    let done = activate(&omar, &path, "omar's own lamp 2026").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        omar.get(USERS).await.status,
        200,
        "no role given: Company Admin, the scripted first admin"
    );
    assert_eq!(cli_link_records(&t).await.len(), 2);
    assert!(has_event(&t, "user.activate", Outcome::Success).await);
    t.stop().await;
}

#[tokio::test]
async fn an_activation_link_expires_after_seven_days_and_can_be_renewed() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = create(&admin, "Late", "late@example.org", &["developer"], None).await;
    let path = activation_path(&r.body);
    t.clock.advance_ms(6 * 24 * 3_600_000);
    assert_eq!(
        t.client().get(&path).await.status,
        200,
        "still valid on day 6"
    );
    t.clock.advance_ms(24 * 3_600_000 + 1_000);
    assert_eq!(t.client().get(&path).await.status, 404);

    // The admin's session has timed out meanwhile; a new one makes a new link.
    let admin = t.client();
    assert_eq!(
        sign_in(&admin, ADMIN_EMAIL, ADMIN_PASSWORD).await.status,
        303
    );
    let id = user_id(&t, "late@example.org").await.unwrap();
    let renewed = post(&admin, &format!("{USERS}/{id}/activation-link"), &[]).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let fresh = activation_path(&renewed.body);
    assert_ne!(fresh, path);
    assert_eq!(activate(&t.client(), &fresh, PASSWORD).await.status, 303);
    assert!(has_event(&t, "user.activation_link", Outcome::Success).await);
    t.stop().await;
}

#[tokio::test]
async fn a_duplicate_email_is_refused_next_to_the_field_and_nothing_changes() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        create(
            &admin,
            "Bo",
            "bo@example.org",
            &["developer"],
            Some(PASSWORD)
        )
        .await
        .status,
        303
    );
    let before = user_count(&t).await;
    let records = audit(&t).await.len();
    let r = create(
        &admin,
        "Bo Two",
        " BO@example.org",
        &["company-admin"],
        Some(PASSWORD),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("field-invalid"));
    assert_eq!(
        r.body.matches("already exists").count(),
        2,
        "summary and field"
    );
    assert!(
        r.body.contains("value=\"Bo Two\""),
        "the form keeps what was typed"
    );
    assert_eq!(user_count(&t).await, before);
    let after = audit(&t).await;
    assert_eq!(after.len(), records + 1, "only the failure is recorded");
    let last = after.last().unwrap();
    assert_eq!(
        (last.event.kind.as_str(), last.event.outcome),
        ("user.create", Outcome::Failure)
    );
    // The existing user keeps their roles.
    let bo = t
        .app()
        .state
        .store
        .read(|tx| users::find_by_email(tx, "bo@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bo.name, "Bo");
    assert_eq!(bo.roles, vec![lantern::iam::roles::Role::Developer]);

    // A weak password is refused too, with 400.
    let weak = create(&admin, "Cy", "cy@example.org", &[], Some("password")).await;
    assert_eq!(weak.status, 400);
    assert!(user_id(&t, "cy@example.org").await.is_none());
    t.stop().await;
}

#[tokio::test]
async fn a_company_viewer_sees_the_list_without_buttons_and_cannot_change_anything() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    create(
        &admin,
        "Val Viewer",
        "val@example.org",
        &["company-viewer"],
        Some(PASSWORD),
    )
    .await;
    let viewer = t.client();
    assert_eq!(
        sign_in(&viewer, "val@example.org", PASSWORD).await.status,
        303
    );
    let list = viewer.get(USERS).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(ADMIN_EMAIL));
    assert!(!list.body.contains("Create user"));
    assert!(!list.body.contains("Switch to"));
    let admin_id = user_id(&t, ADMIN_EMAIL).await.unwrap();
    let detail = viewer.get(&format!("{USERS}/{admin_id}")).await;
    assert_eq!(detail.status, 200);
    assert!(!detail.body.contains("Save roles"));
    assert!(!detail.body.contains("/delete"));
    assert_eq!(viewer.get(&format!("{USERS}/new")).await.status, 403);

    let refused = post(
        &viewer,
        USERS,
        &[("email", "sneaky@example.org"), ("method", "link")],
    )
    .await;
    assert_eq!(refused.status, 403);
    let refused = post(&viewer, &format!("{USERS}/{admin_id}/disable"), &[]).await;
    assert_eq!(refused.status, 403);
    assert!(user_id(&t, "sneaky@example.org").await.is_none());
    let denied: Vec<_> = audit(&t)
        .await
        .into_iter()
        .filter(|r| r.event.kind == "access.denied" && r.event.outcome == Outcome::Denied)
        .collect();
    assert_eq!(denied.len(), 3, "the form and both posts");
    assert!(format!("{:?}", denied.last().unwrap().event.actor).contains("val@example.org"));
    t.stop().await;
}

#[tokio::test]
async fn disabling_ends_the_live_session_and_enabling_lets_the_user_back() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    create(
        &admin,
        "Dee",
        "dee@example.org",
        &["developer"],
        Some(PASSWORD),
    )
    .await;
    let id = user_id(&t, "dee@example.org").await.unwrap();
    let dee = t.client();
    assert_eq!(sign_in(&dee, "dee@example.org", PASSWORD).await.status, 303);
    assert_eq!(dee.get("/getting-started").await.status, 200);

    let sessions = t.app().state.sessions.count();
    let r = post(&admin, &format!("{USERS}/{id}/disable"), &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Ended at once, not merely refused on the next request.
    assert_eq!(t.app().state.sessions.count(), sessions - 1);
    let next = dee.get("/getting-started").await;
    assert_eq!(next.status, 303, "the live session ended");
    assert!(next.header("location").unwrap().starts_with("/sign-in"));
    assert_eq!(
        sign_in(&t.client(), "dee@example.org", PASSWORD)
            .await
            .status,
        401
    );
    assert!(admin.get(USERS).await.body.contains("Disabled"));
    assert!(has_event(&t, "user.disable", Outcome::Success).await);

    assert_eq!(
        post(&admin, &format!("{USERS}/{id}/enable"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        sign_in(&t.client(), "dee@example.org", PASSWORD)
            .await
            .status,
        303
    );
    t.stop().await;
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request_and_records_before_and_after() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    create(
        &admin,
        "Rae",
        "rae@example.org",
        &["developer"],
        Some(PASSWORD),
    )
    .await;
    let id = user_id(&t, "rae@example.org").await.unwrap();
    let rae = t.client();
    assert_eq!(sign_in(&rae, "rae@example.org", PASSWORD).await.status, 303);
    assert_eq!(rae.get(USERS).await.status, 403);

    let r = post(
        &admin,
        &format!("{USERS}/{id}/roles"),
        &[("role", "company-viewer"), ("role", "developer")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(rae.get(USERS).await.status, 200, "same session, new roles");
    let change = audit(&t)
        .await
        .into_iter()
        .find(|r| r.event.kind == "user.roles_change")
        .unwrap();
    assert_eq!(
        change.event.details["before"],
        serde_json::json!(["developer"])
    );
    assert_eq!(
        change.event.details["after"],
        serde_json::json!(["company-viewer", "developer"])
    );

    post(
        &admin,
        &format!("{USERS}/{id}/roles"),
        &[("role", "developer")],
    )
    .await;
    assert_eq!(rae.get(USERS).await.status, 403);
    let bogus = post(&admin, &format!("{USERS}/{id}/roles"), &[("role", "root")]).await;
    assert_eq!(bogus.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn the_last_company_admin_cannot_be_removed() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let me = user_id(&t, ADMIN_EMAIL).await.unwrap();
    for action in ["delete", "disable"] {
        let r = post(&admin, &format!("{USERS}/{me}/{action}"), &[]).await;
        assert_eq!(r.status, 409, "{action}");
        assert!(r.body.contains("your own account"), "{}", r.body);
    }
    let demote = post(
        &admin,
        &format!("{USERS}/{me}/roles"),
        &[("role", "developer")],
    )
    .await;
    assert_eq!(demote.status, 409);
    assert!(demote.body.contains("last enabled Company Admin"));
    assert!(has_event(&t, "user.roles_change", Outcome::Failure).await);
    assert!(has_event(&t, "user.delete", Outcome::Failure).await);

    // A second admin who is disabled does not count.
    create(
        &admin,
        "Second",
        "second@example.org",
        &["company-admin"],
        Some(PASSWORD),
    )
    .await;
    let second = user_id(&t, "second@example.org").await.unwrap();
    assert_eq!(
        post(&admin, &format!("{USERS}/{second}/disable"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        post(
            &admin,
            &format!("{USERS}/{me}/roles"),
            &[("role", "developer")]
        )
        .await
        .status,
        409
    );
    // Once enabled, the first admin may step down, and the second may not be deleted.
    assert_eq!(
        post(&admin, &format!("{USERS}/{second}/enable"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        post(
            &admin,
            &format!("{USERS}/{me}/roles"),
            &[("role", "developer")]
        )
        .await
        .status,
        303
    );
    assert_eq!(admin.get(USERS).await.status, 403, "no longer an admin");
    let boss = t.client();
    assert_eq!(
        sign_in(&boss, "second@example.org", PASSWORD).await.status,
        303
    );
    let r = post(&boss, &format!("{USERS}/{second}/delete"), &[]).await;
    assert_eq!(r.status, 409);
    // Deleting someone else works and ends their sessions.
    assert_eq!(
        post(&boss, &format!("{USERS}/{me}/delete"), &[])
            .await
            .status,
        303
    );
    assert!(user_id(&t, ADMIN_EMAIL).await.is_none());
    assert_eq!(admin.get("/getting-started").await.status, 303);
    t.stop().await;
}

#[tokio::test]
async fn non_rbac_mode_allows_only_developer_and_company_admin() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    create(
        &admin,
        "Sec",
        "sec@example.org",
        &["security"],
        Some(PASSWORD),
    )
    .await;
    let sec = t.client();
    assert_eq!(sign_in(&sec, "sec@example.org", PASSWORD).await.status, 303);
    assert_eq!(
        sec.get(USERS).await.status,
        200,
        "Security reads Users in RBAC mode"
    );

    let r = post(&admin, "/settings/iam/rbac-mode", &[("mode", "non-rbac")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mode = audit(&t)
        .await
        .into_iter()
        .find(|r| r.event.kind == "settings.rbac_mode")
        .unwrap();
    assert_eq!(mode.event.details["after"], "non-rbac");
    assert_eq!(
        sec.get(USERS).await.status,
        403,
        "security counts as developer now"
    );

    let form = admin.get(&format!("{USERS}/new")).await;
    assert_eq!(form.body.matches("name=\"role\"").count(), 2);
    let refused = create(&admin, "Ap", "ap@example.org", &["appsec"], Some(PASSWORD)).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("non-RBAC"));
    assert!(user_id(&t, "ap@example.org").await.is_none());
    let sec_id = user_id(&t, "sec@example.org").await.unwrap();
    let page = admin.get(&format!("{USERS}/{sec_id}")).await;
    assert!(
        page.body
            .contains("without effect in non-RBAC mode: Security")
    );
    let r = post(
        &admin,
        &format!("{USERS}/{sec_id}/roles"),
        &[("role", "incident-responder")],
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(has_event(&t, "user.roles_change", Outcome::Failure).await);
    assert_eq!(
        create(
            &admin,
            "Ok",
            "ok@example.org",
            &["company-admin"],
            Some(PASSWORD)
        )
        .await
        .status,
        303
    );

    assert_eq!(
        post(&admin, "/settings/iam/rbac-mode", &[("mode", "rbac")])
            .await
            .status,
        303
    );
    assert_eq!(sec.get(USERS).await.status, 200, "stored roles count again");
    t.stop().await;
}

#[tokio::test]
async fn the_list_searches_filters_and_pages_in_the_url() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for (name, email, role) in [
        ("Ann", "ann@example.org", "developer"),
        ("Ben", "ben@corp.example", "appsec"),
        ("Cat", "cat@example.org", "appsec"),
    ] {
        create(&admin, name, email, &[role], Some(PASSWORD)).await;
    }
    let corp = admin.get(&format!("{USERS}?q=CORP")).await;
    assert!(corp.body.contains("ben@corp.example"));
    assert!(!corp.body.contains("ann@example.org"));
    let appsec = admin.get(&format!("{USERS}?role=appsec")).await;
    assert!(
        appsec.body.contains("Showing 1–2 of 2 users"),
        "{}",
        appsec.body
    );
    assert!(!appsec.body.contains("ann@example.org"));
    let page1 = admin.get(&format!("{USERS}?limit=2")).await;
    assert!(page1.body.contains("Showing 1–2 of 4 users"));
    assert!(page1.body.contains("offset=2"));
    let page2 = admin.get(&format!("{USERS}?limit=2&offset=2")).await;
    assert!(page2.body.contains("Showing 3–4 of 4 users"));
    assert!(page2.body.contains("Previous"));
    let by_email = admin.get(&format!("{USERS}?sort=email&dir=desc")).await;
    let at = |e: &str| by_email.body.find(e).unwrap();
    assert!(at("cat@example.org") < at("ben@corp.example"));
    assert!(at("ben@corp.example") < at("ann@example.org"));
    assert!(by_email.body.contains("aria-sort=\"descending\""));
    let none = admin.get(&format!("{USERS}?q=nobody")).await;
    assert!(none.body.contains("No users match"));
    t.stop().await;
}
