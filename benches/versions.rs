//! Version comparisons and record matching (the cost of answering "is this inventory
//! affected" against an imported OSV database).
//!
//! 1. Comparisons per CPU-second of the measuring thread for each scheme (Maven, PEP 440,
//!    SemVer), on pre-parsed versions taken from the osv-scalibr pairs (real versions from
//!    OSV records), and the same including the parse of both sides; printed with the same
//!    run's baseline: plain byte-string comparison of the same pairs.
//! 2. Record matches per CPU-second: queries (ecosystem, name, version) against the full
//!    PyPA dump (2,654 valid records), each query the index lookup plus the OSV evaluation
//!    (ranges and `versions` lists) of every record naming that package; with the baseline
//!    of the same lookup and plain string equality against the `versions` lists only.
//! 3. The same queries against the compiled index the appliance serves
//!    (`vuln::index::Index`: range events parsed and sorted once at load), printed with the
//!    per-query path of (2), which re-parses every event version, as its baseline, the
//!    ratio, and the time to compile the whole dump.
// A benchmark is a measuring harness, not product code: a broken setup should stop it loudly.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::Criterion;
use lantern::vuln::index::Index;
use lantern::vuln::matching::{Database, Query};
use lantern::vuln::maven::MavenVersion;
use lantern::vuln::osv::{self, DumpLimits};
use lantern::vuln::pep440::PypiVersion;
use lantern::vuln::semver::SemverOrder;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::per_cpu_second;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vuln"))
}

/// The version pairs of an osv-scalibr file.
fn pairs(file: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(fixtures().join("versions/osv-scalibr").join(file))
        .expect("fixture")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (p[0].to_string(), p[2].to_string())
        })
        .collect()
}

fn report<T: Ord>(name: &str, pairs: &[(String, String)], parse: fn(&str) -> T) {
    let parsed: Vec<(T, T)> = pairs.iter().map(|(a, b)| (parse(a), parse(b))).collect();
    let rounds = 400_000u64;
    let mut i = 0usize;
    let baseline = per_cpu_second(rounds, || {
        i = (i + 1) % pairs.len();
        black_box(black_box(&pairs[i].0).cmp(black_box(&pairs[i].1)));
    });
    let compare = per_cpu_second(rounds, || {
        i = (i + 1) % parsed.len();
        black_box(black_box(&parsed[i].0).cmp(black_box(&parsed[i].1)));
    });
    let with_parse = per_cpu_second(rounds / 4, || {
        i = (i + 1) % pairs.len();
        black_box(parse(&pairs[i].0).cmp(&parse(&pairs[i].1)));
    });
    println!(
        "{name}: {compare:.0} comparisons per CPU-second parsed, {with_parse:.0} including both parses; string comparison baseline {baseline:.0}; ratio {:.3} (parsed) {:.3} (with parse)",
        compare / baseline,
        with_parse / baseline
    );
}

fn main() {
    let maven = pairs("maven-versions-generated.txt");
    let pypi = pairs("pypi-versions-generated.txt");
    // SemVer has no generated file: the Maven pairs that are SemVer-shaped stand in.
    let semver: Vec<(String, String)> = maven
        .iter()
        .filter(|(a, b)| {
            matches!(
                (SemverOrder::parse(a), SemverOrder::parse(b)),
                (SemverOrder::Parsed(_), SemverOrder::Parsed(_))
            )
        })
        .cloned()
        .collect();

    let import = osv::read_dump_file(
        &fixtures().join("osv/dumps/pypa-advisory-database-20241010/PyPI/all.zip"),
        &DumpLimits::default(),
    )
    .expect("dump");
    // Queries: every package of the dump at one version it lists (or 1.0), so that each
    // query evaluates the records naming that package.
    let mut queries = Vec::new();
    let mut plain = Vec::new();
    for record in import.records.iter().step_by(3) {
        for affected in &record.affected {
            let version = affected.versions.first().map_or("1.0", String::as_str);
            queries.push(Query::new("PyPI", &affected.package.name, version));
            plain.push((affected.package.name.to_lowercase(), version.to_string()));
        }
    }
    // The baseline's index: package name → the `versions` lists naming it.
    let mut by_name: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for record in &import.records {
        for affected in &record.affected {
            by_name
                .entry(affected.package.name.to_lowercase())
                .or_default()
                .push(affected.versions.clone());
        }
    }
    let compiling = Instant::now();
    let mut index = Index::new();
    for record in &import.records {
        index.add(record);
    }
    let compile_ms = compiling.elapsed().as_secs_f64() * 1000.0;
    let mut db = Database::new();
    for record in import.records {
        db.insert(record);
    }

    let mut c = Criterion::default().configure_from_args();
    let parsed_maven: Vec<(MavenVersion, MavenVersion)> = maven
        .iter()
        .map(|(a, b)| (MavenVersion::parse(a), MavenVersion::parse(b)))
        .collect();
    let mut k = 0usize;
    c.bench_function("maven_compare", |b| {
        b.iter(|| {
            k = (k + 1) % parsed_maven.len();
            black_box(parsed_maven[k].0.cmp(&parsed_maven[k].1))
        })
    });
    let mut q = 0usize;
    c.bench_function("pypi_match", |b| {
        b.iter(|| {
            q = (q + 1) % queries.len();
            black_box(db.matches(&queries[q]).len())
        })
    });

    report("Maven", &maven, MavenVersion::parse);
    report("PEP 440", &pypi, PypiVersion::parse);
    report("SemVer", &semver, SemverOrder::parse);

    let rounds = 20_000u64;
    let mut j = 0usize;
    let lookup = per_cpu_second(rounds, || {
        j = (j + 1) % plain.len();
        let (name, version) = black_box(&plain[j]);
        let hits = by_name.get(name).map_or(0, |lists| {
            lists
                .iter()
                .filter(|l| l.iter().any(|v| v == version))
                .count()
        });
        black_box(hits);
    });
    let mut found = 0usize;
    let matches = per_cpu_second(rounds, || {
        j = (j + 1) % queries.len();
        found += db.matches(&queries[j]).len();
    });
    println!(
        "Record matching: {matches:.0} queries per CPU-second against {} records ({} queries, {found} matches); baseline (lookup + string equality on versions lists) {lookup:.0}; ratio {:.3}",
        db.len(),
        queries.len(),
        matches / lookup
    );
    // Same queries, same count of matches: the compiled index is the served path.
    let mut found_compiled = 0usize;
    let compiled = per_cpu_second(rounds * 10, || {
        j = (j + 1) % queries.len();
        found_compiled += index.matches(&queries[j]).len();
    });
    let check: usize = queries.iter().map(|q| index.matches(q).len()).sum();
    let check_old: usize = queries.iter().map(|q| db.matches(q).len()).sum();
    assert_eq!(
        check, check_old,
        "the compiled index answers as the per-query path"
    );
    println!(
        "Compiled index: {compiled:.0} queries per CPU-second ({} records compiled in {compile_ms:.1} ms, {check} matches over one pass of the queries); baseline (per-query parsing, above) {matches:.0}; ratio {:.1}",
        index.stats().records,
        compiled / matches
    );
    black_box(found_compiled);
    c.final_summary();
}
