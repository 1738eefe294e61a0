//! Access Groups handlers: list, create, view / edit, delete. Who may change which group is
//! decided by `iam::groups`; these parse, call, audit and render.

use hyper::Response;
use serde_json::json;

use super::admin::{Change, audited, principal, set, user_label};
use super::handler::Call;
use super::portal::framed;
use super::respond::{self, Body};
use super::router::GroupRoute;
use crate::error::Error;
use crate::iam::groups::{self, Group, GroupError, GroupInput};
use crate::iam::pools;
use crate::iam::roles::{self, Level, Need, Permission, Role};
use crate::iam::users::{self, User};
use crate::store::{Reads, StoreError};
use crate::ui::components::FormErrors;
use crate::ui::pages::groups::{self as page, GroupForm, GroupRow};

/// Most users listed as choices.
const MAX_USERS_LISTED: usize = 10_000;

/// Every user, by name (read straight from the users table so this page does not depend on
/// the user-management listing being built in parallel).
pub(crate) fn all_users(tx: &impl Reads) -> Result<Vec<User>, StoreError> {
    let mut out = tx
        .scan(&users::USERS, b"", MAX_USERS_LISTED)?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice::<User>(&v).map_err(StoreError::from))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|u| u.name.to_lowercase());
    Ok(out)
}

/// Company Admins and read-everything roles see every group; a Group Admin those they
/// administer or belong to.
pub(crate) fn sees(user: &User, g: &Group) -> bool {
    let reads_all = roles::allows(&user.roles, Permission::AccessGroups, Need::Administer)
        || user
            .roles
            .iter()
            .any(|r| roles::level(*r, Permission::AccessGroups) == Level::Read);
    reads_all || g.admins.contains(&user.id) || g.members.contains(&user.id)
}

/// Everything the pages need, read in one snapshot.
struct Snapshot {
    groups: Vec<Group>,
    users: Vec<User>,
    pools: Vec<pools::Pool>,
}

async fn snapshot(call: &Call) -> Result<Snapshot, Error> {
    Ok(call
        .state
        .store
        .read(|tx| {
            Ok(Snapshot {
                groups: groups::list(tx)?,
                users: all_users(tx)?,
                pools: pools::list(tx)?,
            })
        })
        .await?)
}

/// `GET /settings/iam/access-groups`.
pub async fn list(call: &Call, notice: Option<String>) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let s = snapshot(call).await?;
    let user_name = |id: &String| {
        s.users
            .iter()
            .find(|u| &u.id == id)
            .map_or_else(|| id.clone(), |u| u.name.clone())
    };
    let pool_name = |id: &String| {
        s.pools
            .iter()
            .find(|x| &x.id == id)
            .map_or_else(|| id.clone(), |x| x.name.clone())
    };
    let rows: Vec<GroupRow> = s
        .groups
        .iter()
        .filter(|g| sees(&p.user, g))
        .map(|g| GroupRow {
            id: g.id.clone(),
            name: g.name.clone(),
            is_default: g.is_default(),
            members: g.members.len(),
            admins: g.admins.iter().map(user_name).collect(),
            pools: g.pools.iter().map(pool_name).collect(),
            can_manage: groups::may_manage(&p.user, g),
        })
        .collect();
    let can_create = roles::allows(&p.user.roles, Permission::AccessGroups, Need::Administer);
    let markup = framed(&call.state, p, page::BASE, |ctx| {
        page::list(ctx, &rows, can_create, notice.as_deref())
    });
    Ok(respond::html(200, markup))
}

fn form_view(
    call: &Call,
    s: &Snapshot,
    group: Option<&Group>,
    input: Option<&GroupInput>,
) -> Result<GroupForm, Error> {
    let p = principal(call)?;
    let company_admin = roles::allows(&p.user.roles, Permission::AccessGroups, Need::Administer);
    let can_edit = group.is_none_or(|g| groups::may_manage(&p.user, g));
    let (name, members, admins, selected_pools) = match (input, group) {
        (Some(i), _) => (
            i.name.clone(),
            i.members.clone(),
            i.admins.clone(),
            i.pools.clone(),
        ),
        (None, Some(g)) => (
            g.name.clone(),
            g.members.clone(),
            g.admins.clone(),
            g.pools.clone(),
        ),
        (None, None) => Default::default(),
    };
    Ok(GroupForm {
        id: group.map(|g| g.id.clone()),
        name,
        is_default: group.is_some_and(Group::is_default),
        users: s
            .users
            .iter()
            .map(|u| (u.id.clone(), user_label(u)))
            .collect(),
        admin_choices: s
            .users
            .iter()
            .filter(|u| u.roles.contains(&Role::GroupAdmin) || admins.contains(&u.id))
            .map(|u| (u.id.clone(), user_label(u)))
            .collect(),
        pools: s
            .pools
            .iter()
            .map(|x| (x.id.clone(), x.name.clone()))
            .collect(),
        members,
        admins,
        selected_pools,
        full_edit: company_admin,
        can_edit,
        can_delete: company_admin && group.is_some_and(|g| !g.is_default()),
        notice: None,
    })
}

fn render(
    call: &Call,
    f: &GroupForm,
    errors: &FormErrors,
    status: u16,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let path = match &f.id {
        Some(id) => format!("{}/{id}", page::BASE),
        None => page::BASE.to_string(),
    };
    let markup = framed(&call.state, p, &path, |ctx| page::form(ctx, f, errors));
    Ok(respond::html(status, markup))
}

fn input(call: &Call) -> GroupInput {
    GroupInput {
        name: call.form.text("name").to_string(),
        members: set(call, "members"),
        admins: set(call, "admins"),
        pools: set(call, "pools"),
    }
}

fn details(g: &Group) -> serde_json::Value {
    json!({
        "name": g.name,
        "members": g.members,
        "admins": g.admins,
        "pools": g.pools,
    })
}

/// The routes below `/settings/iam/access-groups/`.
pub async fn handle(call: &Call, route: GroupRoute) -> Result<Response<Body>, Error> {
    match route {
        GroupRoute::NewForm => {
            let s = snapshot(call).await?;
            let f = form_view(call, &s, None, None)?;
            render(call, &f, &FormErrors::none(), 200)
        }
        GroupRoute::Detail(id) => {
            let s = snapshot(call).await?;
            let p = principal(call)?;
            let group = s
                .groups
                .iter()
                .find(|g| g.id == id && sees(&p.user, g))
                .ok_or(Error::NotFound)?;
            let f = form_view(call, &s, Some(group), None)?;
            render(call, &f, &FormErrors::none(), 200)
        }
        GroupRoute::Create => {
            let typed = input(call);
            let given = typed.clone();
            let r: Result<_, GroupError> =
                audited(call, "group.create", "", move |tx, actor, now| {
                    let g = groups::create(tx, actor, &given, now)?;
                    Ok(Change {
                        target: g.id.clone(),
                        details: details(&g),
                        value: g,
                    })
                })
                .await?;
            match r {
                Ok(g) => list(call, Some(format!("The group {} was created.", g.name))).await,
                Err(e) => refused(call, None, &typed, e).await,
            }
        }
        GroupRoute::Update(id) => {
            let typed = input(call);
            let given = typed.clone();
            let gid = id.clone();
            let r: Result<_, GroupError> =
                audited(call, "group.update", id.clone(), move |tx, actor, now| {
                    let g = groups::update(tx, actor, &gid, &given, now)?;
                    Ok(Change {
                        target: g.id.clone(),
                        details: details(&g),
                        value: g,
                    })
                })
                .await?;
            match r {
                Ok(g) => {
                    let s = snapshot(call).await?;
                    let mut f = form_view(call, &s, Some(&g), None)?;
                    f.notice = Some("The group was saved.".into());
                    render(call, &f, &FormErrors::none(), 200)
                }
                Err(e) => refused(call, Some(&id), &typed, e).await,
            }
        }
        GroupRoute::Delete(id) => {
            let r: Result<_, GroupError> =
                audited(call, "group.delete", id.clone(), move |tx, actor, _now| {
                    let g = groups::delete(tx, actor, &id)?;
                    Ok(Change {
                        target: g.id.clone(),
                        details: details(&g),
                        value: g,
                    })
                })
                .await?;
            let g = r?;
            list(call, Some(format!("The group {} was deleted.", g.name))).await
        }
    }
}

/// A refused create or update: field errors re-render the form with what was typed; other
/// refusals become their error page (403, 404, 409).
async fn refused(
    call: &Call,
    id: Option<&str>,
    typed: &GroupInput,
    e: GroupError,
) -> Result<Response<Body>, Error> {
    let (field, message, status) = match e {
        GroupError::Invalid { field, message } => (field, message, 400),
        GroupError::Conflict(message) if message.contains("named") => ("name", message, 409),
        other => return Err(other.into()),
    };
    let s = snapshot(call).await?;
    let group = id.and_then(|id| s.groups.iter().find(|g| g.id == id));
    let f = form_view(call, &s, group, Some(typed))?;
    let errors = FormErrors::none()
        .with_summary("Nothing was saved. Please correct the field marked below.")
        .with_field(field, message);
    render(call, &f, &errors, status)
}
