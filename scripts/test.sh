#!/usr/bin/env bash
# Runs every test of the project: unit and integration tests (cargo), the fuzz targets' build,
# the static-linkage check, the agent fleet smoke, the end-to-end portal tests in
# headless Chromium and the Java agent's tests. Needs: Rust (stable), Node.js 20+, a JDK,
# Debian's chromium and systemd packages, cargo-deny (.ci/run installs them on a fresh machine).
#
# Two cores are the budget (CI: 20 minutes for all of it), and the work is CPU-bound: the
# debug build and the tests use about 27 CPU-minutes, an optimised release build 11 to 14
# more, which put the whole over 21 minutes however it was scheduled. So the tests run from
# the debug build (its dependencies optimised, .cargo/config.toml), the fleet smoke and the
# static-linkage check included, and the shipped binary is checked only when asked:
# LANTERN_TEST_RELEASE=1 adds the release build (in the background at the lowest priority, in
# its own target directory, which cargo locks for the length of a build), its size limit,
# and the fleet smoke against it. The fuzz targets' build runs in the background once the
# debug build is done, and the Java agent's tests beside the browser tests. The tests run
# from their executables rather than through `cargo test`, which would wait for the fuzz
# build's lock on target/.
set -euo pipefail
cd "$(dirname "$0")/.."
triple=x86_64-unknown-linux-gnu
# The background release build's own directory (see above); `cargo build --release` by hand
# still builds into target/.
release_dir="target/background"
release_bin="$release_dir/$triple/release/lantern"
debug_bin="target/$triple/debug/lantern"
started=$SECONDS
step() { echo "== $1 [$(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s]"; }

step "cargo deny (licences, bans, duplicate versions; deny.toml)"
# Required, not skipped when absent: a check that quietly does not run cannot fail.
# .ci/run installs it; by hand, see README.md (Supply chain).
if ! cargo deny --version >/dev/null 2>&1; then
  echo "cargo-deny is not installed; install it with:" >&2
  echo "  cargo install cargo-deny@0.20.2 --locked --debug --no-default-features" >&2
  exit 1
fi
# --offline reads the crates' sources from cargo's cache: fetch them first (a fresh machine
# has none yet; the build below needs them anyway).
cargo fetch --locked --quiet
cargo deny --offline check licenses bans

executables=$(mktemp)
background_log=$(mktemp)
background=""
cleanup() {
  # The background job is its own process group (set -m below): stop the builds in it too.
  [ -n "$background" ] && kill -- "-$background" 2>/dev/null || true
  [ -n "${java:-}" ] && kill "$java" 2>/dev/null || true
  rm -f "$executables" "$executables.done" "$background_log" "${java_log:-}"
}
trap cleanup EXIT

step "fuzz targets' build$([ -n "${LANTERN_TEST_RELEASE:-}" ] && echo " and the release build"), in the background"
set -m
(
  release=""
  if [ -n "${LANTERN_TEST_RELEASE:-}" ]; then
    nice -n 19 cargo build --locked --release --target-dir "$release_dir" &
    release=$!
  fi
  # The fuzz package is its own workspace; sharing target/ with the tests' debug build (and
  # the debug settings in .cargo/config.toml) reuses the crates the tests compiled, so it
  # waits for that build. The corpus itself is replayed by tests/it/fuzz_corpus.rs; fuzzing
  # runs by hand with `cargo +nightly fuzz run TARGET` in fuzz/.
  while [ ! -e "$executables.done" ]; do sleep 2; done
  fuzz=0
  nice -n 19 cargo build --locked --manifest-path fuzz/Cargo.toml --target-dir target || fuzz=$?
  if [ -n "$release" ]; then wait "$release" || exit 1; fi
  [ "$fuzz" -eq 0 ]
) > "$background_log" 2>&1 &
background=$!
set +m

step "debug build of the tests, the benches and the appliance"
cargo test --locked --lib --bins --tests --benches --no-run --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["target"]["kind"][0], m["target"]["name"], m["executable"])
' > "$executables"
touch "$executables.done"
executable() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$executables"; }

step "unit tests"
"$(executable lib lantern)"
"$(executable bin lantern)"
step "integration tests"
"$(executable test it)"

# The Java agent's tests spend most of their time waiting on the JVMs they start, so they run
# beside the browser tests; their output follows.
java_log=$(mktemp)
java=""
if command -v javac >/dev/null; then
  step "Java agent, started beside the browser tests"
  agents/java/test.sh > "$java_log" 2>&1 &
  java=$!
fi
step "portal in headless Chromium (debug build)"
(
  cd tests/browser
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf screenshots
  LANTERN_BIN="../../$debug_bin" node --test --test-concurrency=1
)
if [ -n "$java" ]; then
  step "Java agent (its output)"
  java_rc=0
  wait "$java" || java_rc=$?
  java=""
  cat "$java_log"
  if [ "$java_rc" -ne 0 ]; then echo "FAIL: the Java agent's tests"; exit 1; fi
fi

step "waiting for the background builds"
if ! wait "$background"; then
  background=""
  cat "$background_log"
  echo "FAIL: a background build (fuzz targets or release) failed"
  exit 1
fi
background=""
grep -E "^(warning|error)" -A5 "$background_log" || true

# The appliance the last steps check: the shipped build when asked for, else the debug one
# (the same static C runtime: .cargo/config.toml links every profile with crt-static).
appliance="$debug_bin"
[ -n "${LANTERN_TEST_RELEASE:-}" ] && appliance="$release_bin"
step "static linkage ($appliance)"
linkage=$(ldd "$appliance" 2>&1 || true)
if ! grep -qE "statically linked|not a dynamic executable" <<<"$linkage"; then
  echo "FAIL: $appliance is dynamically linked:"; echo "$linkage"; exit 1
fi
size=$(stat -c %s "$appliance")
echo "$appliance: statically linked, $((size / 1024 / 1024)) MiB"
if [ -n "${LANTERN_TEST_RELEASE:-}" ] && [ "$size" -ge $((25 * 1024 * 1024)) ]; then
  echo "FAIL: the release binary is 25 MiB or more (QUALITY.md P6)"; exit 1
fi

step "agent fleet smoke (500 simulated agents against $appliance)"
# Every phase of benches/fleet.rs at a small size; fails on a broken protocol or a lost
# message (hello_ack, class-load frame, round trip, install ack, re-sync after a restart),
# never on timing. The load generator is the debug build of the bench (a release build of it
# would compile the library once more with the dev-dependencies' features).
LANTERN_BIN="$PWD/$appliance" "$(executable bench fleet)" --smoke
step "all tests passed"
