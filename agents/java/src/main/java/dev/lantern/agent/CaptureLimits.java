package dev.lantern.agent;

import java.util.Map;

/**
 * Owns the capture limits snapshots and log lines obey: DEFAULTS.md's values until the
 * appliance's {@code config.update} sends its Service Configuration in a {@code capture} object
 * (PROTOCOL.md). A change applies to the next capture; one in progress keeps the limits it
 * started with. An update with a value missing, of the wrong type or out of range is rejected
 * whole and the old limits stay.
 */
final class CaptureLimits {
    static final CaptureLimits DEFAULT = new CaptureLimits(ValueCapture.MAX_DEPTH, ValueCapture.MAX_FIELDS,
        ValueCapture.MAX_ITEMS, ValueCapture.MAX_CHARS, ValueCapture.MAX_BYTES, ProbeEngine.MAX_FRAMES,
        ValueCapture.MAX_NANOS);

    private static volatile CaptureLimits current = DEFAULT;

    final int depth;
    final int fields;
    final int items;
    final int chars;
    final int bytes;
    final int frames;
    final long nanos;

    CaptureLimits(int depth, int fields, int items, int chars, int bytes, int frames, long nanos) {
        this.depth = depth;
        this.fields = fields;
        this.items = items;
        this.chars = chars;
        this.bytes = bytes;
        this.frames = frames;
        this.nanos = nanos;
    }

    /** The limits in force. */
    static CaptureLimits current() {
        return current;
    }

    /** Back to DEFAULTS.md's limits (tests). */
    static void reset() {
        current = DEFAULT;
    }

    /**
     * Replaces the limits from a {@code config.update}'s {@code capture} object; returns null on
     * success, else why it was rejected (the old limits stay).
     */
    static String update(Object capture) {
        if (!(capture instanceof Map)) {
            return "config.update capture must be an object";
        }
        Map<?, ?> m = (Map<?, ?>) capture;
        try {
            current = new CaptureLimits(
                pick(m, "max_depth", 1, 10),
                pick(m, "max_fields", 1, 200),
                pick(m, "max_items", 1, 1000),
                pick(m, "max_string_chars", 16, 8192),
                pick(m, "max_snapshot_bytes", 16 * 1024, 512 * 1024),
                pick(m, "max_frames", 1, 100),
                pick(m, "max_capture_ms", 1, 1000) * 1_000_000L);
            return null;
        } catch (IllegalArgumentException e) {
            return "config.update capture: " + e.getMessage();
        }
    }

    private static int pick(Map<?, ?> m, String key, int min, int max) {
        Object v = m.get(key);
        if (!(v instanceof Long) || (Long) v < min || (Long) v > max) {
            throw new IllegalArgumentException(key + " must be a whole number from " + min + " to " + max);
        }
        return (int) (long) (Long) v;
    }
}
