#!/bin/sh
# Builds the agent jar, compiles the tests in src/test/java against the agent's classes and
# runs them with the project's own runner (no test library is available). The end-to-end tests
# start JVMs with the built jar against an in-process TLS websocket server. Usage: test.sh
# [TestClass ...] (default: every *Test class). Set TEST_ONLY=substring to run some methods.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lantern-agent-test.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

"$here/build.sh" "$work/lantern-agent.jar"
mkdir -p "$work/test-classes"
find "$here/src/test/java" -name '*.java' > "$work/sources"
javac --release 17 -g -Xlint:all -Werror -encoding UTF-8 -cp "$work/lantern-agent.jar" \
  -d "$work/test-classes" @"$work/sources"
cp -R "$here/src/test/resources/." "$work/test-classes/"

if [ "$#" -gt 0 ]; then
  classes="$*"
else
  classes=$(cd "$work/test-classes" && find . -name '*Test.class' ! -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
fi
# shellcheck disable=SC2086  # one word per class name
java -Dlantern.test.agentJar="$work/lantern-agent.jar" -Dlantern.test.classes="$work/test-classes" \
  -Dlantern.test.protocolDoc="$here/../PROTOCOL.md" -Dtest.only="${TEST_ONLY:-}" -cp "$work/lantern-agent.jar:$work/test-classes" \
  dev.lantern.agent.TestRunner $classes
