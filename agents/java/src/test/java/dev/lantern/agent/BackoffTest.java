package dev.lantern.agent;

import java.util.Random;

/** Reconnect waits: full jitter under 1 s × 2^n capped at 60 s, reset after a minute connected. */
public class BackoffTest {
    /** A Random whose doubles are always just under 1: shows each attempt's ceiling. */
    static final class Top extends Random {
        private static final long serialVersionUID = 1L;

        @Override
        public double nextDouble() {
            return 0.999999;
        }
    }

    @Test
    public void ceilingsDoubleUpToAMinute() {
        Backoff b = new Backoff(new Top());
        long[] expected = {1, 2, 4, 8, 16, 32, 60, 60, 60};
        for (long e : expected) {
            long wait = b.next();
            Check.isTrue(wait <= e * 1000 && wait > e * 1000 - 10, "ceiling " + e + " s, got " + wait);
        }
    }

    @Test
    public void jitterCoversTheWholeRange() {
        Backoff b = new Backoff(new Random(42));
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 200; i++) {
            b.connectionLasted(60_000);
            min = Math.min(min, b.next());
        }
        Check.isTrue(min < 100, "full jitter reaches near 0, min " + min);
    }

    @Test
    public void aLongConnectionResetsAShortOneDoesNot() {
        Backoff b = new Backoff(new Top());
        for (int i = 0; i < 5; i++) {
            b.next();
        }
        b.connectionLasted(59_000);
        Check.isTrue(b.next() > 30_000, "a 59 s connection keeps the schedule");
        b.connectionLasted(60_000);
        Check.isTrue(b.next() <= 1_000, "a minute resets it");
    }

    @Test
    public void refusalsWaitTheLongest() {
        Backoff b = new Backoff(new Random(7));
        for (int i = 0; i < 50; i++) {
            long w = b.longest();
            Check.isTrue(w >= 30_000 && w <= 60_000, "between 30 and 60 s: " + w);
        }
    }
}
