package dev.lantern.agent;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

/**
 * The appliance → agent live-debugging examples of agents/PROTOCOL.md (fenced as plain
 * {@code json}; the appliance's doc test decodes the other direction) are what this agent
 * accepts: every {@code action.set} and every action of an {@code action.sync} parses, the
 * {@code config.update} is a valid pattern set.
 */
public class ProtocolDocTest {
    @Test
    public void liveDebuggingExamplesParse() throws Exception {
        String path = System.getProperty("lantern.test.protocolDoc");
        if (path == null || !Files.isRegularFile(Paths.get(path))) {
            Check.skip("run through test.sh (needs agents/PROTOCOL.md)");
        }
        String doc = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
        int seen = 0;
        int at = 0;
        while ((at = doc.indexOf("```json\n", at)) >= 0) {
            int end = doc.indexOf("```", at + 8);
            Map<?, ?> m = (Map<?, ?>) Json.parse(doc.substring(at + 8, end));
            at = end + 3;
            seen++;
            Object type = m.get("type");
            if ("action.set".equals(type)) {
                ActionSpec.parse(m);
            } else if ("action.sync".equals(type)) {
                for (Object a : (List<?>) m.get("actions")) {
                    ActionSpec.parse((Map<?, ?>) a);
                }
            } else if ("config.update".equals(type) && m.containsKey("capture")) {
                Check.equal(null, CaptureLimits.update(m.get("capture")), "the example's capture limits");
                Check.equal(CaptureLimits.DEFAULT.bytes, CaptureLimits.current().bytes, "the defaults");
                CaptureLimits.reset();
            } else if ("config.update".equals(type)) {
                Check.equal(null, Redactor.update(m.get("redaction")), "the example's pattern set");
                Check.equal(null, Blocklist.update(m.get("blocklist")), "the example's blocklist");
                Check.equal(null, Blocklist.update(Json.parse("{}")), "cleared for the other tests");
            }
        }
        Check.isTrue(seen >= 7, "the live-debugging examples were found: " + seen);
    }
}
