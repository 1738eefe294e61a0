package dev.lantern.agent;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;

/**
 * Owns the expressions of conditions, watches, log placeholders and metric values: the tree of
 * PROTOCOL.md ("Expressions") parsed from JSON within its bounds, and evaluated over a
 * {@link ProbeScope} with field paths and comparisons only. Evaluation reads fields directly
 * ({@link FieldAccess}) and calls no application method: not a getter, not {@code equals}, not
 * {@code toString}.
 */
abstract class Expr {
    static final int MAX_NODES = 64;
    static final int MAX_DEPTH = 16;
    static final int MAX_PATH = 16;
    static final int MAX_LITERAL_BYTES = 1024;

    /** Why an expression could not be evaluated; cheap (no stack trace), it may be frequent. */
    static final class EvalError extends Exception {
        private static final long serialVersionUID = 1L;

        EvalError(String message) {
            super(message, null, false, false);
        }
    }

    abstract Object eval(ProbeScope s) throws EvalError;

    /** Evaluates a condition: it must give a boolean. */
    final boolean test(ProbeScope s) throws EvalError {
        Object v = eval(s);
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        throw new EvalError("the condition " + this + " is not a boolean");
    }

    /** Parses one tree; throws IllegalArgumentException with the reason when it is not valid. */
    static Expr parse(Object json) {
        int[] nodes = {0};
        return parse(json, 0, nodes);
    }

    private static Expr parse(Object json, int depth, int[] nodes) {
        if (depth >= MAX_DEPTH) {
            throw new IllegalArgumentException("expression nested deeper than " + MAX_DEPTH);
        }
        if (++nodes[0] > MAX_NODES) {
            throw new IllegalArgumentException("expression with more than " + MAX_NODES + " nodes");
        }
        if (!(json instanceof Map)) {
            throw new IllegalArgumentException("an expression node must be an object");
        }
        Map<?, ?> m = (Map<?, ?>) json;
        Object op = m.get("op");
        if ("path".equals(op)) {
            Object p = m.get("path");
            if (!(p instanceof List) || ((List<?>) p).isEmpty() || ((List<?>) p).size() > MAX_PATH) {
                throw new IllegalArgumentException("path must have 1 to " + MAX_PATH + " names");
            }
            List<?> list = (List<?>) p;
            String[] names = new String[list.size()];
            for (int i = 0; i < names.length; i++) {
                Object n = list.get(i);
                if (!(n instanceof String) || ((String) n).isEmpty() || Utf8.length((String) n) > 256) {
                    throw new IllegalArgumentException("path names must be non-empty strings");
                }
                names[i] = (String) n;
            }
            return new Path(names);
        }
        if ("lit".equals(op)) {
            Object v = m.get("value");
            if (v instanceof String && Utf8.length((String) v) > MAX_LITERAL_BYTES) {
                throw new IllegalArgumentException("string literal over " + MAX_LITERAL_BYTES + " bytes");
            }
            if (!(v instanceof String || v instanceof Long || v instanceof Double || v instanceof Boolean)) {
                throw new IllegalArgumentException("a literal is a string, number or boolean");
            }
            return new Lit(v);
        }
        if ("null".equals(op)) {
            return new Lit(null);
        }
        Object a = m.get("args");
        if (!(a instanceof List)) {
            throw new IllegalArgumentException("unknown expression op " + op);
        }
        List<?> args = (List<?>) a;
        Expr[] parsed = new Expr[args.size()];
        for (int i = 0; i < parsed.length; i++) {
            parsed[i] = parse(args.get(i), depth + 1, nodes);
        }
        if ("!".equals(op)) {
            need(parsed, 1, 1, op);
            return new Not(parsed[0]);
        }
        if ("&&".equals(op) || "||".equals(op)) {
            need(parsed, 2, 16, op);
            return new Logic("&&".equals(op), parsed);
        }
        if (op instanceof String && Compare.op((String) op) >= 0) {
            need(parsed, 2, 2, op);
            return new Compare((String) op, parsed[0], parsed[1]);
        }
        throw new IllegalArgumentException("unknown expression op " + op);
    }

    private static void need(Expr[] args, int min, int max, Object op) {
        if (args.length < min || args.length > max) {
            throw new IllegalArgumentException(op + " takes " + (min == max ? "" + min : min + " to " + max) + " arguments");
        }
    }

    /** The root names of every path: the names a condition needs from the frame. */
    void roots(List<String> out) {
        // Leaves without paths add nothing.
    }

    /** {@code a.b.c}: a local, {@code this} or a field of {@code this}, then fields. */
    static final class Path extends Expr {
        final String[] names;

        Path(String[] names) {
            this.names = names;
        }

        @Override
        Object eval(ProbeScope s) throws EvalError {
            String first = names[0];
            Object v;
            if ("this".equals(first)) {
                v = s.self;
            } else {
                int i = s.indexOf(first);
                if (i >= 0) {
                    v = s.values[i];
                } else if (s.self != null && FieldAccess.find(s.self.getClass(), first) != null) {
                    v = field(s.self, first);
                } else {
                    throw new EvalError("unknown name '" + first + "'");
                }
            }
            for (int k = 1; k < names.length; k++) {
                if (v == null) {
                    // a.b where a is null: null, as a safe navigation would give.
                    return null;
                }
                if (v.getClass().isArray() && "length".equals(names[k])) {
                    v = Array.getLength(v);
                } else {
                    v = field(v, names[k]);
                }
            }
            return v;
        }

        private static Object field(Object target, String name) throws EvalError {
            Field f = FieldAccess.find(target.getClass(), name);
            if (f == null) {
                throw new EvalError("no field '" + name + "' in " + target.getClass().getTypeName());
            }
            Object v = FieldAccess.read(f, target);
            if (v == FieldAccess.INACCESSIBLE) {
                throw new EvalError("field '" + name + "' of " + target.getClass().getTypeName() + " is not accessible");
            }
            return v;
        }

        @Override
        void roots(List<String> out) {
            out.add(names[0]);
        }

        @Override
        public String toString() {
            return String.join(".", names);
        }
    }

    static final class Lit extends Expr {
        final Object value;

        Lit(Object value) {
            this.value = value;
        }

        @Override
        Object eval(ProbeScope s) {
            return value;
        }

        @Override
        public String toString() {
            return value instanceof String ? Json.quote((String) value) : String.valueOf(value);
        }
    }

    static final class Not extends Expr {
        final Expr arg;

        Not(Expr arg) {
            this.arg = arg;
        }

        @Override
        Object eval(ProbeScope s) throws EvalError {
            return !arg.test(s);
        }

        @Override
        void roots(List<String> out) {
            arg.roots(out);
        }

        @Override
        public String toString() {
            return "!" + arg;
        }
    }

    static final class Logic extends Expr {
        final boolean and;
        final Expr[] args;

        Logic(boolean and, Expr[] args) {
            this.and = and;
            this.args = args;
        }

        @Override
        Object eval(ProbeScope s) throws EvalError {
            for (Expr a : args) {
                boolean v = a.test(s);
                if (v != and) {
                    return v;
                }
            }
            return and;
        }

        @Override
        void roots(List<String> out) {
            for (Expr a : args) {
                a.roots(out);
            }
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < args.length; i++) {
                b.append(i > 0 ? (and ? " && " : " || ") : "").append(args[i]);
            }
            return b.append(')').toString();
        }
    }

    static final class Compare extends Expr {
        private static final String[] OPS = {"==", "!=", "<", "<=", ">", ">="};
        final String text;
        final int op;
        final Expr left;
        final Expr right;

        Compare(String text, Expr left, Expr right) {
            this.text = text;
            this.op = op(text);
            this.left = left;
            this.right = right;
        }

        static int op(String text) {
            for (int i = 0; i < OPS.length; i++) {
                if (OPS[i].equals(text)) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        Object eval(ProbeScope s) throws EvalError {
            Object a = left.eval(s);
            Object b = right.eval(s);
            switch (op) {
                case 0: return equal(a, b);
                case 1: return !equal(a, b);
                default:
                    if (a == null || b == null) {
                        return false;
                    }
                    int c = order(a, b);
                    switch (op) {
                        case 2: return c < 0;
                        case 3: return c <= 0;
                        case 4: return c > 0;
                        default: return c >= 0;
                    }
            }
        }

        @Override
        void roots(List<String> out) {
            left.roots(out);
            right.roots(out);
        }

        @Override
        public String toString() {
            return "(" + left + " " + text + " " + right + ")";
        }
    }

    /** A number the JDK defines (its methods are safe to call), or a character. */
    static boolean numeric(Object v) {
        return v instanceof Character || (v instanceof Number && FieldAccess.isJdk(v.getClass()));
    }

    private static boolean integral(Object v) {
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
            || v instanceof Character;
    }

    private static long asLong(Object v) {
        return v instanceof Character ? (Character) v : ((Number) v).longValue();
    }

    private static double asDouble(Object v) {
        return v instanceof Character ? (Character) v : ((Number) v).doubleValue();
    }

    static boolean equal(Object a, Object b) throws EvalError {
        if (a == null || b == null) {
            return a == b;
        }
        if (numeric(a) && numeric(b)) {
            if (integral(a) && integral(b)) {
                return asLong(a) == asLong(b);
            }
            return asDouble(a) == asDouble(b);
        }
        if (textual(a) && textual(b)) {
            return text(a).equals(text(b));
        }
        if (a instanceof Enum && b instanceof String) {
            return ((Enum<?>) a).name().equals(b);
        }
        if (b instanceof Enum && a instanceof String) {
            return ((Enum<?>) b).name().equals(a);
        }
        if (a instanceof Boolean && b instanceof Boolean) {
            return a.equals(b);
        }
        if (isLiteralType(a) || isLiteralType(b)) {
            throw new EvalError("cannot compare " + a.getClass().getTypeName() + " with " + b.getClass().getTypeName());
        }
        return a == b;
    }

    private static boolean isLiteralType(Object v) {
        return v instanceof String || v instanceof Boolean || numeric(v);
    }

    private static boolean textual(Object v) {
        return v instanceof String || v instanceof Character;
    }

    private static String text(Object v) {
        return v instanceof Character ? String.valueOf((char) (Character) v) : (String) v;
    }

    static int order(Object a, Object b) throws EvalError {
        if (numeric(a) && numeric(b)) {
            if (integral(a) && integral(b)) {
                return Long.compare(asLong(a), asLong(b));
            }
            return Double.compare(asDouble(a), asDouble(b));
        }
        if (a instanceof String && b instanceof String) {
            return ((String) a).compareTo((String) b);
        }
        throw new EvalError("cannot order " + a.getClass().getTypeName() + " and " + b.getClass().getTypeName());
    }
}
