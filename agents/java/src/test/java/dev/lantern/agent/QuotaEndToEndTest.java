package dev.lantern.agent;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The agent's quotas with a real JVM under the agent ({@link HotApp}, a method called about
 * 1,000 times a second): the log quota of 50 lines per second pauses a loud log action with
 * {@code paused_quota} and its reason, lets no more through than the quota, and resumes by
 * itself when the rate falls; an {@code ignore_quota} action is exempt; a condition that costs
 * more than 1 % of a CPU is switched off with {@code condition_error}, and one that does not
 * stays on.
 */
public class QuotaEndToEndTest {
    static EndToEndTest.Child start(FakeAppliance a, TestCertificate cert) throws Exception {
        return new EndToEndTest.Child(ProbeEndToEndTest.agentArgs(a, cert), false, true, "dev.lantern.agent.HotApp");
    }

    static String tickLine() {
        return ProbeEndToEndTest.line("HotApp.java", HotApp.TICK_LINE);
    }

    static String log(String id, boolean ignoreQuota) {
        return "{\"type\":\"action.set\",\"id\":\"" + id + "\",\"action\":\"log\",\"location\":" + tickLine()
            + ",\"template\":[\"tick \",{\"op\":\"path\",\"path\":[\"i\"]}],\"rate_per_sec\":5000"
            + (ignoreQuota ? ",\"ignore_quota\":true" : "") + ",\"expires_at\":" + ProbeEndToEndTest.FAR + "}";
    }

    static void touch(EndToEndTest.Child child, String suffix) throws Exception {
        Files.write(Path.of(child.stop.getPath() + suffix), new byte[0]);
    }

    static int lines(FakeAppliance a, String id) {
        return ProbeEndToEndTest.of(a, "log", id).size();
    }

    @Test
    public void theLogQuotaPausesResumesAndSparesIgnoreQuota() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            EndToEndTest.Child child = start(a, cert);
            EndToEndTest.waitFor(() -> EndToEndTest.initialDone(a), 40_000, "the initial state");

            a.sendToAgent(log("loud", false));
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.hasStatus(a, "loud", "paused_quota"), 20_000,
                "the log quota is spent");
            Object why = ProbeEndToEndTest.status(a, "loud", "paused_quota").get("message");
            Check.contains(String.valueOf(why), "log quota of 50 lines/s per agent spent", "the status says why");
            int before = lines(a, "loud");
            long t0 = System.nanoTime();
            Thread.sleep(3000);
            int during = lines(a, "loud") - before;
            double secs = (System.nanoTime() - t0) / 1e9;
            Check.isTrue(during > 0, "paused, not stopped: lines still come within the quota");
            Check.isTrue(during <= 50 * (secs + 1), during + " lines in " + secs + " s: within 50 per second");

            // An action that may ignore quotas is not held to them.
            a.sendToAgent(log("exempt", true));
            ProbeEndToEndTest.waitFor(child, a, () -> lines(a, "exempt") > 0, 20_000, "the exempt log runs");
            int exemptBefore = lines(a, "exempt");
            long t1 = System.nanoTime();
            Thread.sleep(2000);
            int exempt = lines(a, "exempt") - exemptBefore;
            double secs1 = (System.nanoTime() - t1) / 1e9;
            Check.isTrue(exempt > 2 * 50 * secs1, exempt + " lines in " + secs1 + " s: beyond the agent's quota");
            Check.isTrue(!ProbeEndToEndTest.hasStatus(a, "exempt", "paused_quota"), "never paused");

            // When the application calls less often, the loud log resumes by itself.
            a.sendToAgent("{\"type\":\"action.remove\",\"ids\":[\"exempt\"]}");
            touch(child, ".slow");
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.count(a, "loud", "installed") >= 2, 20_000,
                "the loud log is installed again");
            Files.write(child.stop.toPath(), new byte[0]);
            Check.equal(0, child.finish(), "exit code");
        }
    }

    @Test
    public void aConditionOverOnePercentOfACpuIsSwitchedOff() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            EndToEndTest.Child child = start(a, cert);
            EndToEndTest.waitFor(() -> EndToEndTest.initialDone(a), 40_000, "the initial state");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"cond\",\"action\":\"counter\",\"location\":" + tickLine()
                + ",\"condition\":{\"op\":\"==\",\"args\":[{\"op\":\"path\",\"path\":[\"label\"]},{\"op\":\"lit\",\"value\":\"order-3\"}]},"
                + "\"expires_at\":" + ProbeEndToEndTest.FAR + "}");
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.hasStatus(a, "cond", "installed"), 20_000,
                "the counter is installed");
            // At about 1,000 calls a second the condition costs far less than 1 %: a whole cost
            // period (10 s) and a metric interval pass without it being switched off.
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.metricCount(a, "cond") > 0,
                ProbeEngine.COST_EVERY_MS + 15_000, "the counter reports");
            Thread.sleep(ProbeEngine.COST_EVERY_MS - 5_000);
            Check.isTrue(!ProbeEndToEndTest.hasStatus(a, "cond", "condition_error"), "a cheap condition stays on");

            // The same method called in a hot loop: evaluating the condition now costs well over 1 %.
            touch(child, ".busy");
            ProbeEndToEndTest.waitFor(child, a, () -> ProbeEndToEndTest.hasStatus(a, "cond", "condition_error"),
                ProbeEngine.COST_EVERY_MS * 3, "the costly condition is switched off");
            Map<?, ?> s = ProbeEndToEndTest.status(a, "cond", "condition_error");
            Check.contains(String.valueOf(s.get("message")), "condition cost over 1% CPU", "the status says why");
            Files.write(child.stop.toPath(), new byte[0]);
            Check.equal(0, child.finish(), "exit code");
        }
    }
}
