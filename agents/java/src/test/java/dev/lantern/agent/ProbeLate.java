package dev.lantern.agent;

/**
 * A class {@link ProbeApp} loads only when the test asks (the file {@code STOP.late}), so that a
 * probe set before it loads is {@code pending} first; its probed method is an instance method, so
 * the snapshot has a {@code this}. LINE NUMBERS MATTER: see {@link #LINE}.
 */
final class ProbeLate {
    /** The line {@code int doubled = n * 2;}. */
    static final int LINE = 15;

    private final int base = 5;

    int run(int n) {
        int doubled = n * 2;
        return doubled + base;
    }
}
