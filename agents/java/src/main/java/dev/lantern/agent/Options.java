package dev.lantern.agent;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Owns the agent's configuration: parses the {@code -javaagent:...=key=value,...} string and the
 * {@code LANTERN_*} environment variables (an option beats the variable), and validates it. A
 * missing or malformed server, key or pin disables the agent (the caller prints {@link #error});
 * a bad tag or name only costs that value, with a warning, because the rest still works.
 */
final class Options {
    /** Names accepted in the option string, with the environment variable for each. */
    static final Map<String, String> ENV_NAMES;

    static {
        Map<String, String> names = new LinkedHashMap<>();
        names.put("server", "LANTERN_SERVER");
        names.put("key", "LANTERN_KEY");
        names.put("pin", "LANTERN_PIN");
        names.put("tags", "LANTERN_TAGS");
        names.put("name", "LANTERN_NAME");
        names.put("agent_id", "LANTERN_AGENT_ID");
        ENV_NAMES = Collections.unmodifiableMap(names);
    }

    static final int MAX_TAGS = 32;
    static final int MAX_LABEL_BYTES = 128;

    final URI server;
    final String key;
    final List<byte[]> pins;
    final List<String> tags;
    /** The {@code name=} option, or null for the default display name. */
    final String name;
    /** The {@code agent_id=} option, or null to derive a stable one. */
    final String agentId;
    /** Why the agent cannot run, or null when it can. */
    final String error;
    /** Things that were ignored, one sentence each. */
    final List<String> warnings;

    private Options(URI server, String key, List<byte[]> pins, List<String> tags, String name,
                    String agentId, String error, List<String> warnings) {
        this.server = server;
        this.key = key;
        this.pins = pins;
        this.tags = tags;
        this.name = name;
        this.agentId = agentId;
        this.error = error;
        this.warnings = warnings;
    }

    boolean ok() {
        return error == null;
    }

    /** Parses {@code args} (may be null) with {@code env} as fallback. Never throws. */
    static Options parse(String args, Map<String, String> env) {
        List<String> warnings = new ArrayList<>();
        Map<String, String> given = new LinkedHashMap<>();
        if (args != null) {
            for (String part : args.split(",")) {
                String item = part.trim();
                if (item.isEmpty()) {
                    continue;
                }
                int eq = item.indexOf('=');
                if (eq <= 0) {
                    warnings.add("ignored option \"" + shown(item) + "\" (expected key=value)");
                    continue;
                }
                String k = item.substring(0, eq).trim().toLowerCase(Locale.ROOT);
                if (!ENV_NAMES.containsKey(k)) {
                    warnings.add("ignored unknown option \"" + shown(k) + "\"");
                    continue;
                }
                given.put(k, item.substring(eq + 1).trim());
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : ENV_NAMES.entrySet()) {
            String v = given.get(e.getKey());
            if ((v == null || v.isEmpty()) && env != null) {
                v = env.get(e.getValue());
                v = v == null ? null : v.trim();
            }
            if (v != null && !v.isEmpty()) {
                values.put(e.getKey(), v);
            }
        }

        String error = null;
        URI server = null;
        String serverText = values.get("server");
        if (serverText == null) {
            error = "no server given (server=wss://HOST:8443/agent/v1 or LANTERN_SERVER)";
        } else {
            server = parseServer(serverText);
            if (server == null) {
                error = "server \"" + shown(serverText) + "\" is not a wss:// URL with a host";
            }
        }
        String key = values.get("key");
        if (error == null && key == null) {
            error = "no agent-pool key given (key= or LANTERN_KEY)";
        } else if (error == null && !keyOk(key)) {
            error = "the agent-pool key contains spaces or control characters";
        }
        List<byte[]> pins = new ArrayList<>();
        String pinText = values.get("pin");
        if (error == null && pinText == null) {
            error = "no certificate pin given (pin=sha256/... or LANTERN_PIN, as printed by the appliance)";
        } else if (error == null) {
            for (String p : pinText.split(";")) {
                String pin = p.trim();
                if (pin.isEmpty()) {
                    continue;
                }
                byte[] digest = Pins.parse(pin);
                if (digest == null) {
                    error = "pin \"" + shown(pin) + "\" is not sha256/ followed by the base64 of 32 bytes";
                    break;
                }
                pins.add(digest);
            }
            if (error == null && pins.isEmpty()) {
                error = "no certificate pin given (pin=sha256/...)";
            }
        }

        List<String> tags = new ArrayList<>();
        String tagText = values.get("tags");
        if (tagText != null) {
            for (String t : tagText.split(";")) {
                String tag = t.trim();
                if (tag.isEmpty() || tags.contains(tag)) {
                    continue;
                }
                if (!tagOk(tag)) {
                    warnings.add("ignored tag \"" + shown(tag) + "\" (1 to 64 of letters, digits and . _ - : /)");
                } else if (tags.size() >= MAX_TAGS) {
                    warnings.add("ignored tag \"" + shown(tag) + "\" (at most " + MAX_TAGS + " tags)");
                } else {
                    tags.add(tag);
                }
            }
        }
        String name = values.get("name");
        if (name != null && !labelOk(name)) {
            warnings.add("ignored name \"" + shown(name) + "\" (1 to 128 bytes, no control characters)");
            name = null;
        }
        String agentId = values.get("agent_id");
        if (agentId != null && !labelOk(agentId)) {
            warnings.add("ignored agent_id \"" + shown(agentId) + "\" (1 to 128 bytes, no control characters)");
            agentId = null;
        }
        return new Options(server, key, Collections.unmodifiableList(pins), Collections.unmodifiableList(tags),
            name, agentId, error, Collections.unmodifiableList(warnings));
    }

    private static URI parseServer(String text) {
        try {
            URI uri = new URI(text);
            if (!"wss".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null || uri.getHost().isEmpty()
                || uri.getUserInfo() != null || uri.getFragment() != null) {
                return null;
            }
            return uri;
        } catch (URISyntaxException e) {
            return null;
        }
    }

    private static boolean keyOk(String key) {
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    /** The appliance's rule: 1–64 of letters, digits and {@code . _ - : /}. */
    static boolean tagOk(String tag) {
        // The appliance counts bytes, not characters.
        if (tag.isEmpty() || Utf8.length(tag) > 64) {
            return false;
        }
        for (int i = 0; i < tag.length(); ) {
            int c = tag.codePointAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/')) {
                return false;
            }
            i += Character.charCount(c);
        }
        return true;
    }

    /** The appliance's rule for ids and names in {@code hello}: 1–128 bytes, no control characters. */
    static boolean labelOk(String s) {
        return !s.isEmpty() && Utf8.length(s) <= MAX_LABEL_BYTES && !Utf8.hasControl(s);
    }

    /** A value as it may appear in a log line: short, and never the whole of a secret-looking string. */
    private static String shown(String s) {
        String clean = Utf8.replaceControls(s, '?');
        return clean.length() > 80 ? clean.substring(0, 77) + "..." : clean;
    }
}
