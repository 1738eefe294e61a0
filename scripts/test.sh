#!/usr/bin/env bash
# Runs every test of the project: unit and integration tests (cargo), the fuzz targets' build,
# the static release binary check, the agent fleet smoke, the end-to-end portal tests in
# headless Chromium and the Java agent's tests. Needs: Rust (stable), Node.js 20+, a JDK,
# Debian's chromium and systemd packages (.ci/run installs them on a fresh machine).
#
# On two cores the optimised release build takes about as long as all the tests together,
# and the debug build's last minutes and the tests leave a core idle much of the time (one
# crate compiling, then JVMs, Tomcat, Chromium and fsyncs). So the release build starts first,
# in the background at the lowest priority and in its own target directory (cargo locks a
# target directory for the length of a build); the fuzz targets' build joins it once the
# debug build is done; the tests run from the debug build meanwhile (the Java agent's beside
# the browser tests), and the steps that need the release binary come last. The tests run
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
if cargo deny --version >/dev/null 2>&1; then
  cargo deny --offline check licenses bans
else
  echo "cargo-deny is not installed: licences and bans NOT checked (cargo install cargo-deny --locked)"
fi

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

step "release build and the fuzz targets' build, started in the background"
set -m
(
  # Without the thin link-time optimisation the shipped profile has (Cargo.toml): it is the
  # release build's longest step (3.5 min of a core here, one crate at a time at the end of
  # the run), and what this build is for holds a fortiori without it: the binary is static
  # either way, and larger without (the size check below is the stricter for it); the fleet
  # smoke checks the protocol, not speed. Benchmarks use the shipped profile.
  CARGO_PROFILE_RELEASE_LTO=false nice -n 19 cargo build --locked --release --target-dir "$release_dir" &
  release=$!
  # The fuzz package is its own workspace; sharing target/ with the tests' debug build (and
  # the debug settings in .cargo/config.toml) reuses the crates the tests compiled, so it
  # waits for that build, then runs beside the release build (whose last step, the link-time
  # optimisation of the binary, leaves a core idle). The corpus itself is replayed by
  # tests/it/fuzz_corpus.rs; fuzzing runs by hand with `cargo +nightly fuzz run TARGET` in
  # fuzz/.
  while [ ! -e "$executables.done" ]; do sleep 2; done
  fuzz=0
  nice -n 19 cargo build --locked --manifest-path fuzz/Cargo.toml --target-dir target || fuzz=$?
  wait "$release" && [ "$fuzz" -eq 0 ]
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

step "waiting for the release build and the fuzz targets' build"
if ! wait "$background"; then
  background=""
  cat "$background_log"
  echo "FAIL: the release build or the fuzz targets' build failed"
  exit 1
fi
background=""
grep -E "^(warning|error)" -A5 "$background_log" || true

step "static release binary"
linkage=$(ldd "$release_bin" 2>&1 || true)
if ! grep -qE "statically linked|not a dynamic executable" <<<"$linkage"; then
  echo "FAIL: $release_bin is dynamically linked:"; echo "$linkage"; exit 1
fi
size=$(stat -c %s "$release_bin")
echo "$release_bin: statically linked, $((size / 1024 / 1024)) MiB"
if [ "$size" -ge $((25 * 1024 * 1024)) ]; then echo "FAIL: binary is 25 MB or more"; exit 1; fi

step "agent fleet smoke (500 simulated agents against the release binary)"
# Every phase of benches/fleet.rs at a small size; fails on a broken protocol or a lost
# message (hello_ack, class-load frame, round trip, install ack, re-sync after a restart),
# never on timing. The load generator is the debug build of the bench (a release build of it
# would compile the library once more with the dev-dependencies' features); the appliance
# under test is the release binary.
LANTERN_BIN="$PWD/$release_bin" "$(executable bench fleet)" --smoke
step "all tests passed"
