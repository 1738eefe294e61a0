package dev.lantern.agent;

import java.io.File;
import java.net.URL;
import java.nio.file.Files;

/** Code source URLs of every shape become one location key each. */
public class LocationTest {
    @Test
    public void fileJarsAndDirectories() throws Exception {
        Location jar = Location.ofUrl(new URL("file:/usr/share/java/commons-io.jar"));
        Check.equal("/usr/share/java/commons-io.jar", jar.key, "jar key");
        Check.equal(Location.Kind.JAR, jar.kind, "jar kind");
        Location dir = Location.ofUrl("file:/srv/app/WEB-INF/classes/");
        Check.equal("/srv/app/WEB-INF/classes", dir.key, "directory key without the slash");
        Check.equal(Location.Kind.DIRECTORY, dir.kind, "directory kind");
        Location plain = Location.ofUrl("jar:file:/usr/share/java/guava.jar!/");
        Check.equal("/usr/share/java/guava.jar", plain.key, "jar: URL of a plain jar");
        Check.equal(Location.Kind.JAR, plain.kind, "kind");
    }

    @Test
    public void escapedAndUnescapedSpaces() throws Exception {
        File dir = Files.createTempDirectory("lantern loc").toFile();
        File jar = new File(dir, "my lib.jar");
        Check.isTrue(jar.createNewFile(), "created");
        Check.equal(jar.getPath(), Location.ofUrl(jar.toURI().toURL()).key, "escaped");
        Check.equal(jar.getPath(), Location.ofUrl("file:" + jar.getPath()).key, "unescaped");
        Check.equal(jar.getPath(), Location.ofFile(jar).key, "from the class path");
        Location d = Location.ofUrl("file:" + dir.getPath());
        Check.equal(Location.Kind.DIRECTORY, d.kind, "a directory without a trailing slash");
        jar.delete();
        dir.delete();
    }

    @Test
    public void runtimeAndOpaque() {
        Check.equal(Location.RUNTIME, Location.ofUrl("jrt:/java.sql"), "jrt");
        Location vfs = Location.ofUrl("vfs:/content/app.war/WEB-INF/lib/x.jar");
        Check.equal("vfs:/content/app.war/WEB-INF/lib/x.jar", vfs.key, "opaque kept");
        Check.isTrue(!vfs.readable(), "not read");
        Check.equal(Location.Kind.JAR, vfs.kind, "by its name");
    }

    @Test
    public void springBootClassesDirectoryInsideTheJar() {
        Location l = Location.ofUrl("jar:file:/srv/app.jar!/BOOT-INF/classes!/");
        Check.equal("jar:file:/srv/app.jar!/BOOT-INF/classes", l.key, "key");
        Check.equal(Location.Kind.DIRECTORY, l.kind, "kind");
        Check.equal("/srv/app.jar", l.parent().key, "parent");
    }

    @Test
    public void percentDecoding() {
        Check.equal("a b+c/é", Location.decode("a%20b+c/%C3%A9"), "decoded");
        Check.equal("100%", Location.decode("100%"), "a lone percent stays");
    }
}
