//! Severity for the portal: the CVSS v3.x base score computed from a record's vector string
//! with the specification's formula (FIRST CVSS v3.1, section 7; v3.0 uses the same
//! equations), and the qualitative rating of a score.
//!
//! CVSS v4 scores need FIRST's table of 270 macro-vector scores and an interpolation over
//! them; records carry the vector, and GitHub's also a rating in `database_specific`, so
//! for v4 the vector is checked and kept and the rating comes from the record (see
//! [`super::osv::Record::severity_summary`]).

use std::fmt;

/// What is wrong with a vector string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    /// Not `CVSS:3.0/...` or `CVSS:3.1/...` (or `CVSS:4.0/...` for v4).
    #[error("not a CVSS {expected} vector: {vector:?}")]
    Prefix {
        /// The version looked for.
        expected: &'static str,
        /// The vector as given (cut to 120 bytes).
        vector: String,
    },
    /// A metric is unknown, repeated, or has a value it cannot take.
    #[error("bad CVSS metric {0:?}")]
    Metric(String),
    /// A base metric is missing.
    #[error("CVSS base metric {0} missing")]
    Missing(&'static str),
}

/// The qualitative rating of a CVSS score (and of GitHub's `database_specific.severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Rating {
    /// 0.0
    None,
    /// 0.1–3.9
    Low,
    /// 4.0–6.9 (GitHub says "MODERATE")
    Medium,
    /// 7.0–8.9
    High,
    /// 9.0–10.0
    Critical,
}

impl Rating {
    /// The rating of a score in tenths (0..=100).
    pub fn of_tenths(tenths: u8) -> Rating {
        match tenths {
            0 => Rating::None,
            1..=39 => Rating::Low,
            40..=69 => Rating::Medium,
            70..=89 => Rating::High,
            _ => Rating::Critical,
        }
    }

    /// A database's own word for a rating (`LOW`, `MODERATE`, `MEDIUM`, `HIGH`, `CRITICAL`,
    /// any case), if it is one.
    pub fn from_word(word: &str) -> Option<Rating> {
        match word.trim().to_ascii_uppercase().as_str() {
            "NONE" => Some(Rating::None),
            "LOW" => Some(Rating::Low),
            "MODERATE" | "MEDIUM" => Some(Rating::Medium),
            "HIGH" => Some(Rating::High),
            "CRITICAL" => Some(Rating::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rating::None => "None",
            Rating::Low => "Low",
            Rating::Medium => "Medium",
            Rating::High => "High",
            Rating::Critical => "Critical",
        })
    }
}

/// The base metrics of a v3.x vector that the base score uses.
#[derive(Debug, Default)]
struct Base {
    av: Option<f64>,
    ac: Option<f64>,
    /// Privileges required: its weight depends on the scope, so kept as the letter.
    pr: Option<u8>,
    ui: Option<f64>,
    changed: Option<bool>,
    c: Option<f64>,
    i: Option<f64>,
    a: Option<f64>,
}

fn set<T>(slot: &mut Option<T>, value: T, metric: &str) -> Result<(), CvssError> {
    if slot.is_some() {
        return Err(CvssError::Metric(metric.to_string()));
    }
    *slot = Some(value);
    Ok(())
}

fn cut(vector: &str) -> String {
    super::bounded(vector).chars().take(120).collect()
}

/// The CVSS v3.0/v3.1 base score of `vector`, in tenths (`98` is 9.8). Temporal and
/// environmental metrics, if present, are checked for form but do not change the base score.
pub fn base_score_v3(vector: &str) -> Result<u8, CvssError> {
    let rest = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))
        .ok_or_else(|| CvssError::Prefix {
            expected: "3.x",
            vector: cut(vector),
        })?;
    let mut base = Base::default();
    // Bounded: a vector has at most a few dozen metrics; refuse anything longer outright.
    if rest.len() > 200 {
        return Err(CvssError::Metric(cut(rest)));
    }
    for metric in rest.split('/') {
        let bad = || CvssError::Metric(metric.to_string());
        let (name, value) = metric.split_once(':').ok_or_else(bad)?;
        match (name, value) {
            ("AV", "N") => set(&mut base.av, 0.85, metric)?,
            ("AV", "A") => set(&mut base.av, 0.62, metric)?,
            ("AV", "L") => set(&mut base.av, 0.55, metric)?,
            ("AV", "P") => set(&mut base.av, 0.2, metric)?,
            ("AC", "L") => set(&mut base.ac, 0.77, metric)?,
            ("AC", "H") => set(&mut base.ac, 0.44, metric)?,
            ("PR", "N") => set(&mut base.pr, b'N', metric)?,
            ("PR", "L") => set(&mut base.pr, b'L', metric)?,
            ("PR", "H") => set(&mut base.pr, b'H', metric)?,
            ("UI", "N") => set(&mut base.ui, 0.85, metric)?,
            ("UI", "R") => set(&mut base.ui, 0.62, metric)?,
            ("S", "U") => set(&mut base.changed, false, metric)?,
            ("S", "C") => set(&mut base.changed, true, metric)?,
            ("C", v) => set(&mut base.c, cia(v).ok_or_else(bad)?, metric)?,
            ("I", v) => set(&mut base.i, cia(v).ok_or_else(bad)?, metric)?,
            ("A", v) => set(&mut base.a, cia(v).ok_or_else(bad)?, metric)?,
            // Temporal and environmental metrics: allowed, not scored here.
            ("E", "X" | "U" | "P" | "F" | "H")
            | ("RL", "X" | "O" | "T" | "W" | "U")
            | ("RC", "X" | "U" | "R" | "C")
            | ("CR" | "IR" | "AR", "X" | "L" | "M" | "H")
            | ("MAV", "X" | "N" | "A" | "L" | "P")
            | ("MAC", "X" | "L" | "H")
            | ("MPR", "X" | "N" | "L" | "H")
            | ("MUI", "X" | "N" | "R")
            | ("MS", "X" | "U" | "C")
            | ("MC" | "MI" | "MA", "X" | "N" | "L" | "H") => {}
            _ => return Err(bad()),
        }
    }
    let av = base.av.ok_or(CvssError::Missing("AV"))?;
    let ac = base.ac.ok_or(CvssError::Missing("AC"))?;
    let pr = base.pr.ok_or(CvssError::Missing("PR"))?;
    let ui = base.ui.ok_or(CvssError::Missing("UI"))?;
    let changed = base.changed.ok_or(CvssError::Missing("S"))?;
    let c = base.c.ok_or(CvssError::Missing("C"))?;
    let i = base.i.ok_or(CvssError::Missing("I"))?;
    let a = base.a.ok_or(CvssError::Missing("A"))?;
    let pr = match (pr, changed) {
        (b'N', _) => 0.85,
        (b'L', false) => 0.62,
        (b'L', true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(round_up_tenths(raw))
}

fn cia(value: &str) -> Option<f64> {
    match value {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    }
}

/// CVSS v3.1's `Roundup` (Appendix A): the smallest one-decimal number >= the input,
/// computed on integers so that float noise (4.000000000000001) does not round up a step.
fn round_up_tenths(value: f64) -> u8 {
    // `value` is within 0..=10, so these conversions cannot overflow.
    let int_input = (value * 100_000.0).round() as i64;
    let tenths = if int_input % 10_000 == 0 {
        int_input / 10_000
    } else {
        int_input / 10_000 + 1
    };
    u8::try_from(tenths.clamp(0, 100)).unwrap_or(100)
}

/// Checks the form of a CVSS v4.0 vector (the mandatory base metrics, in order, as the OSV
/// schema's pattern requires). Scores are not computed (see the module notes).
pub fn check_v4(vector: &str) -> Result<(), CvssError> {
    let rest = vector
        .strip_prefix("CVSS:4.0/")
        .ok_or_else(|| CvssError::Prefix {
            expected: "4.0",
            vector: cut(vector),
        })?;
    if rest.len() > 300 {
        return Err(CvssError::Metric(cut(rest)));
    }
    let required: [(&'static str, &str); 11] = [
        ("AV", "NALP"),
        ("AC", "LH"),
        ("AT", "NP"),
        ("PR", "NLH"),
        ("UI", "NPA"),
        ("VC", "HLN"),
        ("VI", "HLN"),
        ("VA", "HLN"),
        ("SC", "HLN"),
        ("SI", "HLN"),
        ("SA", "HLN"),
    ];
    let mut metrics = rest.split('/');
    for (name, values) in required {
        let metric = metrics.next().ok_or(CvssError::Missing(name))?;
        let ok = metric
            .split_once(':')
            .is_some_and(|(n, v)| n == name && v.len() == 1 && values.contains(v));
        if !ok {
            return Err(CvssError::Metric(metric.to_string()));
        }
    }
    // Supplemental and environmental metrics: `NAME:VALUE` with short upper-case parts.
    for metric in metrics {
        let ok = metric.split_once(':').is_some_and(|(n, v)| {
            (1..=3).contains(&n.len())
                && (1..=5).contains(&v.len())
                && n.bytes().all(|b| b.is_ascii_uppercase())
                && v.bytes().all(|b| b.is_ascii_alphabetic())
        });
        if !ok {
            return Err(CvssError::Metric(metric.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_scores_of_known_vectors() {
        // Scores as published by NVD / FIRST's calculator for these vectors.
        for (vector, tenths) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 100),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 75),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 59),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 78),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 61),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 53),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 99),
            ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 18),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 98),
        ] {
            assert_eq!(base_score_v3(vector), Ok(tenths), "{vector}");
        }
        assert_eq!(Rating::of_tenths(98), Rating::Critical);
        assert_eq!(Rating::of_tenths(75), Rating::High);
        assert_eq!(Rating::of_tenths(40), Rating::Medium);
        assert_eq!(Rating::of_tenths(39), Rating::Low);
        assert_eq!(Rating::from_word("MODERATE"), Some(Rating::Medium));
    }

    #[test]
    fn bad_vectors_are_refused() {
        for bad in [
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "CVSS:3.1/",
        ] {
            assert!(base_score_v3(bad).is_err(), "{bad}");
        }
        assert!(
            check_v4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N").is_ok()
        );
        assert!(check_v4("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N").is_err());
        assert!(check_v4("CVSS:3.1/AV:N").is_err());
    }
}
