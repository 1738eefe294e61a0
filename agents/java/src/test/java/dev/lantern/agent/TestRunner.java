package dev.lantern.agent;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Owns running the unit tests without a test library: for each class named on the command line,
 * every public no-argument method annotated {@link Test} runs on a fresh instance; each prints
 * PASS, FAIL (with the reason) or SKIP, and the last line counts them. Exits 1 when any failed
 * or when no test ran at all.
 */
public final class TestRunner {
    private TestRunner() {}

    public static void main(String[] args) throws Exception {
        int passed = 0;
        int failed = 0;
        int skipped = 0;
        List<String> failures = new ArrayList<>();
        String only = System.getProperty("test.only");
        if (only != null && only.isEmpty()) {
            only = null;
        }
        for (String className : args) {
            Class<?> c = Class.forName(className);
            Method[] methods = c.getDeclaredMethods();
            Arrays.sort(methods, Comparator.comparing(Method::getName));
            for (Method m : methods) {
                if (!m.isAnnotationPresent(Test.class) || !Modifier.isPublic(m.getModifiers())
                    || m.getParameterCount() != 0) {
                    continue;
                }
                String name = c.getSimpleName() + "." + m.getName();
                if (only != null && !name.contains(only)) {
                    continue;
                }
                long start = System.nanoTime();
                try {
                    Object instance = Modifier.isStatic(m.getModifiers()) ? null
                        : c.getDeclaredConstructor().newInstance();
                    m.invoke(instance);
                    passed++;
                    System.out.println("PASS " + name + " (" + (System.nanoTime() - start) / 1_000_000 + " ms)");
                } catch (InvocationTargetException e) {
                    Throwable t = e.getCause();
                    if (t instanceof Check.Skipped) {
                        skipped++;
                        System.out.println("SKIP " + name + ": " + t.getMessage());
                    } else {
                        failed++;
                        failures.add(name);
                        System.out.println("FAIL " + name + ": " + t);
                        for (StackTraceElement el : t.getStackTrace()) {
                            if (el.getClassName().startsWith("dev.lantern.")) {
                                System.out.println("    at " + el);
                            }
                        }
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            System.out.println("failed: " + String.join(", ", failures));
        }
        System.out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        System.exit(failed > 0 || passed == 0 ? 1 : 0);
    }
}
