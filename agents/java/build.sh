#!/bin/sh
# Builds the Lantern Java agent: compiles src/main/java (the agent), src/main/hook (the probe
# hook, put on the bootstrap path at run time) and src/main/weave (the ASM weaver) with javac
# (release 17, every lint as an error) and packs lantern-agent.jar, with the hook, the weaver
# and Debian's ASM jars nested under lantern-lib/, and the manifest the JVM needs for
# -javaagent and for attaching later. Usage: build.sh [OUTPUT.jar]  (default: build/lantern-agent.jar beside
# this script). With an output path nothing is written into the source tree, so the
# appliance's build.rs can call it from any directory.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# The agent's version: hello.agent_version and the manifest. Kept here, not in a file of its
# own, because the appliance's build.rs rebuilds the jar when build.sh or src/main changes.
version=0.1.0
out=${1:-"$here/build/lantern-agent.jar"}
case "$out" in
  /*) ;;
  *) out="$(pwd)/$out" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/lantern-agent-build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# ASM from Debian's libasm-java (BSD-3-Clause): bundled, never on the application's path.
asmdir=${LANTERN_ASM_DIR:-/usr/share/java}
asm="$asmdir/asm.jar"
asmtree="$asmdir/asm-tree.jar"
for j in "$asm" "$asmtree"; do
  [ -f "$j" ] || { echo "build.sh: $j is missing (apt-get install libasm-java)" >&2; exit 1; }
done

# Three parts, three class paths: the hook goes on the bootstrap path at run time (only the JDK
# below it); the weaver runs in the agent's private loader beside ASM; the agent itself sees the
# hook's interface but never ASM.
mkdir -p "$work/hook" "$work/weave" "$work/classes/lantern-lib"
find "$here/src/main/hook" -name '*.java' > "$work/hook-sources"
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$work/hook" @"$work/hook-sources"
find "$here/src/main/weave" -name '*.java' > "$work/weave-sources"
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -cp "$asm:$asmtree" -d "$work/weave" @"$work/weave-sources"
find "$here/src/main/java" -name '*.java' > "$work/sources"
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -cp "$work/hook" -d "$work/classes" @"$work/sources"
jar --create --file "$work/classes/lantern-lib/hook.jar" -C "$work/hook" .
jar --create --file "$work/classes/lantern-lib/weaver.jar" -C "$work/weave" .
cp "$asm" "$work/classes/lantern-lib/asm.jar"
cp "$asmtree" "$work/classes/lantern-lib/asm-tree.jar"
# ASM's licence asks for its notice to travel with the binary.
if [ -f /usr/share/doc/libasm-java/copyright ]; then
  cp /usr/share/doc/libasm-java/copyright "$work/classes/lantern-lib/ASM-COPYRIGHT"
fi

# The agent reads its own version from this resource (the manifest is not always reachable
# from a class on the bootstrap or system path in the same way).
printf '%s\n' "$version" > "$work/classes/dev/lantern/agent/version.txt"

cat > "$work/manifest" <<MF
Premain-Class: dev.lantern.agent.LanternAgent
Agent-Class: dev.lantern.agent.LanternAgent
Can-Retransform-Classes: true
Can-Redefine-Classes: false
Implementation-Title: Lantern Java agent
Implementation-Version: $version
Implementation-Vendor: Lantern
MF

mkdir -p "$(dirname "$out")"
# Build beside the target and rename, so a reader never sees a half-written jar.
jar --create --file "$work/agent.jar" --manifest "$work/manifest" -C "$work/classes" .
mv "$work/agent.jar" "$out"
echo "built $out ($version)"
