package dev.lantern.agent;

import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Owns what probes have to say until the sender thread writes it: {@code action.status}
 * messages in a queue of their own (they are few and must not be crowded out by data), and
 * results ({@code snapshot}, {@code log}, {@code metrics}) in a queue bounded by count and
 * bytes that drops its oldest entry when full. Application threads only ever offer; nothing
 * here blocks them.
 */
final class ProbeOutbox {
    static final int MAX_STATUSES = 1024;
    static final int MAX_RESULTS = 256;
    static final long MAX_RESULT_CHARS = 4L * 1024 * 1024;

    private final ArrayBlockingQueue<String> statuses = new ArrayBlockingQueue<>(MAX_STATUSES);
    private final ArrayDeque<String> results = new ArrayDeque<>();
    private long resultChars;
    private final AtomicLong dropped = new AtomicLong();

    void status(String json) {
        if (!statuses.offer(json)) {
            dropped.incrementAndGet();
        }
    }

    synchronized void result(String json) {
        while (!results.isEmpty() && (results.size() >= MAX_RESULTS || resultChars + json.length() > MAX_RESULT_CHARS)) {
            resultChars -= results.pollFirst().length();
            dropped.incrementAndGet();
        }
        results.addLast(json);
        resultChars += json.length();
    }

    /** The next message to send, statuses first; null when there is none. */
    String poll() {
        String s = statuses.poll();
        if (s != null) {
            return s;
        }
        synchronized (this) {
            String r = results.pollFirst();
            if (r != null) {
                resultChars -= r.length();
            }
            return r;
        }
    }

    /** Statuses of a previous connection are stale: {@code action.sync} brings every one again. */
    void clearStatuses() {
        statuses.clear();
    }

    long dropped() {
        return dropped.get();
    }
}
