//! Temporary Access handlers: list, new grant, revoke. Limits and scope rules live in
//! `iam::grants`; these parse, call, audit and render.

use hyper::Response;
use serde_json::json;

use super::admin::{Change, audited, principal, set, user_label};
use super::groups::all_users;
use super::handler::Call;
use super::portal::framed;
use super::respond::{self, Body};
use super::router::GrantRoute;
use crate::error::Error;
use crate::iam::grants::{self, Grant, GrantError, NewGrant};
use crate::iam::pools;
use crate::iam::roles::{self, Need, Permission, Role};
use crate::iam::scope;
use crate::iam::users::User;
use crate::ui::components::FormErrors;
use crate::ui::pages::grants::{self as page, GrantForm, GrantRow, GrantState};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// `GET /settings/iam/temporary-access`: every grant for company-wide readers; a Group Admin
/// sees the grants that touch their pools.
pub async fn list(call: &Call, notice: Option<String>) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let user = p.user.clone();
    let now_ms = call.state.clock.now_ms();
    let (all, users, pools, reach, revocable) = call
        .state
        .store
        .read(move |tx| {
            let all = grants::list(tx)?;
            let reach = scope::pool_scope(tx, &user, now_ms)?;
            let mut revocable = Vec::with_capacity(all.len());
            for g in &all {
                revocable.push(grants::may_revoke(tx, &user, g, now_ms)?);
            }
            Ok((all, all_users(tx)?, pools::list(tx)?, reach, revocable))
        })
        .await?;
    let user_name = |id: &String| {
        users
            .iter()
            .find(|u| &u.id == id)
            .map_or_else(|| "(deleted user)".to_string(), |u| u.name.clone())
    };
    let pool_name = |id: &String| {
        pools
            .iter()
            .find(|x| &x.id == id)
            .map_or_else(|| "(deleted pool)".to_string(), |x| x.name.clone())
    };
    let rows: Vec<GrantRow> = all
        .iter()
        .zip(revocable)
        .filter(|(g, _)| {
            matches!(reach, scope::PoolScope::All) || g.pools.iter().any(|x| reach.contains(x))
        })
        .map(|(g, can_revoke)| GrantRow {
            id: g.id.clone(),
            users: g.users.iter().map(user_name).collect(),
            pools: g.pools.iter().map(pool_name).collect(),
            roles: g.roles.iter().map(|r| r.label().to_string()).collect(),
            incident: g.incident.clone(),
            created_by: user_name(&g.created_by),
            created: secs(g.created_ms),
            expires: secs(g.expires_ms),
            state: match g.revoked_ms {
                Some(at) => GrantState::Revoked(secs(at)),
                None if g.is_active(now_ms) => GrantState::Active,
                None => GrantState::Expired,
            },
            can_revoke,
        })
        .collect();
    let can_create = roles::allows(&p.user.roles, Permission::TemporaryAccess, Need::Change);
    let markup = framed(&call.state, p, page::BASE, |ctx| {
        page::list(ctx, &rows, can_create, secs(now_ms), notice.as_deref())
    });
    Ok(respond::html(200, markup))
}

async fn form(call: &Call, mut f: GrantForm, errors: &FormErrors) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let user = p.user.clone();
    let now_ms = call.state.clock.now_ms();
    let (users, pools): (Vec<User>, Vec<pools::Pool>) = call
        .state
        .store
        .read(move |tx| Ok((all_users(tx)?, pools::visible(tx, &user, now_ms)?)))
        .await?;
    f.users = users
        .iter()
        .map(|u| (u.id.clone(), user_label(u)))
        .collect();
    f.pools = pools
        .iter()
        .map(|x| (x.id.clone(), x.name.clone()))
        .collect();
    f.roles = grants::GRANTABLE
        .iter()
        .map(|r| (r.id().to_string(), r.label().to_string()))
        .collect();
    let status = if errors.is_empty() { 200 } else { 400 };
    let path = format!("{}/new", page::BASE);
    let markup = framed(&call.state, p, &path, |ctx| page::new_form(ctx, &f, errors));
    Ok(respond::html(status, markup))
}

/// Reads days and hours; a non-number is a field error of its own.
fn duration(call: &Call) -> Result<i64, (&'static str, String)> {
    let number = |name: &'static str, max: i64| -> Result<i64, (&'static str, String)> {
        let raw = call.form.text(name).trim();
        if raw.is_empty() {
            return Ok(0);
        }
        match raw.parse::<i64>() {
            Ok(n) if (0..=max).contains(&n) => Ok(n),
            _ => Err((name, format!("enter a whole number from 0 to {max}"))),
        }
    };
    // Days beyond 31 parse (up to a sane bound) so the domain can name the real limit.
    let days = number("days", 10_000)?;
    let hours = number("hours", 23)?;
    Ok(days * DAY_MS + hours * HOUR_MS)
}

/// The routes below `/settings/iam/temporary-access/`.
pub async fn handle(call: &Call, route: GrantRoute) -> Result<Response<Body>, Error> {
    match route {
        GrantRoute::NewForm => {
            let f = GrantForm {
                days: "1".into(),
                hours: "0".into(),
                ..GrantForm::default()
            };
            form(call, f, &FormErrors::none()).await
        }
        GrantRoute::Create => create(call).await,
        GrantRoute::Revoke(id) => {
            let r: Result<_, GrantError> =
                audited(call, "grant.revoke", id.clone(), move |tx, actor, now| {
                    let g = grants::revoke(tx, actor, &id, now)?;
                    Ok(Change {
                        target: g.id.clone(),
                        details: details(&g),
                        value: g,
                    })
                })
                .await?;
            let g = r?;
            list(
                call,
                Some(format!("The grant for {} was revoked.", g.incident)),
            )
            .await
        }
    }
}

fn details(g: &Grant) -> serde_json::Value {
    json!({
        "incident": g.incident,
        "users": g.users,
        "pools": g.pools,
        "roles": g.roles,
        "expires_ms": g.expires_ms,
    })
}

async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let typed = GrantForm {
        selected_users: set(call, "users"),
        selected_pools: set(call, "pools"),
        selected_roles: set(call, "roles"),
        incident: call.form.text("incident").to_string(),
        days: call.form.text("days").to_string(),
        hours: call.form.text("hours").to_string(),
        ..GrantForm::default()
    };
    let fail = |field: &'static str, message: String| {
        FormErrors::none()
            .with_summary("Nothing was granted. Please correct the field marked below.")
            .with_field(field, message)
    };
    let duration_ms = match duration(call) {
        Ok(d) => d,
        Err((field, message)) => return form(call, typed, &fail(field, message)).await,
    };
    let mut roles_chosen = std::collections::BTreeSet::new();
    for id in &typed.selected_roles {
        match Role::from_id(id) {
            Some(r) => {
                roles_chosen.insert(r);
            }
            None => {
                return form(
                    call,
                    typed.clone(),
                    &fail("roles", format!("unknown role {id}")),
                )
                .await;
            }
        }
    }
    let new = NewGrant {
        users: typed.selected_users.clone(),
        pools: typed.selected_pools.clone(),
        roles: roles_chosen,
        incident: typed.incident.clone(),
        duration_ms,
    };
    let r: Result<_, GrantError> = audited(call, "grant.create", "", move |tx, actor, now| {
        let g = grants::create(tx, actor, &new, now)?;
        Ok(Change {
            target: g.id.clone(),
            details: details(&g),
            value: g,
        })
    })
    .await?;
    match r {
        Ok(g) => {
            list(
                call,
                Some(format!("Access was granted for {}.", g.incident)),
            )
            .await
        }
        Err(GrantError::Invalid { field, message }) => {
            form(call, typed, &fail(field, message)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The caller's access-group names and active grants, for the Profile page.
pub async fn profile_data(
    call: &Call,
) -> Result<(Vec<String>, Vec<crate::ui::pages::profile::ProfileGrant>), Error> {
    let user_id = principal(call)?.user.id.clone();
    let now_ms = call.state.clock.now_ms();
    let (groups, active, pools) = call
        .state
        .store
        .read(move |tx| {
            Ok((
                crate::iam::groups::groups_of(tx, &user_id)?,
                grants::active_for(tx, &user_id, now_ms)?,
                pools::list(tx)?,
            ))
        })
        .await?;
    let grants = active
        .iter()
        .map(|g| crate::ui::pages::profile::ProfileGrant {
            incident: g.incident.clone(),
            pools: g
                .pools
                .iter()
                .map(|id| {
                    pools
                        .iter()
                        .find(|x| &x.id == id)
                        .map_or_else(|| "(deleted pool)".to_string(), |x| x.name.clone())
                })
                .collect(),
            roles: g.roles.iter().map(|r| r.label().to_string()).collect(),
            expires: secs(g.expires_ms),
        })
        .collect();
    Ok((groups.into_iter().map(|g| g.name).collect(), grants))
}
