//! The audit trail through the portal and the CLI: events appear, filter, export, verify,
//! and tampering is caught.

use lantern::security::audit::{AUDIT, AuditRecord};

use crate::support::*;

#[tokio::test]
async fn events_are_listed_filtered_exported_and_verified() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let stranger = t.client();
    assert_eq!(
        stranger
            .sign_in("mallory@example.org", "guessing wrong")
            .await
            .status,
        401
    );

    let page = admin.get("/settings/security/audit-events").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("user.create"), "{}", page.body);
    assert!(page.body.contains("anonymous (mallory@example.org)"));

    let failures = admin
        .get("/settings/security/audit-events?type=auth.&outcome=failure")
        .await;
    assert!(failures.body.contains("1 events"), "{}", failures.body);
    assert!(!failures.body.contains("user.create"));
    let bad = admin
        .get("/settings/security/audit-events?since=yesterday")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("use a date like"));

    let csv = admin
        .get("/settings/security/audit-events/export?format=csv")
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .contains("lantern-audit.csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("seq,time,type,actor"));
    assert!(lines.len() >= 3, "{}", csv.body);

    let jsonl = admin
        .get("/settings/security/audit-events/export?format=jsonl&type=auth.")
        .await;
    let records: Vec<AuditRecord> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r.event.kind.starts_with("auth.")));
    assert!(
        records.windows(2).all(|w| w[0].seq < w[1].seq),
        "oldest first"
    );

    let verified = admin.get("/settings/security/audit-events/verify").await;
    assert!(
        verified.body.contains("audit chain intact"),
        "{}",
        verified.body
    );
    let said = lantern::cli::audit_verify(&t.data_dir()).await.unwrap();
    assert!(said.contains("intact"), "{said}");

    // Tampering with a stored record is caught by the offline verification.
    t.stop().await;
    let store = lantern::store::Store::open(
        &lantern::app::store_path(&t.data_dir()),
        lantern::store::StoreOptions::default(),
    )
    .unwrap();
    store
        .write_blocking(|tx| {
            let key = 1u64.to_be_bytes();
            let mut r: AuditRecord = tx.get_json(&AUDIT, &key)?.unwrap();
            r.event.target = Some("someone else".into());
            tx.put_json(&AUDIT, &key, &r)
        })
        .unwrap();
    store.close().unwrap();
    let e = lantern::cli::audit_verify(&t.data_dir()).await.unwrap_err();
    assert!(e.to_string().contains("broken at record 1"), "{e}");
}

#[tokio::test]
async fn refused_access_is_audited_and_viewers_cannot_export() {
    let mut t = TestApp::start().await;
    let admin = t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for (email, role) in [
        ("dev@example.org", "developer"),
        ("view@example.org", "company-viewer"),
    ] {
        let mut stdin = std::io::Cursor::new(b"evening lamp light\n".to_vec());
        lantern::cli::admin_create(&t.data_dir(), email, None, &[role.to_string()], &mut stdin)
            .await
            .unwrap();
    }
    let dev = t.client();
    assert_eq!(
        dev.sign_in("dev@example.org", "evening lamp light")
            .await
            .status,
        303
    );
    let page = dev.get("/getting-started").await;
    assert!(
        !page
            .body
            .contains("href=\"/settings/security/audit-events\""),
        "hidden from developers"
    );
    assert_eq!(dev.get("/settings/security/audit-events").await.status, 403);

    let viewer = t.client();
    assert_eq!(
        viewer
            .sign_in("view@example.org", "evening lamp light")
            .await
            .status,
        303
    );
    let list = viewer.get("/settings/security/audit-events").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("/export?"),
        "no export links for a viewer"
    );
    assert_eq!(
        viewer
            .get("/settings/security/audit-events/export?format=csv")
            .await
            .status,
        403
    );
    let denied = admin
        .get("/settings/security/audit-events?type=access.denied")
        .await;
    assert!(denied.body.contains("2 events"), "{}", denied.body);
    assert!(denied.body.contains("dev@example.org"));
    t.stop().await;
}
