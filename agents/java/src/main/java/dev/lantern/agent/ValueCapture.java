package dev.lantern.agent;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Owns turning live values into the typed value tree of a {@code snapshot} (PROTOCOL.md) under
 * the capture limits in force ({@link CaptureLimits}: DEFAULTS.md's depth 3, 20 fields, 100
 * items, 255 characters until the appliance sends others), a byte budget per snapshot and a
 * capture-time budget per hit. Every value cut by a limit says why
 * ({@code depth}, {@code size_budget}, {@code redacted}, {@code inaccessible}).
 *
 * <p>Application code is never run: fields are read directly, strings and boxed numbers are the
 * JDK's own, and only a fixed list of JDK collection classes is iterated (their iterators are the
 * JDK's; a wrapper such as {@code Collections.unmodifiableList} could lead into application code
 * and is shown by its fields, usually as {@code inaccessible}).
 */
final class ValueCapture {
    static final int MAX_DEPTH = 3;
    static final int MAX_FIELDS = 20;
    static final int MAX_ITEMS = 100;
    static final int MAX_CHARS = 255;
    static final int MAX_BYTES = 64 * 1024;
    static final long MAX_NANOS = 10_000_000L;
    /** The budget of an action's first capture, which meets its classes cold. */
    static final long COLD_NANOS = 100_000_000L;
    /** Room kept for closing brackets and the frames after the values. */
    private static final int RESERVE = 6 * 1024;

    private static final Set<String> ITERABLE = Set.of(
        "java.util.ArrayList", "java.util.LinkedList", "java.util.Vector", "java.util.Stack",
        "java.util.ArrayDeque", "java.util.HashSet", "java.util.LinkedHashSet", "java.util.TreeSet",
        "java.util.HashMap", "java.util.LinkedHashMap", "java.util.TreeMap", "java.util.IdentityHashMap",
        "java.util.Hashtable", "java.util.Arrays$ArrayList", "java.util.concurrent.ConcurrentHashMap",
        "java.util.concurrent.CopyOnWriteArrayList", "java.util.concurrent.ConcurrentLinkedQueue",
        "java.util.concurrent.ConcurrentSkipListMap", "java.util.concurrent.ConcurrentSkipListSet");
    /** JDK value classes whose own toString is the value (exact classes only, never subclasses). */
    private static final Set<String> VALUE_CLASSES = Set.of(
        "java.math.BigDecimal", "java.math.BigInteger", "java.util.UUID", "java.util.Date",
        "java.net.URI", "java.net.URL", "java.io.File", "java.util.Locale", "java.util.Currency");

    private final StringBuilder b;
    private final Redactor redactor;
    /** The limits in force when this capture began (a live update waits for the next one). */
    private final CaptureLimits limits = CaptureLimits.current();
    private final long deadline;
    private final int maxBytes;
    /** UTF-8 bytes beyond one per char, for the strings written (the rest is ASCII). */
    private int extraBytes;
    private boolean truncated;

    ValueCapture(StringBuilder b, Redactor redactor, int maxBytes, long budgetNanos) {
        this.b = b;
        this.redactor = redactor;
        this.maxBytes = maxBytes;
        this.deadline = System.nanoTime() + budgetNanos;
    }

    boolean truncated() {
        return truncated;
    }

    int bytes() {
        return b.length() + extraBytes;
    }

    private boolean overBudget() {
        if (bytes() > maxBytes - RESERVE || System.nanoTime() > deadline) {
            truncated = true;
            return true;
        }
        return false;
    }

    /**
     * Appends one value node: {@code {"name":..., "type":..., ...}}. {@code labelKey} is
     * {@code name} or {@code text} (watches), null for none; {@code declared} is the declared type
     * name or null.
     */
    void node(String labelKey, String label, String declared, Object v, int depth) {
        b.append('{');
        if (labelKey != null) {
            b.append('"').append(labelKey).append("\":");
            string(label, Integer.MAX_VALUE);
            b.append(',');
        }
        if (v == FieldAccess.INACCESSIBLE) {
            // Only the declared type is known.
            b.append("\"type\":");
            string(declared == null ? "?" : declared, Integer.MAX_VALUE);
            b.append(",\"cut\":\"inaccessible\"}");
            return;
        }
        String type = v == null ? "null" : FieldAccess.typeName(v.getClass());
        if (declared != null && isPrimitive(declared) && v != null) {
            type = declared;
        }
        b.append("\"type\":");
        string(type, Integer.MAX_VALUE);
        if (declared != null && !declared.equals(type)) {
            b.append(",\"declared\":");
            string(declared, Integer.MAX_VALUE);
        }
        if (v == null) {
            b.append('}');
            return;
        }
        if (labelKey != null && "name".equals(labelKey) && redactor.name(label)) {
            cut("redacted");
            return;
        }
        // A leaf (a number, a short string) is small and needs no reflection: it is written even
        // after the time budget ran out, so a slow first capture still shows the values people
        // look for; only the byte budget (with half the reserve as a hard stop) cuts it.
        if (overBudget() && !(isLeaf(v) && bytes() + leafBytes() <= maxBytes - RESERVE / 2)) {
            cut("size_budget");
            return;
        }
        content(v, depth);
        b.append('}');
    }

    /** The most a leaf can add: its longest string in UTF-8 (escapes included) and its keys. */
    private int leafBytes() {
        return limits.chars * 6 + 64;
    }

    /** Whether {@link #content} writes {@code v} as a single value (no fields, no items). */
    private static boolean isLeaf(Object v) {
        Class<?> c = v.getClass();
        return v instanceof String || v instanceof Boolean || v instanceof Character || v instanceof Enum
            || v instanceof Class || v instanceof Long || v instanceof Integer || v instanceof Short
            || v instanceof Byte || v instanceof Double || v instanceof Float
            || FieldAccess.isJdk(c) && (VALUE_CLASSES.contains(c.getName()) || c.getName().startsWith("java.time."));
    }

    private void cut(String why) {
        b.append(",\"cut\":\"").append(why).append("\"}");
    }

    private void content(Object v, int depth) {
        Class<?> c = v.getClass();
        if (v instanceof String) {
            stringValue((String) v);
        } else if (v instanceof Boolean) {
            b.append(",\"value\":").append(v);
        } else if (v instanceof Character) {
            b.append(",\"value\":");
            string(String.valueOf((char) (Character) v), 1);
        } else if (Expr.numeric(v) && (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte)) {
            b.append(",\"value\":").append(((Number) v).longValue());
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            b.append(",\"value\":");
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                string(String.valueOf(d), 32);
            } else {
                b.append(v);
            }
        } else if (v instanceof Enum) {
            b.append(",\"value\":");
            string(((Enum<?>) v).name(), limits.chars);
        } else if (v instanceof Class) {
            b.append(",\"value\":");
            string(((Class<?>) v).getTypeName(), limits.chars);
        } else if (FieldAccess.isJdk(c) && (VALUE_CLASSES.contains(c.getName()) || c.getName().startsWith("java.time."))) {
            stringValue(v.toString());
        } else if (depth >= limits.depth) {
            b.append(",\"cut\":\"depth\"");
        } else if (c.isArray()) {
            array(v, depth);
        } else if (ITERABLE.contains(c.getName()) && FieldAccess.isJdk(c)) {
            if (v instanceof Map) {
                map((Map<?, ?>) v, depth);
            } else {
                collection((Collection<?>) v, depth);
            }
        } else {
            fields(v, c, depth);
        }
    }

    private void stringValue(String s) {
        if (redactor.value(s)) {
            b.append(",\"cut\":\"redacted\"");
            return;
        }
        b.append(",\"value\":");
        string(s, limits.chars);
        if (s.length() > limits.chars) {
            b.append(",\"length\":").append(s.length()).append(",\"cut\":\"size_budget\"");
        }
    }

    private void array(Object v, int depth) {
        int n = Array.getLength(v);
        b.append(",\"length\":").append(n).append(",\"items\":[");
        String component = v.getClass().getComponentType().getTypeName();
        boolean cut = false;
        for (int i = 0; i < n; i++) {
            if (i >= limits.items || overBudget()) {
                cut = true;
                break;
            }
            if (i > 0) {
                b.append(',');
            }
            node(null, null, component, Array.get(v, i), depth + 1);
        }
        b.append(']');
        if (cut) {
            b.append(",\"cut\":\"size_budget\"");
        }
    }

    private void collection(Collection<?> c, int depth) {
        int n = c.size();
        b.append(",\"length\":").append(n).append(",\"items\":[");
        boolean cut = false;
        int i = 0;
        try {
            for (Iterator<?> it = c.iterator(); it.hasNext(); i++) {
                if (i >= limits.items || overBudget()) {
                    cut = true;
                    break;
                }
                Object item = it.next();
                if (i > 0) {
                    b.append(',');
                }
                node(null, null, null, item, depth + 1);
            }
        } catch (RuntimeException e) {
            // Changed by another thread meanwhile: what was read so far is what we show.
            cut = true;
        }
        b.append(']');
        if (cut) {
            b.append(",\"cut\":\"size_budget\"");
        }
    }

    private void map(Map<?, ?> m, int depth) {
        int n = m.size();
        b.append(",\"length\":").append(n).append(",\"entries\":[");
        boolean cut = false;
        int i = 0;
        try {
            for (Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator(); it.hasNext(); i++) {
                if (i >= limits.items || overBudget()) {
                    cut = true;
                    break;
                }
                Map.Entry<?, ?> e = it.next();
                if (i > 0) {
                    b.append(',');
                }
                b.append("{\"key\":");
                node(null, null, null, e.getKey(), depth + 1);
                b.append(",\"value\":");
                if (e.getKey() instanceof String && redactor.name((String) e.getKey())) {
                    Object val = e.getValue();
                    b.append("{\"type\":");
                    string(val == null ? "null" : FieldAccess.typeName(val.getClass()), Integer.MAX_VALUE);
                    b.append(",\"cut\":\"redacted\"}");
                } else {
                    node(null, null, null, e.getValue(), depth + 1);
                }
                b.append('}');
            }
        } catch (RuntimeException e) {
            cut = true;
        }
        b.append(']');
        if (cut) {
            b.append(",\"cut\":\"size_budget\"");
        }
    }

    private void fields(Object v, Class<?> c, int depth) {
        Field[] fields = FieldAccess.fields(c);
        if (fields.length > 0 && FieldAccess.isJdk(c) && !fields[0].trySetAccessible()) {
            // A JDK class whose module is closed to us: say so once rather than per field.
            b.append(",\"cut\":\"inaccessible\"");
            return;
        }
        b.append(",\"fields\":[");
        boolean cut = false;
        for (int i = 0; i < fields.length; i++) {
            if (i >= limits.fields || overBudget()) {
                cut = true;
                break;
            }
            if (i > 0) {
                b.append(',');
            }
            Field f = fields[i];
            node("name", f.getName(), FieldAccess.typeName(f.getType()), FieldAccess.read(f, v), depth + 1);
        }
        b.append(']');
        if (cut) {
            b.append(",\"cut\":\"size_budget\"");
        }
    }

    private static boolean isPrimitive(String t) {
        switch (t) {
            case "int": case "long": case "short": case "byte": case "char": case "boolean": case "float": case "double":
                return true;
            default:
                return false;
        }
    }

    /** Appends a JSON string of at most {@code maxChars} characters (a surrogate pair is never split). */
    private void string(String s, int maxChars) {
        String t = s;
        if (t.length() > maxChars) {
            int end = maxChars;
            if (end > 0 && Character.isHighSurrogate(t.charAt(end - 1))) {
                end--;
            }
            t = t.substring(0, end);
        }
        Json.string(b, t);
        for (int i = 0; i < t.length(); i++) {
            char ch = t.charAt(i);
            if (ch >= 0x80) {
                extraBytes += ch >= 0x800 ? 2 : 1;
            }
        }
    }
}
