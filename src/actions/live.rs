//! Actions at run time: which connected agents each action reaches, the messages that put it
//! there and take it away (`action.set`, `action.remove`, `action.sync` on every connect), the
//! status each agent reports, and the results they send (snapshots and log lines to the store,
//! metric aggregates kept in memory: as sent for the full-resolution window of Service
//! Configuration, 300 s by default, then rolled up into hourly aggregates per action, of which
//! the newest [`MAX_HOURS_PER_ACTION`] are kept).
//!
//! The set of live actions is cached here, loaded from the store at start; the store stays the
//! truth. Sending never waits: a connection whose outbox is full misses the message and gets
//! the whole set again with its next `action.sync` (on reconnect).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde_json::{Value, json};

use super::model::{Action, TargetKind};
use super::records::{self, FromAgent, StoredLog, StoredSnapshot};
use crate::agents::config_push::ConfigPush;
use crate::agents::protocol::{ActionStatus, LogLine, Metrics, Resolved, Snapshot};
use crate::agents::registry::{AgentSummary, Registry, SessionNo};
use crate::agents::sources::{self, Matcher};
use crate::clock::SharedClock;
use crate::ops::service_config::Settings;
use crate::store::{Store, StoreError};

/// The capability an agent lists in `hello` when it runs actions.
pub const CAPABILITY: &str = "actions";
/// Hourly roll-ups kept per action (14 days); older hours are dropped.
pub const MAX_HOURS_PER_ACTION: usize = 14 * 24;
const HOUR_MS: i64 = 3_600_000;
/// Most aggregates kept per action (a 10 s interval gives 30 in the window, per agent).
const MAX_POINTS_PER_ACTION: usize = 3000;
/// Most agents whose status is kept per action.
const MAX_STATUSES_PER_ACTION: usize = 10_000;

/// Where an action stands on one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    /// The agent.
    pub agent_id: String,
    /// Its display name.
    pub agent_name: String,
    /// `sent` until the agent answers, then what it reported.
    pub status: String,
    /// The reason, for people.
    pub message: Option<String>,
    /// Where the probe sits.
    pub resolved: Option<Resolved>,
    /// When this status was reported, ms.
    pub at_ms: i64,
}

/// One interval's aggregate from one agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricPoint {
    /// The agent.
    pub agent_id: String,
    /// End of the interval, ms.
    pub end_ms: i64,
    /// Interval length, ms.
    pub interval_ms: u64,
    /// Hits.
    pub count: u64,
    /// Sum of values.
    pub sum: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

/// One hour of an action's metric points, from every agent, rolled up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyAggregate {
    /// Start of the hour, ms.
    pub hour_ms: i64,
    /// Points rolled into it.
    pub points: u64,
    /// Hits.
    pub count: u64,
    /// Sum of values.
    pub sum: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl HourlyAggregate {
    fn add(&mut self, p: &MetricPoint) {
        fn both(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
            match (a, b) {
                (Some(x), Some(y)) => Some(f(x, y)),
                (x, y) => x.or(y),
            }
        }
        self.points += 1;
        self.count = self.count.saturating_add(p.count);
        self.sum = both(self.sum, p.sum, |x, y| x + y);
        self.min = both(self.min, p.min, f64::min);
        self.max = both(self.max, p.max, f64::max);
    }
}

/// An action's metric data: recent points as sent, older ones by the hour.
#[derive(Debug, Default)]
struct Series {
    points: VecDeque<MetricPoint>,
    hours: VecDeque<HourlyAggregate>,
}

impl Series {
    /// Rolls points older than the window (or beyond the bound) into their hours.
    fn settle(&mut self, now: i64, window_ms: i64) {
        while self.points.len() > MAX_POINTS_PER_ACTION
            || self
                .points
                .front()
                .is_some_and(|p| p.end_ms < now.saturating_sub(window_ms))
        {
            let Some(p) = self.points.pop_front() else {
                break;
            };
            let hour_ms = p.end_ms.div_euclid(HOUR_MS) * HOUR_MS;
            // Points arrive roughly in order; a late one for an hour already passed over
            // finds its hour by search (at most MAX_HOURS_PER_ACTION entries).
            match self.hours.iter_mut().rev().find(|h| h.hour_ms == hour_ms) {
                Some(h) => h.add(&p),
                None => {
                    let mut h = HourlyAggregate {
                        hour_ms,
                        points: 0,
                        count: 0,
                        sum: None,
                        min: None,
                        max: None,
                    };
                    h.add(&p);
                    let at = self.hours.partition_point(|x| x.hour_ms < hour_ms);
                    self.hours.insert(at, h);
                }
            }
            while self.hours.len() > MAX_HOURS_PER_ACTION {
                self.hours.pop_front();
            }
        }
    }
}

/// The live side of actions.
pub struct Live {
    store: Store,
    registry: Arc<Registry>,
    clock: SharedClock,
    settings: Arc<Settings>,
    /// The redaction each pool's results pass again before they are stored.
    config: Arc<ConfigPush>,
    actions: RwLock<HashMap<String, Arc<Action>>>,
    statuses: Mutex<HashMap<String, BTreeMap<String, AgentStatus>>>,
    metrics: Mutex<HashMap<String, Series>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

/// What decides whether an action reaches an agent.
struct Facts<'a> {
    agent_id: &'a str,
    name: &'a str,
    pool_id: &'a str,
    tags: &'a [String],
}

impl<'a> Facts<'a> {
    fn of(a: &'a AgentSummary) -> Facts<'a> {
        Facts {
            agent_id: &a.hello.agent_id,
            name: &a.hello.display_name,
            pool_id: &a.pool_id,
            tags: &a.hello.tags,
        }
    }
}

fn reaches(action: &Action, agent: &Facts<'_>, sources: &HashMap<String, Matcher>) -> bool {
    if let Some(pools) = &action.scope_pools
        && !pools.iter().any(|p| p == agent.pool_id)
    {
        return false;
    }
    let target = &action.target;
    match target.kind {
        TargetKind::Agent => target.id == agent.agent_id,
        TargetKind::Tag => agent.tags.contains(&target.id),
        TargetKind::Pool => target.id == agent.pool_id,
        TargetKind::CustomSource => sources
            .get(&target.id)
            .is_some_and(|m| m.matches(agent.pool_id, agent.name, agent.tags)),
    }
}

/// Records one agent's status of an action, within the cap of agents per action.
fn put_status(
    per: &mut BTreeMap<String, AgentStatus>,
    agent_id: &str,
    agent_name: &str,
    status: &str,
    message: Option<String>,
    resolved: Option<Resolved>,
    now: i64,
) {
    if per.len() >= MAX_STATUSES_PER_ACTION && !per.contains_key(agent_id) {
        return;
    }
    per.insert(
        agent_id.to_string(),
        AgentStatus {
            agent_id: agent_id.to_string(),
            agent_name: agent_name.to_string(),
            status: status.to_string(),
            message,
            resolved,
            at_ms: now,
        },
    );
}

fn capable(a: &AgentSummary) -> bool {
    a.hello.capabilities.iter().any(|c| c == CAPABILITY)
}

/// `action.set` for one action.
pub fn set_message(action: &Action) -> String {
    let mut body = action.wire();
    if let Some(m) = body.as_object_mut() {
        m.insert("type".into(), json!("action.set"));
    }
    body.to_string()
}

/// `action.remove` for some actions.
pub fn remove_message(ids: &[String]) -> String {
    json!({"type": "action.remove", "ids": ids}).to_string()
}

/// `action.sync` with the whole set an agent should run.
pub fn sync_message(actions: &[Arc<Action>]) -> String {
    let list: Vec<Value> = actions.iter().map(|a| a.wire()).collect();
    json!({"type": "action.sync", "actions": list}).to_string()
}

impl Live {
    /// An empty live set; [`Live::load`] fills it from the store. `settings` gives the
    /// metric window in force; `config` the redaction results pass before they are stored.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        clock: SharedClock,
        settings: Arc<Settings>,
        config: Arc<ConfigPush>,
    ) -> Live {
        Live {
            store,
            registry,
            clock,
            settings,
            config,
            actions: RwLock::default(),
            statuses: Mutex::default(),
            metrics: Mutex::default(),
        }
    }

    /// Loads the unexpired, enabled actions from the store (at start).
    pub async fn load(&self) -> Result<usize, StoreError> {
        let now = self.clock.now_ms();
        let all = self.store.read(records::list).await?;
        let mut map = self.actions.write().unwrap_or_else(|p| p.into_inner());
        map.clear();
        for a in all
            .into_iter()
            .filter(|a| a.expires_at_ms > now && !a.disabled)
        {
            map.insert(a.id.clone(), Arc::new(a));
        }
        Ok(map.len())
    }

    async fn sources(&self) -> HashMap<String, Matcher> {
        self.store
            .read(sources::list)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id.clone(), s.matcher()))
            .collect()
    }

    /// The live actions, by id.
    pub fn active(&self) -> Vec<Arc<Action>> {
        let map = self.actions.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<Arc<Action>> = map.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Whether the action is live (not expired, not deleted).
    pub fn is_active(&self, id: &str) -> bool {
        self.actions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    /// A new or re-enabled (already stored) action: sent to every connected agent it reaches.
    /// Answers how many agents it was sent to.
    pub async fn added(&self, action: Action) -> usize {
        let action = Arc::new(action);
        self.actions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(action.id.clone(), Arc::clone(&action));
        let sources = self.sources().await;
        let text = set_message(&action);
        let now = self.clock.now_ms();
        // The statuses are locked before the first agent is sent the action and until each
        // is marked `sent`: an agent's `installed` may otherwise be recorded first and then
        // overwritten (the fleet benchmark saw one agent of 10,000 left at `sent`). Agents'
        // reports wait for the lock; nothing takes the two locks the other way round.
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let chosen = self.registry.send_to_each(&text, |a| {
            capable(a) && reaches(&action, &Facts::of(a), &sources)
        });
        let per = statuses.entry(action.id.clone()).or_default();
        for c in &chosen {
            put_status(per, &c.agent_id, &c.display_name, "sent", None, None, now);
        }
        chosen.iter().filter(|c| c.queued).count()
    }

    /// An action deleted, disabled or expired: taken off every agent that runs it.
    pub async fn removed(&self, id: &str) {
        let Some(action) = self
            .actions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
        else {
            return;
        };
        let sources = self.sources().await;
        let text = remove_message(std::slice::from_ref(&action.id));
        self.registry.send_to_each(&text, |a| {
            capable(a) && reaches(&action, &Facts::of(a), &sources)
        });
    }

    /// Removes expired actions from the live set (and from their agents); answers their ids.
    /// Their records and results stay for retention.
    pub async fn expire(&self) -> Vec<String> {
        let now = self.clock.now_ms();
        let expired: Vec<String> = self
            .actions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|a| a.expires_at_ms <= now)
            .map(|a| a.id.clone())
            .collect();
        for id in &expired {
            self.removed(id).await;
            self.mark_all(id, "expired", now);
        }
        expired
    }

    /// An action switched off: taken off its agents, each status saying so.
    pub async fn disabled(&self, id: &str) {
        self.removed(id).await;
        self.mark_all(id, "disabled", self.clock.now_ms());
    }

    fn mark_all(&self, id: &str, status: &str, now: i64) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        for s in statuses.entry(id.to_string()).or_default().values_mut() {
            s.status = status.into();
            s.message = None;
            s.at_ms = now;
        }
    }

    /// A capable agent connected: it gets the whole set it should run.
    pub async fn connected(&self, session: SessionNo, agent: &AgentSummary) {
        if !capable(agent) {
            return;
        }
        let sources = self.sources().await;
        let facts = Facts::of(agent);
        let mine: Vec<Arc<Action>> = self
            .active()
            .into_iter()
            .filter(|a| reaches(a, &facts, &sources))
            .collect();
        let now = self.clock.now_ms();
        for a in &mine {
            self.set_status(&a.id, agent, "sent", None, None, now);
        }
        self.registry.send_to(session, sync_message(&mine));
    }

    fn set_status(
        &self,
        id: &str,
        agent: &AgentSummary,
        status: &str,
        message: Option<String>,
        resolved: Option<Resolved>,
        now: i64,
    ) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let per = statuses.entry(id.to_string()).or_default();
        let hello = &agent.hello;
        put_status(
            per,
            &hello.agent_id,
            &hello.display_name,
            status,
            message,
            resolved,
            now,
        );
    }

    /// An agent's `action.status`. Reports for actions that are gone are ignored.
    pub fn status(&self, agent: &AgentSummary, s: ActionStatus) {
        if !self.is_active(&s.id) {
            return;
        }
        let now = self.clock.now_ms();
        self.set_status(&s.id, agent, &s.status, s.message, s.resolved, now);
    }

    /// Every agent's status for one action, by agent id.
    pub fn statuses(&self, id: &str) -> Vec<AgentStatus> {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A snapshot: stored under its action (a hit may arrive before `installed`: accepted)
    /// after its values pass the pool's PII redaction again. Answers whether it was kept (its
    /// action exists).
    pub async fn snapshot(&self, agent: &AgentSummary, s: Snapshot) -> Result<bool, StoreError> {
        let id = s.id;
        let mut stored = StoredSnapshot {
            from: from_agent(agent),
            seq: 0,
            time_ms: s.time,
            thread: s.thread,
            frames: Value::Array(s.frames),
            this: s.this,
            locals: Value::Array(s.locals),
            watches: Value::Array(s.watches),
            truncated: s.truncated,
        };
        self.redact_snapshot(&agent.pool_id, &mut stored);
        let kept = self
            .store
            .write(move |tx| records::add_snapshot(tx, &id, stored.clone()))
            .await?;
        Ok(kept.is_some())
    }

    /// Applies `pool_id`'s redaction to a snapshot's values. Without a compiled set (even the
    /// built-in one failed) nothing of the values is kept: never store what might be secret.
    fn redact_snapshot(&self, pool_id: &str, s: &mut StoredSnapshot) {
        match self.config.redaction(pool_id) {
            Some(r) => {
                let mut n = r.snapshot(&mut s.locals) + r.snapshot(&mut s.watches);
                if let Some(this) = s.this.as_mut() {
                    n += r.snapshot(this);
                }
                if n > 0 {
                    tracing::debug!(values = n, "the appliance redacted values an agent sent");
                }
            }
            None => {
                s.locals = Value::Array(Vec::new());
                s.watches = Value::Array(Vec::new());
                s.this = None;
            }
        }
    }

    /// A log line, stored under its action after the pool's PII redaction.
    pub async fn log(&self, agent: &AgentSummary, l: LogLine) -> Result<bool, StoreError> {
        let text = match self.config.redaction(&agent.pool_id) {
            Some(r) => r.log_text(&l.text),
            None => crate::security::redaction::LOG_MARK.to_string(),
        };
        let line = StoredLog {
            from: from_agent(agent),
            seq: 0,
            time_ms: l.time,
            level: l.level,
            thread: l.thread,
            text,
        };
        let id = l.id;
        let kept = self
            .store
            .write(move |tx| records::add_log(tx, &id, line.clone()))
            .await?;
        Ok(kept.is_some())
    }

    /// Metric aggregates: kept in memory as sent for the full-resolution window, then rolled
    /// up by the hour.
    pub fn metric(&self, agent: &AgentSummary, m: Metrics) {
        let now = self.clock.now_ms();
        let window = self.settings.get().metric_window_ms();
        let mut metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        for a in m.actions {
            if !self.is_active(&a.id) && !metrics.contains_key(&a.id) {
                continue;
            }
            let series = metrics.entry(a.id).or_default();
            series.points.push_back(MetricPoint {
                agent_id: agent.hello.agent_id.clone(),
                end_ms: m.end,
                interval_ms: m.interval_ms,
                count: a.count,
                sum: a.sum,
                min: a.min,
                max: a.max,
            });
            series.settle(now, window);
        }
    }

    /// An action's metric points in the full-resolution window and its hourly roll-ups
    /// before it, each oldest first.
    pub fn metric_series(&self, id: &str) -> (Vec<MetricPoint>, Vec<HourlyAggregate>) {
        let now = self.clock.now_ms();
        let window = self.settings.get().metric_window_ms();
        let mut metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        match metrics.get_mut(id) {
            Some(series) => {
                series.settle(now, window);
                (
                    series.points.iter().cloned().collect(),
                    series.hours.iter().cloned().collect(),
                )
            }
            None => (Vec::new(), Vec::new()),
        }
    }

    /// An action's metric points in the window, oldest first.
    pub fn metric_points(&self, id: &str) -> Vec<MetricPoint> {
        self.metric_series(id).0
    }

    /// Forgets what is kept in memory for a deleted action.
    pub fn forget(&self, id: &str) {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

fn from_agent(a: &AgentSummary) -> FromAgent {
    FromAgent {
        agent_id: a.hello.agent_id.clone(),
        agent_name: a.hello.display_name.clone(),
        pool_id: a.pool_id.clone(),
        tags: a.hello.tags.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::actions::model::Target;

    #[test]
    fn targets_reach_the_right_agents() {
        let tags = vec!["prod".to_string(), "eu".to_string()];
        let agent = Facts {
            agent_id: "ag-1",
            name: "orders-1",
            pool_id: "pool-a",
            tags: &tags,
        };
        let t = |kind, id: &str| {
            let mut a = crate::actions::model::NewAction {
                kind: Some("counter".into()),
                location: Some(json!({"file": "A.java", "line": 1})),
                target: Some(json!({"kind": "agent", "id": "x"})),
                ..Default::default()
            }
            .validate(
                crate::actions::model::Origin::Api,
                &crate::actions::model::Caps::default(),
                "a1".into(),
                "me".into(),
                0,
            )
            .unwrap();
            a.target = Target {
                kind,
                id: String::from(id),
            };
            a
        };
        let none = HashMap::new();
        assert!(reaches(&t(TargetKind::Agent, "ag-1"), &agent, &none));
        assert!(!reaches(&t(TargetKind::Agent, "ag-2"), &agent, &none));
        assert!(reaches(&t(TargetKind::Tag, "eu"), &agent, &none));
        assert!(!reaches(&t(TargetKind::Tag, "us"), &agent, &none));
        assert!(reaches(&t(TargetKind::Pool, "pool-a"), &agent, &none));
        assert!(!reaches(&t(TargetKind::Pool, "pool-b"), &agent, &none));
        assert!(
            !reaches(&t(TargetKind::CustomSource, "s1"), &agent, &none),
            "an unknown source reaches nobody"
        );
        let mut scoped = t(TargetKind::Tag, "eu");
        scoped.scope_pools = Some(vec!["pool-b".into()]);
        assert!(
            !reaches(&scoped, &agent, &none),
            "an action reaches only the pools its author could"
        );
        scoped.scope_pools = Some(vec!["pool-a".into()]);
        assert!(reaches(&scoped, &agent, &none));
    }

    #[test]
    fn points_past_the_window_roll_up_by_the_hour() {
        let point = |end_ms: i64, count: u64, v: f64| MetricPoint {
            agent_id: "ag".into(),
            end_ms,
            interval_ms: 10_000,
            count,
            sum: Some(v * count as f64),
            min: Some(v),
            max: Some(v),
        };
        let hour = 3_600_000;
        let mut s = Series::default();
        for (end, count, v) in [
            (hour + 10, 2, 1.0),
            (hour + 20, 3, 5.0),
            (2 * hour + 5, 1, 9.0),
        ] {
            s.points.push_back(point(end, count, v));
        }
        let now = 2 * hour + 100_000;
        s.settle(now, 300_000);
        assert_eq!(s.points.len(), 1, "the last point is within 300 s");
        assert_eq!(s.hours.len(), 1);
        let h = &s.hours[0];
        assert_eq!((h.hour_ms, h.points, h.count), (hour, 2, 5));
        assert_eq!((h.sum, h.min, h.max), (Some(17.0), Some(1.0), Some(5.0)));
        // A shorter window rolls the last one into its own hour.
        s.settle(now, 1_000);
        assert!(s.points.is_empty());
        assert_eq!(
            s.hours.iter().map(|h| h.hour_ms).collect::<Vec<_>>(),
            [hour, 2 * hour]
        );
        // Only the newest hours are kept.
        for i in 0..(MAX_HOURS_PER_ACTION as i64 + 5) {
            s.points.push_back(point(i * hour, 1, 1.0));
        }
        s.settle(i64::MAX / 2, 1_000);
        assert_eq!(s.hours.len(), MAX_HOURS_PER_ACTION);
    }

    #[test]
    fn messages_have_the_protocol_shape() {
        let v: Value = serde_json::from_str(&remove_message(&["a-1".into()])).unwrap();
        assert_eq!(v, json!({"type": "action.remove", "ids": ["a-1"]}));
        let v: Value = serde_json::from_str(&sync_message(&[])).unwrap();
        assert_eq!(v, json!({"type": "action.sync", "actions": []}));
    }
}
