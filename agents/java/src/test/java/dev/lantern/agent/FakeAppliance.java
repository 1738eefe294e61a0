package dev.lantern.agent;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * Owns a stand-in for the appliance's agent gateway in tests: TLS with a keytool certificate,
 * the websocket upgrade on /agent/v1 with a Bearer key check (401 with the API's JSON error
 * otherwise), a minimal RFC 6455 server (masked client frames, fragmentation, ping, close), a
 * {@code hello_ack} for every {@code hello}, and a record of what arrived.
 */
final class FakeAppliance implements AutoCloseable {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private final ServerSocket server;
    private final String key;
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    final List<String> messages = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> closeCodes = Collections.synchronizedList(new ArrayList<>());
    final List<String> protocolErrors = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean closed;
    /** Sent after every hello_ack, in order (an action.sync, say). */
    final List<String> afterHello = Collections.synchronizedList(new ArrayList<>());
    private volatile OutputStream current;
    private volatile Socket currentSocket;

    FakeAppliance(TestCertificate cert, String key) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(cert.keystore)) {
            ks.load(in, TestCertificate.PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, TestCertificate.PASSWORD);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        this.server = tls.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ((SSLServerSocket) server).setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        this.key = key;
        Thread t = new Thread(this::acceptLoop, "fake-appliance");
        t.setDaemon(true);
        t.start();
    }

    String url() {
        return "wss://127.0.0.1:" + server.getLocalPort() + "/agent/v1";
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s), "fake-appliance-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (Socket socket = s) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            String head = readHead(in);
            if (head == null) {
                return;
            }
            requests.add(head);
            Map<String, String> headers = headers(head);
            if (!("Bearer " + key).equals(headers.get("authorization"))) {
                byte[] body = "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no pool has this key\"}}"
                    .getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                return;
            }
            String accept = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                .digest((headers.get("sec-websocket-key") + GUID).getBytes(StandardCharsets.US_ASCII)));
            out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + accept + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            current = out;
            currentSocket = socket;
            frames(in, out);
        } catch (Exception e) {
            // The agent went away: normal for these tests.
        }
    }

    private void frames(DataInputStream in, OutputStream out) throws Exception {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        while (true) {
            int b0 = in.readUnsignedByte();
            int b1 = in.readUnsignedByte();
            boolean fin = (b0 & 0x80) != 0;
            int op = b0 & 0x0f;
            if ((b1 & 0x80) == 0) {
                protocolErrors.add("unmasked client frame");
            }
            long len = b1 & 0x7f;
            if (len == 126) {
                len = in.readUnsignedShort();
            } else if (len == 127) {
                len = in.readLong();
            }
            byte[] mask = new byte[4];
            in.readFully(mask);
            if (len > 64 * 1024) {
                protocolErrors.add("frame over 64 KiB: " + len);
            }
            byte[] data = new byte[(int) len];
            in.readFully(data);
            for (int i = 0; i < data.length; i++) {
                data[i] ^= mask[i % 4];
            }
            if (op == 8) {
                int code = data.length >= 2 ? ((data[0] & 0xff) << 8) | (data[1] & 0xff) : 1005;
                closeCodes.add(code);
                send(out, 8, new byte[] {data.length >= 2 ? data[0] : 3, data.length >= 2 ? data[1] : (byte) 0xe8});
                return;
            }
            if (op == 9) {
                send(out, 10, data);
                continue;
            }
            if (op == 2) {
                protocolErrors.add("binary frame");
            }
            message.write(data);
            if (!fin) {
                continue;
            }
            String text = message.toString(StandardCharsets.UTF_8);
            message.reset();
            if (text.getBytes(StandardCharsets.UTF_8).length > 1 << 20) {
                protocolErrors.add("message over 1 MiB");
            }
            messages.add(text);
            if (text.startsWith("{\"type\":\"hello\"")) {
                send(out, 1, ("{\"type\":\"hello_ack\",\"protocol\":1,\"session_id\":\"c0ffee0123456789\","
                    + "\"heartbeat_secs\":25,\"limits\":{\"max_message_bytes\":1048576,\"max_frame_bytes\":65536,\"max_classes_per_batch\":20000,"
                    + "\"max_artifacts_per_batch\":5000,\"batch_interval_ms\":1000,\"max_name_bytes\":1024,"
                    + "\"max_tags\":32},\"future_field\":true}").getBytes(StandardCharsets.UTF_8));
                // A message type this agent does not know must be answered with unknown_type.
                send(out, 1, "{\"type\":\"teleport\",\"x\":1}".getBytes(StandardCharsets.UTF_8));
                synchronized (afterHello) {
                    for (String m : afterHello) {
                        send(out, 1, m.getBytes(StandardCharsets.UTF_8));
                    }
                }
            }
        }
    }

    private static synchronized void send(OutputStream out, int op, byte[] data) throws IOException {
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write(0x80 | op);
        if (data.length < 126) {
            f.write(data.length);
        } else if (data.length < 65536) {
            f.write(126);
            f.write(data.length >> 8);
            f.write(data.length & 0xff);
        } else {
            f.write(127);
            for (int i = 7; i >= 0; i--) {
                f.write((int) ((long) data.length >> (8 * i)) & 0xff);
            }
        }
        f.write(data);
        out.write(f.toByteArray());
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (head.size() < 16384) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) ? state + 1 : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    private static Map<String, String> headers(String head) {
        Map<String, String> h = new HashMap<>();
        String[] lines = head.split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                h.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        return h;
    }

    /** Sends one text message to the agent on the newest connection. */
    void sendToAgent(String json) throws IOException {
        OutputStream out = current;
        if (out == null) {
            throw new IOException("no agent connected");
        }
        send(out, 1, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Breaks the newest connection without a close frame, as a network failure would. */
    void dropConnection() throws IOException {
        Socket s = currentSocket;
        if (s != null) {
            s.close();
        }
    }

    /** The messages of one type, parsed. */
    List<Map<?, ?>> ofType(String type) {
        List<Map<?, ?>> out = new ArrayList<>();
        synchronized (messages) {
            for (String m : messages) {
                Map<?, ?> parsed = (Map<?, ?>) Json.parse(m);
                if (type.equals(parsed.get("type"))) {
                    out.add(parsed);
                }
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
