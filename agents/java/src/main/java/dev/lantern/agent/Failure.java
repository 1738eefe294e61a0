package dev.lantern.agent;

import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocketHandshakeException;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * Owns turning why a connection failed or ended into one log line and a back-off decision.
 * The line says what an operator can act on: a wrong key (401), a detached pool (403), a pin
 * that does not match, an appliance that cannot be reached.
 */
final class Failure {
    final String message;
    /** True when retrying soon will not help: wait the longest back-off. */
    final boolean refusal;

    Failure(String message, boolean refusal) {
        this.message = message;
        this.refusal = refusal;
    }

    /** The appliance closed the connection with {@code code}. */
    static Failure closed(int code, String reason) {
        String why = reason == null || reason.isEmpty() ? "" : ": " + reason;
        switch (code) {
            case 1008:
                return new Failure("the appliance refused this agent (1008)" + why, true);
            case 4004:
                return new Failure("the appliance speaks no protocol version this agent speaks (4004)" + why, true);
            case 1009:
                return new Failure("the appliance found a frame too big (1009)" + why, false);
            case 1006:
                return new Failure("the connection to the appliance was lost (1006)", false);
            case 4001:
                return new Failure("replaced by a newer connection of this agent (4001)" + why, false);
            default:
                return new Failure("the appliance closed the connection (" + code + ")" + why, false);
        }
    }

    /** The connection attempt or the connection failed with {@code error}. */
    static Failure of(Throwable error, PinningTrustManager trust, String server) {
        String mismatch = trust.takeLastMismatch();
        if (mismatch != null) {
            return new Failure("server certificate pin mismatch: got " + mismatch + ", expected "
                + trust.expected() + " (the key was not sent)", false);
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof WebSocketHandshakeException) {
                return handshake((WebSocketHandshakeException) t);
            }
            if (t instanceof ConnectException) {
                return new Failure("cannot reach the appliance at " + server + " ("
                    + (t.getMessage() == null ? "connection refused" : t.getMessage()) + ")", false);
            }
            if (t instanceof HttpTimeoutException) {
                return new Failure("the appliance at " + server + " did not answer in time", false);
            }
            if (t instanceof SSLException) {
                return new Failure("TLS with the appliance at " + server + " failed: " + Log.describe(t), false);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return new Failure("connection to the appliance failed: " + Log.describe(rootOf(error)), false);
    }

    private static Failure handshake(WebSocketHandshakeException e) {
        int status = -1;
        String detail = "";
        try {
            status = e.getResponse().statusCode();
            Object body = e.getResponse().body();
            detail = errorMessage(body instanceof String ? (String) body : null);
        } catch (RuntimeException ignored) {
            // No response details: the status alone has to do.
        }
        String tail = detail.isEmpty() ? "" : ": " + detail;
        switch (status) {
            case 401:
                return new Failure("the appliance refused the key (401)" + tail, true);
            case 403:
                return new Failure("the appliance refused this agent's pool (403)" + tail, true);
            case 503:
                return new Failure("the appliance is not ready (503)" + tail, false);
            default:
                return new Failure("the appliance did not accept the websocket (HTTP " + status + ")" + tail, false);
        }
    }

    /** The {@code error.message} of the API's JSON error shape, else the body's start. */
    static String errorMessage(String body) {
        if (body == null || body.isEmpty()) {
            return "";
        }
        try {
            Object parsed = Json.parse(body);
            if (parsed instanceof Map) {
                Object err = ((Map<?, ?>) parsed).get("error");
                if (err instanceof Map) {
                    Object code = ((Map<?, ?>) err).get("code");
                    Object message = ((Map<?, ?>) err).get("message");
                    String m = message instanceof String ? (String) message : "";
                    return code instanceof String ? code + (m.isEmpty() ? "" : " — " + m) : m;
                }
            }
        } catch (IllegalArgumentException notJson) {
            // fall through to the raw text
        }
        String flat = body.replaceAll("\\s+", " ").trim();
        return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
    }

    private static Throwable rootOf(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r;
    }
}
