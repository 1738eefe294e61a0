package dev.lantern.agent;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Owns what the operating system's Maven repository says about jar files: Debian and its
 * derivatives install libraries as {@code /usr/share/java/x.jar} and describe them with
 * symbolic links {@code /usr/share/maven-repo/GROUP/PATH/ARTIFACT/VERSION/ARTIFACT-VERSION.jar}.
 * Many of those jars carry no {@code pom.properties} (log4j 1.2, h2, Spring, Tomcat), so this is
 * the only trustworthy Maven identity they have, and without it no advisory can match them.
 *
 * <p>The repository is read once, lazily, on the sender thread, with bounds on depth and
 * entries. Debian's pseudo-versions ({@code debian}, {@code 1.2.x}) name no release and are left
 * out.
 */
final class SystemMavenRepo {
    /** Where maven-repo-helper installs its links. */
    static final Path DEFAULT_ROOT = Paths.get("/usr/share/maven-repo");

    /** A repository deeper than this is not the layout we know. */
    private static final int MAX_DEPTH = 16;
    /** Bounds the walk on a machine with an unusually large repository. */
    private static final int MAX_ENTRIES = 200_000;
    private static final Pattern PSEUDO_VERSION = Pattern.compile("debian|([0-9]+\\.)*x");

    private static volatile SystemMavenRepo system;

    /** Real jar path → the coordinates the repository gives it. */
    private final Map<Path, List<Coordinates>> byJar;

    private SystemMavenRepo(Map<Path, List<Coordinates>> byJar) {
        this.byJar = byJar;
    }

    /** The repository at {@link #DEFAULT_ROOT}, read on first use; empty when there is none. */
    static SystemMavenRepo system() {
        SystemMavenRepo r = system;
        if (r == null) {
            synchronized (SystemMavenRepo.class) {
                r = system;
                if (r == null) {
                    r = read(DEFAULT_ROOT);
                    system = r;
                }
            }
        }
        return r;
    }

    /** The coordinates the repository gives the jar at {@code jar}; empty when it names none. */
    List<Coordinates> coordinatesOf(Path jar) {
        if (byJar.isEmpty()) {
            return Collections.emptyList();
        }
        try {
            List<Coordinates> c = byJar.get(jar.toRealPath());
            return c == null ? Collections.emptyList() : c;
        } catch (IOException | SecurityException e) {
            return Collections.emptyList();
        }
    }

    /** Reads a repository; a missing or unreadable one gives an empty result, never an error. */
    static SystemMavenRepo read(Path root) {
        Map<Path, List<Coordinates>> byJar = new HashMap<>();
        if (!Files.isDirectory(root)) {
            return new SystemMavenRepo(byJar);
        }
        Deque<Path> dirs = new ArrayDeque<>();
        dirs.add(root);
        int entries = 0;
        while (!dirs.isEmpty() && entries < MAX_ENTRIES) {
            Path dir = dirs.poll();
            try (DirectoryStream<Path> list = Files.newDirectoryStream(dir)) {
                for (Path p : list) {
                    if (++entries >= MAX_ENTRIES) {
                        break;
                    }
                    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        if (root.relativize(p).getNameCount() < MAX_DEPTH) {
                            dirs.add(p);
                        }
                    } else if (p.getFileName().toString().endsWith(".jar")) {
                        record(byJar, root, p);
                    }
                }
            } catch (IOException | SecurityException e) {
                // An unreadable directory says nothing; the rest of the repository still counts.
            }
        }
        return new SystemMavenRepo(byJar);
    }

    /** {@code GROUP/PATH/ARTIFACT/VERSION/ARTIFACT-VERSION.jar} → one coordinate for its target. */
    private static void record(Map<Path, List<Coordinates>> byJar, Path root, Path link) {
        Path rel = root.relativize(link);
        int n = rel.getNameCount();
        if (n < 4) {
            return;
        }
        String version = rel.getName(n - 2).toString();
        String artifact = rel.getName(n - 3).toString();
        if (PSEUDO_VERSION.matcher(version).matches()
            || !rel.getFileName().toString().equals(artifact + "-" + version + ".jar")) {
            // A pseudo-version, or a classifier jar (-tests, -sources): not the library itself.
            return;
        }
        String group = rel.subpath(0, n - 3).toString().replace(rel.getFileSystem().getSeparator(), ".");
        Coordinates c = Coordinates.of(Coordinates.SYSTEM_MAVEN_REPO, group, artifact, version);
        if (c == null) {
            return;
        }
        try {
            List<Coordinates> list = byJar.computeIfAbsent(link.toRealPath(), k -> new ArrayList<>(1));
            if (!list.contains(c) && list.size() < 16) {
                list.add(c);
            }
        } catch (IOException | SecurityException e) {
            // A dangling link: its package was removed; nothing to say about it.
        }
    }
}
