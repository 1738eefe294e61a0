package dev.lantern.agent;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * Owns one websocket connection to the appliance over the JDK's own HTTP client: TLS with the
 * {@link PinningTrustManager} (so a wrong pin fails the handshake before the upgrade request,
 * and with it the key, is sent), the {@code Authorization: Bearer} header, and a listener that
 * turns incoming frames, closes and errors into {@link Event}s for the sender thread to poll.
 * The JDK answers pings by itself.
 */
final class ApplianceSocket {
    /** Something that arrived from the appliance. */
    static final class Event {
        final String text;
        final int closeCode;
        final String closeReason;
        final Throwable error;

        private Event(String text, int closeCode, String closeReason, Throwable error) {
            this.text = text;
            this.closeCode = closeCode;
            this.closeReason = closeReason;
            this.error = error;
        }

        boolean isText() {
            return text != null;
        }

        boolean isClose() {
            return closeCode != 0;
        }
    }

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile WebSocket socket;

    /** Builds the client for one connection attempt; the trust manager sees the certificate. */
    static HttpClient client(PinningTrustManager trust, Duration connectTimeout) throws Exception {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {trust}, new SecureRandom());
        SSLParameters params = tls.getDefaultSSLParameters();
        params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        Thread[] before = AgentThreads.live();
        HttpClient client = HttpClient.newBuilder()
            .executor(AgentThreads.executor())
            .sslContext(tls)
            .sslParameters(params)
            .connectTimeout(connectTimeout)
            // A proxy would see the key only inside TLS, but an on-prem appliance is reached directly.
            .proxy(HttpClient.Builder.NO_PROXY)
            .build();
        AgentThreads.excludeNewSelectorThreads(before);
        return client;
    }

    /** Starts the opening handshake; the future fails with the handshake's error. */
    CompletableFuture<WebSocket> open(HttpClient client, URI server, String key, Duration timeout) {
        return client.newWebSocketBuilder()
            .header("Authorization", "Bearer " + key)
            .connectTimeout(timeout)
            .buildAsync(server, new Listener())
            .thenApply(ws -> {
                socket = ws;
                return ws;
            });
    }

    WebSocket socket() {
        return socket;
    }

    /** The next event, waiting at most {@code millis}; null when none came. */
    Event poll(long millis) throws InterruptedException {
        return events.poll(millis, TimeUnit.MILLISECONDS);
    }

    long silentMillis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeardNanos);
    }

    /** Feeds the appliance's frames, pongs and closes into {@link #events}. */
    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public void onOpen(WebSocket webSocket) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            lastHeardNanos = System.nanoTime();
            partial.append(data);
            if (last) {
                events.add(new Event(partial.toString(), 0, null, null));
                partial.setLength(0);
            } else if (partial.length() > 4 * 1024 * 1024) {
                // Nothing the appliance sends is this large; do not let it grow without bound.
                partial.setLength(0);
                webSocket.abort();
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            events.add(new Event(null, statusCode == 0 ? 1005 : statusCode, reason, null));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            events.add(new Event(null, 0, null, error));
        }
    }
}
