package dev.lantern.agent;

import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Owns the hand-over from application threads to the sender thread: a bounded, lock-free queue
 * of {@link LoadEvent}s plus a counter for runtime (JDK) classes, which are counted and never
 * queued. Recording never waits: when the queue is full the event is dropped and counted, so a
 * stalled sender costs the application nothing.
 */
final class LoadRecorder {
    static final int DEFAULT_CAPACITY = 100_000;

    private final ConcurrentLinkedQueue<LoadEvent> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicLong runtimeClasses = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong seen = new AtomicLong();
    private final int capacity;
    /** Set when nobody will drain the queue any more: recording stops instead of holding loaders. */
    private volatile boolean closed;

    LoadRecorder(int capacity) {
        this.capacity = capacity;
    }

    /** Called from the transformer: must not allocate much, lock, or load classes. */
    void record(String internalName, ClassLoader loader, URL location) {
        if (closed) {
            return;
        }
        seen.incrementAndGet();
        if (size.incrementAndGet() > capacity) {
            size.decrementAndGet();
            dropped.incrementAndGet();
            return;
        }
        queue.offer(new LoadEvent(internalName, loader, location));
    }

    /** A class of the runtime itself (bootstrap or platform loader, or no code source). */
    void recordRuntime() {
        seen.incrementAndGet();
        runtimeClasses.incrementAndGet();
    }

    /** Moves up to {@code max} waiting events into {@code into}; returns how many. */
    int drain(List<LoadEvent> into, int max) {
        int n = 0;
        while (n < max) {
            LoadEvent e = queue.poll();
            if (e == null) {
                break;
            }
            size.decrementAndGet();
            into.add(e);
            n++;
        }
        return n;
    }

    List<LoadEvent> drainAll() {
        List<LoadEvent> all = new ArrayList<>();
        drain(all, Integer.MAX_VALUE);
        return all;
    }

    /** Stops recording for good and lets go of what was queued. */
    void close() {
        closed = true;
        drainAll();
    }

    /** Forgets everything recorded so far (after the warm-up, before the transformer is registered). */
    void clear() {
        drainAll();
        runtimeClasses.set(0);
        dropped.set(0);
        seen.set(0);
    }

    long runtimeClasses() {
        return runtimeClasses.get();
    }

    void addRuntimeClasses(long n) {
        runtimeClasses.addAndGet(n);
        seen.addAndGet(n);
    }

    /** Classes of the initial scan that did not come through {@link #record}. */
    void addSeen(long n) {
        seen.addAndGet(n);
    }

    long dropped() {
        return dropped.get();
    }

    long seen() {
        return seen.get();
    }
}
