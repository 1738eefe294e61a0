package dev.lantern.agent;

import java.io.InputStream;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The weaver as the agent loads it (its ASM in the private loader, from the built jar): where a
 * line and a method entry go and which locals they see, "none" for a line without code or
 * another source file, and the error for a class file newer than ASM 9.4 reads (Java 21+).
 */
public class WeaverTest {
    static BiFunction<byte[], String[], Object[]> weaver() throws Exception {
        if (IsolatedLoader.class.getResource(ProbeLibrary.HOOK_JAR) == null) {
            Check.skip("run through test.sh (needs the built jar)");
        }
        return ProbeLibrary.weaver(IsolatedLoader.of(ProbeLibrary.WEAVER_JARS));
    }

    static byte[] bytes(Class<?> c) throws Exception {
        String name = c.getName();
        try (InputStream in = c.getResourceAsStream(name.substring(name.lastIndexOf('.') + 1) + ".class")) {
            return in.readAllBytes();
        }
    }

    @Test
    public void linesAndEntriesWithTheirLocals() throws Exception {
        BiFunction<byte[], String[], Object[]> w = weaver();
        Object[] out = w.apply(bytes(ProbeApp.class), new String[] {
            "7\tL\t" + ProbeApp.SNAPSHOT_LINE + "\tProbeApp.java",
            "8\tM\thandle\t",
            "9\tL\t3\tProbeApp.java",
            "10\tL\t" + ProbeApp.SNAPSHOT_LINE + "\tOther.java",
            "11\tD\tnosuch\t"});
        String[] r = (String[]) out[1];
        Check.equal("7\tok\thandle\t" + ProbeApp.SNAPSHOT_LINE
            + "\torder:Ldev/lantern/agent/ProbeApp$Order;,qty:I,seq:I,total:J", r[0], "a line");
        Check.equal("8\tok\thandle\t0\torder:Ldev/lantern/agent/ProbeApp$Order;,qty:I,seq:I", r[1], "an entry");
        Check.equal("9\tnone\tno code at line 3", r[2], "no code");
        Check.equal("10\tnone\tsource file is ProbeApp.java", r[3], "another file");
        Check.equal("11\tnone\tno method nosuch", r[4], "no method");
        Check.isTrue(out[0] instanceof byte[] && ((byte[]) out[0]).length > bytes(ProbeApp.class).length, "new bytes");
    }

    @Test
    public void aJava21ClassFileIsAnError() throws Exception {
        byte[] b = bytes(ProbeApp.class);
        b[6] = 0;
        b[7] = 65;
        Object[] out = weaver().apply(b, new String[] {"3\tL\t54\t"});
        Check.equal(null, out[0], "unchanged");
        Check.equal("3\terr\tUnsupported class file major version 65", ((String[]) out[1])[0], "the status message");
    }

    @Test
    public void actionsThatCannotRunAnswerWithAStatus() {
        ProbeOutbox outbox = new ProbeOutbox();
        ProbeEngine engine = ProbeEngine.unavailable(outbox, "probes unavailable: test");
        long far = 4_102_444_800_000L;
        Check.equal(null, engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.set\",\"id\":\"a1\",\"action\":\"snapshot\","
            + "\"location\":{\"file\":\"A.java\",\"line\":3},\"expires_at\":" + far + "}")), "accepted");
        Check.equal("{\"type\":\"action.status\",\"id\":\"a1\",\"status\":\"error\",\"message\":\"probes unavailable: test\"}",
            outbox.poll(), "error status");
        engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.set\",\"id\":\"a2\",\"action\":\"tictoc\","
            + "\"location\":{\"file\":\"A.java\",\"line\":3},\"expires_at\":" + far + "}"));
        Check.contains(outbox.poll(), "a tictoc needs two lines", "invalid definition");
        engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.set\",\"id\":\"a3\",\"action\":\"teleport\","
            + "\"location\":{\"file\":\"A.java\",\"line\":3},\"expires_at\":" + far + "}"));
        Check.contains(outbox.poll(), "unknown action type teleport", "unknown type");
        Check.contains(engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.set\",\"id\":\"bad id!\"}")),
            "an action id is", "a bad id is an invalid message");
        Check.contains(engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.remove\"}")), "needs ids", "remove without ids");
        Check.equal(null, engine.onMessage((Map<?, ?>) Json.parse("{\"type\":\"action.sync\",\"actions\":[]}")), "empty sync");
        Check.equal(null, outbox.poll(), "nothing else");
        Check.equal(0, engine.size(), "no action runs");
    }
}
