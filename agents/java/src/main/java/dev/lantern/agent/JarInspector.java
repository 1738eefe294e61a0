package dev.lantern.agent;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Properties;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;

/**
 * Owns reading jars: hashing a jar file or a jar inside a jar, and collecting its
 * {@code pom.properties} files, manifest and nested jar names for {@link CoordinateResolver}.
 * Runs on the sender thread only; a jar that cannot be read yields what could be learnt (often
 * just the file-name guess) instead of an error.
 */
final class JarInspector {
    /** Nested jars are read into no more memory than this per pom.properties / manifest. */
    private static final int MAX_SMALL_ENTRY = 1 << 20;
    private static final String[] NESTED_LIB_DIRS = {"BOOT-INF/lib/", "WEB-INF/lib/", "WEB-INF/lib-provided/"};

    private JarInspector() {}

    /** Reads a jar (or war) file on disk. */
    static ArtifactInfo inspectFile(File file) {
        String sha = null;
        try {
            sha = sha256(file);
        } catch (IOException e) {
            // Unreadable (permissions, deleted after load): report without a hash.
        }
        List<Properties> poms = new ArrayList<>();
        Manifest manifest = null;
        List<String> nested = new ArrayList<>();
        try (JarFile jar = new JarFile(file, false)) {
            manifest = jar.getManifest();
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                String name = e.getName();
                if (isPomProperties(name)) {
                    try (InputStream in = jar.getInputStream(e)) {
                        Properties p = loadProperties(in);
                        if (p != null) {
                            poms.add(p);
                        }
                    }
                } else if (isNestedLib(name)) {
                    nested.add(name);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not a zip, or a damaged one: coordinates from the file name only.
        }
        List<Coordinates> systemRepo = SystemMavenRepo.system().coordinatesOf(file.toPath());
        return new ArtifactInfo(sha, CoordinateResolver.resolve(poms, systemRepo, manifest, file.getName()),
            Collections.unmodifiableList(nested));
    }

    /** Reads the jar at {@code entry} inside the jar {@code outer}, as a stream (nothing is unpacked to disk). */
    static ArtifactInfo inspectNested(JarFile outer, String entry) {
        ZipEntry ze = outer.getEntry(entry);
        String fileName = entry.substring(entry.lastIndexOf('/') + 1);
        if (ze == null || ze.isDirectory()) {
            return new ArtifactInfo(null, CoordinateResolver.resolve(Collections.emptyList(), null, fileName),
                Collections.emptyList());
        }
        try (InputStream raw = outer.getInputStream(ze)) {
            return inspectStream(raw, fileName);
        } catch (IOException | RuntimeException e) {
            return new ArtifactInfo(null, CoordinateResolver.resolve(Collections.emptyList(), null, fileName),
                Collections.emptyList());
        }
    }

    /** Hashes and reads a jar given as a stream; the stream is read to its end. */
    static ArtifactInfo inspectStream(InputStream raw, String fileName) throws IOException {
        MessageDigest digest = newDigest();
        DigestInputStream in = new DigestInputStream(raw, digest);
        List<Properties> poms = new ArrayList<>();
        Manifest manifest;
        // Not closed on purpose: closing would close the caller's stream before it is drained.
        JarInputStream jar = new JarInputStream(in, false);
        manifest = jar.getManifest();
        JarEntry e;
        while ((e = jar.getNextJarEntry()) != null) {
            String name = e.getName();
            if (isPomProperties(name)) {
                Properties p = loadProperties(new BoundedStream(jar, MAX_SMALL_ENTRY));
                if (p != null) {
                    poms.add(p);
                }
            } else if (manifest == null && name.equalsIgnoreCase(JarFile.MANIFEST_NAME)) {
                // The manifest was not among the first entries, so JarInputStream missed it.
                manifest = new Manifest(new BoundedStream(jar, MAX_SMALL_ENTRY));
            }
        }
        // The central directory follows the last entry: hash it too.
        byte[] buf = new byte[64 * 1024];
        while (in.read(buf) >= 0) {
            // drain
        }
        return new ArtifactInfo(hex(digest.digest()), CoordinateResolver.resolve(poms, manifest, fileName),
            Collections.emptyList());
    }

    static String sha256(File file) throws IOException {
        MessageDigest digest = newDigest();
        try (InputStream in = java.nio.file.Files.newInputStream(file.toPath())) {
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                digest.update(buf, 0, n);
            }
        }
        return hex(digest.digest());
    }

    static boolean isPomProperties(String name) {
        return name.startsWith("META-INF/maven/") && name.endsWith("/pom.properties");
    }

    static boolean isNestedLib(String name) {
        if (!name.toLowerCase(java.util.Locale.ROOT).endsWith(".jar")) {
            return false;
        }
        for (String dir : NESTED_LIB_DIRS) {
            if (name.startsWith(dir) && name.indexOf('/', dir.length()) < 0) {
                return true;
            }
        }
        return false;
    }

    private static Properties loadProperties(InputStream in) {
        try {
            Properties p = new Properties();
            p.load(new BoundedStream(in, MAX_SMALL_ENTRY));
            return p;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] bytes) {
        char[] digits = "0123456789abcdef".toCharArray();
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = digits[(bytes[i] >> 4) & 0xf];
            out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        return new String(out);
    }

    /** Reads at most {@code limit} bytes of a stream and never closes it, so a hostile entry cannot exhaust memory. */
    private static final class BoundedStream extends InputStream {
        private final InputStream in;
        private long left;

        BoundedStream(InputStream in, long limit) {
            this.in = in;
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public void close() {
            // The underlying stream belongs to the caller.
        }
    }
}
