package dev.lantern.agent;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;

/**
 * Owns the private class loader of the agent's bytecode library: the ASM jars and the weaver
 * that the build nests in the agent jar under {@code lantern-lib/}. Its parent is the platform
 * loader, so neither the application's classes nor an ASM the application brings can be seen
 * from here, and the application never sees ours. Classes are defined from memory: nothing is
 * written to disk.
 */
final class IsolatedLoader extends ClassLoader {
    static {
        registerAsParallelCapable();
    }

    private final Map<String, byte[]> classes;

    private IsolatedLoader(Map<String, byte[]> classes) {
        super("lantern-probes", ClassLoader.getPlatformClassLoader());
        this.classes = classes;
    }

    /** Reads the nested jars named (resources of the agent jar); fails when one is missing. */
    static IsolatedLoader of(String... resources) throws IOException {
        Map<String, byte[]> classes = new HashMap<>();
        for (String r : resources) {
            try (InputStream in = IsolatedLoader.class.getResourceAsStream(r)) {
                if (in == null) {
                    throw new IOException("the agent jar lacks " + r);
                }
                try (JarInputStream jar = new JarInputStream(in)) {
                    JarEntry e;
                    while ((e = jar.getNextJarEntry()) != null) {
                        String name = e.getName();
                        if (name.endsWith(".class") && !name.contains("module-info")) {
                            classes.put(name.substring(0, name.length() - 6).replace('/', '.'), jar.readAllBytes());
                        }
                    }
                }
            }
        }
        return new IsolatedLoader(classes);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        byte[] b = classes.get(name);
        if (b == null) {
            throw new ClassNotFoundException(name);
        }
        return defineClass(name, b, 0, b.length);
    }
}
