//! The systemd unit stays hardened: exposure at most 1.5 by systemd's own analysis.

use std::process::Command;

#[test]
fn the_unit_exposure_is_at_most_1_5() {
    let unit = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/lantern.service");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", unit])
        .output()
        .expect("systemd-analyze is installed (Debian package systemd)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line in: {text}"));
    let value: f64 = line
        .split(':')
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure from: {line}"));
    assert!(value <= 1.5, "{line}");
    let unit_text = std::fs::read_to_string(unit).unwrap();
    assert!(unit_text.contains("Type=notify"));
    assert!(unit_text.contains("StateDirectory=lantern"));
}
