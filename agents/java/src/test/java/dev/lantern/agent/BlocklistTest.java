package dev.lantern.agent;

import java.util.Map;

/**
 * The agent's blocklist: the appliance's matching (the cases of {@code security::blocklist}'s
 * tests), refused updates keeping the old lists, and an engine refusing an action in blocked code
 * with the rule named (the removal of installed probes runs in {@link ProbeEndToEndTest}).
 */
public class BlocklistTest {
    static Object parse(String json) {
        return Json.parse(json);
    }

    @Test
    public void packagesClassesFilesAndPaths() {
        Check.equal(null, Blocklist.update(parse("{\"rules\":[\"com.acme.secret.*\",\"*Crypto*.java\",\"com/acme/billing/**\","
            + "\"com.acme.Keys\"],\"exceptions\":[\"com.acme.secret.Public\"]}")), "accepted");
        Blocklist b = Blocklist.current();
        Check.equal("com.acme.secret.*", b.blockedClass("com.acme.secret.Vault"), "a package");
        Check.equal("com.acme.secret.*", b.blockedClass("com/acme/secret/inner/Deep"), "sub-packages, internal names");
        Check.equal(null, b.blockedClass("com.acme.secretive.X"), "a longer package name");
        Check.equal(null, b.blockedClass("com.acme.secret.Public"), "an exception");
        Check.equal("com.acme.Keys", b.blockedClass("com.acme.Keys$Inner"), "an inner class as its outer one");
        Check.equal("*Crypto*.java", b.blockedFile("AesCryptoUtil.java"), "a file name");
        Check.equal("*Crypto*.java", b.blockedFile("src/main/java/com/acme/CryptoBox.java"), "a file name in a path");
        Check.equal("com/acme/billing/**", b.blockedFile("src/main/java/com/acme/billing/Pay.java"), "a path tail");
        Check.equal("com/acme/billing/**", b.blockedClass("com.acme.billing.Pay"), "a path rule on a class");
        Check.equal("com.acme.secret.*", b.blockedFile("com/acme/secret/Vault.java"), "a class rule on its file");
        Check.equal(null, b.blockedFile("com/acme/secret/Public.java"), "the exception on the file");
        Check.equal(null, b.blockedFile("OrderServlet.java"), "other files");
        Check.equal(null, b.blockedClass("org.x.y.FooImpl"), "other classes");
        Check.equal(null, Blocklist.update(parse("{}")), "cleared for the other tests");
    }

    @Test
    public void aBadUpdateKeepsTheOldLists() {
        Check.equal(null, Blocklist.update(parse("{\"rules\":[\"a.b.*\"]}")), "accepted");
        Check.contains(Blocklist.update(parse("{\"rules\":[\"\"]}")), "1 to 256 bytes", "empty pattern");
        Check.contains(Blocklist.update(parse("{\"rules\":\"a.b\"}")), "array", "not an array");
        Check.equal("a.b.*", Blocklist.current().blockedClass("a.b.C"), "the old lists stay");
        Check.equal(null, Blocklist.update(parse("{\"rules\":[]}")), "emptied");
    }

    @Test
    public void theEngineRefusesAnActionInBlockedCode() {
        ProbeOutbox outbox = new ProbeOutbox();
        ProbeEngine engine = ProbeEngine.unavailable(outbox, "probes unavailable: test");
        Check.equal(null, engine.onMessage((Map<?, ?>) parse("{\"type\":\"config.update\",\"blocklist\":"
            + "{\"rules\":[\"com.acme.secret.*\"],\"exceptions\":[]}}")), "config.update accepted");
        engine.onMessage((Map<?, ?>) parse("{\"type\":\"action.set\",\"id\":\"a1\",\"action\":\"snapshot\","
            + "\"location\":{\"class\":\"com.acme.secret.Vault\",\"method\":\"open\"},\"expires_at\":4102444800000}"));
        Check.equal("{\"type\":\"action.status\",\"id\":\"a1\",\"status\":\"error\","
            + "\"message\":\"blocked by the blocklist: com.acme.secret.*\"}", outbox.poll(), "refused, the rule named");
        Check.contains(engine.onMessage((Map<?, ?>) parse("{\"type\":\"config.update\",\"blocklist\":{\"rules\":[1]}}")),
            "blocklist pattern", "a bad blocklist is an invalid message");
        Check.equal(null, engine.onMessage((Map<?, ?>) parse("{\"type\":\"config.update\",\"blocklist\":{}}")), "cleared");
        Check.equal(0, engine.size(), "nothing runs");
    }
}
