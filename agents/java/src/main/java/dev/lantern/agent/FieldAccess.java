package dev.lantern.agent;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

/**
 * Owns reading fields of application objects without running application code: the instance
 * fields of a class and its superclasses (cached per class), made accessible where the module
 * system allows, and read with {@link Field#get}, which never calls a getter or
 * {@code toString}. A class whose module does not open its package to the agent yields fields
 * that are marked inaccessible instead of read.
 */
final class FieldAccess {
    /** Marks a field that could not be made accessible. */
    static final Object INACCESSIBLE = new Object();

    private static final ClassValue<Field[]> FIELDS = new ClassValue<Field[]>() {
        @Override
        protected Field[] computeValue(Class<?> type) {
            List<Field> out = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                Field[] declared;
                try {
                    declared = c.getDeclaredFields();
                } catch (Throwable t) {
                    // A field type that cannot be loaded: show what we can.
                    continue;
                }
                for (Field f : declared) {
                    if (!Modifier.isStatic(f.getModifiers())) {
                        out.add(f);
                    }
                }
            }
            return out.toArray(new Field[0]);
        }
    };

    private FieldAccess() {}

    /** The instance fields of {@code type}, the class's own first, then its superclasses'. */
    static Field[] fields(Class<?> type) {
        return FIELDS.get(type);
    }

    /** The first instance field named {@code name}, or null. */
    static Field find(Class<?> type, String name) {
        for (Field f : FIELDS.get(type)) {
            if (f.getName().equals(name)) {
                return f;
            }
        }
        return null;
    }

    /** The field's value (primitives boxed), or {@link #INACCESSIBLE}. */
    static Object read(Field f, Object target) {
        try {
            if (!f.canAccess(target) && !f.trySetAccessible()) {
                return INACCESSIBLE;
            }
            return f.get(target);
        } catch (IllegalAccessException | RuntimeException e) {
            return INACCESSIBLE;
        }
    }

    /** A type name as people write it: {@code int[]}, {@code java.util.List}. */
    static String typeName(Class<?> c) {
        return c.getTypeName();
    }

    /**
     * True for classes of the JDK itself (the bootstrap or platform loader): their methods are
     * the runtime's, not the application's, and may be called.
     */
    static boolean isJdk(Class<?> c) {
        ClassLoader l = c.getClassLoader();
        return l == null || l == ClassLoader.getPlatformClassLoader();
    }
}
