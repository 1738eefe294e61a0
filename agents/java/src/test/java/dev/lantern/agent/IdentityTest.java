package dev.lantern.agent;

import java.util.List;

/** agent_id, display name and the hello values' limits. */
public class IdentityTest {
    @Test
    public void mainCommandFromSunJavaCommand() {
        Check.equal("org.apache.catalina.startup.Bootstrap",
            Identity.mainCommand("org.apache.catalina.startup.Bootstrap start"), "class");
        Check.equal("app.jar", Identity.mainCommand("/srv/app/app.jar --server.port=8080"), "jar");
        Check.equal(null, Identity.mainCommand(""), "empty");
        Check.equal(null, Identity.mainCommand(null), "missing");
    }

    @Test
    public void agentIdIsStableAndTellsInstancesApart() {
        String main = "org.apache.catalina.startup.Bootstrap";
        String a = Identity.derivedId("app-01", main, "/var/lib/tomcat10", main);
        String again = Identity.derivedId("app-01", main, "/var/lib/tomcat10", main);
        String other = Identity.derivedId("app-01", main, "/srv/tomcat-b", main);
        Check.equal(a, again, "same inputs, same id");
        Check.isTrue(!a.equals(other), "another CATALINA_BASE, another id");
        Check.isTrue(a.startsWith("bootstrap-") && a.length() == "bootstrap-".length() + 16, "readable prefix: " + a);
        Check.isTrue(Options.labelOk(a), "fits hello");
    }

    @Test
    public void tomcatsBaseBeatsTheWorkingDirectory() {
        String old = System.getProperty("catalina.base");
        try {
            System.setProperty("catalina.base", "/srv/tomcat-a");
            Check.equal("/srv/tomcat-a", Identity.instanceDirectory(), "catalina.base");
            System.clearProperty("catalina.base");
            Check.equal(System.getProperty("user.dir"), Identity.instanceDirectory(), "working directory otherwise");
        } finally {
            if (old != null) {
                System.setProperty("catalina.base", old);
            }
        }
    }

    @Test
    public void slugs() {
        Check.equal("bootstrap", Identity.slug("org.apache.catalina.startup.Bootstrap"), "class");
        Check.equal("orders-service", Identity.slug("orders-service.jar"), "jar");
        Check.equal("my-app-name", Identity.slug("My App: name"), "free text");
        Check.equal("java", Identity.slug("日本"), "nothing usable");
    }

    @Test
    public void labelsAreCutToTheLimit() {
        String long130 = "é".repeat(65);
        String cut = Identity.label(long130, "x");
        Check.isTrue(Utf8.length(cut) <= 128, "≤ 128 bytes");
        Check.equal("a b", Identity.label("a\nb", "x"), "control characters replaced");
        Check.equal("x", Identity.label("  ", "x"), "blank falls back");
    }

    @Test
    public void currentIdentityFitsTheProtocol() {
        Options o = Options.parse("server=wss://h/a,key=k,pin=" + OptionsTest.PIN_A + ",tags=a;b", null);
        Identity id = Identity.current(o, "0.1.0");
        for (String v : List.of(id.agentId, id.instanceId, id.displayName, id.host, id.runtimeVersion, id.agentVersion)) {
            Check.isTrue(Options.labelOk(v), "label ok: " + v);
        }
        Check.equal(ProcessHandle.current().pid(), id.pid, "pid");
        Check.equal(16, id.instanceId.length(), "instance id");
        Check.isTrue(!id.instanceId.equals(Identity.current(o, "0.1.0").instanceId), "new per start");
        Check.equal(id.agentId, Identity.current(o, "0.1.0").agentId, "agent id stable");
    }
}
