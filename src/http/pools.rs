//! Agent Pools handlers: list, create (the key answered once), detail, description, key
//! rotation, detach / re-enable and delete. Scope and permission rules live in
//! `iam::pools`; these parse, call, audit (through [`audited`]) and render.

use hyper::Response;
use serde_json::json;

use super::admin::{Change, audited, principal};
use super::handler::Call;
use super::portal::framed;
use super::respond::{self, Body};
use super::router::PoolRoute;
use crate::agents::protocol::CloseReason;
use crate::error::Error;
use crate::iam::pools::{self, NewPool, Pool, PoolError};
use crate::iam::roles::{self, Need, Permission};
use crate::ui::components::FormErrors;
use crate::ui::pages::pools::{self as page, PoolDetail, PoolList, PoolView};

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn key_stamp(p: &Pool) -> String {
    p.key_version.to_string()
}

fn view(call: &Call, p: &Pool, now_ms: i64) -> PoolView {
    PoolView {
        agents: call.state.agents.registry.count_in_pool(&p.id),
        id: p.id.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        is_default: p.is_default(),
        detached: p.detached.then(|| p.detach_reason.clone()),
        key_created: p.key_created_ms.map(secs),
        key_stamp: key_stamp(p),
        previous_key_until: p
            .previous_key_valid(now_ms)
            .then_some(p.previous_key_expires_ms)
            .flatten()
            .map(secs),
        created: secs(p.created_ms),
    }
}

/// `GET /settings/iam/agent-pools`: the pools in the caller's scope.
pub async fn list(call: &Call, notice: Option<String>) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let user = p.user.clone();
    let now_ms = call.state.clock.now_ms();
    let visible = call
        .state
        .store
        .read(move |tx| pools::visible(tx, &user, now_ms))
        .await?;
    let v = PoolList {
        pools: visible.iter().map(|x| view(call, x, now_ms)).collect(),
        can_create: roles::allows(&p.user.roles, Permission::AgentPools, Need::Administer),
        now: secs(now_ms),
        notice,
    };
    let markup = framed(&call.state, p, page::BASE, |ctx| page::list(ctx, &v));
    Ok(respond::html(200, markup))
}

/// What a detail page shows besides the pool.
#[derive(Default)]
struct Extras {
    new_key: Option<String>,
    notice: Option<String>,
    description: Option<String>,
    reason: String,
}

fn detail(
    call: &Call,
    pool: &Pool,
    extras: Extras,
    errors: &FormErrors,
    status: u16,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let now_ms = call.state.clock.now_ms();
    let d = PoolDetail {
        pool: view(call, pool, now_ms),
        can_change: roles::allows(&p.user.roles, Permission::AgentPools, Need::Change),
        can_delete: !pool.is_default()
            && roles::allows(&p.user.roles, Permission::AgentPools, Need::Administer),
        new_key: extras.new_key,
        notice: extras.notice,
        description_value: extras
            .description
            .unwrap_or_else(|| pool.description.clone()),
        reason_value: extras.reason,
        now: secs(now_ms),
    };
    let path = format!("{}/{}", page::BASE, pool.id);
    let markup = framed(&call.state, p, &path, |ctx| page::detail(ctx, &d, errors));
    Ok(respond::html(status, markup))
}

async fn load_visible(call: &Call, id: &str) -> Result<Pool, Error> {
    let user = principal(call)?.user.clone();
    let now_ms = call.state.clock.now_ms();
    let id = id.to_string();
    let pool = call
        .state
        .store
        .read(move |tx| Ok(pools::get_visible(tx, &user, &id, now_ms)))
        .await??;
    Ok(pool)
}

fn field_error(field: &'static str, message: String) -> FormErrors {
    FormErrors::none()
        .with_summary("Nothing was changed. Please correct the field marked below.")
        .with_field(field, message)
}

/// The routes below `/settings/iam/agent-pools/`.
pub async fn handle(call: &Call, route: PoolRoute) -> Result<Response<Body>, Error> {
    match route {
        PoolRoute::NewForm => {
            let p = principal(call)?;
            let markup = framed(&call.state, p, page::BASE, |ctx| {
                page::new_form(ctx, "", "", &FormErrors::none())
            });
            Ok(respond::html(200, markup))
        }
        PoolRoute::Create => create(call).await,
        PoolRoute::Detail(id) => {
            let pool = load_visible(call, &id).await?;
            detail(call, &pool, Extras::default(), &FormErrors::none(), 200)
        }
        PoolRoute::Describe(id) => {
            let pid = id.clone();
            let text = call.form.text("description").to_string();
            let typed = text.clone();
            let r: Result<_, PoolError> =
                audited(call, "pool.update", id.clone(), move |tx, actor, now| {
                    let p = pools::set_description(tx, actor, &id, &text, now)?;
                    Ok(Change {
                        target: p.id.clone(),
                        details: json!({ "name": p.name, "description": p.description }),
                        value: p,
                    })
                })
                .await?;
            match r {
                Ok(pool) => {
                    let extras = Extras {
                        notice: Some("The description was saved.".into()),
                        ..Extras::default()
                    };
                    detail(call, &pool, extras, &FormErrors::none(), 200)
                }
                Err(PoolError::Invalid { field, message }) => {
                    let pool = load_visible(call, &pid).await?;
                    let extras = Extras {
                        description: Some(typed),
                        ..Extras::default()
                    };
                    detail(call, &pool, extras, &field_error(field, message), 400)
                }
                Err(e) => Err(e.into()),
            }
        }
        PoolRoute::Rotate(id) => {
            let seen = call.form.text("key_made").to_string();
            let r: Result<_, PoolError> = audited(
                call,
                "pool.key_rotate",
                id.clone(),
                move |tx, actor, now| {
                    // A reloaded answer page re-posts its form: rotate only the key the user
                    // saw, so a reload never silently replaces a key just handed out.
                    if key_stamp(&pools::get_visible(tx, actor, &id, now)?) != seen {
                        return Err(PoolError::Conflict(
                            "the key was already changed since this page was loaded; open the pool again to rotate it".into(),
                        ));
                    }
                    let (p, key) = pools::rotate_key(tx, actor, &id, now)?;
                    Ok(Change {
                        target: p.id.clone(),
                        details: json!({
                            "name": p.name,
                            "previous_key_valid_until_ms": p.previous_key_expires_ms,
                        }),
                        value: (p, key),
                    })
                },
            )
            .await?;
            let (pool, key) = r?;
            let extras = Extras {
                new_key: Some(key),
                notice: Some(if pool.previous_key_hash.is_some() {
                    "A new key was made. The previous key keeps working for 24 hours.".into()
                } else {
                    "A key was made.".into()
                }),
                ..Extras::default()
            };
            detail(call, &pool, extras, &FormErrors::none(), 200)
        }
        PoolRoute::Detach(id) => {
            let pid = id.clone();
            let reason = call.form.text("reason").to_string();
            let typed = reason.clone();
            let r: Result<_, PoolError> =
                audited(call, "pool.detach", id.clone(), move |tx, actor, now| {
                    let p = pools::detach(tx, actor, &id, &reason, now)?;
                    Ok(Change {
                        target: p.id.clone(),
                        details: json!({ "name": p.name, "reason": p.detach_reason }),
                        value: p,
                    })
                })
                .await?;
            if let Ok(pool) = &r {
                call.state
                    .agents
                    .registry
                    .disconnect_pool(&pool.id, CloseReason::PolicyViolation);
            }
            match r {
                Ok(pool) => {
                    let extras = Extras {
                        notice: Some("The pool was detached; its agents are refused.".into()),
                        ..Extras::default()
                    };
                    detail(call, &pool, extras, &FormErrors::none(), 200)
                }
                Err(PoolError::Invalid { field, message }) => {
                    let pool = load_visible(call, &pid).await?;
                    let extras = Extras {
                        reason: typed,
                        ..Extras::default()
                    };
                    detail(call, &pool, extras, &field_error(field, message), 400)
                }
                Err(e) => Err(e.into()),
            }
        }
        PoolRoute::Enable(id) => {
            let r: Result<_, PoolError> =
                audited(call, "pool.reenable", id.clone(), move |tx, actor, now| {
                    let p = pools::reenable(tx, actor, &id, now)?;
                    Ok(Change {
                        target: p.id.clone(),
                        details: json!({ "name": p.name }),
                        value: p,
                    })
                })
                .await?;
            let pool = r?;
            let extras = Extras {
                notice: Some("The pool was re-enabled.".into()),
                ..Extras::default()
            };
            detail(call, &pool, extras, &FormErrors::none(), 200)
        }
        PoolRoute::Delete(id) => {
            let connected = call.state.agents.registry.count_in_pool(&id);
            let r: Result<_, PoolError> =
                audited(call, "pool.delete", id.clone(), move |tx, actor, _now| {
                    let p = pools::delete(tx, actor, &id, connected)?;
                    Ok(Change {
                        target: p.id.clone(),
                        details: json!({ "name": p.name }),
                        value: p,
                    })
                })
                .await?;
            let pool = r?;
            list(call, Some(format!("The pool {} was deleted.", pool.name))).await
        }
    }
}

async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let new = NewPool {
        name: call.form.text("name").to_string(),
        description: call.form.text("description").to_string(),
    };
    let input = new.clone();
    let r: Result<_, PoolError> = audited(call, "pool.create", "", move |tx, actor, now| {
        let (p, key) = pools::create(tx, actor, &input, now)?;
        Ok(Change {
            target: p.id.clone(),
            details: json!({ "name": p.name, "description": p.description }),
            value: (p, key),
        })
    })
    .await?;
    let form_error = |field: &'static str, message: String, status: u16| {
        let p = principal(call)?;
        let errors = FormErrors::none()
            .with_summary("The pool was not created. Please correct the field marked below.")
            .with_field(field, message);
        let markup = framed(&call.state, p, page::BASE, |ctx| {
            page::new_form(ctx, &new.name, &new.description, &errors)
        });
        Ok(respond::html(status, markup))
    };
    match r {
        Ok((pool, key)) => {
            let extras = Extras {
                new_key: Some(key),
                notice: Some(format!("The pool {} was created.", pool.name)),
                ..Extras::default()
            };
            detail(call, &pool, extras, &FormErrors::none(), 200)
        }
        Err(PoolError::Invalid { field, message }) => form_error(field, message, 400),
        Err(PoolError::Conflict(message)) if message.contains("named") => {
            form_error("name", message, 409)
        }
        Err(e) => Err(e.into()),
    }
}
