//! The Entities resources of the REST API: `agents` (list with filters, one agent with its
//! artifacts, disconnect), `tags` (list, delete) and `custom-sources` (list, create, one with
//! the agents it matches, delete).
//!
//! Everything is read within the caller's pool scope (objects outside it answer 404) and
//! changed through the same operations as the portal (`http::entities`), so the rules and
//! the audit records are the same, with the API key as the actor.

use hyper::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{list_answer, paging, time};
use super::api_iam::json_body;
use super::entities::{
    agent_filter, artifacts_of, create_source, delete_source, delete_tag, disconnect, scoped,
    source_lines, tag_rows, visible_agent, visible_source,
};
use super::handler::Call;
use super::respond::{self, Body};
use super::router::{object_id, path_text};
use crate::agents::registry::{ArtifactView, MAX_ARTIFACTS_PER_AGENT};
use crate::agents::sources::{MatchMode, NewSource, Rule};
use crate::agents::view::{AgentRow, SortKey};
use crate::error::Error;
use crate::ui::pages::custom_sources::SourceLine;

/// Class names per artifact in `GET /api/v1/agents/{id}?classes=true`.
pub const MAX_CLASSES_PER_ARTIFACT: usize = 1_000;

/// The Entities routes of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntitiesApiRoute {
    /// `GET /api/v1/agents?pool=&tag=&name=&runtime=&connected=&offset=&limit=`
    AgentsList,
    /// `GET /api/v1/agents/{agent_id}?classes=true` (percent-encoded id)
    AgentGet(String),
    /// `POST /api/v1/agents/{agent_id}/disconnect`
    AgentDisconnect(String),
    /// `GET /api/v1/tags`
    TagsList,
    /// `DELETE /api/v1/tags/{name}` (percent-encoded; a bare `/` in the name works too)
    TagDelete(String),
    /// `GET /api/v1/custom-sources`
    SourcesList,
    /// `POST /api/v1/custom-sources`
    SourceCreate,
    /// `GET /api/v1/custom-sources/{id}`
    SourceGet(String),
    /// `DELETE /api/v1/custom-sources/{id}`
    SourceDelete(String),
}

impl EntitiesApiRoute {
    /// The route for a method and the path segments after `/api/v1/`, if it is one of these.
    pub fn parse(method: &str, segments: &[&str]) -> Option<EntitiesApiRoute> {
        use EntitiesApiRoute as R;
        match (method, segments) {
            ("GET" | "HEAD", ["agents"]) => Some(R::AgentsList),
            ("GET" | "HEAD", ["agents", id]) => path_text(id).map(R::AgentGet),
            ("POST", ["agents", id, "disconnect"]) => path_text(id).map(R::AgentDisconnect),
            ("GET" | "HEAD", ["tags"]) => Some(R::TagsList),
            // Tags may hold `/`: whatever follows `tags/` is the name.
            ("DELETE", ["tags", rest @ ..]) if !rest.is_empty() => {
                path_text(&rest.join("/")).map(R::TagDelete)
            }
            ("GET" | "HEAD", ["custom-sources"]) => Some(R::SourcesList),
            ("POST", ["custom-sources"]) => Some(R::SourceCreate),
            ("GET" | "HEAD", ["custom-sources", id]) => object_id(id).map(R::SourceGet),
            ("DELETE", ["custom-sources", id]) => object_id(id).map(R::SourceDelete),
            _ => None,
        }
    }
}

/// Serves one Entities route.
pub async fn handle(call: &Call, route: EntitiesApiRoute) -> Result<Response<Body>, Error> {
    use EntitiesApiRoute as R;
    match route {
        R::AgentsList => agents_list(call).await,
        R::AgentGet(id) => agent_get(call, &id).await,
        R::AgentDisconnect(id) => {
            let row = disconnect(call, &id).await?;
            Ok(respond::json(200, &agent_json(&row)))
        }
        R::TagsList => tags_list(call).await,
        R::TagDelete(name) => {
            let gone = delete_tag(call, &name).await??;
            Ok(respond::json(
                200,
                &json!({
                    "name": gone.name,
                    "agents": gone.agents,
                    "record_deleted": gone.record_deleted,
                }),
            ))
        }
        R::SourcesList => sources_list(call).await,
        R::SourceCreate => source_create(call).await,
        R::SourceGet(id) => {
            let (line, agents) = visible_source(call, &id).await?;
            Ok(respond::json(200, &source_json(&line, Some(&agents))))
        }
        R::SourceDelete(id) => {
            let s = delete_source(call, &id).await?;
            Ok(respond::json(
                200,
                &json!({
                    "id": s.id,
                    "name": s.name,
                    "pool": s.pool_id,
                    "match": s.match_mode,
                    "rules": s.rules,
                }),
            ))
        }
    }
}

// ---- agents ----

/// An agent as the API shows it.
fn agent_json(r: &AgentRow) -> Value {
    let h = &r.hello;
    json!({
        "agent_id": r.agent_id,
        "display_name": h.display_name,
        "instance_id": h.instance_id,
        "runtime": h.runtime,
        "agent_version": h.agent_version,
        "host": h.host,
        "pid": h.pid,
        "tags": h.tags,
        "capabilities": h.capabilities,
        "pool": { "id": r.pool_id, "name": r.pool_name },
        "status": if r.connected() { "connected" } else { "disconnected" },
        "connected": r.connected(),
        "first_seen": time(r.first_seen_ms),
        "last_seen": time(r.last_seen_ms),
        "last_heartbeat": time(r.last_heartbeat_ms()),
        "connections": r.connections,
        "last_disconnect_reason": (!r.connected() && !r.last_disconnect_reason.is_empty())
            .then(|| r.last_disconnect_reason.clone()),
        "classes_loaded": r.live.as_ref().map(|l| l.classes_loaded),
        "connection": r.live.as_ref().map(|l| json!({
            "session_id": l.session_id,
            "peer": l.peer.to_string(),
            "protocol": l.protocol,
            "connected_since": time(l.connected_ms),
            "last_heartbeat": time(l.last_heartbeat_ms),
            "classes_loaded": l.classes_loaded,
            "artifacts": l.artifacts,
            "initial_done": l.initial_done,
            "stats": l.stats,
        })),
    })
}

fn artifact_json(a: &ArtifactView, with_classes: bool) -> Value {
    let d = &a.declared;
    let mut v = json!({
        "ref": d.id,
        "location": d.location,
        "kind": d.kind,
        "parent": d.parent,
        "sha256": d.sha256,
        "coordinates": d.coordinates.iter().map(|c| json!({
            "source": c.source,
            "group": c.group,
            "name": c.name,
            "version": c.version,
            "guess": c.source.is_guess(),
        })).collect::<Vec<_>>(),
        "class_count": a.class_count,
        "loaded": a.class_count > 0,
    });
    if with_classes && let Some(obj) = v.as_object_mut() {
        obj.insert(
            "classes".into(),
            json!(a.classes.iter().map(|c| c.as_ref()).collect::<Vec<&str>>()),
        );
        let listed = a.classes.len() as u64;
        let omitted = if d.kind == crate::agents::protocol::ArtifactKind::Runtime {
            0
        } else {
            a.class_count.saturating_sub(listed)
        };
        obj.insert("classes_omitted".into(), json!(omitted));
    }
    v
}

/// `GET /api/v1/agents`
async fn agents_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let filter = agent_filter(&call.query)?;
    let scoped = scoped(call).await?;
    let listing = scoped.listing(&call.state, &filter, SortKey::Name, false);
    let items = scoped
        .page(&listing, offset, limit)
        .map(agent_json)
        .collect();
    Ok(list_answer(items, listing.total(), offset, limit))
}

/// `GET /api/v1/agents/{id}`: the agent with its artifacts (while connected); class names
/// with `?classes=true`.
async fn agent_get(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    let with_classes = match call.query.get("classes") {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(Error::Invalid {
                field: "classes",
                message: "must be true or false".into(),
            });
        }
    };
    let row = visible_agent(call, id).await?;
    let names = if with_classes {
        MAX_CLASSES_PER_ARTIFACT
    } else {
        0
    };
    let (artifacts, _) = artifacts_of(&call.state, &row, names, MAX_ARTIFACTS_PER_AGENT);
    let mut v = agent_json(&row);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "artifacts".into(),
            json!(
                artifacts
                    .iter()
                    .map(|a| artifact_json(a, with_classes))
                    .collect::<Vec<_>>()
            ),
        );
    }
    Ok(respond::json(200, &v))
}

// ---- tags ----

/// `GET /api/v1/tags`
async fn tags_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let rows = tag_rows(call).await?;
    let items = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| {
            json!({
                "name": t.name,
                "connected_agents": t.connected,
                "known_agents": t.known,
                "first_seen": t.first_seen_ms.map(time),
                "last_seen": t.last_seen_ms.map(time),
            })
        })
        .collect();
    Ok(list_answer(items, rows.len(), offset, limit))
}

// ---- custom sources ----

fn source_json(l: &SourceLine, agents: Option<&[AgentRow]>) -> Value {
    let s = &l.source;
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "pool": { "id": s.pool_id, "name": l.pool_name },
        "match": s.match_mode,
        "rules": s.rules,
        "created_by": s.created_by,
        "created": time(s.created_ms),
        "matching_connected": l.matching_now,
        "matching_known": l.matching_known,
    });
    if let (Some(agents), Some(obj)) = (agents, v.as_object_mut()) {
        obj.insert(
            "agents".into(),
            json!(agents.iter().map(agent_json).collect::<Vec<_>>()),
        );
    }
    v
}

/// `GET /api/v1/custom-sources`
async fn sources_list(call: &Call) -> Result<Response<Body>, Error> {
    let (offset, limit) = paging(call)?;
    let lines = source_lines(call, None).await?;
    let items = lines
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(l, _)| source_json(l, None))
        .collect();
    Ok(list_answer(items, lines.len(), offset, limit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    name: String,
    /// Pool id; the Default pool when left out.
    #[serde(default)]
    pool: Option<String>,
    /// `any` when left out.
    #[serde(default, rename = "match")]
    match_mode: Option<MatchMode>,
    rules: Vec<Rule>,
}

/// `POST /api/v1/custom-sources {"name","pool"?,"match"?,"rules":[{"field","pattern"}]}`
async fn source_create(call: &Call) -> Result<Response<Body>, Error> {
    let body: SourceBody = json_body(call)?;
    let new = NewSource {
        name: body.name,
        pool_id: body
            .pool
            .unwrap_or_else(|| crate::iam::pools::DEFAULT_POOL_ID.to_string()),
        rules: body.rules,
        match_mode: body.match_mode.unwrap_or(MatchMode::Any),
    };
    let created = create_source(call, new).await??;
    let (line, agents) = visible_source(call, &created.id).await?;
    Ok(respond::json(201, &source_json(&line, Some(&agents))))
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

    #[test]
    fn routes_decode_ids_and_tags() {
        use EntitiesApiRoute as R;
        assert_eq!(
            R::parse("GET", &["agents", "web%2F7%20a"]),
            Some(R::AgentGet("web/7 a".into()))
        );
        assert_eq!(
            R::parse("DELETE", &["tags", "team", "pay%3Aprod"]),
            Some(R::TagDelete("team/pay:prod".into()))
        );
        assert_eq!(
            R::parse("DELETE", &["tags", "team%2Fpay"]),
            Some(R::TagDelete("team/pay".into()))
        );
        assert_eq!(R::parse("DELETE", &["tags"]), None);
        assert_eq!(R::parse("GET", &["agents", "bad%zz"]), None);
        assert_eq!(
            R::parse("GET", &["agents", "%0A"]),
            None,
            "no control characters"
        );
        assert_eq!(R::parse("GET", &["custom-sources", "a.b"]), None);
        assert_eq!(
            R::parse("POST", &["agents", "x", "disconnect"]),
            Some(R::AgentDisconnect("x".into()))
        );
        assert_eq!(R::parse("PUT", &["agents"]), None);
    }
}
