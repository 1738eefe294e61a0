//! The Runtime Reachability Assessment: package rows of the index joined with the advisories
//! that match them, filtered and ranked the way triage reads them — *vulnerable and loaded*
//! first (worst severity first, then by name), then the other loaded packages, and
//! *vulnerable, never loaded* in a section of its own after them, followed by the clean
//! packages nothing loads.
//!
//! Pure: the caller takes the rows from the index (under its lock, [`Filter::pools`] and
//! [`Filter::seen`] say which) and passes a lookup for the advisories, so that matching runs
//! outside the index lock and the tests need no matcher.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::index::{PackageRow, PackageStatus, Seen};
use super::purl::PackageId;
use crate::agents::glob::Glob;
use crate::vuln::cvss::Rating;
use crate::vuln::index::Advisory;

/// A package's status as the assessment and the API name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Known (declared by an agent, or remembered) but no class of it ever loaded.
    NotLoaded,
    /// Classes of it are loaded.
    Loaded,
    /// Classes a Watched Packages entry names are loaded from it (`reach::watch`).
    LoadedWithClasses,
}

impl Status {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotLoaded => "not_loaded",
            Status::Loaded => "loaded",
            Status::LoadedWithClasses => "loaded_with_classes",
        }
    }

    /// The status of an API name.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::NotLoaded, Status::Loaded, Status::LoadedWithClasses]
            .into_iter()
            .find(|st| st.as_str() == s)
    }

    fn of(status: PackageStatus) -> Status {
        match status {
            PackageStatus::NotLoaded => Status::NotLoaded,
            PackageStatus::Loaded => Status::Loaded,
        }
    }

    /// Whether code of the package runs.
    pub fn is_loaded(self) -> bool {
        self != Status::NotLoaded
    }
}

/// Where a row is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Loaded, with at least one advisory: the work to do first.
    VulnerableLoaded,
    /// Loaded, no advisory.
    Loaded,
    /// Advisories, but no class of it was ever loaded: reported apart.
    VulnerableNotLoaded,
    /// Neither loaded nor vulnerable.
    NotLoaded,
}

impl Group {
    /// Whether the group is the "never loaded" section.
    pub fn never_loaded(self) -> bool {
        matches!(self, Group::VulnerableNotLoaded | Group::NotLoaded)
    }
}

/// The filters of the page and the API. Pool and tag narrow *which agents count* (a row then
/// shows only those agents, pools and tags), the others keep or drop whole rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only agents of this pool (within the caller's scope).
    pub pool: Option<String>,
    /// Only agents carrying this tag.
    pub tag: Option<String>,
    /// Name pattern over the package name and its purl; `*` matches any run of characters,
    /// case does not matter.
    pub name: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only packages with an advisory at least this severe.
    pub min_severity: Option<Rating>,
    /// Only packages whose first class load was at or after this time (unix ms).
    pub loaded_since_ms: Option<i64>,
    /// Only vulnerable (`true`) or only clean (`false`) packages.
    pub vulnerable: Option<bool>,
}

impl Filter {
    /// The pools whose agents count: the caller's scope (`None` for every pool) narrowed to
    /// the pool filter.
    pub fn pools(&self, scope: Option<&BTreeSet<String>>) -> Option<BTreeSet<String>> {
        match (&self.pool, scope) {
            (Some(p), scope) => Some(
                std::iter::once(p.clone())
                    .filter(|p| scope.is_none_or(|s| s.contains(p)))
                    .collect(),
            ),
            (None, scope) => scope.cloned(),
        }
    }

    /// The index view for [`Filter::pools`]' answer.
    pub fn seen<'a>(&'a self, pools: Option<&'a BTreeSet<String>>) -> Seen<'a> {
        Seen {
            pools,
            tag: self.tag.as_deref(),
        }
    }
}

/// One assessed package.
#[derive(Debug, Clone)]
pub struct Assessed {
    /// The index row (agents, pools and tags already limited to what the caller may see).
    pub row: PackageRow,
    /// Its status.
    pub status: Status,
    /// Its advisories, worst first.
    pub advisories: Vec<Arc<Advisory>>,
    /// Where it is reported.
    pub group: Group,
}

impl Assessed {
    /// The worst rating among the advisories (`None` when none has a rating).
    pub fn worst(&self) -> Option<Rating> {
        self.advisories.first().and_then(|a| rank(a).0)
    }
}

/// Counts per group, after the filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// [`Group::VulnerableLoaded`]
    pub vulnerable_loaded: usize,
    /// [`Group::Loaded`]
    pub loaded: usize,
    /// [`Group::VulnerableNotLoaded`]
    pub vulnerable_not_loaded: usize,
    /// [`Group::NotLoaded`]
    pub not_loaded: usize,
}

/// The assessment: every row in report order, and the counts.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Loaded groups first, then the never-loaded section (see the module docs).
    pub rows: Vec<Assessed>,
    /// Rows per group.
    pub counts: Counts,
}

impl Assessment {
    /// The rows of the loaded section.
    pub fn loaded(&self) -> impl Iterator<Item = &Assessed> {
        self.rows.iter().filter(|r| !r.group.never_loaded())
    }

    /// The rows of the never-loaded section.
    pub fn never_loaded(&self) -> impl Iterator<Item = &Assessed> {
        self.rows.iter().filter(|r| r.group.never_loaded())
    }
}

/// How severe an advisory is, for sorting: the rating, then the score.
fn rank(a: &Advisory) -> (Option<Rating>, Option<u8>) {
    a.severity
        .as_ref()
        .map_or((None, None), |s| (s.rating, s.score_tenths))
}

/// Whether a package can be matched against advisories at all: only the ecosystems OSV
/// covers, and only with a version.
pub fn matchable(id: &PackageId) -> bool {
    !id.version.is_empty() && id.ecosystem != "generic"
}

/// Joins `rows` with `advisories_of` (called once per matchable package), applies the row
/// filters of `filter` and ranks the result. Pool and tag are the caller's business: they
/// choose which rows the index hands out ([`Filter::seen`]).
pub fn assess(
    rows: Vec<PackageRow>,
    filter: &Filter,
    advisories_of: impl FnMut(&PackageId) -> Vec<Arc<Advisory>>,
) -> Assessment {
    assess_watched(rows, filter, advisories_of, |_| false)
}

/// [`assess`] where `watched_classes_loaded` answers whether a loaded row has classes a
/// Watched Packages entry names: those rows are `loaded_with_classes` (before the status
/// filter, so that filtering on it works).
pub fn assess_watched(
    rows: Vec<PackageRow>,
    filter: &Filter,
    mut advisories_of: impl FnMut(&PackageId) -> Vec<Arc<Advisory>>,
    mut watched_classes_loaded: impl FnMut(&PackageRow) -> bool,
) -> Assessment {
    let name = filter.name.as_deref().map(Glob::new);
    let mut out = Vec::new();
    for row in rows {
        let mut status = Status::of(row.status);
        if status == Status::Loaded && watched_classes_loaded(&row) {
            status = Status::LoadedWithClasses;
        }
        if filter.status.is_some_and(|s| s != status) {
            continue;
        }
        if let Some(since) = filter.loaded_since_ms
            && !(status.is_loaded() && row.first_loaded_ms.is_some_and(|t| t >= since))
        {
            continue;
        }
        if let Some(glob) = &name
            && !glob.matches(&row.id.name)
            && !glob.matches(&row.id.purl)
        {
            continue;
        }
        let mut advisories = if matchable(&row.id) {
            advisories_of(&row.id)
        } else {
            Vec::new()
        };
        advisories.sort_by(|a, b| rank(b).cmp(&rank(a)).then_with(|| a.id.cmp(&b.id)));
        if filter
            .vulnerable
            .is_some_and(|v| v == advisories.is_empty())
        {
            continue;
        }
        if let Some(min) = filter.min_severity
            && advisories
                .first()
                .and_then(|a| rank(a).0)
                .is_none_or(|r| r < min)
        {
            continue;
        }
        let group = match (status.is_loaded(), advisories.is_empty()) {
            (true, false) => Group::VulnerableLoaded,
            (true, true) => Group::Loaded,
            (false, false) => Group::VulnerableNotLoaded,
            (false, true) => Group::NotLoaded,
        };
        out.push(Assessed {
            row,
            status,
            advisories,
            group,
        });
    }
    out.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then_with(|| {
                let worst = |x: &Assessed| Reverse(x.advisories.first().map(|a| rank(a)));
                worst(a).cmp(&worst(b))
            })
            .then_with(|| a.row.id.name.cmp(&b.row.id.name))
            .then_with(|| a.row.id.version.cmp(&b.row.id.version))
            .then_with(|| a.row.id.purl.cmp(&b.row.id.purl))
    });
    let mut counts = Counts::default();
    for r in &out {
        let n = match r.group {
            Group::VulnerableLoaded => &mut counts.vulnerable_loaded,
            Group::Loaded => &mut counts.loaded,
            Group::VulnerableNotLoaded => &mut counts.vulnerable_not_loaded,
            Group::NotLoaded => &mut counts.not_loaded,
        };
        *n += 1;
    }
    Assessment { rows: out, counts }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::agents::protocol::{Artifact, ArtifactKind, CoordinateSource, Coordinates};
    use crate::reach::{AgentInfo, Index, LoadRef};
    use crate::vuln::osv::SeveritySummary;

    fn jar(r: u32, name: &str, version: &str) -> Artifact {
        Artifact {
            id: r,
            location: format!("/app/lib/{name}-{version}.jar"),
            kind: ArtifactKind::Jar,
            parent: None,
            sha256: None,
            coordinates: vec![Coordinates {
                source: CoordinateSource::PomProperties,
                group: Some("org.example".into()),
                name: name.into(),
                version: Some(version.into()),
            }],
        }
    }

    /// Connects `session` (agent `id` in `pool` with `tags`), declaring `jars` and loading one
    /// class from each of `loaded` (refs), at `now`.
    fn agent(
        index: &mut Index,
        session: u64,
        (id, pool, tags): (&str, &str, &[&str]),
        jars: &[Artifact],
        loaded: &[u32],
        now: i64,
    ) {
        index.connect(
            session,
            AgentInfo {
                agent_id: id.into(),
                pool_id: pool.into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
            },
        );
        let names: Vec<Vec<String>> = loaded
            .iter()
            .map(|r| vec![format!("org.example.C{r}")])
            .collect();
        let loads: Vec<LoadRef<'_, String>> = loaded
            .iter()
            .zip(&names)
            .map(|(r, n)| LoadRef {
                artifact: *r,
                count: None,
                names: n.as_slice(),
            })
            .collect();
        let p = index.prepare(session, 1, jars, &loads).unwrap().unwrap();
        index.apply(p, now).unwrap();
    }

    fn advisory(id: &str, rating: Option<Rating>, score: Option<u8>) -> Arc<Advisory> {
        Arc::new(Advisory {
            id: id.into(),
            aliases: vec![format!("CVE-{id}")],
            severity: rating.map(|r| SeveritySummary {
                rating: Some(r),
                score_tenths: score,
                vector: None,
                source: "CVSS_V3",
            }),
            summary: Some(format!("{id} summary")),
            modified: "2026-01-01T00:00:00Z".into(),
        })
    }

    /// The advisory "database" of the tests: by artifact name.
    fn db(id: &PackageId) -> Vec<Arc<Advisory>> {
        match id.name.as_str() {
            "org.example:alpha" => vec![advisory("A-1", Some(Rating::Medium), Some(50))],
            "org.example:bravo" => vec![
                advisory("B-1", Some(Rating::Low), Some(20)),
                advisory("B-2", Some(Rating::Critical), Some(98)),
            ],
            "org.example:charlie" => vec![advisory("C-1", Some(Rating::High), Some(75))],
            "org.example:delta" => vec![advisory("D-1", None, None)],
            _ => Vec::new(),
        }
    }

    /// alpha, bravo, clean loaded and delta loaded by `a1` (pool p1, tag web); charlie and
    /// echo only declared by it; `b1` (pool p2, tag batch) loads foxtrot and alpha.
    fn fixture() -> Index {
        let mut index = Index::new();
        let jars = [
            jar(0, "alpha", "1.0"),
            jar(1, "bravo", "2.0"),
            jar(2, "charlie", "3.0"),
            jar(3, "clean", "1.0"),
            jar(4, "echo", "1.0"),
            jar(5, "delta", "1.0"),
        ];
        agent(
            &mut index,
            1,
            ("a1", "p1", &["web"]),
            &jars,
            &[0, 1, 3, 5],
            1_000,
        );
        let other = [jar(0, "alpha", "1.0"), jar(1, "foxtrot", "1.0")];
        agent(
            &mut index,
            2,
            ("b1", "p2", &["batch"]),
            &other,
            &[0, 1],
            2_000,
        );
        index
    }

    fn names(a: &Assessment) -> Vec<&str> {
        a.rows.iter().map(|r| r.row.id.name.as_str()).collect()
    }

    fn run(index: &Index, scope: Option<&BTreeSet<String>>, filter: &Filter) -> Assessment {
        run_with(index, scope, filter, db)
    }

    fn run_with(
        index: &Index,
        scope: Option<&BTreeSet<String>>,
        filter: &Filter,
        lookup: impl FnMut(&PackageId) -> Vec<Arc<Advisory>>,
    ) -> Assessment {
        let pools = filter.pools(scope);
        let rows = index.packages_seen(5_000, filter.seen(pools.as_ref()));
        assess(rows, filter, lookup)
    }

    #[test]
    fn vulnerable_and_loaded_first_by_severity_then_loaded_then_never_loaded_apart() {
        let index = fixture();
        let a = run(&index, None, &Filter::default());
        assert_eq!(
            names(&a),
            [
                "org.example:bravo", // critical
                "org.example:alpha", // medium
                "org.example:delta", // an advisory without a rating
                "org.example:clean", // loaded, clean
                "org.example:foxtrot",
                "org.example:charlie", // vulnerable, never loaded
                "org.example:echo",    // never loaded, clean
            ]
        );
        assert_eq!(
            a.counts,
            Counts {
                vulnerable_loaded: 3,
                loaded: 2,
                vulnerable_not_loaded: 1,
                not_loaded: 1,
            }
        );
        let never: Vec<_> = a.never_loaded().map(|r| r.row.id.name.as_str()).collect();
        assert_eq!(never, ["org.example:charlie", "org.example:echo"]);
        assert_eq!(a.loaded().count(), 5);
        let bravo = &a.rows[0];
        assert_eq!(bravo.status, Status::Loaded);
        assert_eq!(bravo.group, Group::VulnerableLoaded);
        let ids: Vec<_> = bravo.advisories.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["B-2", "B-1"], "worst advisory first");
        assert_eq!(bravo.worst(), Some(Rating::Critical));
        let alpha = &a.rows[1];
        assert_eq!(alpha.row.agents, ["a1", "b1"]);
        assert_eq!(alpha.row.pools, ["p1", "p2"]);
        assert_eq!(alpha.row.tags, ["batch", "web"]);
        assert_eq!(a.rows[5].status, Status::NotLoaded);
        assert_eq!(a.rows[5].group, Group::VulnerableNotLoaded);
    }

    #[test]
    fn pool_scope_limits_rows_and_what_each_row_shows() {
        let index = fixture();
        let p2: BTreeSet<String> = ["p2".to_string()].into();
        let a = run(&index, Some(&p2), &Filter::default());
        assert_eq!(names(&a), ["org.example:alpha", "org.example:foxtrot"]);
        let alpha = &a.rows[0];
        assert_eq!(alpha.row.agents, ["b1"], "a1 is in a pool out of scope");
        assert_eq!(alpha.row.pools, ["p2"]);
        assert_eq!(alpha.row.tags, ["batch"]);
        assert_eq!(alpha.row.declared_by, 1);
        // A scope with no agents sees nothing.
        let none: BTreeSet<String> = ["p9".to_string()].into();
        assert!(run(&index, Some(&none), &Filter::default()).rows.is_empty());
        // The pool filter cannot widen the scope.
        let f = Filter {
            pool: Some("p1".into()),
            ..Filter::default()
        };
        assert!(run(&index, Some(&p2), &f).rows.is_empty());
        // ...but narrows an unrestricted one.
        assert_eq!(run(&index, None, &f).rows.len(), 6);
    }

    #[test]
    fn history_rows_are_scoped_by_the_pools_that_loaded_them() {
        let mut index = fixture();
        index.disconnect(2, 9_000);
        let p2: BTreeSet<String> = ["p2".to_string()].into();
        let a = run(&index, Some(&p2), &Filter::default());
        // foxtrot was only ever loaded in p2: remembered, with its history.
        // alpha is live in p1 and was loaded in p2: history, but its tags may come from p1.
        assert_eq!(names(&a), ["org.example:alpha", "org.example:foxtrot"]);
        assert_eq!(a.rows[0].row.pools, ["p2"]);
        assert!(a.rows[0].row.tags.is_empty(), "tags of p1 must not show");
        assert!(a.rows[0].row.agents.is_empty());
        assert_eq!(a.rows[1].row.tags, ["batch"]);
        assert_eq!(a.rows[1].status, Status::Loaded);
        let p1: BTreeSet<String> = ["p1".to_string()].into();
        assert!(
            !names(&run(&index, Some(&p1), &Filter::default())).contains(&"org.example:foxtrot")
        );
    }

    #[test]
    fn filters() {
        let index = fixture();
        let by = |f: Filter| names(&run(&index, None, &f)).join(",");
        assert_eq!(
            by(Filter {
                tag: Some("batch".into()),
                ..Filter::default()
            }),
            "org.example:alpha,org.example:foxtrot"
        );
        assert_eq!(
            by(Filter {
                name: Some("*CHAR*".into()),
                ..Filter::default()
            }),
            "org.example:charlie"
        );
        assert_eq!(
            by(Filter {
                name: Some("pkg:maven/org.example/e*".into()),
                ..Filter::default()
            }),
            "org.example:echo"
        );
        assert_eq!(
            by(Filter {
                status: Some(Status::NotLoaded),
                ..Filter::default()
            }),
            "org.example:charlie,org.example:echo"
        );
        assert_eq!(
            by(Filter {
                status: Some(Status::LoadedWithClasses),
                ..Filter::default()
            }),
            ""
        );
        assert_eq!(
            by(Filter {
                min_severity: Some(Rating::High),
                ..Filter::default()
            }),
            "org.example:bravo,org.example:charlie"
        );
        assert_eq!(
            by(Filter {
                loaded_since_ms: Some(1_500),
                ..Filter::default()
            }),
            "org.example:foxtrot",
            "alpha was first loaded at 1000 by a1"
        );
        assert_eq!(
            by(Filter {
                vulnerable: Some(false),
                ..Filter::default()
            }),
            "org.example:clean,org.example:foxtrot,org.example:echo"
        );
    }

    #[test]
    fn generic_and_versionless_packages_are_not_matched() {
        let mut calls = 0;
        let row = |ecosystem: &str, version: &str| PackageRow {
            id: PackageId {
                purl: format!("pkg:{ecosystem}/x@{version}"),
                name: "org.example:alpha".into(),
                version: version.into(),
                ecosystem: ecosystem.into(),
            },
            status: PackageStatus::Loaded,
            agents: vec![],
            declared_by: 0,
            pools: vec![],
            tags: vec![],
            first_seen_ms: 0,
            last_seen_ms: 0,
            first_loaded_ms: Some(0),
            classes_loaded: 1,
            ever_agents: 0,
        };
        let a = assess(
            vec![row("generic", "1.0"), row("Maven", "")],
            &Filter::default(),
            |id| {
                calls += 1;
                db(id)
            },
        );
        assert_eq!(calls, 0);
        assert_eq!(a.counts.loaded, 2);
        assert_eq!(
            Status::parse("loaded_with_classes"),
            Some(Status::LoadedWithClasses)
        );
        assert_eq!(Status::parse("Loaded"), None);
    }

    /// Cost of a scoped, filtered assessment against the plain package query of the same run
    /// (the page and the API pay both under or right after the index lock): 5,000 packages
    /// in four agents of two pools. Prints the numbers; asserts only a loose bound.
    #[test]
    fn scoped_assessment_costs_a_small_multiple_of_the_plain_query() {
        let mut index = Index::new();
        let jars: Vec<Artifact> = (0..5_000)
            .map(|r| jar(r, &format!("lib{r}"), "1.0"))
            .collect();
        let loaded: Vec<u32> = (0..5_000).step_by(2).collect();
        for (session, pool) in [(1, "p1"), (2, "p1"), (3, "p2"), (4, "p2")] {
            let id = format!("a{session}");
            agent(
                &mut index,
                session,
                (&id, pool, &["web"]),
                &jars,
                &loaded,
                1_000,
            );
        }
        let fake = advisory("X-1", Some(Rating::High), Some(75));
        let lookup = |id: &PackageId| {
            if id.name.ends_with('7') {
                vec![Arc::clone(&fake)]
            } else {
                Vec::new()
            }
        };
        let time = |f: &mut dyn FnMut() -> usize| {
            let mut best = std::time::Duration::MAX;
            let mut n = 0;
            for _ in 0..3 {
                let t = std::time::Instant::now();
                n = f();
                best = best.min(t.elapsed());
            }
            (best, n)
        };
        let (plain, rows) = time(&mut || index.packages(5_000).len());
        let p2: BTreeSet<String> = ["p2".to_string()].into();
        let filter = Filter {
            min_severity: Some(Rating::Medium),
            ..Filter::default()
        };
        let (scoped, found) = time(&mut || run_with(&index, Some(&p2), &filter, lookup).rows.len());
        println!(
            "assessment of {rows} packages: plain query {plain:?}, scoped + matched + ranked {scoped:?} ({found} rows), ratio {:.2}",
            scoped.as_secs_f64() / plain.as_secs_f64().max(1e-9)
        );
        assert_eq!(rows, 5_000);
        assert_eq!(found, 500, "every tenth package, loaded or only declared");
        assert!(scoped < plain * 20 + std::time::Duration::from_millis(50));
    }
}
