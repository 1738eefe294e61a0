package dev.lantern.agent;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Owns the threads the HTTP client runs on, so that the classes they load stay out of the
 * stream. The JDK's own client threads do not inherit thread-locals (they are created with
 * {@code inheritThreadLocals=false}), so the client gets this executor, whose threads mark
 * themselves; threads they start (CompletableFuture's thread-per-task fallback on small machines)
 * inherit the mark. The client's selector thread, which cannot be supplied, is found by name
 * and excluded by identity.
 */
final class AgentThreads implements ThreadFactory {
    private final AtomicInteger count = new AtomicInteger();

    static ExecutorService executor() {
        // Like the JDK client's default (a cached pool) but with our factory; idle threads end.
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
            new AgentThreads());
    }

    @Override
    public Thread newThread(Runnable r) {
        Thread t = new Thread(null, new Marked(r), "lantern-agent-http-" + count.incrementAndGet(), 0, false);
        t.setDaemon(true);
        return t;
    }

    /** Finds the HTTP client's selector thread(s) started after {@code before} and excludes them. */
    static void excludeNewSelectorThreads(Thread[] before) {
        for (Thread t : live()) {
            boolean old = false;
            for (Thread b : before) {
                old |= b == t;
            }
            if (!old && t.getName().startsWith("HttpClient-") && t.getName().endsWith("-SelectorManager")) {
                ClassLoadObserver.excludeThread(t);
            }
        }
    }

    static Thread[] live() {
        ThreadGroup g = Thread.currentThread().getThreadGroup();
        while (g.getParent() != null) {
            g = g.getParent();
        }
        Thread[] all = new Thread[g.activeCount() + 16];
        int n = g.enumerate(all, true);
        Thread[] out = new Thread[n];
        System.arraycopy(all, 0, out, 0, n);
        return out;
    }

    /** Marks the thread it runs on as the agent's before running the task. */
    private static final class Marked implements Runnable {
        private final Runnable task;

        Marked(Runnable task) {
            this.task = task;
        }

        @Override
        public void run() {
            ClassLoadObserver.markAgentThread();
            task.run();
        }
    }
}
