package dev.lantern.agent;

import java.util.Collections;
import java.util.List;

/**
 * Owns what reading an artifact found out: the SHA-256 of its bytes (null for directories and
 * anything that could not be read), its coordinates, and the nested jars it holds (a fat jar's
 * {@code BOOT-INF/lib}, a war's {@code WEB-INF/lib}), which are present even before a class of
 * theirs loads.
 */
final class ArtifactInfo {
    static final ArtifactInfo NOTHING = new ArtifactInfo(null, Collections.emptyList(), Collections.emptyList());

    final String sha256;
    final List<Coordinates> coordinates;
    final List<String> nestedJars;

    ArtifactInfo(String sha256, List<Coordinates> coordinates, List<String> nestedJars) {
        this.sha256 = sha256;
        this.coordinates = coordinates;
        this.nestedJars = nestedJars;
    }
}
