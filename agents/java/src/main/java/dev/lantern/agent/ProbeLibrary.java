package dev.lantern.agent;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.function.BiFunction;
import java.util.jar.JarFile;

/**
 * Owns setting up what probes need besides the agent's own classes: the hook jar appended to the
 * bootstrap class path (so classes of every loader can call it; JDK 17 then prints a
 * class-data-sharing notice, see the README) and the weaver in its {@link IsolatedLoader}.
 */
final class ProbeLibrary {
    static final String HOOK_JAR = "/lantern-lib/hook.jar";
    static final String[] WEAVER_JARS = {"/lantern-lib/asm.jar", "/lantern-lib/asm-tree.jar", "/lantern-lib/weaver.jar"};

    private ProbeLibrary() {}

    /**
     * Copies the hook jar to a temporary file (the JVM wants a real file) and appends it to the
     * bootstrap search. The file is deleted at exit.
     */
    static void installHook(Instrumentation inst) throws IOException {
        File f = Files.createTempFile("lantern-hook", ".jar").toFile();
        f.deleteOnExit();
        try (InputStream in = ProbeLibrary.class.getResourceAsStream(HOOK_JAR)) {
            if (in == null) {
                throw new IOException("the agent jar lacks " + HOOK_JAR);
            }
            Files.copy(in, f.toPath(), StandardCopyOption.REPLACE_EXISTING);
        }
        inst.appendToBootstrapClassLoaderSearch(new JarFile(f));
    }

    /** The weaver, loaded with its ASM in a private loader. */
    @SuppressWarnings("unchecked")
    static BiFunction<byte[], String[], Object[]> weaver(IsolatedLoader loader) throws ReflectiveOperationException {
        Class<?> c = Class.forName("dev.lantern.weave.Weaver", true, loader);
        return (BiFunction<byte[], String[], Object[]>) c.getDeclaredConstructor().newInstance();
    }
}
