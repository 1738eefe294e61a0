package dev.lantern.agent;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * Owns the rules that turn what a jar carries into coordinates, most trustworthy first:
 * every {@code META-INF/maven/**}{@code /pom.properties} (several mean a shaded jar: all are
 * reported), the system's Maven repository ({@link SystemMavenRepo}), the manifest's {@code Bundle-SymbolicName}/{@code Bundle-Version},
 * {@code Implementation-Title} (or {@code Extension-Name})/{@code -Version} (with
 * {@code -Vendor-Id} as group),
 * {@code Automatic-Module-Name}, and last a guess from the file name. Every source that says
 * something is reported; the appliance decides which to believe. The file-name guess is added
 * only when no other source gave a version, because file names lie (Debian's
 * {@code spring3-core-3.x.jar} holds 4.3.30).
 */
final class CoordinateResolver {
    private CoordinateResolver() {}

    static List<Coordinates> resolve(List<Properties> poms, Manifest manifest, String fileName) {
        return resolve(poms, Collections.emptyList(), manifest, fileName);
    }

    /** As above, with what the system's Maven repository says about the file ({@link SystemMavenRepo}). */
    static List<Coordinates> resolve(List<Properties> poms, List<Coordinates> systemRepo, Manifest manifest,
                                     String fileName) {
        List<Coordinates> out = new ArrayList<>();
        for (Properties p : poms) {
            add(out, Coordinates.of(Coordinates.POM_PROPERTIES, p.getProperty("groupId"),
                p.getProperty("artifactId"), p.getProperty("version")));
        }
        for (Coordinates c : systemRepo) {
            add(out, c);
        }
        if (manifest != null) {
            Attributes main = manifest.getMainAttributes();
            String bundle = main.getValue("Bundle-SymbolicName");
            if (bundle != null) {
                add(out, Coordinates.of(Coordinates.MANIFEST_BUNDLE, null, symbolicName(bundle),
                    main.getValue("Bundle-Version")));
            }
            String title = main.getValue("Implementation-Title");
            if (title == null) {
                // Bouncy Castle and other older jars name themselves only as an extension.
                title = main.getValue("Extension-Name");
            }
            if (title != null) {
                add(out, Coordinates.of(Coordinates.MANIFEST_IMPLEMENTATION, main.getValue("Implementation-Vendor-Id"),
                    title, main.getValue("Implementation-Version")));
            }
            String module = main.getValue("Automatic-Module-Name");
            if (module != null) {
                // A module name carries no version; the implementation or specification
                // version of the same manifest is the best the jar says about it.
                String version = main.getValue("Implementation-Version");
                if (version == null) {
                    version = main.getValue("Specification-Version");
                }
                add(out, Coordinates.of(Coordinates.MANIFEST_MODULE, null, module, version));
            }
        }
        boolean versioned = false;
        for (Coordinates c : out) {
            versioned |= c.version != null;
        }
        if (!versioned && fileName != null) {
            add(out, guess(fileName));
        }
        return out;
    }

    /** {@code org.example.bundle;singleton:=true} → {@code org.example.bundle}. */
    static String symbolicName(String header) {
        int semi = header.indexOf(';');
        return (semi >= 0 ? header.substring(0, semi) : header).trim();
    }

    /**
     * {@code guava-32.1.2-jre.jar} → guava 32.1.2-jre: the version starts at the first '-'
     * followed by a digit. {@code commons-io.jar} → commons-io without a version.
     */
    static Coordinates guess(String fileName) {
        String base = fileName;
        int slash = Math.max(base.lastIndexOf('/'), base.lastIndexOf('\\'));
        if (slash >= 0) {
            base = base.substring(slash + 1);
        }
        String lower = base.toLowerCase(Locale.ROOT);
        for (String ext : new String[] {".jar", ".war", ".ear", ".zip"}) {
            if (lower.endsWith(ext)) {
                base = base.substring(0, base.length() - ext.length());
                break;
            }
        }
        for (int i = 1; i + 1 < base.length(); i++) {
            if ((base.charAt(i) == '-' || base.charAt(i) == '_') && Character.isDigit(base.charAt(i + 1))) {
                return Coordinates.of(Coordinates.FILE_NAME_GUESS, null, base.substring(0, i), base.substring(i + 1));
            }
        }
        return Coordinates.of(Coordinates.FILE_NAME_GUESS, null, base, null);
    }

    private static void add(List<Coordinates> out, Coordinates c) {
        if (c != null && !out.contains(c) && out.size() < 64) {
            out.add(c);
        }
    }
}
