//! Settings › Security › API Keys in the portal: list, create (value shown once), revoke.

use hyper::Response;

use super::auth::push_error;
use super::handler::{Call, Principal};
use super::respond::{self, Body};
use crate::error::Error;
use crate::iam::api_keys::{self, DEFAULT_DAYS, Scope};
use crate::iam::roles::{self, Need, Permission};
use crate::iam::users;
use crate::ui::components::FormErrors;
use crate::ui::nav::{self, NavId};
use crate::ui::pages::api_keys::{ApiKeysView, KeyRow, NewKeyForm, page_view};

fn principal(call: &Call) -> Result<&Principal, Error> {
    call.principal.as_ref().ok_or(Error::Unauthorized)
}

async fn render(
    call: &Call,
    created: Option<(&str, &str)>,
    form: NewKeyForm,
    errors: &FormErrors,
) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let rows = call
        .state
        .store
        .read(|tx| {
            let keys = api_keys::list(tx, usize::MAX)?;
            keys.into_iter()
                .map(|key| {
                    let owner = users::get(tx, &key.owner_id)?
                        .map_or_else(|| "deleted user".to_string(), |u| u.email);
                    Ok(KeyRow { key, owner })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let grantable: Vec<Scope> = api_keys::grantable_scopes(&p.user);
    let two_step = super::mfa::is_on(call, &p.user.id).await?;
    let view = ApiKeysView {
        rows: &rows,
        now_ms: call.state.clock.now_ms(),
        can_manage: roles::allows(&p.user.roles, Permission::ApiKeys, Need::Administer),
        grantable: &grantable,
        created,
        form,
        errors,
        two_step,
    };
    let path = nav::entry(NavId::ApiKeys).path;
    let markup = super::portal::framed(&call.state, p, path, |ctx| page_view(ctx, &view));
    Ok(respond::html(
        if errors.is_empty() { 200 } else { 400 },
        markup,
    ))
}

/// `GET /settings/security/api-keys`
pub async fn page(call: &Call) -> Result<Response<Body>, Error> {
    render(call, None, NewKeyForm::default(), &FormErrors::default()).await
}

/// `POST /settings/security/api-keys`: the answer is the page with the new key shown once
/// (never a redirect: the key must not travel in a URL).
pub async fn create(call: &Call) -> Result<Response<Body>, Error> {
    let p = principal(call)?;
    let scopes: Vec<String> = api_keys::grantable_scopes(&p.user)
        .iter()
        .filter(|s| call.form.get(&format!("scope_{}", s.id())).is_some())
        .map(|s| s.id().to_string())
        .collect();
    let form = NewKeyForm {
        label: call.form.text("label").to_string(),
        scopes: scopes.clone(),
        days: call.form.text("expires_in_days").to_string(),
    };
    let mut errors = FormErrors::default();
    // Re-authentication (ASVS V6): a key outlives the session, so creating one asks for the
    // password again, and for a current code when two-step sign-in is on.
    let state = &call.state;
    if let Err(retry_after_secs) = state.throttle.check(&p.user.email, call.peer.ip()) {
        errors.summary = Some(format!(
            "Too many attempts. Try again in {retry_after_secs} seconds."
        ));
        return render(call, None, form, &errors).await;
    }
    let password_ok = state
        .hasher
        .verify(
            call.form.text("current_password").to_string(),
            p.user.password_hash.clone(),
        )
        .await?;
    if !password_ok {
        state.throttle.record_failure(&p.user.email);
        errors.fields.push((
            "current_password",
            "this is not your current password".into(),
        ));
    } else if !super::mfa::reauth_code_ok(call, p).await? {
        errors
            .fields
            .push(("code", "this code is not right or was already used".into()));
    }
    if !errors.fields.is_empty() {
        errors.summary = Some("The key was not created. Please confirm it is you.".into());
        return render(call, None, form, &errors).await;
    }
    let days = if form.days.trim().is_empty() {
        DEFAULT_DAYS
    } else {
        match form.days.trim().parse::<u32>() {
            Ok(d) => d,
            Err(_) => {
                errors
                    .fields
                    .push(("expires_in_days", "enter a number of days".into()));
                return render(call, None, form, &errors).await;
            }
        }
    };
    match super::api::create_key(call, &p.user, &p.user.roles, &form.label, &scopes, days).await {
        Ok((key, secret)) => {
            render(
                call,
                Some((&key.label, &secret)),
                NewKeyForm::default(),
                &errors,
            )
            .await
        }
        Err(Error::Invalid { field, message }) => {
            push_error(
                &mut errors,
                crate::iam::IamError::Invalid { field, message },
            );
            errors.summary =
                Some("The key was not created. Please correct the fields marked below.".into());
            render(call, None, form, &errors).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /settings/security/api-keys/{id}/revoke`
pub async fn revoke(call: &Call, id: &str) -> Result<Response<Body>, Error> {
    super::api::revoke_key(call, id).await?;
    Ok(respond::redirect(nav::entry(NavId::ApiKeys).path))
}
