//! Replays the checked-in fuzz corpus (and every crash the fuzzers ever found, once added to
//! it) through the same property checks the fuzz targets run.

fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        check(&data);
        count += 1;
    }
    assert!(count > 0, "no corpus in {}", dir.display());
}

#[test]
fn form_and_cookie_corpus() {
    replay("form_and_cookie", lantern::fuzzing::form_and_cookie);
}

#[test]
fn config_corpus() {
    replay("config", lantern::fuzzing::config);
}

#[test]
fn agent_message_corpus() {
    replay("agent_message", lantern::fuzzing::agent_message);
}

#[test]
fn maven_version_corpus() {
    replay("maven_version", lantern::fuzzing::maven_version);
}

#[test]
fn pep440_version_corpus() {
    replay("pep440_version", lantern::fuzzing::pep440_version);
}

#[test]
fn osv_record_corpus() {
    replay("osv_record", lantern::fuzzing::osv_record);
}

#[test]
fn action_expr_corpus() {
    replay("action_expr", lantern::fuzzing::action_expr);
}
