package dev.lantern.agent;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Owns one action as the appliance defined it ({@code action.set}, PROTOCOL.md): its kind,
 * location, expressions, output and limits, validated within the protocol's bounds. Immutable;
 * {@link #definition} (the message without {@code type}) tells whether an {@code action.sync}
 * changed it.
 */
final class ActionSpec {
    static final int MAX_WATCHES = 20;
    static final int DEFAULT_SNAPSHOT_RATE = 1;
    static final int DEFAULT_LOG_RATE = 50;

    final String id;
    final String kind;
    final Map<String, Object> definition;
    /** A line location: the file's name, its package directory (or null), the line. */
    final String file;
    final String filePackage;
    final int line;
    /** A method location: the class (internal name) and method. */
    final String className;
    final String method;
    /** tictoc: the second line. */
    final int endLine;
    final Expr condition;
    final String[] watchTexts;
    final Expr[] watches;
    final LogTemplate template;
    final String level;
    final boolean toAppliance;
    final boolean toStdout;
    final Expr value;
    final long maxHits;
    final long expiresAt;
    /** Hits per second this action may fire; 0 means no per-action limit. */
    final int ratePerSec;
    /** Exempt from the agent-wide quotas (log lines and bytes, snapshots per second). */
    final boolean ignoreQuota;

    private ActionSpec(Map<?, ?> m) {
        this.id = id(m);
        Map<String, Object> def = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!"type".equals(e.getKey())) {
                def.put(String.valueOf(e.getKey()), e.getValue());
            }
        }
        this.definition = def;
        Object k = m.get("action");
        if (!("snapshot".equals(k) || "log".equals(k) || "counter".equals(k) || "tictoc".equals(k)
            || "duration".equals(k) || "metric".equals(k))) {
            throw new IllegalArgumentException("unknown action type " + k);
        }
        this.kind = (String) k;
        Object loc = m.get("location");
        if (!(loc instanceof Map)) {
            throw new IllegalArgumentException("location must be an object");
        }
        Map<?, ?> l = (Map<?, ?>) loc;
        if (l.get("file") != null) {
            String f = text(l.get("file"), "location.file", 1024);
            int slash = f.replace('\\', '/').lastIndexOf('/');
            this.file = f.substring(slash + 1);
            this.filePackage = slash > 0 ? f.replace('\\', '/').substring(0, slash) : null;
            this.line = positive(l.get("line"), "location.line");
            this.className = null;
            this.method = null;
        } else {
            String c = text(l.get("class"), "location.class", 1024);
            this.className = c.replace('.', '/');
            this.method = text(l.get("method"), "location.method", 256);
            this.file = null;
            this.filePackage = null;
            this.line = 0;
        }
        if ("tictoc".equals(kind)) {
            if (file == null || !(m.get("end") instanceof Map)) {
                throw new IllegalArgumentException("a tictoc needs two lines: location and end");
            }
            Map<?, ?> end = (Map<?, ?>) m.get("end");
            String ef = text(end.get("file"), "end.file", 1024);
            if (!ef.replace('\\', '/').endsWith(file)) {
                throw new IllegalArgumentException("a tictoc's two lines must be in the same file");
            }
            this.endLine = positive(end.get("line"), "end.line");
        } else {
            this.endLine = 0;
        }
        if ("duration".equals(kind) && className == null) {
            throw new IllegalArgumentException("a method duration needs a class and method location");
        }
        this.condition = m.get("condition") == null ? null : Expr.parse(m.get("condition"));
        if (condition != null && ("tictoc".equals(kind) || "duration".equals(kind))) {
            throw new IllegalArgumentException("conditions are not supported on " + kind);
        }
        List<String> texts = new ArrayList<>();
        List<Expr> exprs = new ArrayList<>();
        if (m.get("watches") instanceof List) {
            List<?> w = (List<?>) m.get("watches");
            if (w.size() > MAX_WATCHES) {
                throw new IllegalArgumentException("at most " + MAX_WATCHES + " watches");
            }
            for (Object o : w) {
                if (!(o instanceof Map)) {
                    throw new IllegalArgumentException("a watch is an object");
                }
                Map<?, ?> wm = (Map<?, ?>) o;
                Expr e = Expr.parse(wm.get("expr"));
                exprs.add(e);
                texts.add(wm.get("text") instanceof String ? Utf8.truncate((String) wm.get("text"), 1024) : e.toString());
            }
        }
        this.watchTexts = texts.toArray(new String[0]);
        this.watches = exprs.toArray(new Expr[0]);
        this.template = "log".equals(kind) ? LogTemplate.parse(m.get("template")) : null;
        Object lv = m.get("level");
        this.level = lv == null ? "info" : lv.toString();
        if (!("debug".equals(level) || "info".equals(level) || "warn".equals(level) || "error".equals(level))) {
            throw new IllegalArgumentException("level must be debug, info, warn or error");
        }
        boolean app = true;
        boolean out = false;
        if (m.get("outputs") instanceof List) {
            List<?> outs = (List<?>) m.get("outputs");
            app = outs.contains("appliance");
            out = outs.contains("stdout");
        }
        this.toAppliance = app;
        this.toStdout = out;
        this.value = "metric".equals(kind) ? Expr.parse(m.get("value")) : null;
        this.maxHits = m.get("max_hits") == null ? 0 : positive(m.get("max_hits"), "max_hits");
        Object exp = m.get("expires_at");
        if (!(exp instanceof Long)) {
            throw new IllegalArgumentException("expires_at must be a time in ms");
        }
        this.expiresAt = (Long) exp;
        int rate = "snapshot".equals(kind) ? DEFAULT_SNAPSHOT_RATE : "log".equals(kind) ? DEFAULT_LOG_RATE : 0;
        if (m.get("rate_per_sec") != null) {
            rate = positive(m.get("rate_per_sec"), "rate_per_sec");
        }
        this.ratePerSec = rate;
        Object iq = m.get("ignore_quota");
        if (iq != null && !(iq instanceof Boolean)) {
            throw new IllegalArgumentException("ignore_quota must be true or false");
        }
        this.ignoreQuota = Boolean.TRUE.equals(iq);
    }

    /** Parses one action; throws IllegalArgumentException with a reason people can read. */
    static ActionSpec parse(Map<?, ?> m) {
        return new ActionSpec(m);
    }

    /** The action's id, checked (1–64 of letters, digits, '-', '_'), or an exception. */
    static String id(Map<?, ?> m) {
        Object id = m.get("id");
        if (!(id instanceof String) || !idOk((String) id)) {
            throw new IllegalArgumentException("an action id is 1 to 64 letters, digits, '-' or '_'");
        }
        return (String) id;
    }

    static boolean idOk(String s) {
        if (s.isEmpty() || s.length() > 64) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    private static String text(Object o, String what, int maxBytes) {
        if (!(o instanceof String) || ((String) o).isEmpty() || Utf8.length((String) o) > maxBytes
            || Utf8.hasControl((String) o)) {
            throw new IllegalArgumentException(what + " must be a string of 1 to " + maxBytes + " bytes");
        }
        return (String) o;
    }

    private static int positive(Object o, String what) {
        if (!(o instanceof Long) || (Long) o < 1 || (Long) o > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(what + " must be a positive integer");
        }
        return (int) (long) (Long) o;
    }

    /** Where the action sits, for messages: {@code OrderServlet.java:64} or {@code com.acme.A.m}. */
    String where() {
        return file != null ? (filePackage == null ? "" : filePackage + "/") + file + ":" + line
            : className.replace('/', '.') + "." + method;
    }
}
