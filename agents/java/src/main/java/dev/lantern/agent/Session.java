package dev.lantern.agent;

import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;

/**
 * Owns the protocol on one connection, after the websocket is open: {@code hello}, waiting for
 * {@code hello_ack}, the full state as {@code initial} frames, then live batches and
 * {@code agent_stats}, until the connection ends. Its {@code ref}s and {@code seq} die with it.
 * Returns why it ended; the {@link Sender} decides what to do next.
 */
final class Session {
    static final long HELLO_ACK_TIMEOUT_MS = 15_000;
    static final long STATS_EVERY_MS = 60_000;
    static final long TICK_MS = 100;
    /** Outgoing probe messages per tick, so that reading the appliance is never starved. */
    static final int MAX_RESULTS_PER_TICK = 64;
    static final int MAX_ACTION_SET_CHARS = 64 * 1024;

    private final Sender sender;
    private final ApplianceSocket socket;
    private final WebSocket ws;
    private final ArtifactCatalog catalog;
    private Limits limits = Limits.V1;
    private long nextSeq = 1;
    private long silenceLimitMs = 60_000;

    Session(Sender sender, ApplianceSocket socket, ArtifactCatalog catalog) {
        this.sender = sender;
        this.socket = socket;
        this.ws = socket.socket();
        this.catalog = catalog;
    }

    /** Runs the connection to its end; never throws for network reasons. */
    Failure run(Identity identity) throws InterruptedException {
        try {
            send(identity.helloJson());
            Failure f = awaitAck();
            if (f != null || sender.stopping()) {
                return f;
            }
            catalog.newConnection();
            sender.resolve();
            for (String frame : nextFrames(true)) {
                send(frame);
            }
            return live();
        } catch (SendFailed e) {
            // A send fails when the appliance has just closed: its close code says more.
            Failure closed = pendingClose();
            return closed != null ? closed : Failure.of(e.getCause(), sender.trust(), sender.serverText());
        }
    }

    private Failure pendingClose() throws InterruptedException {
        ApplianceSocket.Event e;
        while ((e = socket.poll(200)) != null) {
            if (e.isClose()) {
                return Failure.closed(e.closeCode, e.closeReason);
            }
        }
        return null;
    }

    private Failure awaitAck() throws InterruptedException, SendFailed {
        long deadline = System.currentTimeMillis() + HELLO_ACK_TIMEOUT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (sender.stopping()) {
                return null;
            }
            ApplianceSocket.Event e = socket.poll(TICK_MS);
            sender.intake();
            if (e == null) {
                continue;
            }
            if (e.isClose()) {
                return Failure.closed(e.closeCode, e.closeReason);
            }
            if (e.error != null) {
                return Failure.of(e.error, sender.trust(), sender.serverText());
            }
            Map<?, ?> m = parse(e.text);
            if (m == null) {
                continue;
            }
            Object type = m.get("type");
            if ("hello_ack".equals(type)) {
                limits = Limits.from(m.get("limits"));
                Object hb = m.get("heartbeat_secs");
                if (hb instanceof Long && (Long) hb > 0) {
                    // PROTOCOL.md: twice the heartbeat without traffic counts as dead, but no
                    // less than the 60 s an agent may always wait.
                    silenceLimitMs = Math.max(60_000, 2_000 * (Long) hb + 10_000);
                }
                Object sessionId = m.get("session_id");
                // Statuses queued for an earlier connection are stale: the appliance's
                // action.sync after this acknowledgement brings every action's status again.
                sender.outbox().clearStatuses();
                Log.resetRepeated();
                Log.info("connected to " + sender.serverText() + " as " + sender.identity().agentId
                    + (sessionId instanceof String ? " (session " + sessionId + ")" : ""));
                return null;
            }
            handleOther(m, type, e.text.length());
        }
        abort();
        return new Failure("the appliance did not acknowledge hello within "
            + HELLO_ACK_TIMEOUT_MS / 1000 + " s", false);
    }

    private Failure live() throws InterruptedException, SendFailed {
        long lastStats = System.currentTimeMillis();
        long pendingSince = 0;
        while (true) {
            if (sender.stopping()) {
                return null;
            }
            ApplianceSocket.Event e = socket.poll(TICK_MS);
            if (e != null) {
                if (e.isClose()) {
                    return Failure.closed(e.closeCode, e.closeReason);
                }
                if (e.error != null) {
                    return Failure.of(e.error, sender.trust(), sender.serverText());
                }
                Map<?, ?> m = parse(e.text);
                if (m != null) {
                    handleOther(m, m.get("type"), e.text.length());
                }
            }
            if (socket.silentMillis() > silenceLimitMs) {
                abort();
                return new Failure("nothing heard from the appliance for " + silenceLimitMs / 1000
                    + " s; reconnecting", false);
            }
            sender.intake();
            long now = System.currentTimeMillis();
            if (catalog.hasUnsent()) {
                if (pendingSince == 0) {
                    pendingSince = now;
                }
                boolean full = catalog.unsentClasses() >= limits.maxClassesPerBatch;
                // Drains happen every tick, so a load may be one tick older than pendingSince.
                boolean due = now - pendingSince >= limits.batchIntervalMs - 2 * TICK_MS;
                if (full || due) {
                    sender.resolve();
                    for (String frame : nextFrames(false)) {
                        send(frame);
                    }
                    pendingSince = 0;
                }
            }
            sendProbeResults();
            if (now - lastStats >= STATS_EVERY_MS) {
                send(sender.statsJson());
                lastStats = now;
            }
        }
    }

    /** Statuses, snapshots, logs and metrics waiting in the outbox; a bounded number per tick. */
    private void sendProbeResults() throws InterruptedException, SendFailed {
        for (int i = 0; i < MAX_RESULTS_PER_TICK; i++) {
            String out = sender.outbox().poll();
            if (out == null) {
                return;
            }
            send(out);
        }
    }

    private List<String> nextFrames(boolean initial) {
        List<String> frames = catalog.frames(limits, initial, nextSeq);
        nextSeq += frames.size();
        return frames;
    }

    /** Anything but {@code hello_ack}: errors are logged, unknown types answered as the protocol asks. */
    private void handleOther(Map<?, ?> m, Object type, int textLength) throws InterruptedException, SendFailed {
        if ("error".equals(type)) {
            Log.repeated("the appliance reported " + m.get("code") + ": " + m.get("message"));
        } else if ("hello_ack".equals(type)) {
            // A repeated acknowledgement changes nothing.
            return;
        } else if (ProbeEngine.handles(type) && sender.probes() != null) {
            // PROTOCOL.md bounds one action at 64 KiB (a sync carries many and is bounded by count).
            String problem = "action.set".equals(type) && textLength > MAX_ACTION_SET_CHARS
                ? "action.set over 64 KiB" : sender.probes().onMessage(m);
            if (problem != null) {
                StringBuilder b = new StringBuilder("{\"type\":\"error\",\"code\":\"invalid_message\",\"message\":");
                Json.string(b, Utf8.truncate(problem, 1000));
                b.append(",\"about\":");
                Json.string(b, (String) type);
                send(b.append('}').toString());
            }
        } else {
            String t = type instanceof String ? (String) type : "";
            String about = Utf8.truncate(Utf8.replaceControls(t, '?'), 128);
            StringBuilder b = new StringBuilder("{\"type\":\"error\",\"code\":\"unknown_type\",\"message\":");
            Json.string(b, Utf8.truncate("no handler for " + about, 1000));
            if (!about.isEmpty()) {
                b.append(",\"about\":");
                Json.string(b, about);
            }
            send(b.append('}').toString());
        }
    }

    private static Map<?, ?> parse(String text) {
        try {
            Object o = Json.parse(text);
            return o instanceof Map ? (Map<?, ?>) o : null;
        } catch (IllegalArgumentException e) {
            Log.repeated("ignored a malformed message from the appliance");
            return null;
        }
    }

    /**
     * Sends one text message and waits for it to be written (one send outstanding at a time),
     * in fragments no bigger than the appliance's frame limit.
     */
    private void send(String text) throws InterruptedException, SendFailed {
        try {
            List<CharSequence> parts = fragments(text, limits.maxFrameBytes);
            for (int i = 0; i < parts.size(); i++) {
                sender.await(ws.sendText(parts.get(i), i == parts.size() - 1), 30_000);
            }
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            abort();
            throw new SendFailed(e);
        }
    }

    /**
     * Cuts {@code text} into pieces whose UTF-8 form fits {@code maxBytes}: a UTF-16 unit is at
     * most 3 bytes (a surrogate pair, two units, is 4), and a pair is never cut in two.
     */
    static List<CharSequence> fragments(String text, int maxBytes) {
        int step = Math.max(2, maxBytes / 3);
        List<CharSequence> parts = new java.util.ArrayList<>();
        int start = 0;
        while (text.length() - start > step) {
            int end = start + step;
            if (Character.isHighSurrogate(text.charAt(end - 1))) {
                end--;
            }
            parts.add(java.nio.CharBuffer.wrap(text, start, end));
            start = end;
        }
        parts.add(java.nio.CharBuffer.wrap(text, start, text.length()));
        return parts;
    }

    private void abort() {
        try {
            ws.abort();
        } catch (RuntimeException ignored) {
            // already gone
        }
    }

    /** A send failed: the connection is unusable. */
    private static final class SendFailed extends Exception {
        private static final long serialVersionUID = 1L;

        SendFailed(Throwable cause) {
            super(cause);
        }
    }
}
