package dev.lantern.hook;

/**
 * Owns the only code that instrumented application classes call. It sits on the bootstrap class
 * path (appended by the agent at start) so that classes of every loader can link against it, and
 * it does as little as possible: one volatile read and a forward to the agent's {@link HookSink}.
 * Nothing here may throw into the application, so every call is wrapped.
 */
public final class Hook {
    private static volatile HookSink sink;

    private Hook() {}

    /** Set by the agent once its engine is ready; null switches every probe off. */
    public static void install(HookSink s) {
        sink = s;
    }

    public static void hit(int point, Object self, Object[] locals) {
        HookSink s = sink;
        if (s != null) {
            try {
                s.hit(point, self, locals);
            } catch (Throwable ignored) {
                // A bug of the agent must never change what the application does.
            }
        }
    }

    public static void begin(int point) {
        HookSink s = sink;
        if (s != null) {
            try {
                s.begin(point);
            } catch (Throwable ignored) {
                // as above
            }
        }
    }

    public static void end(int point) {
        HookSink s = sink;
        if (s != null) {
            try {
                s.end(point);
            } catch (Throwable ignored) {
                // as above
            }
        }
    }
}
