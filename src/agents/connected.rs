//! How many agents are connected, overall and per pool, kept up to date as connections come
//! and go, so that pages (Getting Started, Agent Pools) answer without walking every
//! connection. At ten thousand agents that walk, which hashed every agent id into a set, was
//! most of what a Getting Started page cost.
//!
//! An agent is counted once however many connections it has (two processes started with one
//! id). An agent with connections in two pools (its id used with two pool keys) counts once in
//! each pool, and once for any set of pools: [`ConnectedCounts::in_pools`] subtracts what the
//! per-pool counts would add twice.

use std::collections::{BTreeSet, HashMap};

/// The counts; the registry keeps one under its connections' lock.
#[derive(Debug, Default)]
pub struct ConnectedCounts {
    /// Per agent id: the pools it has live connections in, with how many in each (almost
    /// always one pool).
    agents: HashMap<String, Vec<(String, u32)>>,
    /// Per pool id: how many distinct agents have a live connection in it.
    per_pool: HashMap<String, usize>,
    /// The agent ids with live connections in more than one pool (normally none).
    spread: BTreeSet<String>,
}

impl ConnectedCounts {
    /// A connection of `agent_id` to `pool_id` opened.
    pub fn connected(&mut self, agent_id: &str, pool_id: &str) {
        let pools = self.agents.entry(agent_id.to_string()).or_default();
        if let Some((_, n)) = pools.iter_mut().find(|(p, _)| p == pool_id) {
            *n = n.saturating_add(1);
            return;
        }
        pools.push((pool_id.to_string(), 1));
        if pools.len() > 1 {
            self.spread.insert(agent_id.to_string());
        }
        *self.per_pool.entry(pool_id.to_string()).or_default() += 1;
    }

    /// A connection of `agent_id` to `pool_id` ended (one that [`connected`] counted).
    ///
    /// [`connected`]: Self::connected
    pub fn disconnected(&mut self, agent_id: &str, pool_id: &str) {
        let Some(pools) = self.agents.get_mut(agent_id) else {
            return;
        };
        let Some(i) = pools.iter().position(|(p, _)| p == pool_id) else {
            return;
        };
        let Some(slot) = pools.get_mut(i) else {
            return;
        };
        slot.1 = slot.1.saturating_sub(1);
        if slot.1 > 0 {
            return;
        }
        pools.swap_remove(i);
        let left = pools.len();
        if left == 0 {
            self.agents.remove(agent_id);
        }
        if left <= 1 {
            self.spread.remove(agent_id);
        }
        if let Some(n) = self.per_pool.get_mut(pool_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_pool.remove(pool_id);
            }
        }
    }

    /// Distinct agents connected to any pool.
    pub fn all(&self) -> usize {
        self.agents.len()
    }

    /// Distinct agents connected to `pool_id`.
    pub fn in_pool(&self, pool_id: &str) -> usize {
        self.per_pool.get(pool_id).copied().unwrap_or(0)
    }

    /// Distinct agents connected to any of `pools`.
    pub fn in_pools(&self, pools: &BTreeSet<String>) -> usize {
        let counted: usize = pools.iter().map(|p| self.in_pool(p)).sum();
        // An agent in k of these pools was counted k times above.
        let extra: usize = self
            .spread
            .iter()
            .filter_map(|a| self.agents.get(a))
            .map(|its| {
                its.iter()
                    .filter(|(p, _)| pools.contains(p))
                    .count()
                    .saturating_sub(1)
            })
            .sum();
        counted.saturating_sub(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(pools: &[&str]) -> BTreeSet<String> {
        pools.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn an_agent_counts_once_however_many_connections() {
        let mut c = ConnectedCounts::default();
        c.connected("a", "p1");
        c.connected("a", "p1");
        c.connected("b", "p1");
        c.connected("a", "p2");
        assert_eq!(c.all(), 2);
        assert_eq!(
            (c.in_pool("p1"), c.in_pool("p2"), c.in_pool("p3")),
            (2, 1, 0)
        );
        assert_eq!(c.in_pools(&set(&["p1", "p2"])), 2, "a is in both: once");
        assert_eq!(c.in_pools(&set(&["p2", "p3"])), 1);
        c.disconnected("a", "p1");
        assert_eq!(c.in_pool("p1"), 2, "a still has a connection in p1");
        c.disconnected("a", "p1");
        assert_eq!(c.in_pool("p1"), 1);
        assert_eq!(c.in_pools(&set(&["p1", "p2"])), 2);
        c.disconnected("a", "p2");
        c.disconnected("b", "p1");
        assert_eq!((c.all(), c.in_pools(&set(&["p1", "p2"]))), (0, 0));
        // An end it never saw changes nothing.
        c.disconnected("ghost", "p1");
        assert_eq!(c.all(), 0);
    }

    /// (agent, pool) of one connection; a few of each so that they meet often.
    fn connection() -> impl Strategy<Value = (u8, u8)> {
        (0u8..5, 0u8..3)
    }

    proptest! {
        /// Whatever the order of connects and disconnects, the counts equal a count made
        /// from the open connections themselves.
        #[test]
        fn the_counts_equal_a_recount(
            ops in prop::collection::vec((connection(), any::<bool>()), 0..60),
            scope in prop::collection::btree_set(0u8..3, 0..3),
        ) {
            let mut c = ConnectedCounts::default();
            let mut open: Vec<(String, String)> = Vec::new();
            for ((agent, pool), connect) in ops {
                let (agent, pool) = (format!("a{agent}"), format!("p{pool}"));
                if connect {
                    c.connected(&agent, &pool);
                    open.push((agent, pool));
                } else if let Some(i) = open.iter().position(|o| *o == (agent.clone(), pool.clone())) {
                    open.swap_remove(i);
                    c.disconnected(&agent, &pool);
                }
            }
            let distinct = |keep: &dyn Fn(&str) -> bool| {
                open.iter()
                    .filter(|(_, p)| keep(p))
                    .map(|(a, _)| a.as_str())
                    .collect::<BTreeSet<_>>()
                    .len()
            };
            let scope: BTreeSet<String> = scope.iter().map(|p| format!("p{p}")).collect();
            prop_assert_eq!(c.all(), distinct(&|_| true));
            prop_assert_eq!(c.in_pools(&scope), distinct(&|p| scope.contains(p)));
            for p in ["p0", "p1", "p2"] {
                prop_assert_eq!(c.in_pool(p), distinct(&|q| q == p));
            }
        }
    }
}
