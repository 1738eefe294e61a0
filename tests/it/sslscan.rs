//! The appliance's TLS as an outside scanner sees it (QUALITY.md S3): Debian's `sslscan`
//! against the running appliance must find TLS 1.2 and 1.3 only, forward-secret AEAD suites of
//! at least 128 bits only, no renegotiation, no compression, no Heartbleed, and an ECDSA P-256
//! certificate signed with SHA-256.

use std::process::Command;

use crate::support::*;

/// The scan's findings: one line each, without the scanner's colours.
fn scan(addr: std::net::SocketAddr) -> String {
    let out = Command::new("sslscan")
        .args(["--no-colour", "--no-cipher-details"])
        .arg(addr.to_string())
        .output()
        .expect("this test needs Debian's sslscan (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line_says(report: &str, starts: &str, says: &str) -> bool {
    report
        .lines()
        .any(|l| l.starts_with(starts) && l.contains(says))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_scan_finds_only_modern_tls() {
    let t = TestApp::start().await;
    let report = scan(t.addr);
    for old in ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"] {
        assert!(
            line_says(&report, old, "disabled"),
            "{old} must be off:\n{report}"
        );
    }
    for new in ["TLSv1.2", "TLSv1.3"] {
        assert!(
            line_says(&report, new, "enabled"),
            "{new} must be on:\n{report}"
        );
    }
    let suites: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("Accepted") || l.starts_with("Preferred"))
        .collect();
    assert!(suites.len() >= 4, "the scan lists the suites:\n{report}");
    for s in &suites {
        let words: Vec<&str> = s.split_whitespace().collect();
        let (bits, name) = match words.as_slice() {
            [_, _, bits, "bits", name, ..] => (bits.parse::<u32>().unwrap(), *name),
            _ => panic!("unexpected suite line: {s}"),
        };
        assert!(bits >= 128, "a suite under 128 bits: {s}");
        let aead = name.contains("GCM") || name.contains("CHACHA20");
        let forward_secret = name.starts_with("TLS_") || name.starts_with("ECDHE-");
        assert!(
            aead && forward_secret,
            "a suite without AEAD or forward secrecy: {s}"
        );
        for weak in ["RC4", "DES", "NULL", "EXP", "anon", "MD5", "CBC"] {
            assert!(!name.contains(weak), "a weak suite: {s}");
        }
    }
    assert!(
        report.contains("Session renegotiation not supported")
            || report.contains("Secure session renegotiation supported"),
        "no insecure renegotiation:\n{report}"
    );
    assert!(
        !report.contains("Compression enabled"),
        "no TLS compression:\n{report}"
    );
    assert!(
        report
            .lines()
            .filter(|l| l.contains("heartbleed"))
            .all(|l| l.contains("not vulnerable")),
        "Heartbleed:\n{report}"
    );
    assert!(
        report.contains("Signature Algorithm: ecdsa-with-SHA256"),
        "{report}"
    );
    assert!(
        report.contains("ECC Curve Name:      prime256v1"),
        "{report}"
    );
}
