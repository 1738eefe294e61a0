package dev.lantern.agent;

import java.io.File;
import java.io.FileOutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Coordinates and hashes of real Debian 12 jars, checked against the measured fixture rows:
 * pom.properties jars, manifest-only jars (Tomcat, Bouncy Castle), a shaded jar, and the
 * file-name guess.
 */
public class CoordinatesTest {
    static Coordinates find(List<Coordinates> cs, String source, String name) {
        for (Coordinates c : cs) {
            if (c.source.equals(source) && (name == null || c.name.equals(name))) {
                return c;
            }
        }
        return null;
    }

    static List<Coordinates> all(List<Coordinates> cs, String source) {
        List<Coordinates> out = new ArrayList<>();
        for (Coordinates c : cs) {
            if (c.source.equals(source)) {
                out.add(c);
            }
        }
        return out;
    }

    /** The hash must be the measured one unless the installed package is another build. */
    static void checkHash(DebianJars.Row row, ArtifactInfo info) throws Exception {
        String independent = JarInspector.hex(java.security.MessageDigest.getInstance("SHA-256")
            .digest(Files.readAllBytes(row.file().toPath())));
        Check.equal(independent, info.sha256, "sha256 of " + row.path);
        if (row.file().length() == Long.parseLong(readBytesColumn(row))) {
            Check.equal(row.sha256, info.sha256, "sha256 as measured in the fixture for " + row.path);
        }
    }

    private static String readBytesColumn(DebianJars.Row row) throws Exception {
        // The fixture's size column, looked up again to keep Row small.
        for (String line : new String(DebianJars.class.getResourceAsStream("/debian-bookworm-java-jars.tsv")
            .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            String[] f = line.split("\t");
            if (f.length > 4 && f[2].equals(row.path)) {
                return f[4];
            }
        }
        return "-1";
    }

    @Test
    public void pomPropertiesJarCommonsCompress() throws Exception {
        DebianJars.Row row = DebianJars.require("/usr/share/java/commons-compress.jar");
        ArtifactInfo info = JarInspector.inspectFile(row.file());
        Coordinates pom = find(info.coordinates, Coordinates.POM_PROPERTIES, "commons-compress");
        Check.notNull(pom, "pom_properties coordinates in " + info.coordinates);
        Check.equal("org.apache.commons", pom.group, "group");
        Check.equal("1.22", pom.version, "version");
        Check.equal(Coordinates.POM_PROPERTIES, info.coordinates.get(0).source, "pom.properties comes first");
        Coordinates bundle = find(info.coordinates, Coordinates.MANIFEST_BUNDLE, null);
        Check.equal("org.apache.commons.compress", bundle.name, "bundle also reported");
        checkHash(row, info);
    }

    @Test
    public void manifestOnlyJarTomcatCatalina() throws Exception {
        DebianJars.Row row = DebianJars.require("/usr/share/java/tomcat10-catalina-10.1.60.jar");
        ArtifactInfo info = JarInspector.inspectFile(row.file());
        Check.equal(0, all(info.coordinates, Coordinates.POM_PROPERTIES).size(), "Tomcat ships no pom.properties");
        Coordinates bundle = find(info.coordinates, Coordinates.MANIFEST_BUNDLE, null);
        Check.notNull(bundle, "manifest_bundle in " + info.coordinates);
        Check.equal("org.apache.tomcat-catalina", bundle.name, "Bundle-SymbolicName");
        Check.equal("10.1.60", bundle.version, "Bundle-Version");
        Check.equal(null, find(info.coordinates, Coordinates.FILE_NAME_GUESS, null), "no guess when versioned");
        checkHash(row, info);
    }

    @Test
    public void tomcatLibSymlinkReadsTheSameJar() throws Exception {
        File link = new File("/usr/share/tomcat10/lib/catalina.jar");
        if (!link.isFile()) {
            Check.skip("tomcat10 is not installed");
        }
        ArtifactInfo info = JarInspector.inspectFile(link);
        Coordinates bundle = find(info.coordinates, Coordinates.MANIFEST_BUNDLE, null);
        Check.equal("org.apache.tomcat-catalina", bundle.name, "Bundle-SymbolicName");
        Check.isTrue(bundle.version.startsWith("10.1."), "Tomcat 10.1 version, got " + bundle.version);
    }

    @Test
    public void manifestOnlyJarBouncyCastle() throws Exception {
        DebianJars.Row row = DebianJars.require("/usr/share/java/bcprov-1.72.jar");
        ArtifactInfo info = JarInspector.inspectFile(row.file());
        Coordinates impl = find(info.coordinates, Coordinates.MANIFEST_IMPLEMENTATION, null);
        Check.notNull(impl, "manifest_implementation in " + info.coordinates);
        Check.equal("org.bouncycastle", impl.group, "Implementation-Vendor-Id");
        Check.equal("1.72.0", impl.version, "Implementation-Version");
        Coordinates module = find(info.coordinates, Coordinates.MANIFEST_MODULE, null);
        Check.equal("org.bouncycastle.provider", module.name, "Automatic-Module-Name");
        checkHash(row, info);
    }

    @Test
    public void shadedJarReportsEveryPomProperties() throws Exception {
        DebianJars.Row row = DebianJars.require("/usr/share/java/maven3-slf4j-provider.jar");
        Check.isTrue(row.pomGavs.size() >= 2, "the fixture row is a shaded jar");
        ArtifactInfo info = JarInspector.inspectFile(row.file());
        List<String> got = new ArrayList<>();
        for (Coordinates c : all(info.coordinates, Coordinates.POM_PROPERTIES)) {
            got.add(c.group + ":" + c.name + ":" + c.version);
        }
        java.util.Collections.sort(got);
        List<String> expected = new ArrayList<>(row.pomGavs);
        java.util.Collections.sort(expected);
        Check.equal(expected, got, "all pom.properties of the shaded jar");
    }

    /** Every fixture row present here: pom GAVs, bundle name, implementation version, hash. */
    @Test
    public void everyPresentFixtureRow() throws Exception {
        List<DebianJars.Row> rows = DebianJars.present();
        if (rows.isEmpty()) {
            Check.skip("none of the fixture jars is installed");
        }
        for (DebianJars.Row row : rows) {
            ArtifactInfo info = JarInspector.inspectFile(row.file());
            for (String gav : row.pomGavs) {
                String[] p = gav.split(":");
                Coordinates c = find(info.coordinates, Coordinates.POM_PROPERTIES, p[1]);
                Check.notNull(c, row + ": pom_properties " + gav + " in " + info.coordinates);
                Check.equal(p[0], c.group, row + " group");
                Check.equal(p[2], c.version, row + " version");
            }
            if (row.bundleSymbolicName != null) {
                Coordinates b = find(info.coordinates, Coordinates.MANIFEST_BUNDLE, null);
                Check.notNull(b, row + ": manifest_bundle");
                Check.equal(row.bundleSymbolicName, b.name, row + " Bundle-SymbolicName");
                Check.notNull(b.version, row + " Bundle-Version");
                if (row.debPackage.startsWith("libtomcat")) {
                    Check.equal(row.debianVersion(), b.version, row + " Tomcat's Bundle-Version is its release");
                }
            }
            if (row.implementationVersion != null) {
                boolean found = false;
                for (Coordinates c : info.coordinates) {
                    found |= c.source.startsWith("manifest_") && row.implementationVersion.equals(c.version);
                }
                Check.isTrue(found, row + ": Implementation-Version " + row.implementationVersion + " in "
                    + info.coordinates);
            }
            Check.isTrue(!info.coordinates.isEmpty(), row + ": some coordinates");
            checkHash(row, info);
        }
    }

    /**
     * Every present fixture jar with a Debian maven-repo GAV gets it as {@code system_maven_repo}:
     * 78 of them have no pom.properties, so this is their only Maven identity.
     */
    @Test
    public void systemMavenRepoGivesDebiansGav() throws Exception {
        if (!java.nio.file.Files.isDirectory(SystemMavenRepo.DEFAULT_ROOT)) {
            Check.skip("no /usr/share/maven-repo here");
        }
        int checked = 0;
        for (DebianJars.Row row : DebianJars.present()) {
            if (row.debianGav == null) {
                continue;
            }
            ArtifactInfo info = JarInspector.inspectFile(row.file());
            String[] p = row.debianGav.split(":");
            Coordinates c = find(info.coordinates, Coordinates.SYSTEM_MAVEN_REPO, p[1]);
            Check.notNull(c, row + ": system_maven_repo " + row.debianGav + " in " + info.coordinates);
            Check.equal(p[0], c.group, row + " group");
            Check.equal(p[2], c.version, row + " version");
            checked++;
        }
        DebianJars.Row log4j = DebianJars.require("/usr/share/java/log4j-1.2-1.2.17.jar");
        Check.isTrue(log4j.pomGavs.isEmpty(), "log4j 1.2 carries no pom.properties");
        Check.isTrue(checked > 0, "some fixture jar was checked");
    }

    /** Pseudo-versions and classifier jars name no release; dangling links name nothing. */
    @Test
    public void systemMavenRepoLayoutRules() throws Exception {
        java.nio.file.Path root = Files.createTempDirectory("lantern-repo");
        java.nio.file.Path lib = Files.createTempDirectory("lantern-lib").resolve("thing.jar");
        Files.write(lib, new byte[] {1});
        link(root, "org/example/thing/2.5/thing-2.5.jar", lib);
        link(root, "org/example/thing/2.x/thing-2.x.jar", lib);
        link(root, "org/example/thing/debian/thing-debian.jar", lib);
        link(root, "org/example/thing/2.5/thing-2.5-tests.jar", lib);
        link(root, "org/example/gone/1.0/gone-1.0.jar", root.resolve("missing.jar"));
        List<Coordinates> got = SystemMavenRepo.read(root).coordinatesOf(lib);
        Check.equal(1, got.size(), "only the real release: " + got);
        Check.equal("system_maven_repo:org.example:thing:2.5", got.get(0).toString(), "GAV from the path");
        Check.equal(0, SystemMavenRepo.read(root.resolve("nowhere")).coordinatesOf(lib).size(), "no repository");
    }

    private static void link(java.nio.file.Path root, String rel, java.nio.file.Path target) throws Exception {
        java.nio.file.Path l = root.resolve(rel);
        Files.createDirectories(l.getParent());
        Files.createSymbolicLink(l, target);
    }

    @Test
    public void fileNameGuesses() {
        check(CoordinateResolver.guess("guava-32.1.2-jre.jar"), "guava", "32.1.2-jre");
        check(CoordinateResolver.guess("/srv/app/WEB-INF/lib/jackson-core-2.15.2.jar"), "jackson-core", "2.15.2");
        check(CoordinateResolver.guess("tomcat10-catalina-10.1.60.jar"), "tomcat10-catalina", "10.1.60");
        check(CoordinateResolver.guess("spring3-core-3.x.jar"), "spring3-core", "3.x");
        check(CoordinateResolver.guess("commons-io.jar"), "commons-io", null);
        check(CoordinateResolver.guess("Foo_1.0.JAR"), "Foo", "1.0");
        Check.equal(Coordinates.FILE_NAME_GUESS, CoordinateResolver.guess("x-1.jar").source, "source");
    }

    private static void check(Coordinates c, String name, String version) {
        Check.equal(name, c.name, "guessed name");
        Check.equal(version, c.version, "guessed version of " + name);
    }

    @Test
    public void aJarWithoutMetadataIsOnlyGuessed() throws Exception {
        File dir = Files.createTempDirectory("lantern-guess").toFile();
        File jar = new File(dir, "mystery-lib-4.2.0-rc1.jar");
        try (JarOutputStream out = new JarOutputStream(new FileOutputStream(jar))) {
            out.putNextEntry(new JarEntry("com/example/Mystery.class"));
            out.write(new byte[] {(byte) 0xca, (byte) 0xfe});
            out.closeEntry();
        }
        ArtifactInfo info = JarInspector.inspectFile(jar);
        Check.equal(1, info.coordinates.size(), "one coordinate: " + info.coordinates);
        Check.equal("file_name_guess:mystery-lib:4.2.0-rc1", info.coordinates.get(0).toString(), "the guess");
        Check.notNull(info.sha256, "still hashed");
        jar.delete();
        dir.delete();
    }

    @Test
    public void bundleSymbolicNameParametersAreStripped() {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-SymbolicName", "org.eclipse.jdt.core; singleton:=true");
        a.putValue("Bundle-Version", "3.32.0.v20221108-1853");
        a.putValue("Automatic-Module-Name", "org.eclipse.jdt.core");
        List<Coordinates> cs = CoordinateResolver.resolve(new ArrayList<>(), mf, "ecj.jar");
        Check.equal("manifest_bundle:org.eclipse.jdt.core:3.32.0.v20221108-1853", cs.get(0).toString(), "bundle");
        Check.equal("manifest_module:org.eclipse.jdt.core", cs.get(1).toString(), "module without a version");
        Check.equal(2, cs.size(), "no guess when the bundle has a version: " + cs);
    }
}
