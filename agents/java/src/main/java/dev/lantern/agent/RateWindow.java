package dev.lantern.agent;

/**
 * Owns one per-second quota shared by application threads (snapshots per agent, log lines and
 * log bytes per agent): how much of it the current second has used.
 */
final class RateWindow {
    private final int perSecond;
    private long second = -1;
    private int used;

    RateWindow(int perSecond) {
        this.perSecond = perSecond;
    }

    /** Takes {@code amount} from this second's quota; false (and nothing taken) when it does not fit. */
    synchronized boolean take(long nowMillis, int amount) {
        long s = nowMillis / 1000;
        if (s != second) {
            second = s;
            used = 0;
        }
        if (used + amount > perSecond) {
            return false;
        }
        used += amount;
        return true;
    }
}
