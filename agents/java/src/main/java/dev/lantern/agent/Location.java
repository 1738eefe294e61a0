package dev.lantern.agent;

import java.io.File;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.util.Locale;

/**
 * Owns the meaning of a code source location: which artifact a URL from a
 * {@code ProtectionDomain} (or a class path entry) stands for. One location has one normalised
 * {@link #key}, whatever URL shape it arrived in, so that a jar declared as "present" from the
 * class path and the same jar seen later as {@code jar:file:...!/} are one artifact.
 *
 * <p>Shapes understood: {@code file:} jars and directories; {@code jar:file:/a.jar!/} (a plain
 * jar); {@code jar:file:/app.jar!/BOOT-INF/lib/x.jar!/} and Spring Boot 3.2's
 * {@code nested:/app.jar/!BOOT-INF/lib/x.jar} (nested jars, reported as
 * {@code jar:file:/app.jar!/BOOT-INF/lib/x.jar}); Tomcat's packed-war URLs
 * {@code war:file:/a.war*}{@code /WEB-INF/lib/x.jar}; {@code jrt:} (the runtime). Anything else is
 * kept as an opaque location that is reported but not read.
 */
final class Location {
    enum Kind {
        JAR("jar"), NESTED_JAR("nested_jar"), DIRECTORY("directory"), RUNTIME("runtime");

        final String wire;

        Kind(String wire) {
            this.wire = wire;
        }
    }

    /** The location as reported: a path, {@code jar:file:/outer!/entry}, or the URL itself. */
    final String key;
    final Kind kind;
    /** The file or directory on disk (for nested locations: the outer jar); null when opaque. */
    final File file;
    /** The entry inside {@link #file} for nested locations; null otherwise. */
    final String entry;

    private Location(String key, Kind kind, File file, String entry) {
        this.key = key;
        this.kind = kind;
        this.file = file;
        this.entry = entry;
    }

    static final Location RUNTIME = new Location("jrt:/", Kind.RUNTIME, null, null);

    /** A jar or directory on disk; the kind is decided by what is there (a missing path counts as a jar). */
    static Location ofFile(File f) {
        File abs = f.getAbsoluteFile();
        String path = stripSlash(abs.getPath());
        return new Location(path, abs.isDirectory() ? Kind.DIRECTORY : Kind.JAR, new File(path), null);
    }

    /** A jar inside the jar {@code outer}. */
    static Location nested(File outer, String entry) {
        String path = stripSlash(outer.getAbsoluteFile().getPath());
        String e = stripSlash(entry.startsWith("/") ? entry.substring(1) : entry);
        Kind kind = e.toLowerCase(Locale.ROOT).endsWith(".jar") ? Kind.NESTED_JAR : Kind.DIRECTORY;
        return new Location("jar:file:" + path + "!/" + e, kind, new File(path), e);
    }

    /** The outer jar of a nested location, or null. */
    Location parent() {
        return entry == null ? null : ofFile(file);
    }

    boolean readable() {
        return file != null && kind != Kind.RUNTIME;
    }

    /** Interprets a code source URL; {@link #RUNTIME} for {@code jrt:}; never throws. */
    static Location ofUrl(URL url) {
        return ofUrl(url.toString());
    }

    static Location ofUrl(String url) {
        String u = url;
        String lower = u.toLowerCase(Locale.ROOT);
        if (lower.startsWith("jrt:")) {
            return RUNTIME;
        }
        if (lower.startsWith("jar:")) {
            u = u.substring(4);
            if (u.endsWith("!/")) {
                u = u.substring(0, u.length() - 2);
            }
            lower = u.toLowerCase(Locale.ROOT);
        }
        if (lower.startsWith("nested:")) {
            // Spring Boot 3.2+: nested:/path/app.jar/!BOOT-INF/lib/x.jar
            String rest = u.substring("nested:".length());
            int sep = rest.indexOf("/!");
            if (sep > 0) {
                File outer = fileOf("file:" + rest.substring(0, sep));
                if (outer != null) {
                    return nested(outer, decode(rest.substring(sep + 2)));
                }
            }
            return opaque(url);
        }
        if (lower.startsWith("war:")) {
            // Tomcat's packed war: war:file:/a.war*/WEB-INF/lib/x.jar (older: ^/ as separator).
            String rest = u.substring("war:".length());
            int sep = rest.indexOf("*/");
            if (sep < 0) {
                sep = rest.indexOf("^/");
            }
            if (sep > 0) {
                File outer = fileOf(rest.substring(0, sep));
                if (outer != null) {
                    return nested(outer, decode(rest.substring(sep + 2)));
                }
            }
            return opaque(url);
        }
        if (lower.startsWith("file:")) {
            int bang = u.indexOf("!/");
            if (bang > 0) {
                File outer = fileOf(u.substring(0, bang));
                String entry = u.substring(bang + 2);
                if (entry.endsWith("!/")) {
                    entry = entry.substring(0, entry.length() - 2);
                }
                if (outer != null && !entry.isEmpty()) {
                    return nested(outer, decode(entry));
                }
                return outer == null ? opaque(url) : ofFile(outer);
            }
            boolean dir = u.endsWith("/");
            File f = fileOf(u);
            if (f == null) {
                return opaque(url);
            }
            String path = stripSlash(f.getAbsolutePath());
            return new Location(path, dir || f.isDirectory() ? Kind.DIRECTORY : Kind.JAR, new File(path), null);
        }
        return opaque(url);
    }

    private static Location opaque(String url) {
        String trimmed = url.endsWith("!/") ? url.substring(0, url.length() - 2) : url;
        Kind kind = trimmed.toLowerCase(Locale.ROOT).endsWith(".jar") ? Kind.JAR : Kind.DIRECTORY;
        return new Location(trimmed, kind, null, null);
    }

    /** The file a {@code file:} URL names, tolerating the unescaped spaces some loaders produce. */
    private static File fileOf(String fileUrl) {
        try {
            return new File(new URI(fileUrl));
        } catch (URISyntaxException | IllegalArgumentException e) {
            String lower = fileUrl.toLowerCase(Locale.ROOT);
            if (!lower.startsWith("file:")) {
                return null;
            }
            String path = fileUrl.substring(5);
            while (path.startsWith("//")) {
                path = path.substring(1);
            }
            return new File(decode(path));
        }
    }

    /** Percent-decoding of a path (not form decoding: '+' stays '+'). */
    static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi * 16 + lo);
                    i += 3;
                    continue;
                }
            }
            int cp = s.codePointAt(i);
            byte[] bytes = new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.write(bytes, 0, bytes.length);
            i += Character.charCount(cp);
        }
        return new String(out.toByteArray(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String stripSlash(String s) {
        while (s.length() > 1 && (s.endsWith("/") || s.endsWith(File.separator))) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    @Override
    public String toString() {
        return key;
    }
}
