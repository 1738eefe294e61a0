package dev.lantern.agent;

/**
 * Owns one thread's open timed regions (tic-toc first lines, method entries of duration
 * actions): a bounded stack of (point, start time). An end pops its own begin and anything left
 * above it by a region that ended by an exception; a full stack ignores new begins, so a deep
 * recursion costs nothing more than a missed measurement.
 */
final class TimerStack {
    static final int MAX = 64;

    private final int[] points = new int[MAX];
    private final long[] starts = new long[MAX];
    private int size;

    private static final ThreadLocal<TimerStack> CURRENT = new ThreadLocal<TimerStack>() {
        @Override
        protected TimerStack initialValue() {
            return new TimerStack();
        }
    };

    static TimerStack current() {
        return CURRENT.get();
    }

    void begin(int point, long now) {
        if (size < MAX) {
            points[size] = point;
            starts[size] = now;
            size++;
        }
    }

    /** The start of the innermost open region of {@code point}, popped; -1 when none. */
    long end(int point) {
        for (int i = size - 1; i >= 0; i--) {
            if (points[i] == point) {
                size = i;
                return starts[i];
            }
        }
        return -1;
    }
}
