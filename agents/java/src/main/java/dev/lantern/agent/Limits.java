package dev.lantern.agent;

import java.util.Map;

/**
 * Owns the limits the agent obeys on one connection: protocol version 1's defaults until the
 * appliance's {@code hello_ack} says otherwise (an appliance may lower them; the agent never
 * goes above version 1's values even if asked to, and ignores nonsense).
 */
final class Limits {
    static final Limits V1 = new Limits(1024 * 1024, 64 * 1024, 20_000, 5_000, 1_000, 1_024);

    final int maxMessageBytes;
    /** Longer messages go out in fragments of at most this many bytes. */
    final int maxFrameBytes;
    final int maxClassesPerBatch;
    final int maxArtifactsPerBatch;
    final int batchIntervalMs;
    final int maxNameBytes;

    Limits(int maxMessageBytes, int maxFrameBytes, int maxClassesPerBatch, int maxArtifactsPerBatch,
           int batchIntervalMs, int maxNameBytes) {
        this.maxMessageBytes = maxMessageBytes;
        this.maxFrameBytes = maxFrameBytes;
        this.maxClassesPerBatch = maxClassesPerBatch;
        this.maxArtifactsPerBatch = maxArtifactsPerBatch;
        this.batchIntervalMs = batchIntervalMs;
        this.maxNameBytes = maxNameBytes;
    }

    /** The limits of a {@code hello_ack}'s {@code limits} object, each within sane bounds. */
    static Limits from(Object limits) {
        if (!(limits instanceof Map)) {
            return V1;
        }
        Map<?, ?> m = (Map<?, ?>) limits;
        return new Limits(
            pick(m.get("max_message_bytes"), V1.maxMessageBytes, 16 * 1024),
            pick(m.get("max_frame_bytes"), V1.maxFrameBytes, 4 * 1024),
            pick(m.get("max_classes_per_batch"), V1.maxClassesPerBatch, 10),
            pick(m.get("max_artifacts_per_batch"), V1.maxArtifactsPerBatch, 10),
            pick(m.get("batch_interval_ms"), V1.batchIntervalMs, 100),
            pick(m.get("max_name_bytes"), V1.maxNameBytes, 64));
    }

    private static int pick(Object value, int max, int min) {
        if (!(value instanceof Long)) {
            return max;
        }
        long v = (Long) value;
        if (v < min) {
            return min;
        }
        return (int) Math.min(v, max);
    }
}
