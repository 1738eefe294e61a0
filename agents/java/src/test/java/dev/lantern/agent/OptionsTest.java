package dev.lantern.agent;

import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/** Option string and LANTERN_* variables: precedence, validation, and what is only warned about. */
public class OptionsTest {
    static final String PIN_A = "sha256/" + Base64.getEncoder().encodeToString(new byte[32]);
    static final String PIN_B = "sha256/" + Base64.getEncoder().encodeToString(filled(32, 7));
    static final String GOOD = "server=wss://lantern.example:8443/agent/v1,key=K3y-abc,pin=" + PIN_A;

    static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    static Map<String, String> env(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    public void everythingFromTheOptionString() {
        Options o = Options.parse(GOOD + ",tags=prod;eu-west;team:web/a,name=orders-tomcat,agent_id=orders-1", env());
        Check.isTrue(o.ok(), "ok: " + o.error);
        Check.equal("lantern.example", o.server.getHost(), "host");
        Check.equal(8443, o.server.getPort(), "port");
        Check.equal("K3y-abc", o.key, "key");
        Check.equal(1, o.pins.size(), "pins");
        Check.equal(java.util.List.of("prod", "eu-west", "team:web/a"), o.tags, "tags");
        Check.equal("orders-tomcat", o.name, "name");
        Check.equal("orders-1", o.agentId, "agent_id");
        Check.equal(0, o.warnings.size(), "warnings " + o.warnings);
    }

    @Test
    public void everythingFromTheEnvironment() {
        Options o = Options.parse(null, env("LANTERN_SERVER", "wss://10.0.0.5:8443/agent/v1", "LANTERN_KEY", "k",
            "LANTERN_PIN", PIN_A + ";" + PIN_B, "LANTERN_TAGS", "a;b", "LANTERN_NAME", "n"));
        Check.isTrue(o.ok(), "ok: " + o.error);
        Check.equal("10.0.0.5", o.server.getHost(), "host");
        Check.equal(2, o.pins.size(), "two pins during a rotation");
        Check.equal(java.util.List.of("a", "b"), o.tags, "tags");
        Check.equal("n", o.name, "name");
    }

    @Test
    public void anOptionBeatsItsVariable() {
        Options o = Options.parse("key=from-option,name=opt", env("LANTERN_SERVER", "wss://h/agent/v1",
            "LANTERN_KEY", "from-env", "LANTERN_PIN", PIN_A, "LANTERN_NAME", "env", "LANTERN_TAGS", "t1"));
        Check.isTrue(o.ok(), "ok: " + o.error);
        Check.equal("from-option", o.key, "key");
        Check.equal("opt", o.name, "name");
        Check.equal(java.util.List.of("t1"), o.tags, "tags from env when no option");
    }

    @Test
    public void anEmptyOptionFallsBackToTheVariable() {
        Options o = Options.parse("server=,key=k,pin=" + PIN_A, env("LANTERN_SERVER", "wss://h:1/agent/v1"));
        Check.isTrue(o.ok(), "ok: " + o.error);
        Check.equal("h", o.server.getHost(), "host");
    }

    @Test
    public void missingServerKeyOrPinDisables() {
        Check.contains(Options.parse("key=k,pin=" + PIN_A, env()).error, "no server", "server");
        Check.contains(Options.parse("server=wss://h/agent/v1,pin=" + PIN_A, env()).error, "key", "key");
        Check.contains(Options.parse("server=wss://h/agent/v1,key=k", env()).error, "pin", "pin");
        Check.isTrue(!Options.parse(null, env()).ok(), "nothing at all");
    }

    @Test
    public void malformedValuesDisable() {
        Check.contains(Options.parse("server=https://h/agent/v1,key=k,pin=" + PIN_A, env()).error, "wss://", "https");
        Check.contains(Options.parse("server=ws://h/agent/v1,key=k,pin=" + PIN_A, env()).error, "wss://", "plain ws");
        Check.contains(Options.parse("server=wss:///agent/v1,key=k,pin=" + PIN_A, env()).error, "host", "no host");
        Check.contains(Options.parse("server=wss://h/a,key=k,pin=sha1/AAAA", env()).error, "sha256/", "sha1");
        Check.contains(Options.parse("server=wss://h/a,key=k,pin=sha256/not*base64", env()).error, "sha256/", "b64");
        Check.contains(Options.parse("server=wss://h/a,key=k,pin=sha256/AAAA", env()).error, "32 bytes", "short");
        Check.contains(Options.parse("server=wss://h/a,key=k,pin=" + PIN_A + ";sha256/AA==", env()).error, "pin",
            "one bad pin of two");
        Check.contains(Options.parse("server=wss://h/a,pin=" + PIN_A, env("LANTERN_KEY", "has space")).error,
            "spaces", "key with a space");
    }

    @Test
    public void badTagsNameAndUnknownOptionsOnlyWarn() {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            many.append("t").append(i).append(';');
        }
        Options o = Options.parse(GOOD + ",tags=ok;bad tag;" + "x".repeat(65) + ";" + many + ",colour=blue,flag", env());
        Check.isTrue(o.ok(), "still ok: " + o.error);
        Check.equal(32, o.tags.size(), "at most 32 tags");
        Check.equal("ok", o.tags.get(0), "first tag");
        Check.isTrue(!o.tags.contains("bad tag"), "tag with a space dropped");
        String all = String.join("\n", o.warnings);
        Check.contains(all, "bad tag", "warning names the bad tag");
        Check.contains(all, "at most 32", "warning about the tag count");
        Check.contains(all, "colour", "unknown option");
        Check.contains(all, "flag", "option without =");

        Options n = Options.parse(GOOD + ",name=" + "é".repeat(65), env());
        Check.isTrue(n.ok(), "ok");
        Check.equal(null, n.name, "a 130-byte name is ignored");
        Check.contains(String.join("\n", n.warnings), "ignored name", "warning");
    }

    @Test
    public void aPinKeepsItsBase64Padding() {
        String pin = "sha256/" + Base64.getEncoder().encodeToString(filled(32, 1));
        Check.isTrue(pin.endsWith("="), "the test pin is padded");
        Options o = Options.parse("server=wss://h/a,key=k,pin=" + pin, env());
        Check.isTrue(o.ok(), "ok: " + o.error);
        Check.equal(Pins.format(o.pins.get(0)), pin, "the '=' after the first '=' is part of the value");
    }

    @Test
    public void tagRuleMatchesTheAppliance() {
        Check.isTrue(Options.tagOk("eu-west_1.a:b/c"), "all allowed punctuation");
        Check.isTrue(Options.tagOk("Zürich"), "letters beyond ASCII");
        Check.isTrue(!Options.tagOk(""), "empty");
        Check.isTrue(!Options.tagOk("a b"), "space");
        Check.isTrue(!Options.tagOk("a,b"), "comma");
        Check.isTrue(!Options.tagOk("ü".repeat(33)), "66 bytes");
    }
}
