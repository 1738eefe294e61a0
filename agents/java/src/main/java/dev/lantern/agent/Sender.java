package dev.lantern.agent;

import java.lang.instrument.Instrumentation;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Owns the agent's one daemon thread: it drains what the transformer recorded, reads jars,
 * connects to the appliance (back-off and jitter between attempts), runs a {@link Session} per
 * connection, and keeps draining while it waits, so the recorder's queue never fills because
 * the network is slow. Also owns the shutdown hook's close (1001) of the current connection.
 */
final class Sender implements Runnable {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Start-up counts as over after a window this long in which fewer than {@link #QUIET_LOADS}
     * classes loaded and the process used at most {@link #QUIET_CPU_MS} of CPU...
     */
    static final long QUIET_MS = 2_000;
    static final int QUIET_LOADS = 50;
    static final long QUIET_CPU_MS = 400;
    /** ...or after this long in any case (a busy application never looks idle). */
    static final long SETTLE_MAX_MS = 30_000;

    private final Options options;
    private final String agentVersion;
    private final LoadRecorder recorder;
    private final ArtifactCatalog catalog;
    private final PresenceScanner presence;
    private final LoadIntake intake;
    private final PinningTrustManager trust;
    private final Backoff backoff = new Backoff(new Random());
    private final CountDownLatch stop = new CountDownLatch(1);
    private final long startNanos = System.nanoTime();
    private volatile Class<?>[] initialClasses;
    private volatile ApplianceSocket current;
    private Identity identity;
    private final Instrumentation inst;
    private final URL ownJar;
    private final ProbeOutbox outbox = new ProbeOutbox();
    private volatile ProbeEngine probes;

    Sender(Options options, String agentVersion, LoadRecorder recorder, Location ownLocation, Class<?>[] initialClasses,
           Instrumentation inst, URL ownJar) {
        this.options = options;
        this.agentVersion = agentVersion;
        this.recorder = recorder;
        this.catalog = new ArtifactCatalog(RuntimeArtifact.current());
        if (ownLocation != null) {
            catalog.exclude(ownLocation);
        }
        this.presence = new PresenceScanner(catalog);
        this.intake = new LoadIntake(recorder, catalog, presence);
        this.trust = new PinningTrustManager(options.pins);
        this.initialClasses = initialClasses;
        this.inst = inst;
        this.ownJar = ownJar;
    }

    @Override
    public void run() {
        ClassLoadObserver.markAgentThread();
        try {
            identity = Identity.current(options, agentVersion);
            Class<?>[] classes = initialClasses;
            initialClasses = null;
            if (classes != null) {
                intake.initialScan(classes);
            }
            presence.classPath(System.getProperty("java.class.path"));
            intake.drain();
            settle();
            // After start-up has calmed down, like the connection: loading ASM and warming the
            // capture path costs CPU the application's own start should not compete with.
            probes = ProbeEngine.start(inst, outbox, ownJar);
            HttpClient client = ApplianceSocket.client(trust, CONNECT_TIMEOUT);
            while (!stopping()) {
                long wait = connectOnce(client);
                idle(wait);
            }
        } catch (InterruptedException e) {
            // The JVM is going down.
        } catch (Throwable t) {
            // A bug of ours must not take the application with it: stop reporting, say why.
            Log.info("agent stopped after an internal error: " + Log.describe(t));
            recorder.close();
        }
    }

    /**
     * Waits until the application's start-up has calmed down before the first connection.
     * Setting up the HTTP client and TLS costs about a CPU-second of class loading and JIT work;
     * done at once it competes with the application's own start on a small machine. Nothing is
     * lost by waiting: loads are collected meanwhile and sent as the initial state.
     */
    private void settle() throws InterruptedException {
        long start = System.currentTimeMillis();
        long windowStart = start;
        long windowLoads = 0;
        long windowCpu = processCpuMillis();
        while (!stopping()) {
            long now = System.currentTimeMillis();
            if (now - start >= SETTLE_MAX_MS) {
                return;
            }
            if (now - windowStart >= QUIET_MS) {
                // Few class loads alone is not enough: an application may spend seconds of its
                // start in work that loads no class (scanning jars, opening pools).
                long cpu = processCpuMillis();
                boolean idle = cpu < 0 || windowCpu < 0 || cpu - windowCpu <= QUIET_CPU_MS;
                if (windowLoads < QUIET_LOADS && idle) {
                    return;
                }
                windowStart = now;
                windowLoads = 0;
                windowCpu = cpu;
            }
            stop.await(100, TimeUnit.MILLISECONDS);
            windowLoads += intake.drain();
        }
    }

    /** CPU time of the whole process so far, or -1 where the platform does not say. */
    private static long processCpuMillis() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toMillis()).orElse(-1L);
    }

    /** One connection from attempt to end; returns how long to wait before the next attempt. */
    private long connectOnce(HttpClient client) throws InterruptedException {
        ApplianceSocket socket = new ApplianceSocket();
        WebSocket ws;
        try {
            ws = await(socket.open(client, options.server, options.key, CONNECT_TIMEOUT), 30_000);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return failed(Failure.of(e, trust, serverText()));
        }
        if (ws == null) {
            return 0;
        }
        long connectedAt = System.currentTimeMillis();
        current = socket;
        Failure end;
        try {
            end = new Session(this, socket, catalog).run(identity);
        } finally {
            current = null;
        }
        backoff.connectionLasted(System.currentTimeMillis() - connectedAt);
        if (end == null || stopping()) {
            // At exit the appliance's answer to our own close is no news.
            return 0;
        }
        return failed(end);
    }

    private long failed(Failure f) {
        long wait = f.refusal ? backoff.longest() : backoff.next();
        // No wait time in the line: the same failure must print the same line, and so only once.
        Log.repeated(f.message + (stopping() ? "" : f.refusal ? "; retrying every 30-60 s" : "; retrying with back-off"));
        return wait;
    }

    /** Waits {@code millis} (or until stopped) while the recorder keeps being drained. */
    private void idle(long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (!stopping()) {
            intake();
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return;
            }
            stop.await(Math.min(left, 250), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Waits for {@code f} in short slices, draining the recorder between them; returns null when
     * the agent is stopping, throws the future's failure or a timeout.
     */
    <T> T await(CompletableFuture<T> f, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            try {
                return f.get(Session.TICK_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                intake();
                if (stopping()) {
                    f.cancel(true);
                    return null;
                }
                if (System.currentTimeMillis() > deadline) {
                    f.cancel(true);
                    throw new TimeoutException("no answer within " + timeoutMs / 1000 + " s");
                }
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                throw cause instanceof Exception ? (Exception) cause : e;
            }
        }
    }

    void intake() {
        intake.drain();
        ProbeEngine p = probes;
        if (p != null) {
            p.tick();
        }
    }

    /** The probe engine; null until start-up has settled (no connection exists before). */
    ProbeEngine probes() {
        return probes;
    }

    ProbeOutbox outbox() {
        return outbox;
    }

    /** Reads every artifact not read yet, and what it implies (nested jars), until nothing new appears. */
    void resolve() {
        for (int round = 0; round < 4; round++) {
            List<ArtifactCatalog.Tracked> fresh = catalog.resolvePending();
            if (fresh.isEmpty()) {
                return;
            }
            presence.nested(fresh);
        }
    }

    String statsJson() {
        long uptime = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        return "{\"type\":\"agent_stats\",\"classes_seen\":" + recorder.seen() + ",\"messages_dropped\":"
            + (recorder.dropped() + outbox.dropped()) + ",\"uptime_ms\":" + uptime + "}";
    }

    boolean stopping() {
        return stop.getCount() == 0;
    }

    PinningTrustManager trust() {
        return trust;
    }

    String serverText() {
        return options.server.getHost() + (options.server.getPort() > 0 ? ":" + options.server.getPort() : "");
    }

    Identity identity() {
        return identity;
    }

    ArtifactCatalog catalog() {
        return catalog;
    }

    /** Called by the shutdown hook: close the connection with 1001, waiting at most {@code maxMillis}. */
    void shutdown(long maxMillis) {
        // Read the connection before signalling stop: the sender thread clears it as soon as
        // it sees the signal, and the goodbye would then never be said.
        ApplianceSocket s = current;
        stop.countDown();
        WebSocket ws = s == null ? null : s.socket();
        if (ws == null) {
            return;
        }
        try {
            ws.sendClose(1001, "application shutting down").get(maxMillis, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // Out of time or already closed: the appliance will notice the dropped connection.
        } finally {
            ws.abort();
        }
    }
}
