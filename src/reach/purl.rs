//! Package identities: the package URL (purl) of an artifact's coordinates, the way OSV and
//! SBOM tools name packages, so reachability, advisories and the SBOM meet on one key.
//!
//! Maven coordinates with a groupId become `pkg:maven/group/name@version`; Python
//! distributions `pkg:pypi/name@version` with the name normalised as PEP 503 says; anything
//! else (a bundle name without a group, the runtime) `pkg:generic/name@version`. Guessed
//! coordinates (from a file name) are not identities and give no purl.

use crate::agents::protocol::{Artifact, ArtifactKind, CoordinateSource, Coordinates};
use crate::vuln::matching::normalize_name;

/// A package as the index names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageId {
    /// The package URL: the key.
    pub purl: String,
    /// The name as shown (`group:artifact` for Maven).
    pub name: String,
    /// The version, empty when the artifact did not say.
    pub version: String,
    /// The OSV ecosystem name: `Maven`, `PyPI`, or `generic`.
    pub ecosystem: String,
}

/// The packages an artifact claims to be, best source first. A jar with Maven coordinates
/// (its pom.properties, or the system's Maven repository) is those packages — several for a
/// shaded jar — and its manifest names are only other names for the same files, so they
/// give no package of their own; without Maven coordinates, the best other trustworthy
/// source names it. Empty when it has only guesses or nothing.
pub fn packages_of(artifact: &Artifact) -> Vec<PackageId> {
    let mut coords: Vec<&Coordinates> = artifact
        .coordinates
        .iter()
        .filter(|c| !c.source.is_guess())
        .collect();
    coords.sort_by_key(|c| source_rank(c.source));
    let maven = coords.iter().any(|c| is_maven_source(c.source));
    let mut out: Vec<PackageId> = Vec::new();
    for c in coords {
        if maven && !is_maven_source(c.source) {
            continue;
        }
        let id = package_of(artifact.kind, c);
        if !out.iter().any(|o| o.purl == id.purl) {
            out.push(id);
        }
        if !maven {
            break;
        }
    }
    out
}

/// Sources that give real Maven coordinates (a groupId the Maven ecosystem knows).
fn is_maven_source(source: CoordinateSource) -> bool {
    matches!(
        source,
        CoordinateSource::PomProperties | CoordinateSource::SystemMavenRepo
    )
}

fn source_rank(source: CoordinateSource) -> u8 {
    match source {
        CoordinateSource::PomProperties => 0,
        CoordinateSource::SystemMavenRepo => 1,
        CoordinateSource::DistMetadata => 2,
        CoordinateSource::ManifestBundle => 3,
        CoordinateSource::ManifestImplementation => 4,
        CoordinateSource::ManifestModule => 5,
        CoordinateSource::Runtime => 6,
        CoordinateSource::FileNameGuess => 7,
    }
}

/// The package one coordinate of an artifact of `kind` names (guesses included: the caller
/// decides whether to trust them).
pub fn package_of(kind: ArtifactKind, c: &Coordinates) -> PackageId {
    let version = c.version.clone().unwrap_or_default();
    let at = if version.is_empty() {
        String::new()
    } else {
        format!("@{}", encode(&version))
    };
    match (kind, c.source, &c.group) {
        (ArtifactKind::Distribution, _, _) | (_, CoordinateSource::DistMetadata, _) => {
            let name = normalize_name("PyPI", &c.name);
            PackageId {
                purl: format!("pkg:pypi/{}{at}", encode(&name)),
                name,
                version,
                ecosystem: "PyPI".into(),
            }
        }
        (ArtifactKind::Runtime, _, _) | (_, CoordinateSource::Runtime, _) | (_, _, None) => {
            PackageId {
                purl: format!("pkg:generic/{}{at}", encode(&c.name)),
                name: c.name.clone(),
                version,
                ecosystem: "generic".into(),
            }
        }
        (_, _, Some(group)) => PackageId {
            purl: format!("pkg:maven/{}/{}{at}", encode(group), encode(&c.name)),
            name: format!("{group}:{}", c.name),
            version,
            ecosystem: "Maven".into(),
        },
    }
}

/// Percent-encodes what a purl segment may not hold literally.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'+') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn artifact(kind: ArtifactKind, coords: Vec<Coordinates>) -> Artifact {
        Artifact {
            id: 1,
            location: "/x".into(),
            kind,
            parent: None,
            sha256: None,
            coordinates: coords,
        }
    }

    fn co(
        source: CoordinateSource,
        group: Option<&str>,
        name: &str,
        v: Option<&str>,
    ) -> Coordinates {
        Coordinates {
            source,
            group: group.map(Into::into),
            name: name.into(),
            version: v.map(Into::into),
        }
    }

    #[test]
    fn purls_per_ecosystem() {
        let jar = artifact(
            ArtifactKind::Jar,
            vec![
                co(CoordinateSource::FileNameGuess, None, "guess", Some("1")),
                co(
                    CoordinateSource::ManifestBundle,
                    None,
                    "org.yaml.snakeyaml",
                    Some("1.33"),
                ),
                co(
                    CoordinateSource::PomProperties,
                    Some("org.yaml"),
                    "snakeyaml",
                    Some("1.33"),
                ),
            ],
        );
        let p = packages_of(&jar);
        assert_eq!(
            p.len(),
            1,
            "the guess is no identity, the bundle name another name"
        );
        assert_eq!(p[0].purl, "pkg:maven/org.yaml/snakeyaml@1.33");
        assert_eq!(p[0].name, "org.yaml:snakeyaml");
        let mut bundle_only = jar.clone();
        bundle_only
            .coordinates
            .retain(|c| c.source != CoordinateSource::PomProperties);
        assert_eq!(
            packages_of(&bundle_only)[0].purl,
            "pkg:generic/org.yaml.snakeyaml@1.33",
            "without Maven coordinates the manifest names the package"
        );
        assert_eq!(packages_of(&bundle_only).len(), 1);
        // Debian's log4j 1.2 has no pom.properties; the system repository gives its GAV.
        let log4j = artifact(
            ArtifactKind::Jar,
            vec![
                co(
                    CoordinateSource::ManifestBundle,
                    None,
                    "org.apache.log4j",
                    Some("1.2.17"),
                ),
                co(
                    CoordinateSource::SystemMavenRepo,
                    Some("log4j"),
                    "log4j",
                    Some("1.2.17"),
                ),
            ],
        );
        let p = packages_of(&log4j);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].purl, "pkg:maven/log4j/log4j@1.2.17");
        // A shaded jar is every package it holds.
        let shaded = artifact(
            ArtifactKind::Jar,
            vec![
                co(
                    CoordinateSource::PomProperties,
                    Some("a"),
                    "outer",
                    Some("1"),
                ),
                co(
                    CoordinateSource::PomProperties,
                    Some("b"),
                    "inner",
                    Some("2"),
                ),
                co(CoordinateSource::ManifestBundle, None, "outer", Some("1")),
            ],
        );
        assert_eq!(packages_of(&shaded).len(), 2);
        let dist = artifact(
            ArtifactKind::Distribution,
            vec![co(
                CoordinateSource::DistMetadata,
                None,
                "Flask_SQL.Alchemy",
                Some("3.0"),
            )],
        );
        assert_eq!(packages_of(&dist)[0].purl, "pkg:pypi/flask-sql-alchemy@3.0");
        let rt = artifact(
            ArtifactKind::Runtime,
            vec![co(CoordinateSource::Runtime, None, "openjdk", None)],
        );
        assert_eq!(packages_of(&rt)[0].purl, "pkg:generic/openjdk");
        let odd = artifact(
            ArtifactKind::Jar,
            vec![co(
                CoordinateSource::PomProperties,
                Some("g"),
                "a b",
                Some("1/2"),
            )],
        );
        assert_eq!(packages_of(&odd)[0].purl, "pkg:maven/g/a%20b@1%2F2");
        assert!(packages_of(&artifact(ArtifactKind::Directory, vec![])).is_empty());
    }
}
