package dev.lantern.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.CodeSource;

/**
 * Owns starting the agent, from {@code -javaagent} ({@link #premain}) or a live attach
 * ({@link #agentmain}): reads the options, registers the class-load observer, hands the classes
 * already loaded to the sender thread and installs the shutdown hook. Whatever goes wrong here
 * is printed as one {@code [lantern]} line and the application starts as if the agent were not
 * there.
 */
public final class LanternAgent {
    private static boolean started;

    private LanternAgent() {}

    public static void premain(String args, Instrumentation inst) {
        start(args, inst);
    }

    public static void agentmain(String args, Instrumentation inst) {
        start(args, inst);
    }

    private static synchronized void start(String args, Instrumentation inst) {
        // Classes this thread loads for the agent are the agent's, not the application's; the
        // mark is inherited by the threads started here and removed before returning.
        ClassLoadObserver.markAgentThread();
        try {
            if (started) {
                Log.info("already running; ignoring a second start");
                return;
            }
            Options options = Options.parse(args, System.getenv());
            for (String warning : options.warnings) {
                Log.info(warning);
            }
            if (!options.ok()) {
                Log.info("agent disabled: " + options.error);
                return;
            }
            LoadRecorder recorder = new LoadRecorder(LoadRecorder.DEFAULT_CAPACITY);
            ClassLoadObserver observer = new ClassLoadObserver(recorder);
            observer.warmUp();
            inst.addTransformer(observer, false);
            // Registered first, scanned second: a class loaded in between is seen twice and
            // counted once (names are de-duplicated), never missed.
            Class<?>[] loaded = inst.getAllLoadedClasses();
            Sender sender = new Sender(options, version(), recorder, ownLocation(), loaded, inst, ownUrl());
            Thread thread = new Thread(sender, "lantern-agent");
            thread.setDaemon(true);
            Thread hook = new Thread(new ShutdownHook(sender), "lantern-agent-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            thread.start();
            started = true;
        } catch (Throwable t) {
            Log.info("agent disabled: could not start: " + Log.describe(t));
        } finally {
            ClassLoadObserver.AGENT_THREAD.remove();
        }
    }

    /** The agent's jar as a URL, whose classes are never probed. */
    private static URL ownUrl() {
        CodeSource cs = LanternAgent.class.getProtectionDomain().getCodeSource();
        return cs == null ? null : cs.getLocation();
    }

    /** The agent's jar, whose classes are never reported. */
    private static Location ownLocation() {
        CodeSource cs = LanternAgent.class.getProtectionDomain().getCodeSource();
        URL url = cs == null ? null : cs.getLocation();
        return url == null ? null : Location.ofUrl(url);
    }

    static String version() {
        try (InputStream in = LanternAgent.class.getResourceAsStream("version.txt")) {
            if (in != null) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
        } catch (IOException e) {
            // fall through
        }
        return "0.0.0-dev";
    }

    /** Closes the connection with 1001 within a second when the JVM exits. */
    private static final class ShutdownHook implements Runnable {
        private final Sender sender;

        ShutdownHook(Sender sender) {
            this.sender = sender;
        }

        @Override
        public void run() {
            ClassLoadObserver.markAgentThread();
            sender.shutdown(900);
        }
    }
}
