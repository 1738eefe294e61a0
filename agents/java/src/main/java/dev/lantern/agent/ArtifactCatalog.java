package dev.lantern.agent;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarFile;

/**
 * Owns the agent's picture of the process: every artifact it knows (loaded from or merely
 * present), the classes loaded from each, and the runtime's class count; plus what of that has
 * been sent on the current connection. A new connection forgets only the second part, so the
 * full state can be sent again. Used by the sender thread only.
 */
final class ArtifactCatalog {
    /** One artifact and its classes. */
    static final class Tracked {
        final Location location;
        ArtifactInfo info;
        final List<String> classes = new ArrayList<>();
        final Set<String> classSet = new HashSet<>();
        /** This connection's ref, or -1 before it is declared. */
        int ref = -1;
        /** How many of {@link #classes} were sent on this connection. */
        int sent;

        Tracked(Location location) {
            this.location = location;
        }
    }

    private final Map<String, Tracked> artifacts = new LinkedHashMap<>();
    private final Set<String> excluded = new HashSet<>();
    private final RuntimeArtifact runtime;
    private long runtimeCount;
    private long runtimeSent = -1;
    private int nextRef;
    private long skippedNames;

    ArtifactCatalog(RuntimeArtifact runtime) {
        this.runtime = runtime;
    }

    /** A location whose classes are the agent's own and are never reported. */
    void exclude(Location location) {
        excluded.add(location.key);
    }

    void setRuntimeCount(long count) {
        runtimeCount = count;
    }

    void addRuntimeCount(long n) {
        runtimeCount += n;
    }

    long runtimeCount() {
        return runtimeCount;
    }

    /**
     * Records that {@code className} (dotted) loaded from {@code location}; returns the tracked
     * artifact when it is new (so that the caller can look for its present siblings), else null.
     */
    Tracked loaded(Location location, String className) {
        if (location.kind == Location.Kind.RUNTIME) {
            runtimeCount++;
            return null;
        }
        if (excluded.contains(location.key)) {
            return null;
        }
        boolean isNew = !artifacts.containsKey(location.key);
        Tracked t = track(location);
        if (t == null) {
            return null;
        }
        if (!Utf8.nameOk(className, Coordinates.MAX_BYTES)) {
            skippedNames++;
        } else if (t.classSet.add(className)) {
            t.classes.add(className);
        }
        return isNew ? t : null;
    }

    /** Declares {@code location} present; returns the tracked artifact when it is new, else null. */
    Tracked present(Location location) {
        if (location.kind == Location.Kind.RUNTIME || excluded.contains(location.key)
            || artifacts.containsKey(location.key)) {
            return null;
        }
        return track(location);
    }

    private Tracked track(Location location) {
        Tracked t = artifacts.get(location.key);
        if (t != null) {
            return t;
        }
        if (!Utf8.nameOk(location.key, Coordinates.MAX_BYTES)) {
            return null;
        }
        Location parent = location.parent();
        if (parent != null && !artifacts.containsKey(parent.key)) {
            // The outer jar is declared first so that the nested one can name it.
            track(parent);
        }
        t = new Tracked(location);
        artifacts.put(location.key, t);
        return t;
    }

    Tracked get(String key) {
        return artifacts.get(key);
    }

    Collection<Tracked> all() {
        return artifacts.values();
    }

    int size() {
        return artifacts.size();
    }

    long classCount() {
        long n = 0;
        for (Tracked t : artifacts.values()) {
            n += t.classes.size();
        }
        return n;
    }

    long skippedNames() {
        return skippedNames;
    }

    /** Reads (hashes, coordinates) every artifact not read yet; returns the newly read ones. */
    List<Tracked> resolvePending() {
        List<Tracked> fresh = new ArrayList<>();
        JarFile outer = null;
        File outerFile = null;
        try {
            // Snapshot: reading may not add artifacts, but keep the loop independent of that.
            for (Tracked t : new ArrayList<>(artifacts.values())) {
                if (t.info != null) {
                    continue;
                }
                Location l = t.location;
                if (!l.readable() || l.kind == Location.Kind.DIRECTORY) {
                    t.info = ArtifactInfo.NOTHING;
                } else if (l.kind == Location.Kind.JAR) {
                    t.info = l.file.isFile() ? JarInspector.inspectFile(l.file) : guessOnly(l.file.getName());
                } else {
                    if (outer == null || !outerFile.equals(l.file)) {
                        closeQuietly(outer);
                        outer = null;
                        outerFile = l.file;
                        try {
                            outer = new JarFile(l.file, false);
                        } catch (IOException | RuntimeException e) {
                            outer = null;
                        }
                    }
                    t.info = outer == null ? guessOnly(l.entry) : JarInspector.inspectNested(outer, l.entry);
                }
                fresh.add(t);
            }
        } finally {
            closeQuietly(outer);
        }
        return fresh;
    }

    private static ArtifactInfo guessOnly(String fileName) {
        List<Coordinates> c = new ArrayList<>();
        Coordinates g = CoordinateResolver.guess(fileName);
        if (g != null) {
            c.add(g);
        }
        return new ArtifactInfo(null, c, new ArrayList<>());
    }

    private static void closeQuietly(JarFile f) {
        if (f != null) {
            try {
                f.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }

    /** Forgets what was sent: the next batch is a connection's full state. */
    void newConnection() {
        for (Tracked t : artifacts.values()) {
            t.ref = -1;
            t.sent = 0;
        }
        runtimeSent = -1;
        nextRef = 0;
    }

    /** True when something was learnt that the current connection has not been told. */
    boolean hasUnsent() {
        if (runtimeSent != runtimeCount) {
            return true;
        }
        for (Tracked t : artifacts.values()) {
            if (t.ref < 0 || t.sent < t.classes.size()) {
                return true;
            }
        }
        return false;
    }

    /** Names waiting to be sent. */
    long unsentClasses() {
        long n = 0;
        for (Tracked t : artifacts.values()) {
            n += t.classes.size() - t.sent;
        }
        return n;
    }

    /**
     * Everything not yet sent on this connection as frames numbered from {@code firstSeq}, and
     * marks it sent. Artifacts must have been read ({@link #resolvePending}) first.
     */
    List<String> frames(Limits limits, boolean initial, long firstSeq) {
        FrameBuilder b = new FrameBuilder(limits, initial);
        if (runtimeSent < 0) {
            b.artifact(runtime.json(nextRef));
            runtimeRef = nextRef++;
        }
        if (runtimeSent != runtimeCount) {
            b.count(runtimeRef, runtimeCount);
            runtimeSent = runtimeCount;
        }
        for (Tracked t : artifacts.values()) {
            if (t.ref < 0) {
                t.ref = nextRef++;
                b.artifact(declaration(t));
            }
            for (int i = t.sent; i < t.classes.size(); i++) {
                b.loadedClass(t.ref, t.classes.get(i));
            }
            t.sent = t.classes.size();
        }
        return b.finish(firstSeq);
    }

    private int runtimeRef;

    private String declaration(Tracked t) {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"ref\":").append(t.ref).append(",\"location\":");
        Json.string(b, t.location.key);
        b.append(",\"kind\":\"").append(t.location.kind.wire).append('"');
        Location parent = t.location.parent();
        if (parent != null) {
            Tracked p = artifacts.get(parent.key);
            if (p != null && p.ref >= 0) {
                b.append(",\"parent\":").append(p.ref);
            }
        }
        ArtifactInfo info = t.info == null ? ArtifactInfo.NOTHING : t.info;
        if (info.sha256 != null) {
            b.append(",\"sha256\":\"").append(info.sha256).append('"');
        }
        b.append(",\"coordinates\":[");
        for (int i = 0; i < info.coordinates.size(); i++) {
            if (i > 0) {
                b.append(',');
            }
            info.coordinates.get(i).appendJson(b);
        }
        return b.append("]}").toString();
    }
}
