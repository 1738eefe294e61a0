package dev.lantern.agent;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Probes in a real JVM: the built agent jar, {@link ProbeApp} and {@link FakeAppliance}. A
 * snapshot at a line (installed status, frames, locals, this, redaction, no user code run), a
 * log line to stdout and the appliance with a hit cap (completed), a counter's metrics,
 * {@code action.remove} (no more hits), a line without code (error), and {@code action.sync}
 * after a reconnect without duplicate probes.
 */
public class ProbeEndToEndTest {
    static final long FAR = 4_102_444_800_000L;

    static String agentArgs(FakeAppliance a, TestCertificate cert) {
        return "server=" + a.url() + ",key=pool-key-123,pin=" + cert.pin() + ",name=probe-app";
    }

    static EndToEndTest.Child start(FakeAppliance a, TestCertificate cert) throws Exception {
        return new EndToEndTest.Child(agentArgs(a, cert), false, true, "dev.lantern.agent.ProbeApp");
    }

    static List<Map<?, ?>> of(FakeAppliance a, String type, String id) {
        List<Map<?, ?>> out = new ArrayList<>();
        for (Map<?, ?> m : a.ofType(type)) {
            if (id.equals(m.get("id"))) {
                out.add(m);
            }
        }
        return out;
    }

    static boolean hasStatus(FakeAppliance a, String id, String status) {
        for (Map<?, ?> m : of(a, "action.status", id)) {
            if (status.equals(m.get("status"))) {
                return true;
            }
        }
        return false;
    }

    static int count(FakeAppliance a, String id, String status) {
        int n = 0;
        for (Map<?, ?> m : of(a, "action.status", id)) {
            n += status.equals(m.get("status")) ? 1 : 0;
        }
        return n;
    }

    static Map<?, ?> status(FakeAppliance a, String id, String status) {
        for (Map<?, ?> m : of(a, "action.status", id)) {
            if (status.equals(m.get("status"))) {
                return m;
            }
        }
        return null;
    }

    /** Waits like {@link EndToEndTest#waitFor}, and on a timeout shows what the agent said. */
    static void waitFor(EndToEndTest.Child child, FakeAppliance a, java.util.function.BooleanSupplier c, long ms, String what)
        throws Exception {
        try {
            EndToEndTest.waitFor(c, ms, what);
        } catch (AssertionError e) {
            StringBuilder b = new StringBuilder(e.getMessage()).append("\n  agent stderr: ").append(child.err());
            synchronized (a.messages) {
                for (String m : a.messages) {
                    if (!m.startsWith("{\"type\":\"class_loads")) {
                        b.append("\n  received: ").append(m.length() > 400 ? m.substring(0, 400) + "..." : m);
                    }
                }
            }
            throw new AssertionError(b.toString());
        }
    }

    static String line(String file, int line) {
        return "{\"file\":\"" + file + "\",\"line\":" + line + "}";
    }

    static Map<?, ?> named(Object list, String name) {
        for (Object o : (List<?>) list) {
            if (name.equals(((Map<?, ?>) o).get("name"))) {
                return (Map<?, ?>) o;
            }
        }
        throw new AssertionError("no " + name + " in " + list);
    }

    @Test
    public void snapshotLogCounterRemoveAndErrors() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            EndToEndTest.Child child = start(a, cert);
            EndToEndTest.waitFor(() -> EndToEndTest.initialDone(a), 40_000, "the initial state");

            // A snapshot with a condition and a watch, on a line found by the file's name only.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"snap\",\"action\":\"snapshot\",\"location\":"
                + line("ProbeApp.java", ProbeApp.SNAPSHOT_LINE) + ",\"condition\":{\"op\":\">=\",\"args\":["
                + "{\"op\":\"path\",\"path\":[\"qty\"]},{\"op\":\"lit\",\"value\":2}]},"
                + "\"watches\":[{\"text\":\"order.customer.name\",\"expr\":{\"op\":\"path\",\"path\":[\"order\",\"customer\",\"name\"]}}],"
                + "\"max_hits\":2,\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "snap", "installed"), 20_000, "snap installed");
            Map<?, ?> installed = status(a, "snap", "installed");
            Check.equal(Map.of("class", "dev.lantern.agent.ProbeApp", "method", "handle", "line", (long) ProbeApp.SNAPSHOT_LINE),
                installed.get("resolved"), "resolved location");
            waitFor(child, a, () -> of(a, "snapshot", "snap").size() >= 2, 20_000, "two snapshots");
            waitFor(child, a, () -> hasStatus(a, "snap", "completed"), 10_000, "hit cap → completed");
            Map<?, ?> snap = of(a, "snapshot", "snap").get(0);
            List<?> frames = (List<?>) snap.get("frames");
            Map<?, ?> top = (Map<?, ?>) frames.get(0);
            Check.equal("dev.lantern.agent.ProbeApp", top.get("class"), "top frame class");
            Check.equal("handle", top.get("method"), "top frame method");
            Check.equal("ProbeApp.java", top.get("file"), "top frame file");
            Check.equal((long) ProbeApp.SNAPSHOT_LINE, top.get("line"), "top frame line");
            Check.equal("main", ((Map<?, ?>) frames.get(1)).get("method"), "caller frame");
            Object locals = snap.get("locals");
            Map<?, ?> qty = named(locals, "qty");
            Check.equal("int", qty.get("type"), "qty's type");
            Check.isTrue((Long) qty.get("value") >= 2, "the condition held: " + qty);
            Check.equal("long", named(locals, "total").get("type"), "total's type");
            Check.equal(4, ((List<?>) locals).size(), "locals in scope at the line (order, qty, seq, total; not note): " + locals);
            Map<?, ?> order = named(locals, "order");
            Check.equal("dev.lantern.agent.ProbeApp$Order", order.get("type"), "order's type");
            Map<?, ?> customer = named(order.get("fields"), "customer");
            Check.equal("redacted", named(customer.get("fields"), "password").get("cut"), "password redacted");
            Check.equal("alice", named(customer.get("fields"), "name").get("value"), "field read directly");
            Map<?, ?> lines = named(order.get("fields"), "lines");
            Check.equal("java.util.ArrayList", lines.get("type"), "runtime type of a list");
            Check.equal("java.util.List", lines.get("declared"), "declared type of a list");
            Map<?, ?> watch = (Map<?, ?>) ((List<?>) snap.get("watches")).get(0);
            Check.equal("alice", watch.get("value"), "the watch");
            Check.isTrue(!snap.containsKey("this"), "a static method has no this");

            // A log line to stdout and the appliance, three times, then completed.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"log3\",\"action\":\"log\",\"location\":"
                + line("dev/lantern/agent/ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"template\":[\"order \","
                + "{\"op\":\"path\",\"path\":[\"order\",\"id\"]},\" qty=\",{\"op\":\"path\",\"path\":[\"qty\"]},\" c=\","
                + "{\"op\":\"path\",\"path\":[\"order\",\"customer\"]}],"
                + "\"level\":\"warn\",\"outputs\":[\"appliance\",\"stdout\"],\"max_hits\":3,\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "log3", "completed"), 20_000, "log3 completed");
            Thread.sleep(300);
            Check.equal(3, of(a, "log", "log3").size(), "three log messages");
            String text = (String) of(a, "log", "log3").get(0).get("text");
            Check.isTrue(text.matches("order 4[012] qty=[1-5] c=Customer\\{name=alice, password=\\[redacted\\], next=Customer\\{…\\}\\}"), text);
            Check.equal("warn", of(a, "log", "log3").get(0).get("level"), "level");
            String out = child.out();
            int printed = out.split("WARN \\[lantern log3\\] order ", -1).length - 1;
            Check.equal(3, printed, "three lines on stdout: " + out);

            // A counter, then removed: its metrics stop.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"cnt\",\"action\":\"counter\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"expires_at\":" + FAR + "}");
            // Method duration, tic-toc between two lines, and a custom metric: aggregated, sent every 10 s.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"dur\",\"action\":\"duration\",\"location\":"
                + "{\"class\":\"dev.lantern.agent.ProbeApp\",\"method\":\"handle\"},\"expires_at\":" + FAR + "}");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"tt\",\"action\":\"tictoc\",\"location\":"
                + line("ProbeApp.java", ProbeApp.SNAPSHOT_LINE) + ",\"end\":" + line("ProbeApp.java", ProbeApp.COUNT_LINE)
                + ",\"expires_at\":" + FAR + "}");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"qty\",\"action\":\"metric\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"value\":{\"op\":\"path\",\"path\":[\"qty\"]},\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "cnt", "installed") && hasStatus(a, "dur", "installed")
                && hasStatus(a, "tt", "installed") && hasStatus(a, "qty", "installed"), 20_000, "aggregates installed");
            Check.equal(Map.of("class", "dev.lantern.agent.ProbeApp", "method", "handle"),
                status(a, "dur", "installed").get("resolved"), "a method location resolves without a line");
            waitFor(child, a, () -> metricCount(a, "cnt") > 0 && metricCount(a, "dur") > 0 && metricCount(a, "tt") > 0
                && metricCount(a, "qty") > 0, 25_000, "the metrics");
            Map<?, ?> qtyMetric = metric(a, "qty");
            Check.isTrue((Long) qtyMetric.get("min") >= 1 && (Long) qtyMetric.get("max") <= 5, "qty within 1..5: " + qtyMetric);
            Map<?, ?> dur = metric(a, "dur");
            Check.isTrue((Long) dur.get("min") > 0 && (Long) dur.get("max") >= (Long) dur.get("min"), "durations in ns: " + dur);
            Check.isTrue(!metric(a, "cnt").containsKey("sum"), "a counter has a count only");
            a.sendToAgent("{\"type\":\"action.remove\",\"ids\":[\"dur\",\"tt\",\"qty\"]}");

            // A log without cap, removed: no more lines.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"live\",\"action\":\"log\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"template\":[\"tick\"],\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> of(a, "log", "live").size() >= 3, 20_000, "live lines");
            a.sendToAgent("{\"type\":\"action.remove\",\"ids\":[\"live\",\"cnt\"]}");
            Thread.sleep(600);
            int after = of(a, "log", "live").size();
            Thread.sleep(1500);
            Check.equal(after, of(a, "log", "live").size(), "no hits after action.remove");

            // A line without code, and an expression error.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"nocode\",\"action\":\"snapshot\",\"location\":"
                + line("ProbeApp.java", 3) + ",\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "nocode", "error"), 20_000, "nocode error");
            Check.equal("no code at line 3 in ProbeApp.java", status(a, "nocode", "error").get("message"), "error message");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"bad\",\"action\":\"counter\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"condition\":{\"op\":\"<\",\"args\":["
                + "{\"op\":\"path\",\"path\":[\"note\"]},{\"op\":\"lit\",\"value\":3}]},\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "bad", "condition_error"), 20_000, "bad condition_error");
            Check.contains((String) status(a, "bad", "condition_error").get("message"), "cannot order java.lang.String", "why");

            // Pending until the class loads, then installed and hit.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"late\",\"action\":\"snapshot\",\"location\":"
                + line("ProbeLate.java", ProbeLate.LINE) + ",\"max_hits\":1,\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "late", "pending"), 20_000, "late pending");
            java.nio.file.Files.write(new java.io.File(child.stop.getPath() + ".late").toPath(), new byte[0]);
            waitFor(child, a, () -> of(a, "snapshot", "late").size() == 1, 20_000, "a snapshot of the late class");
            Check.equal("n", named(of(a, "snapshot", "late").get(0).get("locals"), "n").get("name"), "its parameter");
            Check.isTrue(hasStatus(a, "late", "installed"), "installed when it loaded");
            Map<?, ?> self = (Map<?, ?>) of(a, "snapshot", "late").get(0).get("this");
            Check.equal("dev.lantern.agent.ProbeLate", self.get("type"), "this");
            Check.equal(5L, named(self.get("fields"), "base").get("value"), "a field of this");

            // One snapshot per second: the rest are dropped and the status says so.
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"rate\",\"action\":\"snapshot\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"expires_at\":" + (System.currentTimeMillis() + 3_000) + "}");
            waitFor(child, a, () -> hasStatus(a, "rate", "rate_limited"), 20_000, "rate_limited");
            waitFor(child, a, () -> hasStatus(a, "rate", "expired"), 20_000, "expired");
            int rated = of(a, "snapshot", "rate").size();
            Check.isTrue(rated >= 1 && rated <= 5, "about one snapshot per second over 3 s: " + rated);
            Thread.sleep(500);
            Check.equal(rated, of(a, "snapshot", "rate").size(), "none after expiry");

            Check.equal(0, child.finish(), "exit code");
            Check.contains(child.out(), "app done", "the application ran to its end");
            Check.isTrue(!child.err().contains("called"), "no getter or toString ran: " + child.err());
            Check.equal(List.of(), a.protocolErrors, "frames as RFC 6455 wants");
        }
    }

    static Map<?, ?> metric(FakeAppliance a, String id) {
        for (Map<?, ?> m : a.ofType("metric")) {
            for (Object o : (List<?>) m.get("actions")) {
                if (id.equals(((Map<?, ?>) o).get("id"))) {
                    return (Map<?, ?>) o;
                }
            }
        }
        return null;
    }

    static long metricCount(FakeAppliance a, String id) {
        long n = 0;
        for (Map<?, ?> m : a.ofType("metric")) {
            for (Object o : (List<?>) m.get("actions")) {
                if (id.equals(((Map<?, ?>) o).get("id"))) {
                    n += (Long) ((Map<?, ?>) o).get("count");
                }
            }
        }
        return n;
    }

    @Test
    public void syncAfterReconnectDoesNotDuplicate() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            a.afterHello.add("{\"type\":\"action.sync\",\"actions\":[{\"id\":\"seq\",\"action\":\"log\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"template\":[\"seq=\",{\"op\":\"path\",\"path\":[\"seq\"]}],"
                + "\"expires_at\":" + FAR + "},{\"id\":\"once\",\"action\":\"snapshot\",\"location\":"
                + line("ProbeApp.java", ProbeApp.COUNT_LINE) + ",\"max_hits\":1,\"expires_at\":" + FAR + "}]}");
            EndToEndTest.Child child = start(a, cert);
            waitFor(child, a, () -> hasStatus(a, "seq", "installed"), 40_000, "seq installed");
            waitFor(child, a, () -> of(a, "log", "seq").size() >= 5, 20_000, "lines");
            int hellos = a.ofType("hello").size();
            a.dropConnection();
            waitFor(child, a, () -> a.ofType("hello").size() > hellos, 30_000, "a reconnect");
            // Lines made while disconnected arrive first; the sync's status shows the new session.
            waitFor(child, a, () -> count(a, "seq", "installed") == 2, 20_000, "the status after the second sync");
            int before = of(a, "log", "seq").size();
            waitFor(child, a, () -> of(a, "log", "seq").size() >= before + 10, 20_000, "lines after the reconnect");
            Check.equal(0, child.finish(), "exit code");
            Set<String> seen = new HashSet<>();
            for (Map<?, ?> m : of(a, "log", "seq")) {
                Check.isTrue(seen.add((String) m.get("text")), "no line twice: " + m.get("text"));
            }
            long installed = 0;
            for (Map<?, ?> m : of(a, "action.status", "seq")) {
                installed += "installed".equals(m.get("status")) ? 1 : 0;
                Check.isTrue(!"pending".equals(m.get("status")) || installed == 0, "never pending again: " + m);
            }
            Check.equal(2L, installed, "installed reported once per connection");
            Check.equal(1, of(a, "snapshot", "once").size(), "a completed action is not run again by the next sync");
            Check.equal(2, count(a, "once", "completed"), "its final status again after the second sync");
        }
    }

    /**
     * The blocklist live: a probe found by its file's name is removed when its class becomes
     * blocked, a new one on that line is refused when the class is woven, one named by its class
     * is refused at once, and after the rule goes the same action installs again.
     */
    @Test
    public void theBlocklistRefusesAndRemovesProbesLive() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance a = new FakeAppliance(cert, "pool-key-123")) {
            EndToEndTest.Child child = start(a, cert);
            EndToEndTest.waitFor(() -> EndToEndTest.initialDone(a), 40_000, "the initial state");
            String counter = "{\"type\":\"action.set\",\"id\":\"cnt\",\"action\":\"counter\",\"location\":"
                + line("ProbeApp.java", ProbeApp.SNAPSHOT_LINE) + ",\"expires_at\":" + FAR + "}";
            a.sendToAgent(counter);
            waitFor(child, a, () -> hasStatus(a, "cnt", "installed"), 20_000, "cnt installed");

            a.sendToAgent("{\"type\":\"config.update\",\"blocklist\":{\"rules\":[\"dev.lantern.agent.ProbeApp\"],\"exceptions\":[]}}");
            String message = "blocked by the blocklist: dev.lantern.agent.ProbeApp";
            waitFor(child, a, () -> hasStatus(a, "cnt", "error"), 20_000, "cnt removed");
            Check.equal(message, status(a, "cnt", "error").get("message"), "the rule is named");

            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"cnt2\",\"action\":\"counter\",\"location\":"
                + line("ProbeApp.java", ProbeApp.SNAPSHOT_LINE) + ",\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "cnt2", "error"), 20_000, "cnt2 refused when woven");
            Check.equal(message, status(a, "cnt2", "error").get("message"), "refused in the class");
            a.sendToAgent("{\"type\":\"action.set\",\"id\":\"ent\",\"action\":\"counter\",\"location\":"
                + "{\"class\":\"dev.lantern.agent.ProbeApp\",\"method\":\"handle\"},\"expires_at\":" + FAR + "}");
            waitFor(child, a, () -> hasStatus(a, "ent", "error"), 20_000, "ent refused");
            Check.equal(message, status(a, "ent", "error").get("message"), "refused by its class");
            Check.equal(false, hasStatus(a, "ent", "installed"), "never installed");

            a.sendToAgent("{\"type\":\"config.update\",\"blocklist\":{\"rules\":[]}}");
            a.sendToAgent(counter);
            waitFor(child, a, () -> count(a, "cnt", "installed") >= 2, 20_000, "cnt installed again");
            Check.equal(0, child.finish(), "exit code");
        }
    }
}
