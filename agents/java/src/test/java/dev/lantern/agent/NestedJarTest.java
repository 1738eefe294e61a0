package dev.lantern.agent;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;

/**
 * Fat jars: a Spring Boot style jar built here around a real Debian jar under BOOT-INF/lib/, read
 * as a stream (hash of the nested bytes, coordinates from its own pom.properties), and found as
 * present from the class path.
 */
public class NestedJarTest {
    static final String INNER = "/usr/share/java/commons-io.jar";

    /** The bytes of the jar to nest: the real Debian jar when installed, else one made here. */
    static byte[] innerJar() throws Exception {
        File real = new File(INNER);
        if (real.isFile()) {
            return Files.readAllBytes(real.toPath());
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(bytes)) {
            out.putNextEntry(new JarEntry("META-INF/maven/commons-io/commons-io/pom.properties"));
            out.write("groupId=commons-io\nartifactId=commons-io\nversion=2.11.0\n".getBytes("UTF-8"));
            out.closeEntry();
        }
        return bytes.toByteArray();
    }

    static File fatJar(File dir, byte[] inner, boolean stored) throws Exception {
        File fat = new File(dir, "app with space.jar");
        try (JarOutputStream out = new JarOutputStream(new FileOutputStream(fat))) {
            out.putNextEntry(new JarEntry("BOOT-INF/classes/com/example/App.class"));
            out.write(new byte[] {(byte) 0xca, (byte) 0xfe, (byte) 0xba, (byte) 0xbe});
            out.closeEntry();
            JarEntry e = new JarEntry("BOOT-INF/lib/commons-io-2.11.0.jar");
            if (stored) {
                // Spring Boot stores nested jars uncompressed; both shapes must read.
                CRC32 crc = new CRC32();
                crc.update(inner);
                e.setMethod(ZipEntry.STORED);
                e.setSize(inner.length);
                e.setCompressedSize(inner.length);
                e.setCrc(crc.getValue());
            }
            out.putNextEntry(e);
            out.write(inner);
            out.closeEntry();
        }
        return fat;
    }

    @Test
    public void nestedJarIsHashedAndReadFromTheStream() throws Exception {
        for (boolean stored : new boolean[] {true, false}) {
            File dir = Files.createTempDirectory("lantern-fat").toFile();
            byte[] inner = innerJar();
            File fat = fatJar(dir, inner, stored);

            ArtifactInfo outer = JarInspector.inspectFile(fat);
            Check.equal(List.of("BOOT-INF/lib/commons-io-2.11.0.jar"), outer.nestedJars, "nested jars listed");

            ArtifactCatalog catalog = new ArtifactCatalog(new RuntimeArtifact("openjdk", "17.0.15"));
            PresenceScanner presence = new PresenceScanner(catalog);
            presence.classPath(fat.getPath());
            List<ArtifactCatalog.Tracked> read = catalog.resolvePending();
            presence.nested(read);
            catalog.resolvePending();

            String key = "jar:file:" + fat.getPath() + "!/BOOT-INF/lib/commons-io-2.11.0.jar";
            ArtifactCatalog.Tracked nested = catalog.get(key);
            Check.notNull(nested, "nested jar declared present as " + key);
            Check.equal(Location.Kind.NESTED_JAR, nested.location.kind, "kind");
            Check.equal(JarInspector.hex(MessageDigest.getInstance("SHA-256").digest(inner)), nested.info.sha256,
                "sha256 of the nested bytes (stored=" + stored + ")");
            Coordinates pom = CoordinatesTest.find(nested.info.coordinates, Coordinates.POM_PROPERTIES, "commons-io");
            Check.notNull(pom, "coordinates from the nested pom.properties: " + nested.info.coordinates);
            Check.equal("2.11.0", pom.version, "version");

            // The loader's URL shapes for the same nested jar all land on that one artifact.
            String path = fat.toURI().getRawPath();
            for (String url : new String[] {
                "jar:file:" + path + "!/BOOT-INF/lib/commons-io-2.11.0.jar!/",
                "nested:" + path + "/!BOOT-INF/lib/commons-io-2.11.0.jar",
                "jar:nested:" + path + "/!BOOT-INF/lib/commons-io-2.11.0.jar!/"}) {
                Check.equal(key, Location.ofUrl(url).key, "location of " + url);
            }
            Check.isTrue(catalog.loaded(Location.ofUrl("jar:file:" + path + "!/BOOT-INF/lib/commons-io-2.11.0.jar!/"),
                "org.apache.commons.io.IOUtils") == null, "already known: not new");
            Check.equal(1, nested.classes.size(), "the load went to the declared artifact");

            // Frames: the outer jar is declared before the nested one, which names it as parent.
            String frame = catalog.frames(Limits.V1, true, 1).get(0);
            java.util.Map<?, ?> m = (java.util.Map<?, ?>) Json.parse(frame);
            long outerRef = -1;
            boolean sawNested = false;
            for (Object a : (List<?>) m.get("artifacts")) {
                java.util.Map<?, ?> art = (java.util.Map<?, ?>) a;
                if (art.get("location").equals(fat.getPath())) {
                    outerRef = (Long) art.get("ref");
                    Check.equal("jar", art.get("kind"), "outer kind");
                }
                if (art.get("location").equals(key)) {
                    sawNested = true;
                    Check.equal("nested_jar", art.get("kind"), "nested kind");
                    Check.equal(outerRef, art.get("parent"), "parent ref");
                }
            }
            Check.isTrue(sawNested && outerRef >= 0, "both declared: " + frame);
            for (File f : dir.listFiles()) {
                f.delete();
            }
            dir.delete();
        }
    }

    @Test
    public void warInsideTomcatUrls() {
        Location l = Location.ofUrl("war:file:/srv/tomcat/webapps/shop.war*/WEB-INF/lib/x-1.0.jar");
        Check.equal("jar:file:/srv/tomcat/webapps/shop.war!/WEB-INF/lib/x-1.0.jar", l.key, "war: URL");
        Check.equal(Location.Kind.NESTED_JAR, l.kind, "kind");
        Check.equal("/srv/tomcat/webapps/shop.war", l.parent().key, "parent");
        Location j = Location.ofUrl("jar:war:file:/srv/tomcat/webapps/shop.war*/WEB-INF/lib/x-1.0.jar!/");
        Check.equal(l.key, j.key, "jar:war: URL");
        Location old = Location.ofUrl("war:file:/srv/a.war^/WEB-INF/lib/y.jar");
        Check.equal("jar:file:/srv/a.war!/WEB-INF/lib/y.jar", old.key, "older ^/ separator");
    }
}
