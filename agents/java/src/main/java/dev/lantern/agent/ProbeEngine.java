package dev.lantern.agent;

import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.net.URL;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.BiFunction;

/**
 * Owns the actions of this agent: {@code action.set} / {@code action.remove} /
 * {@code action.sync} / {@code config.update} from the appliance (on the sender thread), the
 * probe points and their index for the transformer, retransformation to add and remove them,
 * what a hit does on an application thread (condition, rate, cap, capture, log line, aggregate),
 * the statuses with their reasons, and the periodic work (expiry, metrics, condition cost).
 *
 * <p>Threads: messages and {@link #tick} run on the sender thread only, which alone touches
 * {@link #actions}; hits run on application threads and reach points through a lock-free table
 * indexed by the number the bytecode passes; the weaver runs on whichever thread loads or
 * retransforms a class.
 */
final class ProbeEngine {
    static final int MAX_ACTIONS = 1000;
    static final int MAX_FRAMES = 20;
    static final long METRICS_EVERY_MS = 10_000;
    static final long COST_EVERY_MS = 10_000;
    static final int AGENT_SNAPSHOTS_PER_SEC = 10;
    static final int LOG_LINES_PER_SEC = 50;
    static final int LOG_BYTES_PER_SEC = 20 * 1024;
    /** Conditions may use this share of one CPU (DEFAULTS.md, condition cost). */
    static final double CONDITION_CPU_SHARE = 0.01;
    private static final int SLOTS = 1 << 16;

    private final Instrumentation inst;
    private final ProbeOutbox outbox;
    private final BiFunction<byte[], String[], Object[]> weaver;
    private final String unavailable;
    private final AtomicReferenceArray<ProbePoint> table = new AtomicReferenceArray<>(SLOTS);
    private final Map<String, Action> actions = new LinkedHashMap<>();
    /**
     * Actions that ended here (completed, expired, condition error) by id, with their definition
     * and final status: the same definition sent again (an action.sync after a reconnect) gets
     * that status instead of a second run, so a hit cap stays a cap. Bounded, oldest forgotten.
     */
    private final Map<String, Object[]> finished = new LinkedHashMap<String, Object[]>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Object[]> eldest) {
            return size() > MAX_ACTIONS;
        }
    };
    private volatile Map<String, ProbePoint[]> index = Map.of();
    private volatile boolean installing;
    private int nextId = 1;
    private long lastMetrics = System.currentTimeMillis();
    private long lastCost = System.nanoTime();
    private final RateWindow agentSnapshots = new RateWindow(AGENT_SNAPSHOTS_PER_SEC);
    private final RateWindow logLines = new RateWindow(LOG_LINES_PER_SEC);
    private final RateWindow logBytes = new RateWindow(LOG_BYTES_PER_SEC);

    private ProbeEngine(Instrumentation inst, ProbeOutbox outbox, BiFunction<byte[], String[], Object[]> weaver, String unavailable) {
        this.inst = inst;
        this.outbox = outbox;
        this.weaver = weaver;
        this.unavailable = unavailable;
    }

    /**
     * Sets probes up: the hook on the bootstrap path, the weaver in its private loader, both
     * exercised once (so that a first probe does not load ASM inside an application's class
     * load), then the transformer. When anything is missing, an engine that answers every action
     * with an {@code error} status.
     */
    static ProbeEngine start(Instrumentation inst, ProbeOutbox outbox, URL ownJar) {
        if (inst == null || !inst.isRetransformClassesSupported()) {
            return new ProbeEngine(inst, outbox, null, "this JVM cannot retransform classes");
        }
        try {
            IsolatedLoader loader = IsolatedLoader.of(ProbeLibrary.WEAVER_JARS);
            BiFunction<byte[], String[], Object[]> weaver = ProbeLibrary.weaver(loader);
            warmUp(weaver);
            ProbeLibrary.installHook(inst);
            ProbeEngine engine = new ProbeEngine(inst, outbox, weaver, null);
            engine.warmCapture();
            ProbeSink.connect(engine);
            inst.addTransformer(new ProbeTransformer(engine, loader, ownJar), true);
            return engine;
        } catch (Throwable t) {
            Log.info("probes unavailable: " + Log.describe(t));
            return new ProbeEngine(inst, outbox, null, "probes unavailable: " + Log.describe(t));
        }
    }

    /** For tests of message handling without instrumentation. */
    static ProbeEngine unavailable(ProbeOutbox outbox, String why) {
        return new ProbeEngine(null, outbox, null, why);
    }

    private static void warmUp(BiFunction<byte[], String[], Object[]> weaver) throws Exception {
        try (InputStream in = ProbeScope.class.getResourceAsStream("ProbeScope.class")) {
            if (in == null) {
                return;
            }
            weaver.apply(in.readAllBytes(), new String[] {"0\tM\tindexOf\t", "1\tL\t1\t"});
        }
    }

    private void warmCapture() {
        StringBuilder b = new StringBuilder();
        Map<String, Object> sample = new HashMap<>();
        sample.put("a", List.of(1, "x"));
        new ValueCapture(b, Redactor.current(), ValueCapture.MAX_BYTES, ValueCapture.MAX_NANOS)
            .node("name", "warm", null, new Object[] {sample, new ArrayList<>(sample.values()), 1.5}, 0);
        new Throwable().getStackTrace();
    }

    // ---- messages (sender thread) ----

    /**
     * Handles one live-debugging message; returns null, or the reason for an {@code error}
     * {@code invalid_message} answer.
     */
    String onMessage(Map<?, ?> m) {
        Object type = m.get("type");
        if ("action.set".equals(type)) {
            return set(m, false);
        }
        if ("action.remove".equals(type)) {
            Object ids = m.get("ids");
            if (!(ids instanceof List) || ((List<?>) ids).size() > MAX_ACTIONS) {
                return "action.remove needs ids: an array of at most " + MAX_ACTIONS;
            }
            for (Object id : (List<?>) ids) {
                Action a = id instanceof String ? actions.get(id) : null;
                if (a != null) {
                    remove(a, null, null);
                }
            }
            return null;
        }
        if ("action.sync".equals(type)) {
            return sync(m.get("actions"));
        }
        if ("config.update".equals(type)) {
            // Each part applies on its own: a bad pattern set does not hold back new limits.
            String refused = null;
            if (m.containsKey("capture")) {
                refused = CaptureLimits.update(m.get("capture"));
            }
            if (m.containsKey("redaction")) {
                String why = Redactor.update(m.get("redaction"));
                refused = refused != null ? refused : why;
            }
            if (m.containsKey("blocklist")) {
                String why = Blocklist.update(m.get("blocklist"));
                if (why == null) {
                    enforceBlocklist();
                }
                refused = refused != null ? refused : why;
            }
            return refused;
        }
        return "unexpected " + type;
    }

    static boolean handles(Object type) {
        return "action.set".equals(type) || "action.remove".equals(type) || "action.sync".equals(type)
            || "config.update".equals(type);
    }

    private String set(Map<?, ?> m, boolean keepSame) {
        String id;
        try {
            id = ActionSpec.id(m);
        } catch (IllegalArgumentException e) {
            return "invalid action: " + e.getMessage();
        }
        Action old = actions.get(id);
        ActionSpec spec;
        try {
            spec = ActionSpec.parse(m);
        } catch (IllegalArgumentException e) {
            if (old != null) {
                remove(old, null, null);
            }
            outbox.status(statusJson(id, "error", e.getMessage(), null));
            return null;
        }
        Object[] ended = finished.get(id);
        if (old == null && ended != null && ended[0].equals(spec.definition)) {
            outbox.status(statusJson(id, (String) ended[1], (String) ended[2], null));
            return null;
        }
        if (old != null) {
            if (keepSame && old.spec.definition.equals(spec.definition) && !old.finishing.get()) {
                sendStatus(old);
                return null;
            }
            remove(old, null, null);
        }
        install(spec);
        return null;
    }

    private String sync(Object list) {
        if (!(list instanceof List) || ((List<?>) list).size() > MAX_ACTIONS) {
            return "action.sync needs actions: an array of at most " + MAX_ACTIONS;
        }
        Set<String> listed = new HashSet<>();
        for (Object o : (List<?>) list) {
            if (o instanceof Map && ((Map<?, ?>) o).get("id") instanceof String) {
                listed.add((String) ((Map<?, ?>) o).get("id"));
            }
        }
        for (Action a : new ArrayList<>(actions.values())) {
            if (!listed.contains(a.spec.id)) {
                remove(a, null, null);
            }
        }
        for (Object o : (List<?>) list) {
            if (o instanceof Map) {
                set((Map<?, ?>) o, true);
            }
        }
        return null;
    }

    /**
     * Takes out every action the blocklist now covers, by its location or by the class a probe
     * went into, with an {@code error} status. Not remembered as finished: when the rule goes,
     * the same action sent again is installed.
     */
    private void enforceBlocklist() {
        Blocklist list = Blocklist.current();
        if (list.isEmpty()) {
            return;
        }
        for (Action a : new ArrayList<>(actions.values())) {
            String rule = list.blocked(a.spec);
            for (ProbePoint p : a.points) {
                String c;
                synchronized (a) {
                    c = p.okClass;
                }
                if (rule == null && c != null) {
                    rule = list.blockedClass(c);
                }
            }
            if (rule != null) {
                remove(a, null, null);
                outbox.status(statusJson(a.spec.id, "error", blockedMessage(rule), null));
            }
        }
    }

    static String blockedMessage(String rule) {
        return "blocked by the blocklist: " + rule;
    }

    private void install(ActionSpec spec) {
        String rule = Blocklist.current().blocked(spec);
        if (rule != null) {
            outbox.status(statusJson(spec.id, "error", blockedMessage(rule), null));
            return;
        }
        if (unavailable != null) {
            outbox.status(statusJson(spec.id, "error", unavailable, null));
            return;
        }
        if (actions.size() >= MAX_ACTIONS) {
            outbox.status(statusJson(spec.id, "error", "too many actions (at most " + MAX_ACTIONS + ")", null));
            return;
        }
        if (System.currentTimeMillis() >= spec.expiresAt) {
            outbox.status(statusJson(spec.id, "expired", null, null));
            return;
        }
        if (spec.className != null && jdk(spec.className)) {
            outbox.status(statusJson(spec.id, "error", "classes of the JDK cannot be probed", null));
            return;
        }
        Action a = new Action(spec);
        List<ProbePoint> points = new ArrayList<>();
        switch (spec.kind) {
            case "tictoc":
                points.add(point(a, ProbePoint.BEGIN, spec.line));
                points.add(point(a, ProbePoint.END, spec.endLine));
                break;
            case "duration":
                points.add(point(a, ProbePoint.METHOD_TIME, 0));
                break;
            default:
                points.add(point(a, spec.file != null ? ProbePoint.LINE : ProbePoint.ENTRY, spec.line));
        }
        a.points = points.toArray(new ProbePoint[0]);
        actions.put(spec.id, a);
        rebuildIndex();
        retransform(a.points, null);
        evaluateStatus(a);
    }

    private static boolean jdk(String internalName) {
        return internalName.startsWith("java/") || internalName.startsWith("jdk/")
            || internalName.startsWith("sun/") || internalName.startsWith("dev/lantern/hook/");
    }

    private ProbePoint point(Action a, char kind, int line) {
        while (true) {
            int id = nextId;
            nextId = nextId == Integer.MAX_VALUE ? 1 : nextId + 1;
            if (table.get(id & (SLOTS - 1)) == null) {
                ProbePoint p = new ProbePoint(id, a, kind, line);
                table.set(id & (SLOTS - 1), p);
                return p;
            }
        }
    }

    /** Takes an action out: no more hits, its classes back as they were, a final status when given. */
    private void remove(Action a, String status, String message) {
        a.active = false;
        actions.remove(a.spec.id);
        Set<String> classes = new HashSet<>();
        for (ProbePoint p : a.points) {
            table.compareAndSet(p.id & (SLOTS - 1), p, null);
            synchronized (a) {
                if (p.okClass != null) {
                    classes.add(p.okClass);
                }
            }
        }
        rebuildIndex();
        if (!classes.isEmpty()) {
            retransform(null, classes);
        }
        if (status != null) {
            synchronized (a) {
                a.status = status;
                a.message = message;
            }
            finished.put(a.spec.id, new Object[] {a.spec.definition, status, message});
            outbox.status(statusJson(a.spec.id, status, message, null));
        }
    }

    private void rebuildIndex() {
        Map<String, List<ProbePoint>> m = new HashMap<>();
        for (Action a : actions.values()) {
            for (ProbePoint p : a.points) {
                m.computeIfAbsent(p.indexKey(), k -> new ArrayList<>()).add(p);
            }
        }
        Map<String, ProbePoint[]> idx = new HashMap<>();
        for (Map.Entry<String, List<ProbePoint>> e : m.entrySet()) {
            idx.put(e.getKey(), e.getValue().toArray(new ProbePoint[0]));
        }
        index = idx;
    }

    /**
     * Retransforms the loaded classes that may hold {@code points} (install) or that are named
     * in {@code classNames} (removal: the transformer then weaves what remains). One class at a
     * time, so that one failure is charged to its own points only.
     */
    private void retransform(ProbePoint[] points, Set<String> classNames) {
        installing = true;
        try {
            for (Class<?> c : inst.getAllLoadedClasses()) {
                if (c.isArray() || c.isPrimitive() || c.isHidden() || c.getClassLoader() == null) {
                    continue;
                }
                String name = c.getName();
                boolean wanted = false;
                if (classNames != null) {
                    wanted = classNames.contains(name);
                } else {
                    String internal = name.replace('.', '/');
                    for (ProbePoint p : points) {
                        wanted |= p.matches(internal);
                    }
                }
                if (!wanted || !inst.isModifiableClass(c)) {
                    continue;
                }
                try {
                    inst.retransformClasses(c);
                } catch (Throwable t) {
                    if (points != null) {
                        for (ProbePoint p : points) {
                            synchronized (p.action) {
                                p.error = "could not retransform " + name + ": " + Log.describe(t);
                            }
                        }
                    }
                }
            }
        } finally {
            installing = false;
        }
    }

    // ---- the transformer's side (any thread) ----

    /** Cheap test for the transformer: may a class of this internal name hold a point? */
    boolean mayHold(String internalName) {
        Map<String, ProbePoint[]> idx = index;
        if (idx.isEmpty()) {
            return false;
        }
        return idx.containsKey(internalName) || idx.containsKey(outerSimpleName(internalName));
    }

    private static String outerSimpleName(String internalName) {
        int slash = internalName.lastIndexOf('/');
        int dollar = internalName.indexOf('$', slash + 1);
        return internalName.substring(slash + 1, dollar < 0 ? internalName.length() : dollar);
    }

    /** Weaves the points of one class; records where each went; returns the new bytes or null. */
    byte[] weave(String internalName, byte[] bytes, boolean retransforming) {
        Map<String, ProbePoint[]> idx = index;
        List<ProbePoint> points = new ArrayList<>();
        for (String key : new String[] {internalName, outerSimpleName(internalName)}) {
            ProbePoint[] ps = idx.get(key);
            if (ps != null) {
                for (ProbePoint p : ps) {
                    if (p.matches(internalName) && p.action.active && !points.contains(p)) {
                        points.add(p);
                    }
                }
            }
        }
        if (points.isEmpty() || weaver == null) {
            return null;
        }
        // A line found by its file's name may land in a blocked class: no probe goes there.
        String rule = Blocklist.current().blockedClass(internalName);
        if (rule != null) {
            for (ProbePoint p : points) {
                synchronized (p.action) {
                    p.error = blockedMessage(rule);
                }
            }
            if (!installing) {
                for (ProbePoint p : points) {
                    evaluateStatus(p.action);
                }
            }
            return null;
        }
        String[] requests = new String[points.size()];
        for (int i = 0; i < requests.length; i++) {
            requests[i] = points.get(i).request();
        }
        Object[] out = weaver.apply(bytes, requests);
        String[] results = (String[]) out[1];
        String className = internalName.replace('/', '.');
        for (int i = 0; i < results.length; i++) {
            record(points.get(i), className, results[i]);
        }
        if (!installing) {
            for (ProbePoint p : points) {
                evaluateStatus(p.action);
            }
        }
        return (byte[]) out[0];
    }

    private static void record(ProbePoint p, String className, String result) {
        String[] r = result.split("\t", -1);
        synchronized (p.action) {
            if ("ok".equals(r[1])) {
                p.okClass = className;
                p.okMethod = r[2];
                p.okLine = Integer.parseInt(r[3]);
                p.error = null;
                List<String> names = new ArrayList<>();
                List<String> declared = new ArrayList<>();
                if (r.length > 4 && !r[4].isEmpty()) {
                    for (String local : r[4].split(",")) {
                        int colon = local.indexOf(':');
                        names.add(local.substring(0, colon).intern());
                        declared.add(ProbePoint.typeName(local.substring(colon + 1)));
                    }
                }
                p.declared = declared.toArray(new String[0]);
                p.names = names.toArray(new String[0]);
            } else if ("none".equals(r[1])) {
                if (p.okClass == null) {
                    p.none = r[2];
                }
            } else {
                p.error = r[2];
            }
        }
    }

    /** Works out an action's status from its points and reports it when it changed. */
    private void evaluateStatus(Action a) {
        if (a.finishing.get() || !a.active) {
            return;
        }
        String status;
        String message = null;
        String resolved = null;
        synchronized (a) {
            boolean allOk = true;
            String none = null;
            String error = null;
            for (ProbePoint p : a.points) {
                allOk &= p.okClass != null;
                if (p.error != null && error == null) {
                    error = p.error;
                }
                if (p.okClass == null && p.none != null && none == null) {
                    none = a.spec.file != null ? "no code at line " + p.line + " in " + a.spec.where().replaceAll(":\\d+$", "")
                        : "no method " + a.spec.method + " in " + a.spec.className.replace('/', '.');
                }
            }
            if (error != null) {
                status = "error";
                message = error;
            } else if (allOk) {
                if ("rate_limited".equals(a.status) || "paused_quota".equals(a.status)) {
                    return;
                }
                status = "installed";
                resolved = resolvedJson(a.points[0]);
            } else if (none != null) {
                status = "error";
                message = none;
            } else {
                status = "pending";
            }
            if (status.equals(a.status) && java.util.Objects.equals(message, a.message)) {
                return;
            }
            a.status = status;
            a.message = message;
        }
        outbox.status(statusJson(a.spec.id, status, message, resolved));
    }

    /** Sends the action's current status again (after {@code action.sync}). */
    private void sendStatus(Action a) {
        String status;
        String message;
        String resolved = null;
        synchronized (a) {
            status = a.status.isEmpty() ? "pending" : a.status;
            message = a.message;
            if ("installed".equals(status)) {
                resolved = resolvedJson(a.points[0]);
            }
        }
        outbox.status(statusJson(a.spec.id, status, message, resolved));
    }

    private void setStatus(Action a, String status, String message) {
        String resolved = null;
        synchronized (a) {
            if (status.equals(a.status)) {
                return;
            }
            a.status = status;
            a.message = message;
            if ("installed".equals(status)) {
                resolved = resolvedJson(a.points[0]);
            }
        }
        outbox.status(statusJson(a.spec.id, status, message, resolved));
    }

    private static String resolvedJson(ProbePoint p) {
        if (p.okClass == null) {
            return null;
        }
        StringBuilder b = new StringBuilder("{\"class\":");
        Json.string(b, p.okClass);
        b.append(",\"method\":");
        Json.string(b, p.okMethod);
        if (p.okLine > 0) {
            b.append(",\"line\":").append(p.okLine);
        }
        return b.append('}').toString();
    }

    static String statusJson(String id, String status, String message, String resolved) {
        StringBuilder b = new StringBuilder(128).append("{\"type\":\"action.status\",\"id\":");
        Json.string(b, id);
        b.append(",\"status\":\"").append(status).append('"');
        if (message != null) {
            b.append(",\"message\":");
            Json.string(b, Utf8.truncate(message, 1024));
        }
        if (resolved != null) {
            b.append(",\"resolved\":").append(resolved);
        }
        return b.append('}').toString();
    }

    // ---- periodic work (sender thread) ----

    void tick() {
        long now = System.currentTimeMillis();
        long nowSec = now / 1000;
        for (Action a : new ArrayList<>(actions.values())) {
            if (a.finishing.get()) {
                remove(a, a.finishStatus, a.finishMessage);
            } else if (now >= a.spec.expiresAt) {
                remove(a, "expired", null);
            } else if (a.lastDropSec < nowSec - 1) {
                String s;
                synchronized (a) {
                    s = a.status;
                }
                if ("rate_limited".equals(s) || "paused_quota".equals(s)) {
                    setStatus(a, "installed", null);
                }
            }
        }
        if (now - lastMetrics >= METRICS_EVERY_MS) {
            flushMetrics(now);
        }
        long nanos = System.nanoTime();
        if (nanos - lastCost >= COST_EVERY_MS * 1_000_000) {
            checkConditionCost(nanos - lastCost);
            lastCost = nanos;
        }
    }

    /** Sends the aggregates of the interval now ending, in batches of at most 1,000 actions. */
    void flushMetrics(long now) {
        long interval = now - lastMetrics;
        lastMetrics = now;
        List<String> entries = new ArrayList<>();
        for (Action a : actions.values()) {
            String e = a.drainMetrics();
            if (e != null) {
                entries.add(e);
            }
        }
        for (int from = 0; from < entries.size(); from += 1000) {
            StringBuilder b = new StringBuilder("{\"type\":\"metric\",\"interval_ms\":").append(interval)
                .append(",\"end\":").append(now).append(",\"actions\":[");
            List<String> part = entries.subList(from, Math.min(entries.size(), from + 1000));
            b.append(String.join(",", part)).append("]}");
            outbox.result(b.toString());
        }
    }

    /** Over the CPU share, the costliest condition is switched off with {@code condition_error}. */
    private void checkConditionCost(long elapsedNanos) {
        long total = 0;
        long worstNanos = 0;
        Action worst = null;
        for (Action a : actions.values()) {
            long n = a.conditionNanos;
            a.conditionNanos = 0;
            total += n;
            if (n > worstNanos) {
                worst = a;
                worstNanos = n;
            }
        }
        if (worst != null && total > CONDITION_CPU_SHARE * elapsedNanos) {
            worst.finish("condition_error", "condition cost over 1% CPU");
        }
    }

    // ---- hits (application threads) ----

    void hit(int id, Object self, Object[] locals) {
        ProbePoint p = table.get(id & (SLOTS - 1));
        if (p == null || p.id != id) {
            return;
        }
        Action a = p.action;
        if (!a.active) {
            return;
        }
        ActionSpec s = a.spec;
        ProbeScope scope = null;
        if (s.condition != null) {
            scope = new ProbeScope(self, p.names, locals);
            // The cost is sampled: timing every evaluation would cost more than most conditions.
            boolean timed = (++a.conditionCalls & 15) == 0;
            long t0 = timed ? System.nanoTime() : 0;
            boolean ok;
            try {
                ok = s.condition.test(scope);
            } catch (Expr.EvalError e) {
                a.finish("condition_error", e.getMessage());
                return;
            }
            if (timed) {
                a.conditionNanos += (System.nanoTime() - t0) * 16;
            }
            if (!ok) {
                return;
            }
        }
        switch (s.kind) {
            case "counter":
                if (a.takeHit()) {
                    a.add(1);
                }
                return;
            case "metric":
                metric(a, scope != null ? scope : new ProbeScope(self, p.names, locals));
                return;
            case "snapshot":
                snapshot(a, p, self, locals, scope != null ? scope : new ProbeScope(self, p.names, locals));
                return;
            case "log":
                log(a, scope != null ? scope : new ProbeScope(self, p.names, locals));
                return;
            default:
        }
    }

    void begin(int id) {
        ProbePoint p = table.get(id & (SLOTS - 1));
        if (p != null && p.id == id && p.action.active) {
            TimerStack.current().begin(id, System.nanoTime());
        }
    }

    void end(int id) {
        long now = System.nanoTime();
        ProbePoint p = table.get(id & (SLOTS - 1));
        if (p == null || p.id != id || !p.action.active) {
            return;
        }
        Action a = p.action;
        int beginId = p.kind == ProbePoint.END ? a.points[0].id : id;
        long start = TimerStack.current().end(beginId);
        if (start >= 0 && a.takeHit()) {
            a.add(now - start);
        }
    }

    private void metric(Action a, ProbeScope scope) {
        Object v;
        try {
            v = a.spec.value.eval(scope);
        } catch (Expr.EvalError e) {
            a.finish("condition_error", e.getMessage());
            return;
        }
        if (v == null) {
            return;
        }
        if (!Expr.numeric(v)) {
            a.finish("condition_error", "the value " + a.spec.value + " is not a number");
            return;
        }
        double d = v instanceof Character ? (Character) v : ((Number) v).doubleValue();
        if (a.takeHit()) {
            a.add(d);
        }
    }

    private void snapshot(Action a, ProbePoint p, Object self, Object[] locals, ProbeScope scope) {
        long now = System.currentTimeMillis();
        if (!a.rateAllows(now)) {
            setStatus(a, "rate_limited", "over " + a.spec.ratePerSec + " snapshot(s) per second");
            return;
        }
        if (!a.spec.ignoreQuota && !agentSnapshots.take(now, 1)) {
            a.lastDropSec = now / 1000;
            setStatus(a, "rate_limited", "over " + AGENT_SNAPSHOTS_PER_SEC + " snapshots per second on this agent");
            return;
        }
        if (!a.takeHit()) {
            return;
        }
        // DEFAULTS.md: 10 ms "after warm-up". An action's first capture meets its classes for
        // the first time (reflection accessors are made on first use) and gets a cold budget.
        long budget = a.hits.get() <= 1 ? ValueCapture.COLD_NANOS : CaptureLimits.current().nanos;
        outbox.result(snapshotJson(a, p, self, locals, scope, now, Redactor.current(), budget));
    }

    static String snapshotJson(Action a, ProbePoint p, Object self, Object[] locals, ProbeScope scope, long now,
                               Redactor redactor, long budgetNanos) {
        StringBuilder b = new StringBuilder(4096).append("{\"type\":\"snapshot\",\"id\":");
        Json.string(b, a.spec.id);
        b.append(",\"time\":").append(now).append(",\"thread\":");
        Json.string(b, Utf8.truncate(Utf8.replaceControls(Thread.currentThread().getName(), ' '), 256));
        b.append(",\"frames\":[");
        StackTraceElement[] st = new Throwable().getStackTrace();
        int start = 0;
        for (int i = 0; i < st.length; i++) {
            if ("dev.lantern.hook.Hook".equals(st[i].getClassName())) {
                start = i + 1;
            }
        }
        int maxFrames = CaptureLimits.current().frames;
        for (int i = start; i < st.length && i < start + maxFrames; i++) {
            StackTraceElement e = st[i];
            b.append(i > start ? ",{\"class\":" : "{\"class\":");
            Json.string(b, e.getClassName());
            b.append(",\"method\":");
            Json.string(b, e.getMethodName());
            if (e.getFileName() != null) {
                b.append(",\"file\":");
                Json.string(b, e.getFileName());
            }
            if (e.getLineNumber() > 0) {
                b.append(",\"line\":").append(e.getLineNumber());
            }
            b.append('}');
        }
        b.append(']');
        ValueCapture cap = new ValueCapture(b, redactor, CaptureLimits.current().bytes, budgetNanos);
        // In order of what people asked for most directly: watches, the probed frame's locals,
        // then `this` (usually the largest graph), so budget cuts fall on what matters least.
        if (a.spec.watches.length > 0) {
            b.append(",\"watches\":[");
            for (int i = 0; i < a.spec.watches.length; i++) {
                if (i > 0) {
                    b.append(',');
                }
                Expr w = a.spec.watches[i];
                String text = a.spec.watchTexts[i];
                try {
                    Object v = w.eval(scope);
                    if (w instanceof Expr.Path && redactor.name(((Expr.Path) w).names[((Expr.Path) w).names.length - 1])) {
                        b.append("{\"text\":");
                        Json.string(b, text);
                        b.append(",\"type\":");
                        Json.string(b, v == null ? "null" : v.getClass().getTypeName());
                        b.append(",\"cut\":\"redacted\"}");
                    } else {
                        cap.node("text", text, null, v, 0);
                    }
                } catch (Expr.EvalError e) {
                    b.append("{\"text\":");
                    Json.string(b, text);
                    b.append(",\"error\":");
                    Json.string(b, e.getMessage());
                    b.append('}');
                }
            }
            b.append(']');
        }
        b.append(",\"locals\":[");
        String[] names = p.names;
        String[] declared = p.declared;
        int n = locals == null ? 0 : Math.min(names.length, locals.length);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                b.append(',');
            }
            cap.node("name", names[i], i < declared.length ? declared[i] : null, locals[i], 0);
        }
        b.append(']');
        if (self != null) {
            b.append(",\"this\":");
            cap.node(null, null, null, self, 0);
        }
        if (cap.truncated()) {
            b.append(",\"truncated\":true");
        }
        return b.append('}').toString();
    }

    private void log(Action a, ProbeScope scope) {
        long now = System.currentTimeMillis();
        if (!a.rateAllows(now)) {
            setStatus(a, "rate_limited", "over " + a.spec.ratePerSec + " lines per second");
            return;
        }
        if (!a.spec.ignoreQuota && !logLines.take(now, 1)) {
            a.lastDropSec = now / 1000;
            setStatus(a, "paused_quota", "log quota of " + LOG_LINES_PER_SEC + " lines/s per agent spent");
            return;
        }
        String text = a.spec.template.format(scope, Redactor.current());
        if (!a.spec.ignoreQuota && !logBytes.take(now, Utf8.length(text))) {
            a.lastDropSec = now / 1000;
            setStatus(a, "paused_quota", "log quota of " + LOG_BYTES_PER_SEC / 1024 + " KiB/s per agent spent");
            return;
        }
        if (!a.takeHit()) {
            return;
        }
        if (a.spec.toStdout) {
            System.out.println(a.spec.level.toUpperCase(java.util.Locale.ROOT) + " [lantern " + a.spec.id + "] " + text);
        }
        if (a.spec.toAppliance) {
            StringBuilder b = new StringBuilder(text.length() + 128).append("{\"type\":\"log\",\"id\":");
            Json.string(b, a.spec.id);
            b.append(",\"time\":").append(now).append(",\"level\":\"").append(a.spec.level).append("\",\"thread\":");
            Json.string(b, Utf8.truncate(Utf8.replaceControls(Thread.currentThread().getName(), ' '), 256));
            b.append(",\"text\":");
            Json.string(b, text);
            outbox.result(b.append('}').toString());
        }
    }

    /** Number of actions running (for tests and stats). */
    int size() {
        return actions.size();
    }
}
