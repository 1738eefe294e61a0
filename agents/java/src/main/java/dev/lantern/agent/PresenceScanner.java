package dev.lantern.agent;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Owns finding artifacts that are present but may not have loaded a class yet: the entries of
 * {@code java.class.path}, the URLs of every {@link URLClassLoader} that defines a class (this
 * covers Tomcat's common and web-application loaders), the {@code WEB-INF/lib} jars beside a
 * {@code WEB-INF/classes} directory that appears as a code source, and the jars nested in a fat
 * jar. Declaring them lets the appliance say "present, never loaded" instead of knowing nothing.
 */
final class PresenceScanner {
    private final ArtifactCatalog catalog;
    /** Loaders already asked for their URLs; weak, so that an undeployed web app can be collected. */
    private final Set<ClassLoader> loaders = Collections.newSetFromMap(new WeakHashMap<>());

    PresenceScanner(ArtifactCatalog catalog) {
        this.catalog = catalog;
    }

    /** Declares every entry of a class path string ({@code java.class.path}). */
    void classPath(String classPath) {
        if (classPath == null || classPath.isEmpty()) {
            return;
        }
        for (String entry : classPath.split(File.pathSeparator)) {
            if (entry.isEmpty()) {
                continue;
            }
            File f = new File(entry);
            if (f.exists()) {
                newArtifact(catalog.present(Location.ofFile(f)));
            }
        }
    }

    /** A class was defined by {@code loader}: the first time, declare what its URLs name. */
    void loader(ClassLoader loader) {
        if (loader == null || !loaders.add(loader) || !(loader instanceof URLClassLoader)) {
            return;
        }
        URL[] urls;
        try {
            urls = ((URLClassLoader) loader).getURLs();
        } catch (RuntimeException e) {
            return;
        }
        if (urls == null) {
            return;
        }
        for (URL url : urls) {
            if (url == null) {
                continue;
            }
            Location l = Location.ofUrl(url);
            if (l.file == null || l.entry != null || l.file.exists()) {
                newArtifact(catalog.present(l));
            }
        }
    }

    /** Something new became known: look for what it implies is present too. */
    void newArtifact(ArtifactCatalog.Tracked t) {
        if (t == null) {
            return;
        }
        Location l = t.location;
        if (l.kind == Location.Kind.DIRECTORY && l.entry == null && l.file != null) {
            String path = l.file.getPath().replace(File.separatorChar, '/');
            if (path.endsWith("/WEB-INF/classes")) {
                webInfLib(new File(l.file.getParentFile(), "lib"));
            }
        } else if (l.kind == Location.Kind.JAR && l.file != null && l.file.getParentFile() != null
            && l.file.getParentFile().getName().equals("lib")
            && l.file.getParentFile().getParentFile() != null
            && l.file.getParentFile().getParentFile().getName().equals("WEB-INF")) {
            // A web application without classes of its own still has its lib directory.
            webInfLib(l.file.getParentFile());
        }
    }

    private void webInfLib(File lib) {
        File[] jars = lib.listFiles();
        if (jars == null) {
            return;
        }
        Arrays.sort(jars);
        for (File jar : jars) {
            if (jar.isFile() && jar.getName().toLowerCase(Locale.ROOT).endsWith(".jar")) {
                catalog.present(Location.ofFile(jar));
            }
        }
    }

    /** After reading: the jars nested in fat jars and wars are present too. */
    void nested(List<ArtifactCatalog.Tracked> read) {
        List<ArtifactCatalog.Tracked> todo = new ArrayList<>(read);
        for (ArtifactCatalog.Tracked t : todo) {
            if (t.location.kind != Location.Kind.JAR || t.location.file == null || t.info == null) {
                continue;
            }
            for (String entry : t.info.nestedJars) {
                catalog.present(Location.nested(t.location.file, entry));
            }
        }
    }
}
