package dev.lantern.agent;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Owns the fixture rows of real Debian 12 jars (src/test/resources/debian-bookworm-java-jars.tsv,
 * copied from the project's shared fixtures) and which of them exist on this machine.
 */
final class DebianJars {
    /** One measured jar. "-" in the TSV becomes null. */
    static final class Row {
        String debPackage;
        String debVersion;
        String path;
        String sha256;
        List<String> pomGavs = new ArrayList<>();
        String debianGav;
        String implementationVersion;
        String bundleSymbolicName;

        File file() {
            return new File(path);
        }

        /** The upstream version in Debian's maven-repo GAV (group:artifact:version). */
        String debianVersion() {
            return debianGav == null ? null : debianGav.substring(debianGav.lastIndexOf(':') + 1);
        }

        @Override
        public String toString() {
            return path;
        }
    }

    private DebianJars() {}

    static List<Row> all() throws IOException {
        List<Row> rows = new ArrayList<>();
        try (InputStream in = DebianJars.class.getResourceAsStream("/debian-bookworm-java-jars.tsv")) {
            if (in == null) {
                throw new IOException("fixture debian-bookworm-java-jars.tsv missing from the test class path");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            boolean header = true;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("#") || line.isEmpty()) {
                    continue;
                }
                if (header) {
                    header = false;
                    continue;
                }
                String[] f = line.split("\t", -1);
                Row row = new Row();
                row.debPackage = f[0];
                row.debVersion = f[1];
                row.path = f[2];
                row.sha256 = f[3];
                if (!"-".equals(f[6])) {
                    for (String gav : f[6].split(";")) {
                        row.pomGavs.add(gav);
                    }
                }
                row.debianGav = dash(f[7]);
                row.implementationVersion = dash(f[8]);
                row.bundleSymbolicName = dash(f[9]);
                rows.add(row);
            }
        }
        return rows;
    }

    static List<Row> present() throws IOException {
        List<Row> out = new ArrayList<>();
        for (Row r : all()) {
            if (r.file().isFile()) {
                out.add(r);
            }
        }
        return out;
    }

    /** The row for a jar path, skipping the test when that jar is not installed here. */
    static Row require(String path) throws IOException {
        for (Row r : all()) {
            if (r.path.equals(path)) {
                if (!r.file().isFile()) {
                    Check.skip(path + " is not installed (Debian package " + r.debPackage + ")");
                }
                return r;
            }
        }
        throw new AssertionError("no fixture row for " + path);
    }

    private static String dash(String s) {
        return "-".equals(s) || s.isEmpty() ? null : s;
    }
}
