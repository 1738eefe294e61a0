package dev.lantern.agent;

import java.lang.instrument.ClassFileTransformer;
import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;

/**
 * Owns the one piece of agent code that runs on application threads: a transformer that never
 * transforms (always returns null) and only records which class was defined from where.
 *
 * <p>Why it looks the way it does (AGENTS.md, pitfalls): anything here that loads a class can
 * re-enter the transformer and end in a ClassCircularityError, so there are no lambdas, no
 * String.format, no collections that are not already loaded; a thread-local flag stops
 * re-entry; {@link #warmUp} runs every path once before the transformer is registered. Loads on
 * the agent's own threads (the sender and the HTTP client's threads, which inherit the mark) are
 * left out, because the agent's TLS and websocket code loads thousands of JDK classes that the
 * application never asked for.
 */
final class ClassLoadObserver implements ClassFileTransformer {
    /** Set on threads the agent owns; inherited by the threads they start (the HTTP client's). */
    static final InheritableThreadLocal<Boolean> AGENT_THREAD = new InheritableThreadLocal<>();
    private static final ThreadLocal<Boolean> BUSY = new ThreadLocal<>();
    /** Agent threads that cannot carry the mark (the HTTP client's selector thread). */
    private static volatile Thread[] excludedThreads = new Thread[0];

    private final LoadRecorder recorder;
    private final ClassLoader platformLoader;

    ClassLoadObserver(LoadRecorder recorder) {
        this.recorder = recorder;
        this.platformLoader = ClassLoader.getPlatformClassLoader();
    }

    static void markAgentThread() {
        AGENT_THREAD.set(Boolean.TRUE);
    }

    static synchronized void excludeThread(Thread t) {
        Thread[] old = excludedThreads;
        Thread[] now = new Thread[old.length + 1];
        System.arraycopy(old, 0, now, 0, old.length);
        now[old.length] = t;
        excludedThreads = now;
    }

    private static boolean excluded(Thread t) {
        Thread[] threads = excludedThreads;
        for (int i = 0; i < threads.length; i++) {
            if (threads[i] == t) {
                return true;
            }
        }
        return false;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> classBeingRedefined,
                            ProtectionDomain protectionDomain, byte[] classfileBuffer) {
        if (classBeingRedefined != null || className == null) {
            // A retransformation is not a new load; an unnamed class has nothing to report.
            return null;
        }
        if (AGENT_THREAD.get() != null || BUSY.get() != null || excluded(Thread.currentThread())) {
            return null;
        }
        BUSY.set(Boolean.TRUE);
        try {
            observe(loader, className, protectionDomain);
        } catch (Throwable ignored) {
            // Never let anything escape into the application's class loading.
        } finally {
            BUSY.remove();
        }
        return null;
    }

    private void observe(ClassLoader loader, String className, ProtectionDomain pd) {
        if (loader == null || loader == platformLoader || pd == null) {
            recorder.recordRuntime();
            return;
        }
        CodeSource cs = pd.getCodeSource();
        URL location = cs == null ? null : cs.getLocation();
        if (location == null) {
            // Generated classes (proxies, reflection accessors) and classes defined without a
            // code source: part of the runtime's count, as the protocol asks.
            recorder.recordRuntime();
            return;
        }
        recorder.record(className, loader, location);
    }

    /**
     * Runs both recording paths once so that every class they need is loaded before the
     * transformer is registered, then throws the two fake records away.
     */
    void warmUp() {
        ProtectionDomain own = ClassLoadObserver.class.getProtectionDomain();
        ClassLoader ownLoader = ClassLoadObserver.class.getClassLoader();
        transform(null, "dev/lantern/agent/WarmUp", null, null, null);
        transform(ownLoader, "dev/lantern/agent/WarmUp", null, own, null);
        transform(ownLoader, "dev/lantern/agent/WarmUp", null, new ProtectionDomain(null, null), null);
        recorder.clear();
    }
}
