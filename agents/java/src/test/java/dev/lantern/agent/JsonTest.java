package dev.lantern.agent;

import java.util.List;
import java.util.Map;

/** The JSON writer's escaping and the parser used for the appliance's messages. */
public class JsonTest {
    @Test
    public void escapesWhatJsonRequires() {
        Check.equal("\"a\\\"b\\\\c\\n\\t\\u0001\"", Json.quote("a\"b\\c\n\t\u0001"), "escapes");
        Check.equal("\"Zürich 😀\"", Json.quote("Zürich 😀"), "non-ASCII stays as is");
        Check.equal("\"\\ud800x\"", Json.quote("\ud800x"), "a lone surrogate is escaped");
    }

    @Test
    public void roundTrips() {
        String text = "x\"y\\z\n\u0002é😀";
        Check.equal(text, Json.parse(Json.quote(text)), "string round trip");
    }

    @Test
    public void parsesAHelloAck() {
        Object o = Json.parse("{\"type\": \"hello_ack\", \"protocol\": 1, \"session_id\": \"c0ffee\",\n"
            + " \"heartbeat_secs\": 25, \"limits\": {\"max_message_bytes\": 1048576, \"max_classes_per_batch\": 20000,"
            + " \"max_artifacts_per_batch\": 5000, \"batch_interval_ms\": 1000, \"max_name_bytes\": 1024, \"max_tags\": 32},"
            + " \"extra\": [true, false, null, -1.5e3, \"\\u00e9\"]}");
        Map<?, ?> m = (Map<?, ?>) o;
        Check.equal("hello_ack", m.get("type"), "type");
        Check.equal(25L, m.get("heartbeat_secs"), "number");
        Limits l = Limits.from(m.get("limits"));
        Check.equal(1048576, l.maxMessageBytes, "max bytes");
        Check.equal(20000, l.maxClassesPerBatch, "max classes");
        Check.equal(5000, l.maxArtifactsPerBatch, "max artifacts");
        List<?> extra = (List<?>) m.get("extra");
        Check.equal(-1500.0, extra.get(3), "double");
        Check.equal("é", extra.get(4), "unicode escape");
    }

    @Test
    public void lowerLimitsAreHonouredAndHigherOnesCapped() {
        Limits l = Limits.from(Json.parse("{\"max_message_bytes\": 65536, \"max_classes_per_batch\": 100,"
            + " \"max_artifacts_per_batch\": 99999, \"batch_interval_ms\": \"x\"}"));
        Check.equal(65536, l.maxMessageBytes, "lower frame size");
        Check.equal(100, l.maxClassesPerBatch, "lower class count");
        Check.equal(5000, l.maxArtifactsPerBatch, "never above version 1");
        Check.equal(1000, l.batchIntervalMs, "a non-number keeps the default");
    }

    @Test
    public void rejectsMalformedInput() {
        for (String bad : new String[] {"", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "\"x", "tru", "{\"a\":1} x",
            "\"\\q\"", "[" .repeat(100) + "]".repeat(100)}) {
            try {
                Json.parse(bad);
                throw new AssertionError("accepted " + bad);
            } catch (IllegalArgumentException expected) {
                // good
            }
        }
    }
}
