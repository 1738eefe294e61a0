//! The agents as lists and pages show them: the history in the store merged with the live
//! registry, so that one row says everything about an agent whether it is connected or not
//! (first and last seen, why it last went away), and an agent the registry has but the
//! history lacks (its history write failed) still shows. Then the filters of the Agents list
//! and the API, the caller's pool scope, and sorting.
//!
//! [`merge`], [`AgentFilter`] and [`sort`] are pure; [`load`] reads the store and the registry
//! once each, and [`RowsCache`] keeps its result for a moment: with ten thousand agents a
//! list request would otherwise merge and copy every row to show fifty.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use super::glob::Glob;
use super::history::{self, AgentRecord, HistoryCache};
use super::protocol::Hello;
use super::registry::{AgentSummary, Registry};
use crate::iam::pools;
use crate::iam::scope::PoolScope;
use crate::recent::Recent;
use crate::store::{Reads, StoreError};

/// One agent, connected or not.
#[derive(Debug, Clone)]
pub struct AgentRow {
    /// The agent's stable id.
    pub agent_id: String,
    /// What it said in its latest `hello` (the live one while connected).
    pub hello: Hello,
    /// The pool it is (or was last) connected to.
    pub pool_id: String,
    /// That pool's current name; `None` when the pool has been deleted since.
    pub pool_name: Option<String>,
    /// Its newest live connection, while connected.
    pub live: Option<AgentSummary>,
    /// Unix ms of its first connection.
    pub first_seen_ms: i64,
    /// Unix ms of its last connect or disconnect.
    pub last_seen_ms: i64,
    /// How many connections it has opened.
    pub connections: u64,
    /// Why its last connection ended (a close-reason name); empty while connected.
    pub last_disconnect_reason: String,
}

impl AgentRow {
    /// Whether it is connected now.
    pub fn connected(&self) -> bool {
        self.live.is_some()
    }

    /// Its tags.
    pub fn tags(&self) -> &[String] {
        &self.hello.tags
    }

    /// Unix ms of the last sign of life: the last heartbeat while connected, else the last
    /// time it was seen.
    pub fn last_heartbeat_ms(&self) -> i64 {
        self.live
            .as_ref()
            .map_or(self.last_seen_ms, |l| l.last_heartbeat_ms)
    }

    /// Classes loaded on the current connection (0 while disconnected: the registry keeps
    /// only live state).
    pub fn classes_loaded(&self) -> u64 {
        self.live.as_ref().map_or(0, |l| l.classes_loaded)
    }
}

/// Merges the stored history with the live registry: one row per agent id, the live
/// connection taking precedence for what the agent said and where it is. When an agent has
/// several live connections (two processes with one id), the newest counts.
pub fn merge(records: &[AgentRecord], live: Vec<AgentSummary>) -> Vec<AgentRow> {
    let mut newest: HashMap<String, AgentSummary> = HashMap::new();
    for s in live {
        match newest.get(&s.hello.agent_id) {
            Some(have) if have.session >= s.session => {}
            _ => {
                newest.insert(s.hello.agent_id.clone(), s);
            }
        }
    }
    let mut rows: Vec<AgentRow> = records
        .iter()
        .map(|r| {
            let live = newest.remove(&r.agent_id);
            from_record(r, live)
        })
        .collect();
    // Connected but not on record: show it with what the connection knows.
    rows.extend(newest.into_values().map(|s| AgentRow {
        agent_id: s.hello.agent_id.clone(),
        hello: s.hello.clone(),
        pool_id: s.pool_id.clone(),
        pool_name: Some(s.pool_name.clone()),
        first_seen_ms: s.connected_ms,
        last_seen_ms: s.connected_ms,
        connections: 1,
        last_disconnect_reason: String::new(),
        live: Some(s),
    }));
    in_name_order(rows)
}

/// `rows` sorted by name. The rows are large and there may be ten thousand: positions are
/// sorted, then each row moved once, rather than rows moved at every step of the sort.
fn in_name_order(rows: Vec<AgentRow>) -> Vec<AgentRow> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| match (rows.get(a), rows.get(b)) {
        (Some(a), Some(b)) => by_name(a, b),
        _ => Ordering::Equal,
    });
    let mut slots: Vec<Option<AgentRow>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

fn from_record(r: &AgentRecord, live: Option<AgentSummary>) -> AgentRow {
    match live {
        Some(s) => AgentRow {
            agent_id: r.agent_id.clone(),
            hello: s.hello.clone(),
            pool_id: s.pool_id.clone(),
            pool_name: Some(s.pool_name.clone()),
            first_seen_ms: r.first_seen_ms.min(s.connected_ms),
            last_seen_ms: r.last_seen_ms.max(s.connected_ms),
            connections: r.connections.max(1),
            last_disconnect_reason: String::new(),
            live: Some(s),
        },
        None => AgentRow {
            agent_id: r.agent_id.clone(),
            hello: r.hello.clone(),
            pool_id: r.pool_id.clone(),
            pool_name: None,
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
            connections: r.connections,
            // A record the store still calls connected (the gateway has not written the end
            // yet) is gone from the registry: say so rather than leave it blank.
            last_disconnect_reason: if r.last_disconnect_reason.is_empty() {
                "connection_lost".to_string()
            } else {
                r.last_disconnect_reason.clone()
            },
            live: None,
        },
    }
}

/// Every agent the store and the registry know, with current pool names (`None` for
/// deleted pools). `history_generation` is the store's generation of the history table,
/// taken before `tx` began (see `HistoryCache`).
pub fn load(
    tx: &impl Reads,
    registry: &Registry,
    history: &HistoryCache,
    history_generation: u64,
) -> Result<Vec<AgentRow>, StoreError> {
    let records = history.list(tx, history_generation)?;
    let names: HashMap<String, String> = pools::list(tx)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let mut rows = merge(&records, registry.list());
    for row in &mut rows {
        row.pool_name = names.get(&row.pool_id).cloned();
    }
    Ok(rows)
}

/// One agent by id, as [`load`] would show it, without reading every record.
pub fn load_one(
    tx: &impl Reads,
    registry: &Registry,
    agent_id: &str,
) -> Result<Option<AgentRow>, StoreError> {
    let record = history::get(tx, agent_id)?;
    let live = registry.find(agent_id);
    let Some(mut row) = merge(record.as_slice(), live.into_iter().collect())
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    row.pool_name = pools::get(tx, &row.pool_id)?.map(|p| p.name);
    Ok(Some(row))
}

/// The rows whose pool is in `scope`.
pub fn in_scope<'a>(
    rows: &'a [AgentRow],
    scope: &'a PoolScope,
) -> impl Iterator<Item = &'a AgentRow> + 'a {
    rows.iter().filter(|r| scope.contains(&r.pool_id))
}

/// Longest time a [`RowsCache`] answers with rows it made before. Only what changes without
/// a registry change shows its age: heartbeat times and an agent's reported counters. The
/// page shows heartbeats as "just now" below ten seconds and its live region re-renders every
/// five seconds at most, so five seconds is as fresh as anyone sees; remaking ten thousand
/// rows every second was a tenth of the appliance's CPU under page load in the fleet
/// benchmark.
pub const ROWS_MAX_AGE: Duration = Duration::from_secs(5);

/// What every agent's rows are made from: the registry's change count (connects,
/// disconnects, loads), and the store's generations of the history and the pools (names).
/// Each is read before the rows are made (see `crate::recent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsKey {
    /// `Registry::change_count`.
    pub registry: u64,
    /// `Store::table_generation` of the agent history.
    pub history: u64,
    /// `Store::table_generation` of the agent pools.
    pub pools: u64,
}

/// Every agent's row ([`load`]), in name order, kept while its [`RowsKey`] is unchanged and
/// for at most [`ROWS_MAX_AGE`]. A change the caller made itself (disconnect, tag, pool) moves
/// the key, so it shows on the next page at once.
pub type RowsCache = Recent<RowsKey, Vec<AgentRow>>;

/// An empty [`RowsCache`]: one set of rows (they are every agent's; scope and filters apply
/// after).
pub fn rows_cache() -> RowsCache {
    Recent::new(ROWS_MAX_AGE, 1)
}

/// The filters of the Agents list and `GET /api/v1/agents`; each one set narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentFilter {
    /// Pool id.
    pub pool: Option<String>,
    /// A tag the agent carries (exactly).
    pub tag: Option<String>,
    /// A `*` pattern over the display name, without regard to case.
    pub name: Option<String>,
    /// The runtime's name (`java`, `python`), without regard to case.
    pub runtime: Option<String>,
    /// Connected now (`Some(true)`) or not (`Some(false)`).
    pub connected: Option<bool>,
}

impl AgentFilter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.pool.is_none()
            && self.tag.is_none()
            && self.name.is_none()
            && self.runtime.is_none()
            && self.connected.is_none()
    }

    /// The rows that pass every filter set (owned rows or references).
    pub fn apply<R: Borrow<AgentRow>>(&self, rows: impl IntoIterator<Item = R>) -> Vec<R> {
        let name = self.name.as_deref().map(Glob::new);
        rows.into_iter()
            .filter(|r| {
                let r = r.borrow();
                self.pool.as_ref().is_none_or(|p| *p == r.pool_id)
                    && self.tag.as_ref().is_none_or(|t| r.tags().contains(t))
                    && name
                        .as_ref()
                        .is_none_or(|g| g.matches(&r.hello.display_name))
                    && self
                        .runtime
                        .as_ref()
                        .is_none_or(|rt| rt.eq_ignore_ascii_case(&r.hello.runtime.name))
                    && self.connected.is_none_or(|c| c == r.connected())
            })
            .collect()
    }
}

/// What the Agents list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Display name, then id.
    Name,
    /// Connected first, then by name.
    Status,
    /// Pool name, then by name.
    Pool,
    /// Most recent sign of life first.
    LastSeen,
}

impl SortKey {
    /// Parses the `sort` query value.
    pub fn parse(s: &str) -> Option<SortKey> {
        match s {
            "name" => Some(SortKey::Name),
            "status" => Some(SortKey::Status),
            "pool" => Some(SortKey::Pool),
            "last_seen" => Some(SortKey::LastSeen),
            _ => None,
        }
    }

    /// The `sort` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Status => "status",
            SortKey::Pool => "pool",
            SortKey::LastSeen => "last_seen",
        }
    }
}

/// Compares without regard to case, lowercasing char by char without allocating (a sort of
/// ten thousand rows makes over a hundred thousand comparisons).
fn cmp_lowercase(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

fn by_name(a: &AgentRow, b: &AgentRow) -> Ordering {
    cmp_lowercase(&a.hello.display_name, &b.hello.display_name)
        .then_with(|| a.agent_id.cmp(&b.agent_id))
}

/// The order of `key` alone (equal for [`SortKey::Name`]: the name decides after it).
fn primary(key: SortKey, a: &AgentRow, b: &AgentRow) -> Ordering {
    match key {
        SortKey::Name => Ordering::Equal,
        SortKey::Status => b.connected().cmp(&a.connected()),
        SortKey::Pool => cmp_lowercase(
            a.pool_name.as_deref().unwrap_or(""),
            b.pool_name.as_deref().unwrap_or(""),
        ),
        SortKey::LastSeen => b.last_heartbeat_ms().cmp(&a.last_heartbeat_ms()),
    }
}

/// Sorts in place (owned rows or references); ties fall back to the name, so the order is
/// stable between refreshes.
pub fn sort<R: Borrow<AgentRow>>(rows: &mut [R], key: SortKey, descending: bool) {
    rows.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        let order = primary(key, a, b).then_with(|| by_name(a, b));
        if descending { order.reverse() } else { order }
    });
}

/// [`sort`] for rows already in name order (as [`load`] gives them), without comparing names:
/// the name order stays as it is, or is reversed, and a stable sort by the other key keeps it
/// within ties. The list pages sort ten thousand rows per request this way.
pub fn sort_named<R: Borrow<AgentRow>>(rows: &mut [R], key: SortKey, descending: bool) {
    if descending {
        rows.reverse();
    }
    if key == SortKey::Name {
        return;
    }
    rows.sort_by(|a, b| {
        let order = primary(key, a.borrow(), b.borrow());
        if descending { order.reverse() } else { order }
    });
}

/// One list of agents as a caller asked for it: which of every agent's rows (a [`RowsCache`]
/// view) are in the caller's scope and pass the filters, in the order asked for, with the
/// counts the page shows. The rows themselves stay in that view; the listing holds their
/// positions, so it is small and pages are copied out of the view fifty rows at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Positions in the rows the listing was made from, in the order asked for.
    order: Vec<u32>,
    /// Of the rows listed, how many are connected.
    pub connected: usize,
    /// Rows in the scope before the filters.
    pub known: usize,
    /// The runtimes of the rows in the scope (for the filter), by name.
    pub runtimes: Vec<String>,
}

impl Listing {
    /// Lists `all` (in name order, as [`load`] gives it) as `scope`, `filter` and the sort
    /// ask.
    pub fn make(
        all: &[AgentRow],
        scope: &PoolScope,
        filter: &AgentFilter,
        sort: SortKey,
        descending: bool,
    ) -> Listing {
        let in_scope: Vec<(u32, &AgentRow)> = all
            .iter()
            .enumerate()
            .filter(|(_, r)| scope.contains(&r.pool_id))
            // A listing of more than four billion rows cannot be made in memory anyway.
            .map(|(i, r)| (u32::try_from(i).unwrap_or(u32::MAX), r))
            .collect();
        // A handful of runtimes among thousands of agents: inserted one by one into a set of
        // borrowed names (collecting into a set would first gather and sort all of them).
        let mut runtimes = std::collections::BTreeSet::new();
        for (_, r) in &in_scope {
            runtimes.insert(r.hello.runtime.name.as_str());
        }
        let known = in_scope.len();
        let mut rows = filter.apply(in_scope.iter().map(|(i, r)| Positioned(*i, r)));
        sort_named(&mut rows, sort, descending);
        Listing {
            connected: rows.iter().filter(|p| p.1.connected()).count(),
            order: rows.iter().map(|p| p.0).collect(),
            known,
            runtimes: runtimes.into_iter().map(str::to_string).collect(),
        }
    }

    /// Rows that pass the filters.
    pub fn total(&self) -> usize {
        self.order.len()
    }

    /// Up to `limit` rows from `offset` on, out of the rows the listing was made from.
    pub fn page<'a>(
        &'a self,
        all: &'a [AgentRow],
        offset: usize,
        limit: usize,
    ) -> impl Iterator<Item = &'a AgentRow> + 'a {
        self.order
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|&i| all.get(i as usize))
    }
}

/// A row with its position in the rows a [`Listing`] is made from.
struct Positioned<'a>(u32, &'a AgentRow);

impl Borrow<AgentRow> for Positioned<'_> {
    fn borrow(&self) -> &AgentRow {
        self.1
    }
}

/// What a [`Listing`] is made from: the rows (compared by identity: a [`RowsCache`] view is
/// never changed, only replaced), the caller's scope, the filters and the order.
#[derive(Debug)]
pub struct ListingKey {
    /// Weak, so that a replaced view is freed at once rather than when its listings go.
    rows: std::sync::Weak<Vec<AgentRow>>,
    scope: Option<std::collections::BTreeSet<String>>,
    filter: AgentFilter,
    sort: SortKey,
    descending: bool,
}

impl ListingKey {
    /// The key of listing `rows` for this scope, filter and order.
    pub fn new(
        rows: &std::sync::Arc<Vec<AgentRow>>,
        scope: &PoolScope,
        filter: &AgentFilter,
        sort: SortKey,
        descending: bool,
    ) -> ListingKey {
        ListingKey {
            rows: std::sync::Arc::downgrade(rows),
            scope: scope.ids().cloned(),
            filter: filter.clone(),
            sort,
            descending,
        }
    }
}

impl PartialEq for ListingKey {
    fn eq(&self, other: &ListingKey) -> bool {
        std::sync::Weak::ptr_eq(&self.rows, &other.rows)
            && self.scope == other.scope
            && self.filter == other.filter
            && self.sort == other.sort
            && self.descending == other.descending
    }
}

/// Listings kept at once: one per scope, filter and order in use.
const LISTINGS_KEPT: usize = 16;

/// The [`Listing`]s of recent requests. A listing depends on nothing but its key, so it
/// lives as long as the rows it was made from (at most [`ROWS_MAX_AGE`], twice that while
/// they are made again); its own age limit only matters for a key asked again and again.
pub type Listings = Recent<ListingKey, Listing>;

/// An empty [`Listings`].
pub fn listings() -> Listings {
    Recent::new(ROWS_MAX_AGE * 2, LISTINGS_KEPT)
}

/// Why an agent could not be acted on.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No such agent, or not in the caller's scope (404: no existence leak).
    #[error("there is no such agent")]
    NotFound,
    /// The agent is known but not connected, so there is nothing to disconnect (409).
    #[error("{0}")]
    NotConnected(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
pub(crate) mod tests {
    use super::*;
    use crate::agents::protocol::Runtime;

    pub(crate) fn hello(id: &str, name: &str, runtime: &str, tags: &[&str]) -> Hello {
        Hello {
            protocol: 1,
            min_protocol: None,
            agent_id: id.into(),
            instance_id: "i1".into(),
            runtime: Runtime {
                name: runtime.into(),
                version: "17".into(),
                vendor: None,
            },
            agent_version: "0.1.0".into(),
            display_name: name.into(),
            host: "h".into(),
            pid: 1,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            capabilities: vec![],
        }
    }

    pub(crate) fn record(id: &str, name: &str, pool: &str, tags: &[&str]) -> AgentRecord {
        AgentRecord {
            agent_id: id.into(),
            hello: hello(id, name, "java", tags),
            pool_id: pool.into(),
            first_seen_ms: 100,
            last_seen_ms: 200,
            connections: 2,
            last_disconnect_reason: "agent_stopped".into(),
        }
    }

    pub(crate) fn live(
        session: u64,
        id: &str,
        name: &str,
        pool: &str,
        tags: &[&str],
    ) -> AgentSummary {
        AgentSummary {
            session,
            session_id: format!("s{session}"),
            hello: hello(id, name, "python", tags),
            pool_id: pool.into(),
            pool_name: format!("pool {pool}"),
            peer: "127.0.0.1:5000".parse().unwrap(),
            protocol: 1,
            connected_ms: 300,
            last_heartbeat_ms: 350,
            classes_loaded: 7,
            artifacts: 1,
            initial_done: true,
            stats: None,
        }
    }

    #[test]
    fn merge_prefers_the_live_connection_and_keeps_live_only_agents() {
        let rows = merge(
            &[
                record("a", "alpha", "p1", &["old"]),
                record("b", "Bravo", "p1", &[]),
            ],
            vec![
                live(1, "a", "alpha-new", "p2", &["new"]),
                live(5, "a", "alpha-newest", "p2", &["newest"]),
                live(2, "c", "charlie", "p1", &[]),
            ],
        );
        let ids: Vec<&str> = rows.iter().map(|r| r.agent_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let a = &rows[0];
        assert!(a.connected());
        assert_eq!(
            a.hello.display_name, "alpha-newest",
            "the newest session wins"
        );
        assert_eq!(a.tags(), ["newest"]);
        assert_eq!(a.pool_id, "p2");
        assert_eq!((a.first_seen_ms, a.last_seen_ms), (100, 300));
        assert!(a.last_disconnect_reason.is_empty());
        let b = &rows[1];
        assert!(!b.connected());
        assert_eq!(b.last_disconnect_reason, "agent_stopped");
        assert_eq!(b.last_heartbeat_ms(), 200);
        let c = &rows[2];
        assert!(c.connected(), "connected but missing from the history");
        assert_eq!(c.connections, 1);
        assert_eq!(c.classes_loaded(), 7);
    }

    #[test]
    fn a_record_still_marked_connected_but_gone_says_so() {
        let mut r = record("a", "alpha", "p1", &[]);
        r.last_disconnect_reason.clear();
        let rows = merge(&[r], vec![]);
        assert_eq!(rows[0].last_disconnect_reason, "connection_lost");
    }

    #[test]
    fn filters_narrow_and_scope_hides() {
        let rows = merge(
            &[
                record("a", "orders-eu", "p1", &["prod"]),
                record("b", "billing", "p2", &["prod", "eu"]),
            ],
            vec![live(1, "c", "Orders-US", "p1", &["staging"])],
        );
        let f = |f: AgentFilter| -> Vec<String> {
            f.apply(rows.clone())
                .into_iter()
                .map(|r| r.agent_id)
                .collect()
        };
        assert_eq!(f(AgentFilter::default()), ["b", "a", "c"], "by name");
        let name = AgentFilter {
            name: Some("orders*".into()),
            ..Default::default()
        };
        assert_eq!(f(name), ["a", "c"]);
        let tag = AgentFilter {
            tag: Some("prod".into()),
            pool: Some("p2".into()),
            ..Default::default()
        };
        assert_eq!(f(tag), ["b"]);
        let runtime = AgentFilter {
            runtime: Some("PYTHON".into()),
            ..Default::default()
        };
        assert_eq!(f(runtime), ["c"]);
        let offline = AgentFilter {
            connected: Some(false),
            ..Default::default()
        };
        assert_eq!(f(offline), ["b", "a"]);
        assert!(AgentFilter::default().is_empty());
        let only_p2 = PoolScope::Only(["p2".to_string()].into());
        let seen: Vec<&str> = in_scope(&rows, &only_p2)
            .map(|r| r.agent_id.as_str())
            .collect();
        assert_eq!(seen, ["b"]);
        assert_eq!(in_scope(&rows, &PoolScope::All).count(), 3);
    }

    #[test]
    fn sorting() {
        let mut rows = merge(
            &[
                record("a", "zulu", "p1", &[]),
                record("b", "alpha", "p2", &[]),
            ],
            vec![live(1, "c", "mike", "p1", &[])],
        );
        let names = |rows: &[AgentRow]| -> Vec<String> {
            rows.iter().map(|r| r.hello.display_name.clone()).collect()
        };
        assert_eq!(names(&rows), ["alpha", "mike", "zulu"]);
        sort(&mut rows, SortKey::Status, false);
        assert_eq!(names(&rows), ["mike", "alpha", "zulu"]);
        sort(&mut rows, SortKey::LastSeen, false);
        assert_eq!(names(&rows), ["mike", "alpha", "zulu"]);
        sort(&mut rows, SortKey::Name, true);
        assert_eq!(names(&rows), ["zulu", "mike", "alpha"]);
        for k in ["name", "status", "pool", "last_seen"] {
            assert_eq!(SortKey::parse(k).unwrap().as_str(), k);
        }
        assert_eq!(SortKey::parse("pid"), None);
        // References sort as rows do; case does not count, the id breaks a tie.
        let mut mixed = merge(
            &[
                record("b", "Beta", "p1", &[]),
                record("a", "beta", "p1", &[]),
                record("c", "ALPHA", "p1", &[]),
            ],
            vec![],
        );
        assert_eq!(names(&mixed), ["ALPHA", "beta", "Beta"]);
        let mut refs: Vec<&AgentRow> = mixed.iter().collect();
        sort(&mut refs, SortKey::Name, true);
        let ids: Vec<&str> = refs.iter().map(|r| r.agent_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        sort(&mut mixed, SortKey::Pool, false);
        assert_eq!(names(&mixed), ["ALPHA", "beta", "Beta"]);
    }

    #[test]
    fn sorting_rows_in_name_order_agrees_with_sorting_any_order() {
        let mut records = Vec::new();
        for (i, name) in ["b", "A", "c", "a", "B", "d", "C"].iter().enumerate() {
            let mut r = record(&format!("id{i}"), name, ["p2", "p1"][i % 2], &[]);
            r.last_seen_ms = [5, 1, 5, 3, 2, 5, 0][i];
            records.push(r);
        }
        let live_ones = vec![
            live(1, "id2", "c", "p1", &[]),
            live(2, "id5", "d", "p2", &[]),
        ];
        let named = merge(&records, live_ones);
        for key in [
            SortKey::Name,
            SortKey::Status,
            SortKey::Pool,
            SortKey::LastSeen,
        ] {
            for descending in [false, true] {
                let mut any: Vec<&AgentRow> = named.iter().rev().collect();
                sort(&mut any, key, descending);
                let mut fast: Vec<&AgentRow> = named.iter().collect();
                sort_named(&mut fast, key, descending);
                let ids = |rows: &[&AgentRow]| -> Vec<String> {
                    rows.iter().map(|r| r.agent_id.clone()).collect()
                };
                assert_eq!(ids(&fast), ids(&any), "{key:?} descending {descending}");
            }
        }
    }

    #[test]
    fn a_listing_is_the_scope_filtered_and_sorted_and_pages_from_its_rows() {
        let mut records = Vec::new();
        for (i, name) in ["b", "A", "c", "a", "B", "d", "C"].iter().enumerate() {
            let mut r = record(&format!("id{i}"), name, ["p2", "p1", "p3"][i % 3], &[]);
            r.last_seen_ms = [5, 1, 5, 3, 2, 5, 0][i];
            records.push(r);
        }
        let all = merge(&records, vec![live(1, "id2", "c", "p1", &["x"])]);
        let only = PoolScope::Only(["p1".to_string(), "p2".to_string()].into());
        let filters = [
            AgentFilter::default(),
            AgentFilter {
                connected: Some(false),
                ..Default::default()
            },
            AgentFilter {
                runtime: Some("python".into()),
                ..Default::default()
            },
        ];
        for scope in [PoolScope::All, only] {
            for filter in &filters {
                for (key, descending) in [(SortKey::Name, false), (SortKey::LastSeen, true)] {
                    let listing = Listing::make(&all, &scope, filter, key, descending);
                    let mut expected = filter.apply(in_scope(&all, &scope));
                    sort(&mut expected, key, descending);
                    let ids = |rows: Vec<&AgentRow>| -> Vec<String> {
                        rows.iter().map(|r| r.agent_id.clone()).collect()
                    };
                    let what = format!("{scope:?} {filter:?} {key:?}");
                    assert_eq!(listing.total(), expected.len(), "{what}");
                    assert_eq!(
                        ids(listing.page(&all, 0, usize::MAX).collect()),
                        ids(expected.clone()),
                        "{what}"
                    );
                    assert_eq!(
                        ids(listing.page(&all, 1, 2).collect()),
                        ids(expected.iter().skip(1).take(2).copied().collect()),
                        "{what}: a page"
                    );
                    let connected = expected.iter().filter(|r| r.connected()).count();
                    assert_eq!(listing.connected, connected, "{what}");
                    assert_eq!(listing.known, in_scope(&all, &scope).count(), "{what}");
                }
            }
        }
        let listing = Listing::make(&all, &PoolScope::All, &filters[0], SortKey::Name, false);
        assert_eq!(listing.runtimes, ["java", "python"]);
        assert_eq!(listing.page(&all, 99, 10).count(), 0, "past the end");
    }

    #[test]
    fn listing_keys_name_the_rows_by_identity() {
        let rows = std::sync::Arc::new(merge(&[record("a", "a", "p1", &[])], vec![]));
        let same = std::sync::Arc::new((*rows).clone());
        let f = AgentFilter::default();
        let key = |r| ListingKey::new(r, &PoolScope::All, &f, SortKey::Name, false);
        assert_eq!(key(&rows), key(&rows));
        assert_ne!(key(&rows), key(&same), "equal rows, another view");
        assert_ne!(
            key(&rows),
            ListingKey::new(&rows, &PoolScope::All, &f, SortKey::Name, true)
        );
    }
}
