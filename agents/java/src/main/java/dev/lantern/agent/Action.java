package dev.lantern.agent;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Owns one installed action's life on this agent: its points, hit count against the cap, its
 * per-second rate window, the aggregate of the current metrics interval, the sampled cost of its
 * condition, and its status as last reported. Hits come from application threads; the fields
 * they share are atomic or guarded by this object.
 */
final class Action {
    final ActionSpec spec;
    ProbePoint[] points = new ProbePoint[0];
    volatile boolean active = true;
    final AtomicLong hits = new AtomicLong();
    /** Set once when the action must be taken out by the engine's thread (cap, condition error). */
    final AtomicBoolean finishing = new AtomicBoolean();
    volatile String finishStatus;
    volatile String finishMessage;

    // Status as last reported (guarded by this).
    String status = "";
    String message;

    // Rate window (guarded by this).
    private long windowSec = -1;
    private int windowCount;
    volatile long lastDropSec = -1;

    // Aggregate of the current interval (guarded by this).
    long count;
    double sum;
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;

    /** Sampled cost of the condition (racy on purpose: a statistic, not a ledger). */
    long conditionCalls;
    long conditionNanos;

    Action(ActionSpec spec) {
        this.spec = spec;
    }

    /** True when one more hit fits this second's rate; records a drop otherwise. */
    synchronized boolean rateAllows(long nowMillis) {
        if (spec.ratePerSec <= 0) {
            return true;
        }
        long sec = nowMillis / 1000;
        if (sec != windowSec) {
            windowSec = sec;
            windowCount = 0;
        }
        if (windowCount >= spec.ratePerSec) {
            lastDropSec = sec;
            return false;
        }
        windowCount++;
        return true;
    }

    /** Counts a hit against the cap: false when the cap was already reached. */
    boolean takeHit() {
        long n = hits.incrementAndGet();
        if (spec.maxHits > 0) {
            if (n > spec.maxHits) {
                return false;
            }
            if (n == spec.maxHits) {
                active = false;
                finish("completed", "hit cap of " + spec.maxHits + " reached");
            }
        }
        return true;
    }

    /** Asks the engine's thread to take this action out with a final status. */
    void finish(String status, String message) {
        active = false;
        if (finishing.compareAndSet(false, true)) {
            finishStatus = status;
            finishMessage = message;
        }
    }

    synchronized void add(double v) {
        count++;
        sum += v;
        if (v < min) {
            min = v;
        }
        if (v > max) {
            max = v;
        }
    }

    /** The interval's aggregate as a {@code metrics} entry, reset; null when there were no hits. */
    synchronized String drainMetrics() {
        if (count == 0) {
            return null;
        }
        StringBuilder b = new StringBuilder("{\"id\":");
        Json.string(b, spec.id);
        b.append(",\"count\":").append(count);
        if (!"counter".equals(spec.kind)) {
            b.append(",\"sum\":").append(number(sum)).append(",\"min\":").append(number(min))
                .append(",\"max\":").append(number(max));
        }
        count = 0;
        sum = 0;
        min = Double.POSITIVE_INFINITY;
        max = Double.NEGATIVE_INFINITY;
        return b.append('}').toString();
    }

    static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "0";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e15) {
            return Long.toString((long) d);
        }
        return Double.toString(d);
    }
}
