//! The configuration an agent gets (`config.update`, agents/PROTOCOL.md): the PII redaction
//! template of its pool and the org-wide blocklist, composed here, sent right after
//! `hello_ack` (before `action.sync`, so no probe is ever installed under an old set) and
//! again to every connected agent whose configuration a change alters — no restart.
//!
//! The compiled forms are kept here too, for the appliance's own second pass over results and
//! its check of new actions: built once per change and swapped whole behind an `Arc`, so a
//! result being redacted sees the old or the new set, never half of one. Sending never waits
//! (the registry's outboxes, as for actions): an agent whose outbox is full is closed as a slow
//! reader and gets the whole configuration again when it reconnects.
//!
//! [`ConfigUpdate`] has one optional field per kind of setting; a new kind (capture limits,
//! say) is a new field and a new source in [`Effective`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::registry::{AgentSummary, Registry, SessionNo};
use crate::security::blocklist::{self, Blocklist};
use crate::security::policy;
use crate::security::redaction::{self, DEFAULT_ID, Rules};
use crate::store::{Store, StoreError};

/// The `config.update` message: every field optional, each replacing the agent's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ConfigUpdate {
    /// PII redaction for the agent's pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<Rules>,
    /// The org-wide blocklist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocklist: Option<Blocklist>,
}

impl ConfigUpdate {
    /// The message's text.
    pub fn message(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert("type".into(), "config.update".into());
        }
        v.to_string()
    }
}

/// Everything in force now, compiled.
#[derive(Debug)]
pub struct Effective {
    /// Compiled templates by id (Default always present).
    templates: HashMap<String, Arc<redaction::Compiled>>,
    /// Template id by pool id (pools not listed use Default).
    assignments: BTreeMap<String, String>,
    /// The blocklist.
    blocklist: Arc<blocklist::Compiled>,
}

impl Effective {
    fn built_in() -> Effective {
        let mut templates = HashMap::new();
        if let Ok(c) = redaction::Compiled::new(&redaction::default_rules()) {
            templates.insert(DEFAULT_ID.to_string(), Arc::new(c));
        }
        Effective {
            templates,
            assignments: BTreeMap::new(),
            blocklist: Arc::new(blocklist::Compiled::default()),
        }
    }

    /// The redaction for agents of `pool_id`; `None` only if even Default failed to compile.
    pub fn redaction(&self, pool_id: &str) -> Option<Arc<redaction::Compiled>> {
        let id = self
            .assignments
            .get(pool_id)
            .map_or(DEFAULT_ID, String::as_str);
        self.templates
            .get(id)
            .or_else(|| self.templates.get(DEFAULT_ID))
            .cloned()
    }

    /// What an agent of `pool_id` is sent.
    pub fn update_for(&self, pool_id: &str) -> ConfigUpdate {
        ConfigUpdate {
            redaction: self.redaction(pool_id).map(|c| c.rules().clone()),
            blocklist: Some(self.blocklist.list().clone()),
        }
    }
}

/// The owner of agents' configuration.
pub struct ConfigPush {
    store: Store,
    registry: Arc<Registry>,
    current: RwLock<Arc<Effective>>,
    /// One reload at a time: two changes reloading at once could otherwise put the older
    /// read in force last.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ConfigPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigPush").finish_non_exhaustive()
    }
}

/// Whether an agent understands `config.update` (it runs actions, PROTOCOL.md).
fn capable(a: &AgentSummary) -> bool {
    a.hello
        .capabilities
        .iter()
        .any(|c| c == crate::actions::live::CAPABILITY)
}

impl ConfigPush {
    /// The built-in configuration until [`ConfigPush::load`] reads the store.
    pub fn new(store: Store, registry: Arc<Registry>) -> ConfigPush {
        ConfigPush {
            store,
            registry,
            current: RwLock::new(Arc::new(Effective::built_in())),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// What is in force now.
    pub fn current(&self) -> Arc<Effective> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The redaction the appliance applies to results from agents of `pool_id`.
    pub fn redaction(&self, pool_id: &str) -> Option<Arc<redaction::Compiled>> {
        self.current().redaction(pool_id)
    }

    /// The blocklist in force.
    pub fn blocklist(&self) -> Arc<blocklist::Compiled> {
        Arc::clone(&self.current().blocklist)
    }

    /// Reads and compiles what the store holds and puts it in force. A stored template that
    /// no longer compiles (it was checked when saved) is left out: its pools use Default.
    pub async fn load(&self) -> Result<(), StoreError> {
        let _one = self.reloading.lock().await;
        self.load_now().await
    }

    async fn load_now(&self) -> Result<(), StoreError> {
        let (templates, assignments, list) = self
            .store
            .read(|tx| {
                Ok((
                    policy::templates(tx)?,
                    policy::assignments(tx)?,
                    policy::blocklist(tx)?,
                ))
            })
            .await?;
        let mut compiled = HashMap::new();
        for t in templates {
            match redaction::Compiled::new(&t.rules) {
                Ok(c) => {
                    compiled.insert(t.id, Arc::new(c));
                }
                Err(e) => tracing::warn!(template = %t.id, "a PII template does not compile: {e}"),
            }
        }
        let next = Effective {
            templates: compiled,
            assignments,
            blocklist: Arc::new(blocklist::Compiled::new(&list)),
        };
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(())
    }

    /// An agent connected: its configuration, queued right after `hello_ack`.
    pub fn connected(&self, session: SessionNo, agent: &AgentSummary) {
        if capable(agent) {
            let text = self.current().update_for(&agent.pool_id).message();
            self.registry.send_to(session, text);
        }
    }

    /// Something changed in the store: reloads, then sends `config.update` to each connected
    /// agent whose configuration is now different. Answers how many were sent one.
    pub async fn changed(&self) -> Result<usize, StoreError> {
        let _one = self.reloading.lock().await;
        let before = self.current();
        self.load_now().await?;
        let after = self.current();
        let mut memo: HashMap<String, Option<String>> = HashMap::new();
        let mut sent = 0;
        for agent in self.registry.list().iter().filter(|a| capable(a)) {
            let text = memo.entry(agent.pool_id.clone()).or_insert_with(|| {
                let new = after.update_for(&agent.pool_id);
                (new != before.update_for(&agent.pool_id)).then(|| new.message())
            });
            if let Some(text) = text
                && self.registry.send_to(agent.session, text.clone())
            {
                sent += 1;
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_message_has_the_protocol_shape() {
        let e = Effective::built_in();
        let v: serde_json::Value =
            serde_json::from_str(&e.update_for("any-pool").message()).unwrap();
        assert_eq!(v["type"], "config.update");
        assert_eq!(
            v["redaction"],
            serde_json::to_value(redaction::default_rules()).unwrap(),
            "the built-in set"
        );
        assert_eq!(
            v["blocklist"],
            serde_json::json!({"rules": [], "exceptions": []})
        );
        let none = ConfigUpdate::default().message();
        assert_eq!(
            none, r#"{"type":"config.update"}"#,
            "absent fields are left out"
        );
    }

    /// The example of PROTOCOL.md is what this module sends: its `redaction` is the Default
    /// template, and its blocklist passes the appliance's own check.
    #[test]
    fn the_protocol_example_is_true() {
        let doc = include_str!("../../agents/PROTOCOL.md");
        let block = doc
            .split("```json\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .find(|b| b.contains("\"config.update\""))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(block).unwrap();
        let rules: Rules = serde_json::from_value(v["redaction"].clone()).unwrap();
        assert_eq!(rules, redaction::default_rules());
        let list: Blocklist = serde_json::from_value(v["blocklist"].clone()).unwrap();
        assert_eq!(blocklist::check(&list).unwrap(), list);
        let sent = ConfigUpdate {
            redaction: Some(rules),
            blocklist: Some(list),
        };
        let back: serde_json::Value = serde_json::from_str(&sent.message()).unwrap();
        assert_eq!(back, v);
    }
}
