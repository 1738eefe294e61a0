#!/usr/bin/env bash
# Runs every test of the project: unit and integration tests (cargo), the static release
# binary check, the fuzz targets' build, and the end-to-end portal tests in headless
# Chromium. Needs: Rust (stable), Node.js 20+, Debian's chromium and systemd packages
# (.ci/run installs them on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."
triple=x86_64-unknown-linux-gnu

echo "== cargo deny (licences, bans, duplicate versions; deny.toml)"
if cargo deny --version >/dev/null 2>&1; then
  cargo deny --offline check licenses bans
else
  echo "cargo-deny is not installed: licences and bans NOT checked (cargo install cargo-deny --locked)"
fi

echo "== cargo test (unit + integration)"
cargo test --locked --lib --bins --tests

echo "== benches and fuzz targets build"
cargo build --locked --benches
# The fuzz package is its own workspace; sharing the target dir reuses the compiled crates.
cargo build --locked --manifest-path fuzz/Cargo.toml --target-dir target
# (the corpus itself is replayed by tests/it/fuzz_corpus.rs; fuzzing runs by hand with
# `cargo +nightly fuzz run TARGET` in fuzz/)

echo "== static release binary"
cargo build --locked --release
bin="target/$triple/release/lantern"
linkage=$(ldd "$bin" 2>&1 || true)
if ! grep -qE "statically linked|not a dynamic executable" <<<"$linkage"; then
  echo "FAIL: $bin is dynamically linked:"; echo "$linkage"; exit 1
fi
size=$(stat -c %s "$bin")
echo "$bin: statically linked, $((size / 1024 / 1024)) MiB"
if [ "$size" -ge $((25 * 1024 * 1024)) ]; then echo "FAIL: binary is 25 MB or more"; exit 1; fi

echo "== agent fleet smoke (500 simulated agents against the release binary)"
# Every phase of benches/fleet.rs at a small size; fails on a broken protocol or a lost
# message (hello_ack, class-load frame, round trip, install ack, re-sync after a restart),
# never on timing.
# The load generator runs from the debug build of the bench (the step above made it): a
# release build of the bench would compile the library once more with the dev-dependencies'
# features, minutes of CI for a smoke that judges the protocol, not speed. The appliance
# under test is the release binary.
LANTERN_BIN="$PWD/$bin" cargo test --locked --bench fleet -- --smoke

echo "== portal in headless Chromium"
(
  cd tests/browser
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf screenshots
  LANTERN_BIN="../../target/$triple/debug/lantern" node --test --test-concurrency=1
)
if command -v javac >/dev/null; then echo "== Java agent"; agents/java/test.sh; fi
echo "all tests passed"
