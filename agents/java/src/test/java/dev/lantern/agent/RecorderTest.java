package dev.lantern.agent;

import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.List;

/** The transformer side: never transforms, counts runtime classes, drops and counts when full, skips agent threads. */
public class RecorderTest {
    static ProtectionDomain pd(String url) throws Exception {
        return new ProtectionDomain(new CodeSource(new URL(url), (Certificate[]) null), null);
    }

    @Test
    public void recordsWithoutTransforming() throws Exception {
        LoadRecorder r = new LoadRecorder(10);
        ClassLoadObserver o = new ClassLoadObserver(r);
        o.warmUp();
        Check.equal(0L, r.seen(), "the warm-up leaves nothing behind");
        ClassLoader app = ClassLoader.getSystemClassLoader();
        Check.equal(null, o.transform(app, "com/example/A", null, pd("file:/srv/a.jar"), new byte[] {1}), "null");
        Check.equal(null, o.transform(null, "java/lang/Foo", null, null, new byte[] {1}), "bootstrap");
        o.transform(ClassLoader.getPlatformClassLoader(), "java/sql/Foo", null, pd("jrt:/java.sql"), null);
        o.transform(app, "jdk/proxy1/$Proxy3", null, new ProtectionDomain(null, null), null);
        o.transform(app, "com/example/B", String.class, pd("file:/srv/a.jar"), null);
        List<LoadEvent> events = r.drainAll();
        Check.equal(1, events.size(), "one class with a code source; a redefinition is not a load");
        Check.equal("com/example/A", events.get(0).internalName, "name");
        Check.equal("file:/srv/a.jar", events.get(0).location.toString(), "location");
        Check.equal(3L, r.runtimeClasses(), "bootstrap, platform and no code source are the runtime's");
    }

    @Test
    public void aFullQueueDropsAndCounts() throws Exception {
        LoadRecorder r = new LoadRecorder(100);
        ClassLoadObserver o = new ClassLoadObserver(r);
        ProtectionDomain d = pd("file:/srv/a.jar");
        for (int i = 0; i < 250; i++) {
            o.transform(ClassLoader.getSystemClassLoader(), "c/C" + i, null, d, null);
        }
        Check.equal(150L, r.dropped(), "dropped beyond capacity");
        Check.equal(100, r.drainAll().size(), "capacity kept");
        Check.equal(250L, r.seen(), "all seen");
        o.transform(ClassLoader.getSystemClassLoader(), "c/Again", null, d, null);
        Check.equal(1, r.drainAll().size(), "room again after a drain");
        r.close();
        o.transform(ClassLoader.getSystemClassLoader(), "c/AfterClose", null, d, null);
        Check.equal(0, r.drainAll().size(), "nothing is kept once the sender is gone");
    }

    @Test
    public void agentThreadsAreIgnored() throws Exception {
        LoadRecorder r = new LoadRecorder(100);
        ClassLoadObserver o = new ClassLoadObserver(r);
        ProtectionDomain d = pd("file:/srv/a.jar");
        Thread t = new Thread(() -> {
            ClassLoadObserver.markAgentThread();
            o.transform(ClassLoader.getSystemClassLoader(), "c/FromAgent", null, d, null);
            Thread child = new Thread(() -> o.transform(ClassLoader.getSystemClassLoader(), "c/FromChild", null, d, null));
            child.start();
            try {
                child.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        t.join();
        Thread selector = new Thread(() -> o.transform(null, "c/FromSelector", null, null, null));
        ClassLoadObserver.excludeThread(selector);
        selector.start();
        selector.join();
        Check.equal(0, r.drainAll().size(), "nothing from agent threads or their children");
        Check.equal(0L, r.runtimeClasses(), "nor counted");
    }

    @Test
    public void intakeCountsTheScanAndTheQueue() throws Exception {
        LoadRecorder r = new LoadRecorder(100);
        ArtifactCatalog c = new ArtifactCatalog(new RuntimeArtifact("openjdk", "17"));
        LoadIntake intake = new LoadIntake(r, c, new PresenceScanner(c));
        intake.initialScan(new Class<?>[] {String.class, RecorderTest.class, int.class, String[].class});
        Check.equal(1L, c.runtimeCount(), "String is the runtime's; int and String[] are skipped");
        Check.equal(1L, c.classCount(), "this test class is listed");
        r.record("x/Y", null, new URL("file:/srv/b.jar"));
        r.recordRuntime();
        Check.equal(2, intake.drain(), "two loads drained");
        Check.equal(2L, c.runtimeCount(), "runtime count grows");
        Check.notNull(c.get("/srv/b.jar"), "new artifact");
        Check.equal("x.Y", c.get("/srv/b.jar").classes.get(0), "dotted name");
    }
}
