package dev.lantern.hook;

/**
 * Owns nothing but the contract between instrumented application code and the agent: the
 * agent's probe engine implements it, {@link Hook} forwards to it. Lives on the bootstrap class
 * path with {@link Hook} so that every class loader sees the same copy.
 */
public interface HookSink {
    /** A line or method-entry probe was reached; {@code locals} in the order the weaver reported. */
    void hit(int point, Object self, Object[] locals);

    /** The start of a timed region (tic-toc first line, method entry). */
    void begin(int point);

    /** The end of a timed region (tic-toc second line, method exit). */
    void end(int point);
}
