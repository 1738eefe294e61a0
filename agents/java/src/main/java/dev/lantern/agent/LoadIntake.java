package dev.lantern.agent;

import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns moving observations into the {@link ArtifactCatalog} on the sender thread: the one-off
 * scan of the classes loaded before the agent started, and the regular drain of the
 * {@link LoadRecorder}'s queue, each new loader and location also handed to the
 * {@link PresenceScanner}.
 */
final class LoadIntake {
    private final LoadRecorder recorder;
    private final ArtifactCatalog catalog;
    private final PresenceScanner presence;
    private final ClassLoader platformLoader = ClassLoader.getPlatformClassLoader();
    /** Code source URL text → location; one entry per jar or directory. */
    private final Map<String, Location> locations = new HashMap<>();
    /**
     * The same by URL object: the classes of one code source share its URL instance, so this
     * skips building the URL's text for nearly every load (URL.equals is never used: it may
     * resolve host names).
     */
    private final Map<URL, Location> byInstance = new IdentityHashMap<>();
    private final List<LoadEvent> batch = new ArrayList<>();
    private long recorderRuntimeSeen;

    LoadIntake(LoadRecorder recorder, ArtifactCatalog catalog, PresenceScanner presence) {
        this.recorder = recorder;
        this.catalog = catalog;
        this.presence = presence;
    }

    /** The classes that were loaded before the transformer was registered. */
    void initialScan(Class<?>[] classes) {
        long n = 0;
        for (Class<?> c : classes) {
            // Arrays and hidden classes (lambdas) never reach a transformer: leave them out here too.
            if (c == null || c.isArray() || c.isPrimitive() || c.isHidden()) {
                continue;
            }
            n++;
            ClassLoader loader = c.getClassLoader();
            if (loader == null || loader == platformLoader) {
                catalog.addRuntimeCount(1);
                continue;
            }
            URL url = null;
            try {
                ProtectionDomain pd = c.getProtectionDomain();
                CodeSource cs = pd == null ? null : pd.getCodeSource();
                url = cs == null ? null : cs.getLocation();
            } catch (RuntimeException e) {
                // A security manager may refuse; count it as the runtime's.
            }
            if (url == null) {
                catalog.addRuntimeCount(1);
                continue;
            }
            take(c.getName(), loader, url);
        }
        recorder.addSeen(n);
    }

    /** Moves everything waiting in the recorder into the catalog; returns how many loads that was. */
    int drain() {
        int n = 0;
        while (recorder.drain(batch, 10_000) > 0) {
            n += batch.size();
            for (LoadEvent e : batch) {
                take(e.internalName.replace('/', '.'), e.loader, e.location);
            }
            batch.clear();
        }
        long runtime = recorder.runtimeClasses();
        catalog.addRuntimeCount(runtime - recorderRuntimeSeen);
        n += (int) (runtime - recorderRuntimeSeen);
        recorderRuntimeSeen = runtime;
        return n;
    }

    private void take(String className, ClassLoader loader, URL url) {
        Location l = byInstance.get(url);
        if (l == null) {
            String key = url.toString();
            l = locations.get(key);
            if (l == null) {
                l = Location.ofUrl(key);
                locations.put(key, l);
            }
            if (byInstance.size() < 10_000) {
                byInstance.put(url, l);
            }
        }
        ArtifactCatalog.Tracked fresh = catalog.loaded(l, className);
        presence.loader(loader);
        presence.newArtifact(fresh);
    }
}
