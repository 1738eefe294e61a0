package dev.lantern.agent;

/**
 * Owns one place where instrumented code calls the hook for an action: its number (what the
 * inserted bytecode passes), what to insert (kind, line or method), and what the weaver said
 * about it: where it went, or why it could not go there, and the names and declared types of the
 * locals the hook receives. An action has one point, a tic-toc two.
 */
final class ProbePoint {
    /** Hit with locals at a line. */
    static final char LINE = 'L';
    /** Hit with the parameters at a method's entry. */
    static final char ENTRY = 'M';
    /** Timed region: begin at a line, end at a line, or both around a method. */
    static final char BEGIN = 'B';
    static final char END = 'F';
    static final char METHOD_TIME = 'D';

    final int id;
    final Action action;
    final char kind;
    final int line;

    /** Set from the weaver's answer, under the action's lock. */
    volatile String[] names = new String[0];
    volatile String[] declared = new String[0];
    String okClass;
    String okMethod;
    int okLine;
    String error;
    String none;

    ProbePoint(int id, Action action, char kind, int line) {
        this.id = id;
        this.action = action;
        this.kind = kind;
        this.line = line;
    }

    /** The weaver's request line for this point (see the weaver's class comment). */
    String request() {
        ActionSpec s = action.spec;
        if (kind == ENTRY || kind == METHOD_TIME) {
            return id + "\t" + kind + "\t" + s.method + "\t";
        }
        return id + "\t" + kind + "\t" + line + "\t" + s.file;
    }

    /** True when a class with this internal name may hold the point. */
    boolean matches(String internalName) {
        ActionSpec s = action.spec;
        if (s.className != null) {
            return s.className.equals(internalName);
        }
        int slash = internalName.lastIndexOf('/');
        String pkg = slash < 0 ? "" : internalName.substring(0, slash);
        String simple = internalName.substring(slash + 1);
        int dollar = simple.indexOf('$');
        String outer = dollar < 0 ? simple : simple.substring(0, dollar);
        if (!outer.equals(baseName(s.file))) {
            return false;
        }
        // "com/acme/OrderServlet.java" names the package; a bare file name matches any.
        // A longer path (src/main/java/com/acme/...) ends with the package.
        return s.filePackage == null || pkg.equals(s.filePackage) || pkg.endsWith("/" + s.filePackage)
            || (!pkg.isEmpty() && s.filePackage.endsWith("/" + pkg));
    }

    /** The key of the engine's index: the outer class's simple name, or the class's internal name. */
    String indexKey() {
        ActionSpec s = action.spec;
        return s.className != null ? s.className : baseName(s.file);
    }

    static String baseName(String file) {
        int dot = file.lastIndexOf('.');
        return dot > 0 ? file.substring(0, dot) : file;
    }

    /** "Lcom/acme/Order;" → "com.acme.Order", "[I" → "int[]". */
    static String typeName(String desc) {
        int dims = 0;
        while (dims < desc.length() && desc.charAt(dims) == '[') {
            dims++;
        }
        String base;
        switch (desc.charAt(dims)) {
            case 'Z': base = "boolean"; break;
            case 'B': base = "byte"; break;
            case 'C': base = "char"; break;
            case 'S': base = "short"; break;
            case 'I': base = "int"; break;
            case 'J': base = "long"; break;
            case 'F': base = "float"; break;
            case 'D': base = "double"; break;
            default: base = desc.substring(dims + 1, desc.length() - 1).replace('/', '.');
        }
        StringBuilder b = new StringBuilder(base);
        for (int i = 0; i < dims; i++) {
            b.append("[]");
        }
        return b.toString();
    }
}
