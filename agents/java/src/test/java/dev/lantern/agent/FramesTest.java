package dev.lantern.agent;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * class_loads frames: limits of PROTOCOL.md (20,000 classes, 5,000 artifacts, 1 MiB), refs
 * declared before use, seq numbering, initial/initial_done, and only the closed set of fields
 * the appliance accepts.
 */
public class FramesTest {
    static final Set<String> FRAME_FIELDS = Set.of("type", "seq", "initial", "initial_done", "artifacts", "loads");
    static final Set<String> ARTIFACT_FIELDS = Set.of("ref", "location", "kind", "parent", "sha256", "coordinates");
    static final Set<String> COORDINATE_FIELDS = Set.of("source", "group", "name", "version");
    static final Set<String> LOAD_FIELDS = Set.of("artifact", "classes", "count");

    /** Checks every frame as the appliance would; returns the number of class names. */
    static long validate(List<String> frames, long firstSeq, boolean initial, Limits limits) {
        Set<Long> declared = new HashSet<>();
        long classes = 0;
        for (int i = 0; i < frames.size(); i++) {
            String text = frames.get(i);
            Check.isTrue(text.getBytes(StandardCharsets.UTF_8).length <= limits.maxMessageBytes,
                "frame " + i + " is " + text.getBytes(StandardCharsets.UTF_8).length + " bytes");
            Map<?, ?> m = (Map<?, ?>) Json.parse(text);
            Check.isTrue(FRAME_FIELDS.containsAll(m.keySet()), "frame fields " + m.keySet());
            Check.equal("class_loads", m.get("type"), "type");
            Check.equal(firstSeq + i, m.get("seq"), "seq");
            Check.equal(initial ? Boolean.TRUE : null, m.get("initial"), "initial");
            Check.equal(initial ? (i == frames.size() - 1) : null, m.get("initial_done"), "initial_done");
            List<?> artifacts = (List<?>) m.get("artifacts");
            Check.isTrue(artifacts.size() <= limits.maxArtifactsPerBatch, "artifacts per frame " + artifacts.size());
            for (Object o : artifacts) {
                Map<?, ?> a = (Map<?, ?>) o;
                Check.isTrue(ARTIFACT_FIELDS.containsAll(a.keySet()), "artifact fields " + a.keySet());
                Check.isTrue(declared.add((Long) a.get("ref")), "each ref declared once");
                if (a.containsKey("parent")) {
                    Check.isTrue(declared.contains((Long) a.get("parent")), "parent declared first");
                }
                for (Object c : (List<?>) a.get("coordinates")) {
                    Check.isTrue(COORDINATE_FIELDS.containsAll(((Map<?, ?>) c).keySet()), "coordinate fields");
                }
            }
            long inFrame = 0;
            for (Object o : (List<?>) m.get("loads")) {
                Map<?, ?> l = (Map<?, ?>) o;
                Check.isTrue(LOAD_FIELDS.containsAll(l.keySet()), "load fields " + l.keySet());
                Check.isTrue(declared.contains((Long) l.get("artifact")), "load refers to a declared artifact");
                if (l.containsKey("classes")) {
                    inFrame += ((List<?>) l.get("classes")).size();
                }
            }
            Check.isTrue(inFrame <= limits.maxClassesPerBatch, "classes per frame " + inFrame);
            classes += inFrame;
        }
        return classes;
    }

    static ArtifactCatalog catalog() {
        return new ArtifactCatalog(new RuntimeArtifact("openjdk", "17.0.15"));
    }

    @Test
    public void manyClassesAreSplitUnderTheLimits() {
        ArtifactCatalog c = catalog();
        for (int j = 0; j < 9; j++) {
            Location jar = Location.ofUrl("file:/srv/lib/lib" + j + "-1.0.jar");
            for (int i = 0; i < 5_000; i++) {
                c.loaded(jar, "com.example.lib" + j + ".pkg.Class" + i);
            }
        }
        c.resolvePending();
        List<String> frames = c.frames(Limits.V1, true, 1);
        Check.equal(45_000L, validate(frames, 1, true, Limits.V1), "every class sent once");
        Check.equal(3, frames.size(), "45,000 classes in 3 frames");
        Check.isTrue(!c.hasUnsent(), "nothing left");
    }

    @Test
    public void longNamesAreSplitByBytes() {
        ArtifactCatalog c = catalog();
        Location jar = Location.ofUrl("file:/srv/lib/long.jar");
        String pad = "é".repeat(500);
        for (int i = 0; i < 3_000; i++) {
            c.loaded(jar, "p." + pad + i);
        }
        c.resolvePending();
        List<String> frames = c.frames(Limits.V1, true, 7);
        Check.equal(3_000L, validate(frames, 7, true, Limits.V1), "all sent");
        Check.isTrue(frames.size() >= 3, "3 MB of names need at least 3 frames, got " + frames.size());
    }

    @Test
    public void manyArtifactsAreSplit() {
        ArtifactCatalog c = catalog();
        for (int j = 0; j < 12_000; j++) {
            c.present(Location.ofUrl("file:/nonexistent/lib/lib" + j + "-1.0.jar"));
        }
        c.resolvePending();
        List<String> frames = c.frames(Limits.V1, true, 1);
        validate(frames, 1, true, Limits.V1);
        Check.equal(3, frames.size(), "12,001 artifacts in 3 frames");
    }

    @Test
    public void longMessagesAreCutIntoFramesThatFitAndRejoinExactly() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 30_000; i++) {
            b.append(i % 7 == 0 ? "\uD83D\uDE00" : i % 5 == 0 ? "\u00e9\u4e2d" : "a.b.C");
        }
        String text = b.toString();
        for (int max : new int[] {4 * 1024, 64 * 1024}) {
            List<CharSequence> parts = Session.fragments(text, max);
            StringBuilder joined = new StringBuilder();
            for (CharSequence p : parts) {
                String s = p.toString();
                Check.isTrue(s.getBytes(StandardCharsets.UTF_8).length <= max, "fragment fits " + max);
                Check.isTrue(s.isEmpty() || !Character.isHighSurrogate(s.charAt(s.length() - 1)), "pair kept whole");
                joined.append(s);
            }
            Check.equal(text, joined.toString(), "fragments rejoin");
            Check.isTrue(parts.size() > 1, "a long message is cut");
        }
        Check.equal(1, Session.fragments("{}", 64 * 1024).size(), "a short message is one frame");
    }

    @Test
    public void lowerLimitsFromTheApplianceAreObeyed() {
        Limits small = new Limits(16 * 1024, 4 * 1024, 100, 10, 1000, 1024);
        ArtifactCatalog c = catalog();
        for (int j = 0; j < 25; j++) {
            Location jar = Location.ofUrl("file:/nonexistent/l" + j + ".jar");
            for (int i = 0; i < 40; i++) {
                c.loaded(jar, "a.b.C" + j + "_" + i);
            }
        }
        c.resolvePending();
        List<String> frames = c.frames(small, true, 1);
        Check.equal(1000L, validate(frames, 1, true, small), "all sent");
    }

    @Test
    public void reconnectSendsTheWholeStateAgainAndLiveOnlyNews() {
        ArtifactCatalog c = catalog();
        Location a = Location.ofUrl("file:/nonexistent/a-1.jar");
        c.loaded(a, "a.A");
        c.setRuntimeCount(900);
        c.resolvePending();
        List<String> first = c.frames(Limits.V1, true, 1);
        validate(first, 1, true, Limits.V1);
        Check.isTrue(!c.hasUnsent(), "all sent");

        c.loaded(a, "a.B");
        c.loaded(a, "a.A");
        c.addRuntimeCount(5);
        Check.equal(1L, c.unsentClasses(), "a repeated name is not news");
        List<String> live = c.frames(Limits.V1, false, 2);
        validateLive(live, c);
        Map<?, ?> m = (Map<?, ?>) Json.parse(live.get(0));
        Check.equal(0, ((List<?>) m.get("artifacts")).size(), "nothing declared again");
        Check.contains(live.get(0), "{\"artifact\":0,\"count\":905}", "runtime count is the running total");
        Check.contains(live.get(0), "[\"a.B\"]", "only the new class");

        c.newConnection();
        List<String> again = c.frames(Limits.V1, true, 1);
        Check.equal(2L, validate(again, 1, true, Limits.V1), "everything again after a reconnect");
        Check.contains(again.get(0), "\"location\":\"jrt:/\"", "runtime declared again");
    }

    private static void validateLive(List<String> frames, ArtifactCatalog c) {
        Check.equal(1, frames.size(), "one live frame");
        Map<?, ?> m = (Map<?, ?>) Json.parse(frames.get(0));
        Check.equal(2L, m.get("seq"), "seq continues");
        Check.isTrue(!m.containsKey("initial"), "live frames leave initial out");
    }

    @Test
    public void anEmptyInitialStateIsStillOneDoneFrame() {
        FrameBuilder b = new FrameBuilder(Limits.V1, true);
        List<String> frames = b.finish(1);
        Check.equal(1, frames.size(), "one frame");
        Check.contains(frames.get(0), "\"initial_done\":true", "done");
        Check.equal(0, new FrameBuilder(Limits.V1, false).finish(5).size(), "no live frame without news");
    }

    @Test
    public void theAgentsOwnJarAndBadNamesAreLeftOut() {
        ArtifactCatalog c = catalog();
        Location own = Location.ofUrl("file:/opt/lantern/lantern-agent.jar");
        c.exclude(own);
        c.loaded(own, "dev.lantern.agent.Sender");
        c.present(own);
        Location a = Location.ofUrl("file:/nonexistent/a.jar");
        c.loaded(a, "bad\u0001name");
        c.loaded(a, "x".repeat(1025));
        c.loaded(a, "ok.Name");
        Check.equal(1, c.size(), "only a.jar");
        Check.equal(1L, c.classCount(), "only the good name");
        Check.equal(2L, c.skippedNames(), "two skipped");
    }

    @Test
    public void helloHasExactlyTheFieldsOfTheProtocol() {
        Identity id = new Identity("bootstrap-0123456789abcdef", "5d2e8b1c0a4f4e6b", "org.apache.catalina.startup.Bootstrap",
            "app-01", 4242, "17.0.15+6-Debian-1deb12u1", "Debian", "0.1.0", List.of("production", "eu-west"));
        Map<?, ?> m = (Map<?, ?>) Json.parse(id.helloJson());
        Check.equal(Set.of("type", "protocol", "min_protocol", "agent_id", "instance_id", "runtime", "agent_version",
            "display_name", "host", "pid", "tags", "capabilities"), m.keySet(), "hello fields (closed set)");
        Check.equal(Set.of("name", "version", "vendor"), ((Map<?, ?>) m.get("runtime")).keySet(), "runtime fields");
        Check.equal(1L, m.get("protocol"), "protocol");
        Check.equal(4242L, m.get("pid"), "pid");
        Check.equal(List.of("class_loads", "actions"), m.get("capabilities"), "capabilities");
        Check.equal("java", ((Map<?, ?>) m.get("runtime")).get("name"), "runtime name");
    }
}
