package dev.lantern.agent;

import java.util.Random;

/**
 * Owns the reconnect schedule of PROTOCOL.md: the n-th attempt waits a random time in
 * [0, min(60 s, 1 s × 2^n)] (full jitter, so that a restarted appliance is not hit by every
 * agent at once), reset after a connection that lasted a minute. Refusals that waiting will not
 * fix soon (close 1008 or 4004, HTTP 401/403) wait between half and all of the longest delay:
 * still jittered, but never a quick retry.
 */
final class Backoff {
    static final long BASE_MS = 1_000;
    static final long CAP_MS = 60_000;
    static final long STABLE_MS = 60_000;

    private final Random random;
    private int attempt;

    Backoff(Random random) {
        this.random = random;
    }

    /** The wait before the next attempt after an ordinary failure. */
    long next() {
        long ceiling = attempt >= 6 ? CAP_MS : Math.min(CAP_MS, BASE_MS << attempt);
        if (attempt < 30) {
            attempt++;
        }
        return (long) (random.nextDouble() * ceiling);
    }

    /** The wait after a refusal: the longest back-off. */
    long longest() {
        attempt = 6;
        return CAP_MS / 2 + (long) (random.nextDouble() * (CAP_MS / 2));
    }

    /** A connection ended after {@code connectedMs}: a long one resets the schedule. */
    void connectionLasted(long connectedMs) {
        if (connectedMs >= STABLE_MS) {
            attempt = 0;
        }
    }

    int attempt() {
        return attempt;
    }
}
