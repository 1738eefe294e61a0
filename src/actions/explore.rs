//! Finding results across actions for the Data Explorer: snapshots and log lines filtered by
//! action, agent, tag, pool, author, level, time range and free text, newest first.
//!
//! Results are stored per action (see [`super::records`]), so there is no index across
//! actions. A search walks the actions it is given (the caller's scope, already narrowed by
//! action and author, newest first) and reads each one's results with one prefix scan, until
//! it has read [`MAX_SCANNED_SNAPSHOTS`] snapshots or [`MAX_SCANNED_LOGS`] log lines: the cost
//! of one search is bounded by those reads whatever the store holds, and the answer says when
//! the bound cut it short (narrow the filters to reach older results).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::model::{Action, Kind};
use super::records::{self, FromAgent, StoredLog, StoredSnapshot};
use crate::store::{ReadTx, StoreError};

/// Most snapshots one search reads (each at most 64 KiB).
pub const MAX_SCANNED_SNAPSHOTS: usize = 5_000;
/// Most log lines one search reads (each at most 8 KiB).
pub const MAX_SCANNED_LOGS: usize = 50_000;

/// What the Data Explorer filters on; `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// One action's id.
    pub action: Option<String>,
    /// An agent's id or display name.
    pub agent: Option<String>,
    /// A tag the agent had.
    pub tag: Option<String>,
    /// The agent's pool id.
    pub pool: Option<String>,
    /// The action's author.
    pub author: Option<String>,
    /// A log line's level.
    pub level: Option<String>,
    /// Free text: case-insensitive, in the line, the thread, the agent's name or (snapshots)
    /// the captured frames and values.
    pub text: Option<String>,
    /// From this time, ms (inclusive).
    pub from_ms: Option<i64>,
    /// Until this time, ms (exclusive).
    pub to_ms: Option<i64>,
}

impl Filter {
    /// Whether an action can have matching results (its id and author).
    pub fn admits(&self, a: &Action) -> bool {
        self.action.as_ref().is_none_or(|id| *id == a.id)
            && self
                .author
                .as_ref()
                .is_none_or(|au| au.eq_ignore_ascii_case(&a.author))
    }

    fn admits_result(&self, f: &FromAgent, time_ms: i64, pools: Option<&BTreeSet<String>>) -> bool {
        pools.is_none_or(|p| p.contains(&f.pool_id))
            && self
                .agent
                .as_ref()
                .is_none_or(|a| *a == f.agent_id || a.eq_ignore_ascii_case(&f.agent_name))
            && self.tag.as_ref().is_none_or(|t| f.tags.contains(t))
            && self.pool.as_ref().is_none_or(|p| *p == f.pool_id)
            && self.from_ms.is_none_or(|t| time_ms >= t)
            && self.to_ms.is_none_or(|t| time_ms < t)
    }

    fn text_in(&self, haystacks: &[&str]) -> bool {
        match &self.text {
            None => true,
            Some(t) => {
                let needle = t.to_lowercase();
                haystacks.iter().any(|h| h.to_lowercase().contains(&needle))
            }
        }
    }
}

/// One result with its action.
#[derive(Debug, Clone)]
pub struct Found<T> {
    /// The action it belongs to.
    pub action: Arc<Action>,
    /// The result.
    pub item: T,
}

/// What a search found, newest first.
#[derive(Debug, Clone)]
pub struct Results<T> {
    /// At most the limit asked for.
    pub items: Vec<Found<T>>,
    /// How many matched among those read (may exceed `items.len()`).
    pub matched: usize,
    /// False when the read bound stopped the search before every action was read.
    pub complete: bool,
}

fn search<T>(
    actions: &[Arc<Action>],
    kinds: &[Kind],
    max_scanned: usize,
    limit: usize,
    mut read: impl FnMut(&str) -> Result<Vec<T>, StoreError>,
    time: impl Fn(&T) -> i64,
    keep: impl Fn(&T) -> bool,
) -> Result<Results<T>, StoreError> {
    let mut scanned = 0usize;
    let mut complete = true;
    let mut all: Vec<Found<T>> = Vec::new();
    for a in actions.iter().filter(|a| kinds.contains(&a.kind)) {
        if scanned >= max_scanned {
            complete = false;
            break;
        }
        let items = read(&a.id)?;
        scanned = scanned.saturating_add(items.len());
        all.extend(items.into_iter().filter(|i| keep(i)).map(|item| Found {
            action: Arc::clone(a),
            item,
        }));
    }
    all.sort_by_key(|f| std::cmp::Reverse(time(&f.item)));
    let matched = all.len();
    all.truncate(limit);
    Ok(Results {
        items: all,
        matched,
        complete,
    })
}

/// Snapshots of `actions` (newest action first, already admitted by [`Filter::admits`] and the
/// caller's scope) that match `f`, from agents in `pools` (`None`: every pool).
pub fn snapshots(
    tx: &ReadTx,
    actions: &[Arc<Action>],
    pools: Option<&BTreeSet<String>>,
    f: &Filter,
    limit: usize,
) -> Result<Results<StoredSnapshot>, StoreError> {
    search(
        actions,
        &[Kind::Snapshot],
        MAX_SCANNED_SNAPSHOTS,
        limit,
        |id| records::snapshots(tx, id),
        |s| s.time_ms,
        |s| {
            f.admits_result(&s.from, s.time_ms, pools)
                && (f.text.is_none() || {
                    let values = format!("{} {} {}", s.frames, s.locals, s.watches);
                    f.text_in(&[&s.thread, &s.from.agent_name, &values])
                })
        },
    )
}

/// Log lines of `actions` that match `f` (as [`snapshots`]).
pub fn logs(
    tx: &ReadTx,
    actions: &[Arc<Action>],
    pools: Option<&BTreeSet<String>>,
    f: &Filter,
    limit: usize,
) -> Result<Results<StoredLog>, StoreError> {
    search(
        actions,
        &[Kind::Log],
        MAX_SCANNED_LOGS,
        limit,
        |id| records::logs(tx, id),
        |l| l.time_ms,
        |l| {
            f.admits_result(&l.from, l.time_ms, pools)
                && f.level.as_ref().is_none_or(|v| *v == l.level)
                && f.text_in(&[&l.text, &l.thread, &l.from.agent_name])
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::actions::model::{Caps, NewAction, Origin};

    fn action(id: &str, kind: &str, author: &str) -> Arc<Action> {
        let mut new = NewAction {
            kind: Some(kind.into()),
            location: Some(serde_json::json!({"file": "A.java", "line": 3})),
            target: Some(serde_json::json!({"kind": "tag", "id": "prod"})),
            ..Default::default()
        };
        if kind == "log" {
            new.template = Some("x".into());
        }
        Arc::new(
            new.validate(Origin::Api, &Caps::default(), id.into(), author.into(), 0)
                .unwrap(),
        )
    }

    fn line(pool: &str, time_ms: i64, level: &str, text: &str) -> StoredLog {
        StoredLog {
            from: FromAgent {
                agent_id: format!("id-{pool}"),
                agent_name: format!("app-{pool}"),
                pool_id: pool.into(),
                tags: vec!["prod".into()],
            },
            seq: 1,
            time_ms,
            level: level.into(),
            thread: "main".into(),
            text: text.into(),
        }
    }

    #[test]
    fn filters_merge_newest_first_and_the_bound_is_reported() {
        let actions = [action("a1", "log", "ann"), action("a2", "log", "bob")];
        let read = |id: &str| -> Result<Vec<StoredLog>, StoreError> {
            Ok(if id == "a1" {
                vec![
                    line("p1", 30, "info", "order 1"),
                    line("p2", 10, "warn", "Order 2"),
                ]
            } else {
                vec![line("p1", 20, "info", "other")]
            })
        };
        let f = Filter::default();
        let all = search(
            &actions,
            &[Kind::Log],
            100,
            10,
            read,
            |l| l.time_ms,
            |_| true,
        )
        .unwrap();
        let times: Vec<i64> = all.items.iter().map(|f| f.item.time_ms).collect();
        assert_eq!(times, [30, 20, 10]);
        assert!(all.complete);
        let f2 = Filter {
            text: Some("ORDER".into()),
            ..f.clone()
        };
        let pools: BTreeSet<String> = ["p1".to_string()].into();
        let keep = |l: &StoredLog| {
            f2.admits_result(&l.from, l.time_ms, Some(&pools)) && f2.text_in(&[&l.text])
        };
        let some = search(&actions, &[Kind::Log], 100, 10, read, |l| l.time_ms, keep).unwrap();
        assert_eq!(
            some.items.len(),
            1,
            "p2 is outside the scope; a2 has no order"
        );
        assert_eq!(some.items[0].item.text, "order 1");
        let cut = search(&actions, &[Kind::Log], 2, 10, read, |l| l.time_ms, |_| true).unwrap();
        assert!(!cut.complete, "the second action was not read");
        assert_eq!(cut.matched, 2);
        assert!(
            Filter {
                author: Some("ANN".into()),
                ..f.clone()
            }
            .admits(&actions[0])
        );
        assert!(
            !Filter {
                action: Some("a1".into()),
                ..f
            }
            .admits(&actions[1])
        );
    }
}
