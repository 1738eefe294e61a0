package dev.lantern.agent;

import java.util.Objects;

/**
 * Owns one identity an artifact claims (protocol: {@code coordinates}): where it was found
 * ({@code source}), an optional group, a name and an optional version. Values are cleaned on
 * construction so that nothing the appliance would refuse is ever built.
 */
final class Coordinates {
    static final String POM_PROPERTIES = "pom_properties";
    static final String SYSTEM_MAVEN_REPO = "system_maven_repo";
    static final String MANIFEST_BUNDLE = "manifest_bundle";
    static final String MANIFEST_IMPLEMENTATION = "manifest_implementation";
    static final String MANIFEST_MODULE = "manifest_module";
    static final String RUNTIME = "runtime";
    static final String FILE_NAME_GUESS = "file_name_guess";

    static final int MAX_BYTES = 1024;

    final String source;
    final String group;
    final String name;
    final String version;

    private Coordinates(String source, String group, String name, String version) {
        this.source = source;
        this.group = group;
        this.name = name;
        this.version = version;
    }

    /** Null when {@code name} is unusable; an unusable group or version is left out. */
    static Coordinates of(String source, String group, String name, String version) {
        String n = clean(name);
        if (n == null) {
            return null;
        }
        return new Coordinates(source, clean(group), n, clean(version));
    }

    private static String clean(String s) {
        if (s == null) {
            return null;
        }
        String t = s.trim();
        return Utf8.nameOk(t, MAX_BYTES) ? t : null;
    }

    void appendJson(StringBuilder b) {
        b.append("{\"source\":");
        Json.string(b, source);
        if (group != null) {
            b.append(",\"group\":");
            Json.string(b, group);
        }
        b.append(",\"name\":");
        Json.string(b, name);
        if (version != null) {
            b.append(",\"version\":");
            Json.string(b, version);
        }
        b.append('}');
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Coordinates)) {
            return false;
        }
        Coordinates c = (Coordinates) o;
        return source.equals(c.source) && Objects.equals(group, c.group) && name.equals(c.name)
            && Objects.equals(version, c.version);
    }

    @Override
    public int hashCode() {
        return Objects.hash(source, group, name, version);
    }

    @Override
    public String toString() {
        return source + ":" + (group == null ? "" : group + ":") + name + (version == null ? "" : ":" + version);
    }
}
