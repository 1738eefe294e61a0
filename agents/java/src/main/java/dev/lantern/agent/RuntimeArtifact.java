package dev.lantern.agent;

import java.util.Locale;

/**
 * Owns how the JVM itself is described: one artifact {@code jrt:/} of kind {@code runtime}
 * whose classes are counted, not listed, named after the VM ({@code openjdk} for OpenJDK
 * builds) with {@code java.version} as its version.
 */
final class RuntimeArtifact {
    final String name;
    final String version;

    RuntimeArtifact(String name, String version) {
        this.name = name;
        this.version = version;
    }

    static RuntimeArtifact current() {
        return new RuntimeArtifact(vmName(System.getProperty("java.vm.name", ""),
            System.getProperty("java.runtime.name", "")), System.getProperty("java.version", "unknown"));
    }

    static String vmName(String vmName, String runtimeName) {
        String all = (vmName + " " + runtimeName).toLowerCase(Locale.ROOT);
        if (all.contains("graalvm")) {
            return "graalvm";
        }
        if (all.contains("openj9")) {
            return "openj9";
        }
        if (all.contains("openjdk")) {
            return "openjdk";
        }
        if (all.contains("hotspot") || all.contains("java(tm)")) {
            return "oracle-jdk";
        }
        return "openjdk";
    }

    String json(int ref) {
        StringBuilder b = new StringBuilder(160);
        b.append("{\"ref\":").append(ref).append(",\"location\":\"jrt:/\",\"kind\":\"runtime\",\"coordinates\":[");
        Coordinates c = Coordinates.of(Coordinates.RUNTIME, null, name, version);
        if (c != null) {
            c.appendJson(b);
        }
        return b.append("]}").toString();
    }
}
