package dev.lantern.agent;

import java.util.ArrayList;
import java.util.List;

/**
 * Owns cutting a batch of artifact declarations and class names into {@code class_loads} frames
 * that respect the appliance's limits: at most {@code maxClasses} names, {@code maxArtifacts}
 * artifacts and {@code maxBytes} UTF-8 bytes per frame. Items are added in order (an artifact
 * before its loads), and a frame is only cut between items, so every load refers to an
 * artifact declared in the same or an earlier frame.
 */
final class FrameBuilder {
    /** Room kept for the frame's own fields ({@code type}, {@code seq}, flags, brackets). */
    private static final int HEADER_BYTES = 256;

    private final int maxBytes;
    private final int maxClasses;
    private final int maxArtifacts;
    private final boolean initial;
    private final List<Frame> frames = new ArrayList<>();
    private Frame current;

    FrameBuilder(Limits limits, boolean initial) {
        this.maxBytes = limits.maxMessageBytes - HEADER_BYTES;
        this.maxClasses = limits.maxClassesPerBatch;
        this.maxArtifacts = limits.maxArtifactsPerBatch;
        this.initial = initial;
    }

    /** One frame in the making. */
    private static final class Frame {
        final StringBuilder artifacts = new StringBuilder();
        final StringBuilder loads = new StringBuilder();
        int artifactCount;
        int classCount;
        int bytes;
        /** The ref whose classes array is open at the end of {@link #loads}, or -1. */
        int openRef = -1;

        boolean empty() {
            return artifactCount == 0 && loads.length() == 0;
        }
    }

    private Frame frame() {
        if (current == null) {
            current = new Frame();
        }
        return current;
    }

    private void cut() {
        if (current != null && !current.empty()) {
            closeLoad(current);
            frames.add(current);
        }
        current = new Frame();
    }

    private static void closeLoad(Frame f) {
        if (f.openRef >= 0) {
            f.loads.append("]}");
            f.openRef = -1;
        }
    }

    /** Adds an artifact declaration (a JSON object). */
    void artifact(String json) {
        int size = Utf8.length(json) + 1;
        Frame f = frame();
        if (f.artifactCount + 1 > maxArtifacts || (f.bytes + size > maxBytes && !f.empty())) {
            cut();
            f = frame();
        }
        if (f.artifactCount > 0) {
            f.artifacts.append(',');
        }
        f.artifacts.append(json);
        f.artifactCount++;
        f.bytes += size;
    }

    /** Adds one class name loaded from artifact {@code ref}. */
    void loadedClass(int ref, String name) {
        String quoted = Json.quote(name);
        int size = Utf8.length(quoted) + 1;
        Frame f = frame();
        int opening = f.openRef == ref ? 0 : 32;
        if (f.classCount + 1 > maxClasses || (f.bytes + size + opening > maxBytes && !f.empty())) {
            cut();
            f = frame();
            opening = 32;
        }
        if (f.openRef != ref) {
            closeLoad(f);
            if (f.loads.length() > 0) {
                f.loads.append(',');
            }
            f.loads.append("{\"artifact\":").append(ref).append(",\"classes\":[");
            f.openRef = ref;
            f.bytes += opening;
        } else {
            f.loads.append(',');
        }
        f.loads.append(quoted);
        f.classCount++;
        f.bytes += size;
    }

    /** Adds the running count of a runtime artifact. */
    void count(int ref, long count) {
        String json = "{\"artifact\":" + ref + ",\"count\":" + count + "}";
        int size = json.length() + 1;
        Frame f = frame();
        if (f.bytes + size > maxBytes && !f.empty()) {
            cut();
            f = frame();
        }
        closeLoad(f);
        if (f.loads.length() > 0) {
            f.loads.append(',');
        }
        f.loads.append(json);
        f.bytes += size;
    }

    /**
     * The frames, numbered from {@code firstSeq}. An initial batch always yields at least one
     * frame, the last one marked {@code initial_done}; a live batch may yield none.
     */
    List<String> finish(long firstSeq) {
        if (current != null && !current.empty()) {
            closeLoad(current);
            frames.add(current);
        }
        current = null;
        if (initial && frames.isEmpty()) {
            frames.add(new Frame());
        }
        List<String> out = new ArrayList<>(frames.size());
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            StringBuilder b = new StringBuilder(f.artifacts.length() + f.loads.length() + 128);
            b.append("{\"type\":\"class_loads\",\"seq\":").append(firstSeq + i);
            if (initial) {
                b.append(",\"initial\":true,\"initial_done\":").append(i == frames.size() - 1);
            }
            b.append(",\"artifacts\":[").append(f.artifacts).append("],\"loads\":[").append(f.loads).append("]}");
            out.add(b.toString());
        }
        frames.clear();
        return out;
    }
}
