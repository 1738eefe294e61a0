//! Backup while running, restore into a new directory, and the refusals around them.

use lantern::cli::{self, CliError};

use crate::support::*;

#[tokio::test]
async fn backup_while_running_and_restore_elsewhere_keep_users_and_the_pin() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let pin = cli::tls_pin(&t.data_dir()).unwrap();
    let file = t.dir.path().join("nightly.backup");

    // Through the control socket of the running appliance.
    let said = cli::backup(&t.data_dir(), &file).await.unwrap();
    assert!(said.starts_with("backup written"), "{said}");
    let again = cli::backup(&t.data_dir(), &file).await.unwrap_err();
    assert!(matches!(again, CliError::Usage(_)), "never overwrites");
    t.stop().await;

    // Offline, straight from the store.
    let offline = t.dir.path().join("offline.backup");
    cli::backup(&t.data_dir(), &offline).await.unwrap();

    let refused = cli::restore(&t.data_dir(), &file).unwrap_err();
    assert!(matches!(refused, CliError::Usage(_)), "{refused}");

    for backup in [&file, &offline] {
        let target = tempfile::tempdir().unwrap();
        let said = cli::restore(&target.path().join("data"), backup).unwrap();
        assert!(said.contains("restored"), "{said}");
        assert_eq!(cli::tls_pin(&target.path().join("data")).unwrap(), pin);
        let mut restored = TestApp::start_in(target, &[]).await;
        assert!(restored.app().setup_link.is_none(), "the admin came back");
        let c = restored.client();
        let r = c.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(r.status, 303);
        restored.stop().await;
    }
}

#[tokio::test]
async fn a_damaged_backup_is_refused_without_writing_anything() {
    let mut t = TestApp::start().await;
    t.with_admin(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let file = t.dir.path().join("b.backup");
    cli::backup(&t.data_dir(), &file).await.unwrap();
    t.stop().await;
    let bytes = std::fs::read(&file).unwrap();
    let damaged = t.dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let target = tempfile::tempdir().unwrap();
    let data = target.path().join("data");
    assert!(cli::restore(&data, &damaged).is_err());
    assert!(
        !data.join("lantern.redb").exists(),
        "nothing restored from a damaged backup"
    );
}

#[tokio::test]
async fn admin_create_works_with_and_without_the_running_appliance() {
    let mut t = TestApp::start().await;
    let mut stdin = std::io::Cursor::new(b"first lamp of the night\n".to_vec());
    let said = cli::admin_create(
        &t.data_dir(),
        "ops@example.org",
        Some("Ops"),
        &[],
        &mut stdin,
    )
    .await
    .unwrap();
    assert!(said.contains("created user ops@example.org"), "{said}");
    let mut dup = std::io::Cursor::new(b"first lamp of the night\n".to_vec());
    let e = cli::admin_create(&t.data_dir(), "ops@example.org", None, &[], &mut dup)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    t.stop().await;
    let mut weak = std::io::Cursor::new(b"password\n".to_vec());
    let e = cli::admin_create(&t.data_dir(), "dev@example.org", None, &[], &mut weak)
        .await
        .unwrap_err();
    assert!(matches!(e, CliError::Usage(_)), "{e}");
    let mut stdin = std::io::Cursor::new(b"second lamp of the night\n".to_vec());
    let roles = vec!["developer".to_string()];
    cli::admin_create(&t.data_dir(), "dev@example.org", None, &roles, &mut stdin)
        .await
        .unwrap();
    let mut bad_role = std::io::Cursor::new(b"second lamp of the night\n".to_vec());
    let e = cli::admin_create(
        &t.data_dir(),
        "x@example.org",
        None,
        &["root".into()],
        &mut bad_role,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("unknown role root"), "{e}");
}
