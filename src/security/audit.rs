//! The audit trail: every security-relevant event, append-only, each record carrying the
//! SHA-256 of the one before it, so that an edited, inserted or deleted record breaks the
//! chain and [`verify`] names the first broken link.
//!
//! Records are written through the group-commit writer, either on their own ([`record`]) or
//! inside the same transaction as the change they describe ([`append`]), so a change and its
//! audit record are durable together or not at all.

use serde::{Deserialize, Serialize};

use crate::iam::tokens::hex;
use crate::store::{ReadTx, Store, StoreError, Table, WriteTx};

/// Records by sequence number (8 bytes, big-endian, so keys sort in order).
pub const AUDIT: Table = Table::new("audit_v1");
/// The chain's head: the last sequence number and hash (detects deletion of the newest).
pub const AUDIT_HEAD: Table = Table::new("audit_head_v1");
const HEAD_KEY: &[u8] = b"head";
/// The last record deleted by retention (its sequence number and hash): the chain is verified
/// from the record after it, which must link to this hash.
const ANCHOR_KEY: &[u8] = b"anchor";
/// The hash the first record links to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in user.
    User {
        /// User id.
        id: String,
        /// E-mail at the time.
        email: String,
    },
    /// An API key.
    ApiKey {
        /// Key id.
        id: String,
        /// Key label.
        label: String,
    },
    /// Someone not signed in (e.g. a failed sign-in, with the e-mail they typed).
    Anonymous {
        /// What they claimed to be, if anything.
        claimed: Option<String>,
    },
    /// The command line on the appliance host.
    Cli,
    /// The appliance itself (expiry, start-up).
    System,
}

impl Actor {
    /// A short text for lists and filters.
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::ApiKey { label, .. } => format!("API key {label}"),
            Actor::Anonymous { claimed: Some(c) } => format!("anonymous ({c})"),
            Actor::Anonymous { claimed: None } => "anonymous".into(),
            Actor::Cli => "command line".into(),
            Actor::System => "system".into(),
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and failed (wrong password, invalid input).
    Failure,
    /// It was refused by an authorisation or CSRF check.
    Denied,
}

/// One event, as the caller describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Dotted event type, e.g. `auth.sign_in`, `user.create`.
    pub kind: String,
    /// Who.
    pub actor: Actor,
    /// Source address, if it came over the network.
    pub source: Option<String>,
    /// What it concerned (a user id, a path, a key label).
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Anything else worth keeping (never secrets).
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event with no source, target or details yet.
    pub fn new(kind: &str, actor: Actor, outcome: Outcome) -> Self {
        AuditEvent {
            kind: kind.to_string(),
            actor,
            source: None,
            target: None,
            outcome,
            details: serde_json::Value::Null,
        }
    }
    /// Sets the source address.
    pub fn source(mut self, source: impl ToString) -> Self {
        self.source = Some(source.to_string());
        self
    }
    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
    /// Sets the details.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored record: the event, its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// Unix milliseconds.
    pub time_ms: i64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous record (zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this record without this field.
    pub hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// The hash of a record: SHA-256 of its canonical JSON with `hash` left empty. serde_json
/// writes struct fields in declaration order and map keys sorted, so this is stable.
fn compute_hash(record: &AuditRecord) -> Result<String, StoreError> {
    let mut unhashed = record.clone();
    unhashed.hash = String::new();
    let bytes = serde_json::to_vec(&unhashed).map_err(|e| StoreError::Codec(e.to_string()))?;
    Ok(hex(
        ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref()
    ))
}

/// Appends `event` inside an open write transaction.
pub fn append(
    tx: &mut WriteTx<'_>,
    now_ms: i64,
    event: AuditEvent,
) -> Result<AuditRecord, StoreError> {
    let head: Option<Head> = tx.get_json(&AUDIT_HEAD, HEAD_KEY)?;
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash),
        None => (1, GENESIS.to_string()),
    };
    let mut record = AuditRecord {
        seq,
        time_ms: now_ms,
        event,
        prev_hash,
        hash: String::new(),
    };
    record.hash = compute_hash(&record)?;
    tx.put_json(&AUDIT, &seq.to_be_bytes(), &record)?;
    tx.put_json(
        &AUDIT_HEAD,
        HEAD_KEY,
        &Head {
            seq,
            hash: record.hash.clone(),
        },
    )?;
    Ok(record)
}

/// Records `event` in its own durable write. Failures are logged: an audit write that fails
/// must not turn a sign-in into an error page, but it must be visible.
pub async fn record(store: &Store, now_ms: i64, event: AuditEvent) {
    let kind = event.kind.clone();
    let result = store
        .write(move |tx| append(tx, now_ms, event.clone()))
        .await;
    if let Err(e) = result {
        tracing::error!(kind = %kind, "could not write an audit event: {e}");
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records checked.
    pub records: u64,
    /// The first broken link: its sequence number and what is wrong.
    pub broken: Option<(u64, String)>,
}

/// One line for the command line: `Ok` when the chain is intact, `Err` naming the first
/// broken link otherwise.
pub fn describe(v: &Verification) -> Result<String, String> {
    match &v.broken {
        None => Ok(format!(
            "audit chain intact: {} records verified",
            v.records
        )),
        Some((seq, why)) => Err(format!(
            "audit chain broken at record {seq}: {why} ({} records before it verified)",
            v.records
        )),
    }
}

/// Most records read per step of [`verify`].
const VERIFY_PAGE: usize = 10_000;

/// Walks the whole chain, in pages, from the first record to the head.
pub fn verify(tx: &ReadTx) -> Result<Verification, StoreError> {
    // After retention the chain starts at the anchor instead of the genesis.
    let anchor: Option<Head> = tx.get_json(&AUDIT_HEAD, ANCHOR_KEY)?;
    let (first_seq, first_prev) = anchor.map_or((1, GENESIS.to_string()), |a| (a.seq + 1, a.hash));
    let mut expected_seq = first_seq;
    let mut prev = first_prev;
    let mut start = expected_seq.to_be_bytes().to_vec();
    loop {
        let page = tx.scan_range(&AUDIT, &start, VERIFY_PAGE)?;
        let full = page.len() == VERIFY_PAGE;
        for (key, value) in page {
            let broken = |why: String| {
                Ok(Verification {
                    records: expected_seq - first_seq,
                    broken: Some((expected_seq, why)),
                })
            };
            let record: AuditRecord = match serde_json::from_slice(&value) {
                Ok(r) => r,
                Err(e) => return broken(format!("record is unreadable: {e}")),
            };
            if key != record.seq.to_be_bytes() || record.seq != expected_seq {
                return broken(format!(
                    "expected record {expected_seq}, found {}",
                    record.seq
                ));
            }
            if record.prev_hash != prev {
                return broken("does not link to the previous record".into());
            }
            if compute_hash(&record)? != record.hash {
                return broken("its content does not match its hash (edited)".into());
            }
            prev = record.hash;
            expected_seq += 1;
        }
        if !full {
            break;
        }
        start = expected_seq.to_be_bytes().to_vec();
    }
    let last = expected_seq - 1;
    let records = expected_seq - first_seq;
    let head: Option<Head> = tx.get_json(&AUDIT_HEAD, HEAD_KEY)?;
    let broken = match head {
        Some(h) if h.seq != last || h.hash != prev => Some((
            last + 1,
            format!(
                "the chain ends at {last} but its head says {} (records deleted)",
                h.seq
            ),
        )),
        None if records > 0 => Some((1, "the chain has records but no head".into())),
        _ => None,
    };
    Ok(Verification { records, broken })
}

/// One bounded step of audit retention: deletes up to `budget` of the oldest records made
/// before `before_ms`, never the newest record (the head must stay provable), and moves the
/// anchor to the last one deleted so that [`verify`] still checks every kept link. Answers how
/// many were deleted (fewer than `budget`: nothing more to do now).
pub fn prune_step(
    tx: &mut WriteTx<'_>,
    before_ms: i64,
    budget: usize,
) -> Result<usize, StoreError> {
    let Some(head) = tx.get_json::<Head>(&AUDIT_HEAD, HEAD_KEY)? else {
        return Ok(0);
    };
    let mut deleted = 0;
    let mut anchor: Option<Head> = None;
    for (key, value) in tx.scan_range(&AUDIT, b"", budget)? {
        let record: AuditRecord = serde_json::from_slice(&value)?;
        if record.time_ms >= before_ms || record.seq >= head.seq {
            break;
        }
        tx.delete(&AUDIT, &key)?;
        deleted += 1;
        anchor = Some(Head {
            seq: record.seq,
            hash: record.hash,
        });
    }
    if let Some(a) = anchor {
        tx.put_json(&AUDIT_HEAD, ANCHOR_KEY, &a)?;
    }
    Ok(deleted)
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this event type (prefix match: `auth.` matches all sign-in events).
    pub kind: Option<String>,
    /// Only actors whose label contains this.
    pub actor: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// From this time (unix ms, inclusive).
    pub since_ms: Option<i64>,
    /// Until this time (unix ms, exclusive).
    pub until_ms: Option<i64>,
}

impl Filter {
    /// Whether a record passes the filter.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.kind
            .as_ref()
            .is_none_or(|k| r.event.kind.starts_with(k.as_str()))
            && self.actor.as_ref().is_none_or(|a| {
                r.event
                    .actor
                    .label()
                    .to_lowercase()
                    .contains(&a.to_lowercase())
            })
            && self.outcome.is_none_or(|o| r.event.outcome == o)
            && self.since_ms.is_none_or(|s| r.time_ms >= s)
            && self.until_ms.is_none_or(|u| r.time_ms < u)
    }
}

/// Newest first: up to `limit` records matching `filter` after skipping `offset` matches,
/// and the total number of matches (bounded by the records scanned).
pub fn list(
    tx: &ReadTx,
    filter: &Filter,
    offset: usize,
    limit: usize,
) -> Result<(Vec<AuditRecord>, usize), StoreError> {
    let head: Option<Head> = tx.get_json(&AUDIT_HEAD, HEAD_KEY)?;
    let Some(head) = head else {
        return Ok((Vec::new(), 0));
    };
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut next = head.seq;
    while next >= 1 {
        let from = next.saturating_sub(VERIFY_PAGE as u64 - 1).max(1);
        let mut page = tx.scan_range(&AUDIT, &from.to_be_bytes(), VERIFY_PAGE)?;
        page.retain(|(k, _)| k.as_slice() <= next.to_be_bytes().as_slice());
        for (_, value) in page.iter().rev() {
            let Ok(record) = serde_json::from_slice::<AuditRecord>(value) else {
                continue;
            };
            if filter.matches(&record) {
                if total >= offset && out.len() < limit {
                    out.push(record);
                }
                total += 1;
            }
        }
        if from == 1 {
            break;
        }
        next = from - 1;
    }
    Ok((out, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        (dir, s)
    }

    fn event(i: usize) -> AuditEvent {
        AuditEvent::new(
            if i.is_multiple_of(2) {
                "auth.sign_in"
            } else {
                "user.create"
            },
            Actor::User {
                id: format!("u{i}"),
                email: format!("u{i}@example.org"),
            },
            Outcome::Success,
        )
        .source("10.0.0.1")
        .details(serde_json::json!({"n": i}))
    }

    fn fill(s: &Store, n: usize) {
        for i in 0..n {
            s.write_blocking(move |tx| append(tx, 1_000 + i as i64, event(i)))
                .unwrap();
        }
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (_d, s) = store();
        assert_eq!(s.read_blocking(verify).unwrap().broken, None);
        fill(&s, 25);
        let v = s.read_blocking(verify).unwrap();
        assert_eq!(
            v,
            Verification {
                records: 25,
                broken: None
            }
        );
    }

    #[test]
    fn retention_keeps_the_rest_of_the_chain_verifiable() {
        let (_d, s) = store();
        fill(&s, 25);
        // Records 1..=10 were made before 1_010; two steps of 6 delete exactly those.
        assert_eq!(s.write_blocking(|tx| prune_step(tx, 1_010, 6)).unwrap(), 6);
        assert_eq!(s.write_blocking(|tx| prune_step(tx, 1_010, 6)).unwrap(), 4);
        assert_eq!(s.write_blocking(|tx| prune_step(tx, 1_010, 6)).unwrap(), 0);
        let v = s.read_blocking(verify).unwrap();
        assert_eq!(
            v,
            Verification {
                records: 15,
                broken: None
            }
        );
        // New records still link on; the newest is never pruned, even when old.
        fill(&s, 1);
        assert_eq!(
            s.write_blocking(|tx| prune_step(tx, i64::MAX, 100))
                .unwrap(),
            15
        );
        assert_eq!(
            s.read_blocking(verify).unwrap(),
            Verification {
                records: 1,
                broken: None
            }
        );
        // Deleting a kept record is still found.
        s.write_blocking(|tx| {
            let head: Head = tx.get_json(&AUDIT_HEAD, HEAD_KEY)?.unwrap();
            append(tx, 5_000, event(1))?;
            tx.delete(&AUDIT, &head.seq.to_be_bytes())
        })
        .unwrap();
        assert!(s.read_blocking(verify).unwrap().broken.is_some());
    }

    #[test]
    fn an_edited_record_is_found() {
        let (_d, s) = store();
        fill(&s, 10);
        s.write_blocking(|tx| {
            let mut r: AuditRecord = tx.get_json(&AUDIT, &4u64.to_be_bytes())?.unwrap();
            r.event.outcome = Outcome::Failure;
            tx.put_json(&AUDIT, &4u64.to_be_bytes(), &r)
        })
        .unwrap();
        let v = s.read_blocking(verify).unwrap();
        assert_eq!(v.broken.unwrap().0, 4);
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_link() {
        let (_d, s) = store();
        fill(&s, 10);
        s.write_blocking(|tx| {
            let mut r: AuditRecord = tx.get_json(&AUDIT, &4u64.to_be_bytes())?.unwrap();
            r.event.target = Some("forged".into());
            r.hash = compute_hash(&r)?;
            tx.put_json(&AUDIT, &4u64.to_be_bytes(), &r)
        })
        .unwrap();
        let (seq, why) = s.read_blocking(verify).unwrap().broken.unwrap();
        assert_eq!(seq, 5);
        assert!(why.contains("previous"), "{why}");
    }

    #[test]
    fn deleted_records_are_found_in_the_middle_and_at_the_end() {
        let (_d, s) = store();
        fill(&s, 10);
        s.write_blocking(|tx| tx.delete(&AUDIT, &6u64.to_be_bytes()).map(|_| ()))
            .unwrap();
        assert_eq!(s.read_blocking(verify).unwrap().broken.unwrap().0, 6);
        let (_d2, s2) = store();
        fill(&s2, 10);
        s2.write_blocking(|tx| tx.delete(&AUDIT, &10u64.to_be_bytes()).map(|_| ()))
            .unwrap();
        let (seq, why) = s2.read_blocking(verify).unwrap().broken.unwrap();
        assert_eq!(seq, 10);
        assert!(why.contains("deleted"), "{why}");
    }

    #[test]
    fn lists_newest_first_with_filters_and_paging() {
        let (_d, s) = store();
        fill(&s, 30);
        let all = Filter::default();
        let (page, total) = s.read_blocking(move |tx| list(tx, &all, 0, 5)).unwrap();
        assert_eq!(total, 30);
        assert_eq!(
            page.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [30, 29, 28, 27, 26]
        );
        let sign_ins = Filter {
            kind: Some("auth.".into()),
            since_ms: Some(1_010),
            ..Filter::default()
        };
        let (page, total) = s
            .read_blocking(move |tx| list(tx, &sign_ins, 2, 100))
            .unwrap();
        assert_eq!(total, 10);
        assert_eq!(page.len(), 8);
        assert!(
            page.iter()
                .all(|r| r.event.kind == "auth.sign_in" && r.time_ms >= 1_010)
        );
        let by_actor = Filter {
            actor: Some("U7@".into()),
            ..Filter::default()
        };
        let (page, _) = s
            .read_blocking(move |tx| list(tx, &by_actor, 0, 10))
            .unwrap();
        assert_eq!(page.len(), 1);
    }
}
