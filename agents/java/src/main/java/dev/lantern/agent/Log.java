package dev.lantern.agent;

import java.io.PrintStream;

/**
 * Owns everything the agent prints. Lines go to stderr with a {@code [lantern]} prefix so that an
 * operator can grep them out of an application's log, and repeated identical failures (a
 * reconnect loop against an appliance that is down) are printed once, not every few seconds.
 */
final class Log {
    static final String PREFIX = "[lantern] ";

    private static volatile PrintStream out = System.err;
    private static String lastRepeated;
    private static long lastRepeatedAt;
    /** A repeated message is printed again after this long, so a long outage stays visible. */
    private static final long REPEAT_AFTER_MS = 10 * 60 * 1000L;

    private Log() {}

    static void info(String message) {
        PrintStream stream = out;
        // println on a PrintStream is synchronized: one line stays one line.
        stream.println(PREFIX + message);
    }

    /** Prints {@code message} unless it was the last one printed this way recently. */
    static synchronized void repeated(String message) {
        long now = System.currentTimeMillis();
        if (message.equals(lastRepeated) && now - lastRepeatedAt < REPEAT_AFTER_MS) {
            return;
        }
        lastRepeated = message;
        lastRepeatedAt = now;
        info(message);
    }

    /** Forgets the last repeated message: after a success the next failure is news again. */
    static synchronized void resetRepeated() {
        lastRepeated = null;
    }

    /** For tests: capture what the agent prints. */
    static void redirect(PrintStream stream) {
        out = stream;
    }

    /** One line for an unexpected exception, without a stack trace in the application's log. */
    static String describe(Throwable t) {
        String message = t.getMessage();
        String name = t.getClass().getSimpleName();
        return message == null || message.isEmpty() ? name : name + ": " + message;
    }
}
