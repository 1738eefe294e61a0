package dev.lantern.agent;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The built agent jar in a real JVM against {@link FakeAppliance}: hello and the class-load
 * stream, close 1001 at exit, and the failures an operator meets (wrong pin: the key is never
 * sent; wrong key: 401 logged; no pin: agent disabled). The application always runs to its end.
 */
public class EndToEndTest {
    static final String COMMONS_IO = "/usr/share/java/commons-io.jar";

    /** A child JVM running {@link E2eApp} with the agent. */
    static final class Child {
        final Process process;
        final File stop;
        final File stderr;
        final File stdout;

        Child(String agentArgs, boolean withJar) throws Exception {
            this(agentArgs, withJar, true);
        }

        Child(String agentArgs, boolean withJar, boolean javaagent) throws Exception {
            this(agentArgs, withJar, javaagent, "dev.lantern.agent.E2eApp");
        }

        Child(String agentArgs, boolean withJar, boolean javaagent, String mainClass) throws Exception {
            String jar = System.getProperty("lantern.test.agentJar");
            String classes = System.getProperty("lantern.test.classes");
            if (jar == null || classes == null) {
                Check.skip("run through test.sh (needs the built jar)");
            }
            File dir = Files.createTempDirectory("lantern-e2e").toFile();
            stop = new File(dir, "stop");
            stderr = new File(dir, "stderr");
            stdout = new File(dir, "stdout");
            String cp = classes;
            List<String> cmd = new ArrayList<>();
            cmd.add(new File(System.getProperty("java.home"), "bin/java").getPath());
            if (javaagent) {
                cmd.add("-javaagent:" + jar + (agentArgs == null ? "" : "=" + agentArgs));
            }
            boolean io = withJar && new File(COMMONS_IO).isFile();
            if (io) {
                cp = cp + File.pathSeparator + COMMONS_IO;
            }
            cmd.add("-cp");
            cmd.add(cp);
            cmd.add(mainClass);
            cmd.add(stop.getPath());
            if (io) {
                cmd.add("org.apache.commons.io.IOUtils");
            }
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().keySet().removeIf(k -> k.startsWith("LANTERN_"));
            pb.redirectError(stderr);
            pb.redirectOutput(stdout);
            process = pb.start();
        }

        String err() throws Exception {
            return new String(Files.readAllBytes(stderr.toPath()), StandardCharsets.UTF_8);
        }

        String out() throws Exception {
            return new String(Files.readAllBytes(stdout.toPath()), StandardCharsets.UTF_8);
        }

        /** Lets the application finish; returns its exit code. */
        int finish() throws Exception {
            Files.write(stop.toPath(), new byte[0]);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("the application did not end");
            }
            return process.exitValue();
        }
    }

    static void waitFor(BooleanSupplier condition, long millis, String what) throws Exception {
        long deadline = System.currentTimeMillis() + millis;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static boolean initialDone(FakeAppliance a) {
        for (Map<?, ?> m : a.ofType("class_loads")) {
            if (Boolean.TRUE.equals(m.get("initial_done"))) {
                return true;
            }
        }
        return false;
    }

    @Test
    public void reportsHelloAndClassLoadsAndClosesWith1001() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance appliance = new FakeAppliance(cert, "pool-key-123")) {
            Child child = new Child("server=" + appliance.url() + ",key=pool-key-123,pin=" + cert.pin()
                + ",tags=e2e;test,name=e2e-app", true);
            waitFor(() -> initialDone(appliance), 40_000, "the initial state");
            waitFor(() -> appliance.ofType("error").size() > 0, 10_000, "the unknown_type answer");
            // A live batch must carry what loads after the initial state, within about a second.
            Thread.sleep(1500);
            Check.equal(0, child.finish(), "exit code");
            waitFor(() -> !appliance.closeCodes.isEmpty(), 5_000, "the close frame");
            Check.equal(List.of(1001), appliance.closeCodes, "close code at shutdown");
            Check.equal(List.of(), appliance.protocolErrors, "frames as RFC 6455 wants");

            Check.contains(appliance.requests.get(0), "GET /agent/v1 ", "path");
            List<Map<?, ?>> hellos = appliance.ofType("hello");
            Check.equal(1, hellos.size(), "one hello");
            Map<?, ?> hello = hellos.get(0);
            Check.equal("e2e-app", hello.get("display_name"), "display name");
            Check.equal(List.of("e2e", "test"), hello.get("tags"), "tags");
            Check.equal(child.process.pid(), hello.get("pid"), "pid");
            Check.equal("java", ((Map<?, ?>) hello.get("runtime")).get("name"), "runtime");

            List<String> frames = new ArrayList<>();
            for (String m : appliance.messages) {
                if (m.startsWith("{\"type\":\"class_loads\"")) {
                    frames.add(m);
                }
            }
            long initialFrames = 0;
            for (String f : frames) {
                initialFrames += f.contains("\"initial\":true") ? 1 : 0;
            }
            FramesTest.validate(frames.subList(0, (int) initialFrames), 1, true, Limits.V1);
            String all = String.join("\n", frames);
            Check.contains(all, "\"dev.lantern.agent.E2eApp\"", "the main class");
            Check.contains(all, "\"dev.lantern.agent.E2eApp$Payload\"", "a class loaded later");
            Check.contains(all, "\"location\":\"jrt:/\",\"kind\":\"runtime\"", "the runtime artifact");
            Check.isTrue(!all.contains("dev.lantern.agent.Sender"), "the agent's own classes stay out");
            Check.isTrue(!all.contains("lantern-agent.jar"), "the agent's jar is not an artifact");
            Check.isTrue(!all.contains("jdk.internal.net.http"), "JDK classes are counted, not listed");
            if (new File(COMMONS_IO).isFile()) {
                Check.contains(all, "\"location\":\"" + COMMONS_IO + "\",\"kind\":\"jar\"", "the jar on the class path");
                Check.contains(all, "\"org.apache.commons.io.IOUtils\"", "its class");
                Check.contains(all, "{\"source\":\"pom_properties\",\"group\":\"commons-io\",\"name\":\"commons-io\","
                    + "\"version\":\"2.11.0\"}", "its coordinates");
            }
            String err = appliance.ofType("error").get(0).toString();
            Check.contains(err, "unknown_type", "unknown message types are answered");
            Check.contains(child.err(), "[lantern] connected to 127.0.0.1:", "log line");
            Check.contains(child.out(), "app done", "the application ran to its end");
        }
    }

    @Test
    public void attachesToARunningJvm() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance appliance = new FakeAppliance(cert, "pool-key-123")) {
            Child child = new Child(null, true, false);
            waitFor(() -> {
                try {
                    return child.out().contains("payload");
                } catch (Exception e) {
                    return false;
                }
            }, 20_000, "the application to run");
            com.sun.tools.attach.VirtualMachine vm =
                com.sun.tools.attach.VirtualMachine.attach(String.valueOf(child.process.pid()));
            try {
                vm.loadAgent(System.getProperty("lantern.test.agentJar"),
                    "server=" + appliance.url() + ",key=pool-key-123,pin=" + cert.pin() + ",name=attached");
            } finally {
                vm.detach();
            }
            waitFor(() -> initialDone(appliance), 40_000, "the initial state after attaching");
            Check.equal(0, child.finish(), "exit code");
            String all = String.join("\n", appliance.messages);
            Check.contains(all, "\"display_name\":\"attached\"", "hello from the attached agent");
            Check.contains(all, "\"dev.lantern.agent.E2eApp$Payload\"", "a class loaded before the attach");
            Check.contains(child.out(), "app done", "the application ran to its end");
        }
    }

    @Test
    public void aWrongPinNeverSendsTheKey() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance appliance = new FakeAppliance(cert, "pool-key-123")) {
            Child child = new Child("server=" + appliance.url() + ",key=pool-key-123,pin=" + OptionsTest.PIN_B, false);
            waitFor(() -> {
                try {
                    return child.err().contains("pin mismatch");
                } catch (Exception e) {
                    return false;
                }
            }, 40_000, "the pin mismatch line");
            Check.equal(0, child.finish(), "exit code");
            Check.contains(child.err(), "[lantern] server certificate pin mismatch: got " + cert.pin()
                + ", expected " + OptionsTest.PIN_B, "log line names both pins");
            Check.equal(0, appliance.requests.size(), "no HTTP request, so no key, reached the server");
            Check.contains(child.out(), "app done", "the application ran to its end");
        }
    }

    @Test
    public void aWrongKeyIsLoggedAs401() throws Exception {
        TestCertificate cert = TestCertificate.create("EC");
        try (FakeAppliance appliance = new FakeAppliance(cert, "pool-key-123")) {
            Child child = new Child("server=" + appliance.url() + ",key=wrong,pin=" + cert.pin(), false);
            waitFor(() -> {
                try {
                    return child.err().contains("refused the key");
                } catch (Exception e) {
                    return false;
                }
            }, 40_000, "the 401 line");
            Check.equal(0, child.finish(), "exit code");
            Check.contains(child.err(), "[lantern] the appliance refused the key (401): unauthorized", "log line");
            Check.contains(child.err(), "no pool has this key", "the appliance's message");
            Check.contains(child.out(), "app done", "the application ran to its end");
        }
    }

    @Test
    public void missingPinDisablesTheAgentNotTheApplication() throws Exception {
        Child child = new Child("server=wss://127.0.0.1:9/agent/v1,key=k", false);
        Check.equal(0, child.finish(), "exit code");
        Check.contains(child.err(), "[lantern] agent disabled: no certificate pin given", "log line");
        Check.contains(child.out(), "app done", "the application ran");
    }
}
