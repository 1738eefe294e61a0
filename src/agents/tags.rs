//! Tags as the Tags page and the API show them: every tag agents have reported (the `tags_v1`
//! table of `history.rs`, plus any a connected agent carries), with how many connected and
//! known agents carry it, and deleting one.
//!
//! Tags have no pool of their own; a user sees a tag when an agent in their pool scope carries
//! it, and counts only such agents. Deleting forgets the tag within the caller's scope: it
//! leaves the history of the scope's agents, and the tag record goes once no agent outside the
//! scope carries it either. It is refused while a connected agent in scope carries the tag —
//! that agent would keep using it — and an agent that reconnects with the tag brings it back.

use std::collections::BTreeMap;

use super::history::{self, AGENT_HISTORY, TagRecord};
use super::registry::Registry;
use super::view::AgentRow;
use crate::iam::scope::PoolScope;
use crate::store::{StoreError, WriteTx};

/// One tag and who carries it (agents in the caller's scope only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    /// The tag.
    pub name: String,
    /// Unix ms when an agent first carried it (`None` when only a live agent knows it).
    pub first_seen_ms: Option<i64>,
    /// Unix ms when an agent last connected with it.
    pub last_seen_ms: Option<i64>,
    /// Connected agents carrying it.
    pub connected: usize,
    /// Known agents (connected or not) carrying it.
    pub known: usize,
}

/// The tags of `records` and of `agents`, sorted by name, with counts over `agents` (which
/// the caller has already narrowed to its scope). With `everything` (a company-wide scope)
/// tags no agent carries any more are listed too; otherwise only tags carried by `agents`.
pub fn rows<'a>(
    records: Vec<TagRecord>,
    agents: impl IntoIterator<Item = &'a AgentRow>,
    everything: bool,
) -> Vec<TagRow> {
    let mut out: BTreeMap<String, TagRow> = BTreeMap::new();
    for r in records {
        out.insert(
            r.name.clone(),
            TagRow {
                name: r.name,
                first_seen_ms: Some(r.first_seen_ms),
                last_seen_ms: Some(r.last_seen_ms),
                connected: 0,
                known: 0,
            },
        );
    }
    for a in agents {
        for t in a.tags() {
            let row = out.entry(t.clone()).or_insert_with(|| TagRow {
                name: t.clone(),
                first_seen_ms: None,
                last_seen_ms: None,
                connected: 0,
                known: 0,
            });
            row.known += 1;
            if a.connected() {
                row.connected += 1;
            }
        }
    }
    out.into_values()
        .filter(|r| everything || r.known > 0)
        .collect()
}

/// Why a tag could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// Connected agents carry it (409).
    #[error("{0}")]
    InUse(String),
    /// No such tag in the caller's scope (404).
    #[error("there is no such tag")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What deleting a tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The tag.
    pub name: String,
    /// Agents whose history no longer lists it.
    pub agents: usize,
    /// Whether the tag record itself went (no agent outside the scope carries it).
    pub record_deleted: bool,
}

/// Forgets `name` within `scope` (see the module docs). The registry is asked inside the
/// write, so an agent connected with the tag is noticed as late as possible.
pub fn forget(
    tx: &mut WriteTx<'_>,
    registry: &Registry,
    name: &str,
    scope: &PoolScope,
) -> Result<Forgotten, TagError> {
    let connected = registry
        .list()
        .iter()
        .filter(|a| scope.contains(&a.pool_id) && a.hello.tags.iter().any(|t| t == name))
        .count();
    if connected > 0 {
        let agents = if connected == 1 {
            "1 connected agent carries".to_string()
        } else {
            format!("{connected} connected agents carry")
        };
        return Err(TagError::InUse(format!(
            "the tag {name} cannot be deleted while it is in use: {agents} it. Stop those agents or remove the tag from their configuration first; an agent that connects with the tag brings it back."
        )));
    }
    let mut stripped = 0;
    let mut outside = 0;
    for mut record in history::list(tx)? {
        if !record.hello.tags.iter().any(|t| t == name) {
            continue;
        }
        if scope.contains(&record.pool_id) {
            record.hello.tags.retain(|t| t != name);
            tx.put_json(&AGENT_HISTORY, record.agent_id.as_bytes(), &record)?;
            stripped += 1;
        } else {
            outside += 1;
        }
    }
    let everything = matches!(scope, PoolScope::All);
    // A scoped user may only remove a tag they can see: one an agent of theirs carried.
    if stripped == 0 && !everything {
        return Err(TagError::NotFound);
    }
    let record_deleted = outside == 0 && history::delete_tag(tx, name)?;
    if stripped == 0 && !record_deleted {
        return Err(TagError::NotFound);
    }
    Ok(Forgotten {
        name: name.to_string(),
        agents: stripped,
        record_deleted,
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::agents::view::merge;
    use crate::agents::view::tests::{hello, live, record};
    use crate::store::{Store, StoreOptions};
    use std::sync::Arc;

    fn tag(name: &str) -> TagRecord {
        TagRecord {
            name: name.into(),
            first_seen_ms: 1,
            last_seen_ms: 2,
        }
    }

    #[test]
    fn counts_connected_and_known_carriers() {
        let agents = merge(
            &[
                record("a", "a", "p1", &["prod", "eu"]),
                record("b", "b", "p1", &["prod"]),
            ],
            vec![
                live(1, "b", "b", "p1", &["prod"]),
                live(2, "c", "c", "p1", &["new"]),
            ],
        );
        let rows = rows(vec![tag("prod"), tag("eu"), tag("orphan")], &agents, true);
        let summary: Vec<(&str, usize, usize)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.connected, r.known))
            .collect();
        assert_eq!(
            summary,
            [
                ("eu", 0, 1),
                ("new", 1, 1),
                ("orphan", 0, 0),
                ("prod", 1, 2)
            ]
        );
        assert_eq!(rows[1].first_seen_ms, None, "only a live agent knows it");
        let scoped = super::rows(vec![tag("prod"), tag("orphan")], &agents[..1], false);
        let names: Vec<&str> = scoped.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["eu", "prod"],
            "a scoped user sees only carried tags"
        );
    }

    #[tokio::test]
    async fn a_scoped_delete_forgets_the_tag_only_within_the_scope() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap();
        store
            .write(|tx| {
                history::connected(tx, &hello("a", "a", "java", &["shared", "mine"]), "p1", 1)?;
                history::connected(tx, &hello("b", "b", "java", &["shared"]), "p2", 1)?;
                Ok(())
            })
            .await
            .unwrap();
        let registry = Arc::new(Registry::new());
        let forget_as = |name: &'static str, scope: PoolScope| {
            let (store, registry) = (store.clone(), Arc::clone(&registry));
            async move {
                store
                    .write(move |tx| Ok(forget(tx, &registry, name, &scope)))
                    .await
                    .unwrap()
            }
        };
        let p1 = || PoolScope::Only(["p1".to_string()].into());
        let tags_of = |id: &'static str| {
            let store = store.clone();
            async move {
                store
                    .read(move |tx| history::get(tx, id))
                    .await
                    .unwrap()
                    .unwrap()
                    .hello
                    .tags
            }
        };

        // Carried outside the scope too: it leaves a's record, the tag itself stays.
        let gone = forget_as("shared", p1()).await.unwrap();
        assert_eq!((gone.agents, gone.record_deleted), (1, false));
        assert_eq!(tags_of("a").await, ["mine"]);
        assert_eq!(tags_of("b").await, ["shared"]);
        assert!(matches!(
            forget_as("shared", p1()).await,
            Err(TagError::NotFound)
        ));
        assert!(
            matches!(
                forget_as("mine", PoolScope::Only(["p2".to_string()].into())).await,
                Err(TagError::NotFound)
            ),
            "a tag no agent of the scope carries is not there for it"
        );
        // Everything in scope: the record goes as well.
        let gone = forget_as("shared", PoolScope::All).await.unwrap();
        assert_eq!((gone.agents, gone.record_deleted), (1, true));
        let left: Vec<String> = store
            .read(history::tags)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(left, ["mine"]);
        assert!(matches!(
            forget_as("nope", PoolScope::All).await,
            Err(TagError::NotFound)
        ));
    }
}
