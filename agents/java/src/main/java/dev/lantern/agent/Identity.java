package dev.lantern.agent;

import java.io.File;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;

/**
 * Owns who this agent says it is in {@code hello}: a stable {@code agent_id} (from the
 * {@code agent_id=} option, else a hash of host, display name, main command and the instance's
 * directory ({@code catalina.base} for Tomcat, else the working directory), so that a restart
 * keeps its history on the appliance while two Tomcat instances on one host stay apart), a random {@code instance_id} per process, the display
 * name, host, pid and runtime. Built on the sender thread because the host name lookup may be slow.
 */
final class Identity {
    final String agentId;
    final String instanceId;
    final String displayName;
    final String host;
    final long pid;
    final String runtimeVersion;
    final String runtimeVendor;
    final String agentVersion;
    final List<String> tags;

    Identity(String agentId, String instanceId, String displayName, String host, long pid,
             String runtimeVersion, String runtimeVendor, String agentVersion, List<String> tags) {
        this.agentId = agentId;
        this.instanceId = instanceId;
        this.displayName = displayName;
        this.host = host;
        this.pid = pid;
        this.runtimeVersion = runtimeVersion;
        this.runtimeVendor = runtimeVendor;
        this.agentVersion = agentVersion;
        this.tags = tags;
    }

    static Identity current(Options options, String agentVersion) {
        String command = mainCommand(System.getProperty("sun.java.command"));
        String display = options.name != null ? options.name : label(command, "java");
        String host = label(hostName(), "unknown-host");
        String agentId = options.agentId != null ? options.agentId
            : derivedId(host, display, instanceDirectory(), command);
        return new Identity(agentId, randomId(), display, host, ProcessHandle.current().pid(),
            label(Runtime.version().toString(), "unknown"),
            labelOrNull(System.getProperty("java.vendor")), label(agentVersion, "unknown"), options.tags);
    }

    /**
     * The main class or jar from {@code sun.java.command} ("org.apache.catalina.startup.Bootstrap start"
     * → the class; "/srv/app.jar --port 1" → "app.jar"); null when unknown.
     */
    static String mainCommand(String javaCommand) {
        if (javaCommand == null || javaCommand.trim().isEmpty()) {
            return null;
        }
        String first = javaCommand.trim().split("\\s+")[0];
        if (first.toLowerCase(Locale.ROOT).endsWith(".jar")) {
            return new File(first).getName();
        }
        return first;
    }

    /**
     * The directory that tells this application instance from another on the same host: a
     * Tomcat's {@code catalina.base} (its working directory depends on who started it: a shell,
     * systemd, a script), else the working directory.
     */
    static String instanceDirectory() {
        String base = System.getProperty("catalina.base");
        return base != null && !base.isEmpty() ? base : System.getProperty("user.dir", "");
    }

    static String derivedId(String host, String display, String directory, String command) {
        String material = host + '\0' + display + '\0' + directory + '\0' + (command == null ? "" : command);
        String hash = JarInspector.hex(sha256(material.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        return slug(display) + "-" + hash;
    }

    /** A short readable prefix for the id: "org.apache.catalina.startup.Bootstrap" → "bootstrap". */
    static String slug(String display) {
        String base = display;
        if (base.endsWith(".jar")) {
            base = base.substring(0, base.length() - 4);
        } else if (base.indexOf('.') >= 0 && base.indexOf(' ') < 0) {
            base = base.substring(base.lastIndexOf('.') + 1);
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < base.length() && b.length() < 40; i++) {
            char c = Character.toLowerCase(base.charAt(i));
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                b.append(c);
            } else if (b.length() > 0 && b.charAt(b.length() - 1) != '-') {
                b.append('-');
            }
        }
        while (b.length() > 0 && b.charAt(b.length() - 1) == '-') {
            b.setLength(b.length() - 1);
        }
        return b.length() == 0 ? "java" : b.toString();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? null : env;
        }
    }

    private static String randomId() {
        byte[] b = new byte[8];
        new SecureRandom().nextBytes(b);
        return JarInspector.hex(b);
    }

    /** A value fit for {@code hello} (1–128 bytes, no control characters), or the fallback. */
    static String label(String value, String fallback) {
        String v = labelOrNull(value);
        return v == null ? fallback : v;
    }

    private static String labelOrNull(String value) {
        if (value == null) {
            return null;
        }
        String v = Utf8.truncate(Utf8.replaceControls(value, ' ').trim(), Options.MAX_LABEL_BYTES);
        return v.isEmpty() ? null : v;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    String helloJson() {
        StringBuilder b = new StringBuilder(512);
        b.append("{\"type\":\"hello\",\"protocol\":1,\"min_protocol\":1,\"agent_id\":");
        Json.string(b, agentId);
        b.append(",\"instance_id\":");
        Json.string(b, instanceId);
        b.append(",\"runtime\":{\"name\":\"java\",\"version\":");
        Json.string(b, runtimeVersion);
        if (runtimeVendor != null) {
            b.append(",\"vendor\":");
            Json.string(b, runtimeVendor);
        }
        b.append("},\"agent_version\":");
        Json.string(b, agentVersion);
        b.append(",\"display_name\":");
        Json.string(b, displayName);
        b.append(",\"host\":");
        Json.string(b, host);
        b.append(",\"pid\":").append(pid).append(",\"tags\":[");
        for (int i = 0; i < tags.size(); i++) {
            if (i > 0) {
                b.append(',');
            }
            Json.string(b, tags.get(i));
        }
        return b.append("],\"capabilities\":[\"class_loads\",\"actions\"]}").toString();
    }
}
