package dev.lantern.agent;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Owns a dynamic log's line: the template's literal parts and {@code {expr}} placeholders
 * (PROTOCOL.md, {@code action.set} {@code template}), formatted without calling application
 * code. A placeholder shows a string or number as itself (cut to 255 characters), an object as
 * {@code Type{field=value, ...}} one level deep, a redacted value as {@code [redacted]} and an
 * expression that cannot be evaluated as {@code [error: why]}.
 */
final class LogTemplate {
    static final int MAX_PARTS = 32;
    static final int MAX_LITERAL_BYTES = 8192;
    static final int MAX_LINE_BYTES = 8192;

    private final Object[] parts;

    private LogTemplate(Object[] parts) {
        this.parts = parts;
    }

    /** Parses the {@code template} array; throws IllegalArgumentException with the reason. */
    static LogTemplate parse(Object json) {
        if (!(json instanceof List) || ((List<?>) json).isEmpty()) {
            throw new IllegalArgumentException("a log needs a template");
        }
        List<?> list = (List<?>) json;
        if (list.size() > MAX_PARTS) {
            throw new IllegalArgumentException("a template has at most " + MAX_PARTS + " parts");
        }
        Object[] parts = new Object[list.size()];
        int literal = 0;
        for (int i = 0; i < parts.length; i++) {
            Object p = list.get(i);
            if (p instanceof String) {
                literal += Utf8.length((String) p);
                parts[i] = p;
            } else {
                parts[i] = Expr.parse(p);
            }
        }
        if (literal > MAX_LITERAL_BYTES) {
            throw new IllegalArgumentException("template text over " + MAX_LITERAL_BYTES + " bytes");
        }
        return new LogTemplate(parts);
    }

    String format(ProbeScope scope, Redactor redactor) {
        StringBuilder b = new StringBuilder(64);
        for (Object p : parts) {
            if (p instanceof String) {
                b.append((String) p);
                continue;
            }
            Expr e = (Expr) p;
            try {
                Object v = e.eval(scope);
                if (e instanceof Expr.Path && redactor.name(lastName((Expr.Path) e))) {
                    b.append("[redacted]");
                } else {
                    value(b, v, redactor, 0);
                }
            } catch (Expr.EvalError err) {
                b.append("[error: ").append(err.getMessage()).append(']');
            }
            if (b.length() > MAX_LINE_BYTES) {
                break;
            }
        }
        return Utf8.truncate(b.toString(), MAX_LINE_BYTES);
    }

    private static String lastName(Expr.Path p) {
        return p.names[p.names.length - 1];
    }

    /** One value, short: application objects one level deep, never their own methods. */
    static void value(StringBuilder b, Object v, Redactor redactor, int depth) {
        if (v == null) {
            b.append("null");
            return;
        }
        Class<?> c = v.getClass();
        if (v instanceof String) {
            String s = (String) v;
            if (redactor.value(s)) {
                b.append("[redacted]");
            } else {
                int chars = CaptureLimits.current().chars;
                b.append(s.length() > chars ? s.substring(0, chars) + "…" : s);
            }
        } else if (v instanceof Boolean || v instanceof Character || Expr.numeric(v)) {
            // The JDK's own classes: their toString is the runtime's.
            b.append(v);
        } else if (v instanceof Enum) {
            b.append(((Enum<?>) v).name());
        } else if (c.isArray()) {
            b.append(c.getComponentType().getSimpleName()).append('[').append(Array.getLength(v)).append(']');
        } else if (FieldAccess.isJdk(c) && (v instanceof Collection || v instanceof Map)) {
            // size() of a JDK collection could still delegate to application code (wrappers).
            b.append(c.getSimpleName()).append("{…}");
        } else if (depth > 0 || FieldAccess.isJdk(c)) {
            b.append(c.getSimpleName()).append("{…}");
        } else {
            b.append(c.getSimpleName()).append('{');
            Field[] fields = FieldAccess.fields(c);
            int maxFields = CaptureLimits.current().fields;
            for (int i = 0; i < fields.length && i < maxFields; i++) {
                if (i > 0) {
                    b.append(", ");
                }
                Field f = fields[i];
                b.append(f.getName()).append('=');
                Object fv = FieldAccess.read(f, v);
                if (redactor.name(f.getName())) {
                    b.append("[redacted]");
                } else if (fv == FieldAccess.INACCESSIBLE) {
                    b.append("[inaccessible]");
                } else {
                    value(b, fv, redactor, depth + 1);
                }
            }
            b.append('}');
        }
    }
}
