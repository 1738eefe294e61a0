package dev.lantern.agent;

import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;

/**
 * Owns the retransformation-capable transformer of probes: for a class that the engine's index
 * says may hold a point, it hands the bytes to the engine's weaver; everything else passes
 * through untouched at the cost of one map lookup. Re-entry (the weaver's own first class loads)
 * is cut off with a thread-local flag, and nothing escapes into the class loading of the
 * application.
 */
final class ProbeTransformer implements ClassFileTransformer {
    private static final ThreadLocal<Boolean> BUSY = new ThreadLocal<>();

    private final ProbeEngine engine;
    private final ClassLoader ownLoader;
    private final java.net.URL ownJar;

    ProbeTransformer(ProbeEngine engine, ClassLoader ownLoader, java.net.URL ownJar) {
        this.engine = engine;
        this.ownLoader = ownLoader;
        this.ownJar = ownJar;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> classBeingRedefined,
                            ProtectionDomain protectionDomain, byte[] classfileBuffer) {
        if (className == null || loader == null || loader == ownLoader || !engine.mayHold(className)) {
            return null;
        }
        if (BUSY.get() != null || own(protectionDomain)) {
            return null;
        }
        BUSY.set(Boolean.TRUE);
        try {
            return engine.weave(className, classfileBuffer, classBeingRedefined != null);
        } catch (Throwable t) {
            return null;
        } finally {
            BUSY.remove();
        }
    }

    /** The agent's own classes are never probed: a probe there would call itself. */
    private boolean own(ProtectionDomain pd) {
        return ownJar != null && pd != null && pd.getCodeSource() != null && ownJar.equals(pd.getCodeSource().getLocation());
    }
}
