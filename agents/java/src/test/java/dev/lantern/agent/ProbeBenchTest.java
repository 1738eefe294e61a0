package dev.lantern.agent;

import java.io.File;
import java.nio.file.Files;

/**
 * The micro-benchmark of QUALITY.md P7: the cost per call of a method with an installed probe
 * whose condition is false, against the same method uninstrumented, in the same JVM run. It
 * prints the numbers and asserts only that both were measured: timing on a shared machine is
 * not a pass/fail signal.
 */
public class ProbeBenchTest {
    @Test
    public void costOfAProbeWithAFalseCondition() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            EndToEndTest.Child child = new EndToEndTest.Child(ProbeEndToEndTest.agentArgs(a, cert), false, true,
                "dev.lantern.agent.BenchApp");
            ProbeEndToEndTest.waitFor(child, a, () -> out(child).contains("bench ready") && EndToEndTest.initialDone(a),
                60_000, "the uninstrumented timing");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"bench\",\"action\":\"snapshot\",\"location\":"
                + ProbeEndToEndTest.line("BenchApp.java", BenchApp.LINE) + ",\"condition\":{\"op\":\"<\",\"args\":["
                + "{\"op\":\"path\",\"path\":[\"i\"]},{\"op\":\"lit\",\"value\":0}]},\"expires_at\":" + ProbeEndToEndTest.FAR + "}");
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.hasStatus(a, "bench", "installed"), 20_000, "installed");
            Files.write(new File(child.stop.getPath() + ".go").toPath(), new byte[0]);
            ProbeEndToEndTest.waitFor(child, a, () -> out(child).contains("bench probed"), 120_000, "the instrumented timing");
            double plain = number(out(child), "bench plain ");
            double probed = number(out(child), "bench probed ");
            System.out.printf("BENCH probe with a false condition: %.1f ns/call instrumented, %.1f ns/call uninstrumented,"
                + " %.1f ns per hit (P7 target < 1000 ns)%n", probed, plain, probed - plain);
            Check.equal(0, child.finish(), "exit code");
            Check.isTrue(ProbeEndToEndTest.of(a, "snapshot", "bench").isEmpty(), "the false condition never fired");
        }
    }

    static String out(EndToEndTest.Child child) {
        try {
            return child.out();
        } catch (Exception e) {
            return "";
        }
    }

    static double number(String out, String prefix) {
        int at = out.indexOf(prefix);
        int end = out.indexOf('\n', at);
        return Double.parseDouble(out.substring(at + prefix.length(), end).trim());
    }
}
