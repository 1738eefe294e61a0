//! The commands behind `lantern <command>` other than `serve`. Each works whether or not the
//! appliance is running: through the control socket when it runs, on the store directly when
//! it does not.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::app::store_path;
use crate::control::{self, Reply, Request};
use crate::iam::admin::{self, Acting};
use crate::iam::roles::Role;
use crate::iam::tokens::{digest, random_secret};
use crate::iam::users::{self, NewUser, User};
use crate::iam::{IamError, activation, api_keys, passwords};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::store::{Store, StoreError, StoreOptions};
use crate::tls::{self, TlsFiles};

/// A command's failure: the line printed on stderr and the exit status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong use (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// How long to wait for the running appliance to finish a command (a backup of a big store
/// takes a while).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(3600);

async fn via_appliance(data_dir: &Path, request: Request) -> Result<Option<Reply>, CliError> {
    control::call(data_dir, &request, CONTROL_TIMEOUT)
        .await
        .map_err(|e| failed(format!("cannot talk to the running appliance: {e}")))
}

fn reply_result(reply: Reply) -> Result<String, CliError> {
    if reply.ok {
        Ok(reply.message)
    } else {
        Err(CliError::Failed(reply.message))
    }
}

fn open_store(data_dir: &Path) -> Result<Store, CliError> {
    let path = store_path(data_dir);
    if !path.exists() {
        return Err(failed(format!(
            "no store at {}; start the appliance once with `lantern serve` first",
            path.display()
        )));
    }
    Store::open(&path, StoreOptions::default()).map_err(failed)
}

/// The roles of `--role`; Company Admin when none is given (the scripted way to make the
/// first admin).
fn parse_roles(roles: &[String]) -> Result<Vec<Role>, CliError> {
    if roles.is_empty() {
        return Ok(vec![Role::CompanyAdmin]);
    }
    roles
        .iter()
        .map(|r| {
            Role::from_id(r).ok_or_else(|| {
                let known: Vec<_> = Role::ALL.iter().map(|r| r.id()).collect();
                CliError::Usage(format!("unknown role {r}; roles are {}", known.join(", ")))
            })
        })
        .collect()
}

/// Creates a user from the command line inside a write transaction (shared by the control
/// socket and the offline path), through the same domain function as the portal and the API
/// (`iam::admin::create`): the same role rules, and the `user.create` audit record in the
/// same transaction, with the command line as the actor. With `activation_key` (the SHA-256
/// of a token the caller made) the user gets an activation link instead of a password;
/// answers its expiry then.
pub fn create_user_in(
    tx: &mut crate::store::WriteTx<'_>,
    new: &NewUser,
    activation_key: Option<[u8; 32]>,
    now_ms: i64,
) -> Result<(User, Option<i64>), StoreError> {
    let acting = Acting {
        actor: Actor::Cli,
        // Nobody signed in: the self-protection rules of `iam::admin` do not apply to create.
        user_id: String::new(),
        source: String::new(),
        now_ms,
    };
    admin::create(tx, new, activation_key, &acting)
}

/// What `lantern admin create` prints: the new user, and their activation link with its
/// expiry when there is one.
pub fn describe_created(user: &User, link: Option<(&str, i64)>) -> String {
    let created = format!("created user {} ({})", user.email, user.id);
    match link {
        None => created,
        Some((link, expires_ms)) => format!(
            "{created}\nactivation link (works once, until {}; hand it over on a channel you trust):\n  {link}",
            crate::clock::rfc3339(expires_ms.div_euclid(1000))
        ),
    }
}

/// Runs [`create_user_in`] on the store opened directly (the appliance is not running).
fn create_offline(
    data_dir: &Path,
    new: NewUser,
    activation_key: Option<[u8; 32]>,
) -> Result<(User, Option<i64>), CliError> {
    let store = open_store(data_dir)?;
    let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    let result = store.write_blocking(move |tx| create_user_in(tx, &new, activation_key, now_ms));
    let closed = store.close();
    let created = result.map_err(|e| match e {
        StoreError::Conflict(m) => CliError::Failed(m),
        other => failed(other),
    })?;
    closed.map_err(failed)?;
    Ok(created)
}

/// `lantern admin create`: the password is read from the first line of `stdin`.
pub async fn admin_create(
    data_dir: &Path,
    email: &str,
    name: Option<&str>,
    roles: &[String],
    stdin: &mut dyn BufRead,
) -> Result<String, CliError> {
    let email = users::normalize_email(email).map_err(|e| CliError::Usage(e.to_string()))?;
    let roles = parse_roles(roles)?;
    let mut password = String::new();
    std::io::BufReader::new(stdin.take(4096))
        .read_line(&mut password)
        .map_err(|e| failed(format!("cannot read the password from standard input: {e}")))?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage(
            "give the new user's password on standard input, e.g. `lantern admin create --email a@b.c < password-file`, or use --activation-link to print a link with which they choose their own".into(),
        ));
    }
    passwords::check_policy("password", &password, &email).map_err(|e| match e {
        IamError::Invalid { message, .. } => CliError::Usage(format!("password: {message}")),
        other => failed(other),
    })?;
    let password_hash = passwords::hash_blocking(&password).map_err(failed)?;
    let name = name.unwrap_or_default().to_string();
    let request = Request::CreateUser {
        email: email.clone(),
        name: name.clone(),
        roles: roles.clone(),
        password_hash: password_hash.clone(),
    };
    if let Some(reply) = via_appliance(data_dir, request).await? {
        return reply_result(reply);
    }
    let new = NewUser {
        email,
        name,
        roles,
        password_hash: Some(password_hash),
    };
    let (user, _) = create_offline(data_dir, new, None)?;
    Ok(describe_created(&user, None))
}

/// `lantern admin create --activation-link`: creates the user without a password and
/// answers the lines to print, with a link that works once, for 7 days, with which the user
/// chooses their own password (`iam::activation`, as for users created in the portal).
/// Through the running appliance the link carries the appliance's own URL; when it is not
/// running, `offline_url` (see `app::configured_public_url`).
pub async fn admin_create_with_link(
    data_dir: &Path,
    offline_url: &str,
    email: &str,
    name: Option<&str>,
    roles: &[String],
) -> Result<String, CliError> {
    let email = users::normalize_email(email).map_err(|e| CliError::Usage(e.to_string()))?;
    let roles = parse_roles(roles)?;
    let name = name.unwrap_or_default().to_string();
    let request = Request::CreateUserWithLink {
        email: email.clone(),
        name: name.clone(),
        roles: roles.clone(),
    };
    if let Some(reply) = via_appliance(data_dir, request).await? {
        return reply_result(reply);
    }
    let new = NewUser {
        email,
        name,
        roles,
        password_hash: None,
    };
    // Made outside the write: the store keeps only its digest.
    let token = random_secret();
    let (user, expires_ms) = create_offline(data_dir, new, Some(digest(&token)))?;
    let link = activation::link(offline_url, &token);
    Ok(describe_created(
        &user,
        Some((&link, expires_ms.unwrap_or_default())),
    ))
}

/// Creates an API key inside a write transaction (shared by the control socket and the
/// offline path). The outer `Err` is a store failure; the inner one a refusal to report.
pub fn create_api_key_in(
    tx: &mut crate::store::WriteTx<'_>,
    email: &str,
    label: &str,
    scopes: &[String],
    days: u32,
    now_ms: i64,
) -> Result<Result<String, String>, StoreError> {
    let Some(id) = tx.get(&users::USER_EMAILS, email.as_bytes())? else {
        return Ok(Err(format!("there is no user {email}")));
    };
    let Some(owner) = tx.get_json::<users::User>(&users::USERS, &id)? else {
        return Ok(Err(format!("there is no user {email}")));
    };
    let scopes: Vec<String> = if scopes.is_empty() {
        owner.roles.iter().map(|r| r.id().to_string()).collect()
    } else {
        scopes.to_vec()
    };
    let (label, scopes) = match api_keys::validate(&owner, label, &scopes, days) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (key, secret) = api_keys::create(tx, &owner.id, &label, &scopes, days, now_ms)?;
    let event = AuditEvent::new("api_key.create", Actor::Cli, Outcome::Success)
        .target(key.id.clone())
        .details(
            serde_json::json!({"label": key.label, "owner": owner.email, "scopes": key.scopes}),
        );
    audit::append(tx, now_ms, event)?;
    Ok(Ok(secret))
}

/// `lantern api-key create`: prints the new key (once).
pub async fn api_key_create(
    data_dir: &Path,
    email: &str,
    label: &str,
    scopes: &[String],
    days: u32,
) -> Result<String, CliError> {
    let email = users::normalize_email(email).map_err(|e| CliError::Usage(e.to_string()))?;
    let request = Request::CreateApiKey {
        email: email.clone(),
        label: label.to_string(),
        scopes: scopes.to_vec(),
        days,
    };
    if let Some(reply) = via_appliance(data_dir, request).await? {
        return reply_result(reply);
    }
    let store = open_store(data_dir)?;
    let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    let (label, scopes) = (label.to_string(), scopes.to_vec());
    let result =
        store.write_blocking(move |tx| create_api_key_in(tx, &email, &label, &scopes, days, now));
    store.close().map_err(failed)?;
    result.map_err(failed)?.map_err(CliError::Failed)
}

/// `lantern audit verify`: exit 1 with the first broken link when the chain is broken.
pub async fn audit_verify(data_dir: &Path) -> Result<String, CliError> {
    if let Some(reply) = via_appliance(data_dir, Request::AuditVerify).await? {
        return reply_result(reply);
    }
    let store = open_store(data_dir)?;
    let result = store.read_blocking(audit::verify);
    store.close().map_err(failed)?;
    audit::describe(&result.map_err(failed)?).map_err(CliError::Failed)
}

/// `lantern backup --to FILE`
pub async fn backup(data_dir: &Path, to: &Path) -> Result<String, CliError> {
    let to = absolute(to)?;
    if to.exists() {
        return Err(CliError::Usage(format!(
            "{} exists; choose a new file name",
            to.display()
        )));
    }
    if let Some(reply) = via_appliance(data_dir, Request::Backup { to: to.clone() }).await? {
        return reply_result(reply);
    }
    let store = open_store(data_dir)?;
    let files = crate::ops::backup::tls_files_for_backup(&TlsFiles::in_dir(data_dir))
        .map_err(|e| failed(format!("cannot read the TLS files: {e}")))?;
    let result = store.backup_to_with_files(&to, &files).await;
    store.close().map_err(failed)?;
    let stats = result.map_err(failed)?;
    Ok(crate::ops::backup::describe(&to, &stats))
}

/// `lantern restore --from FILE`
pub fn restore(data_dir: &Path, from: &Path) -> Result<String, CliError> {
    let stats = crate::ops::backup::restore(from, data_dir).map_err(|e| match e {
        StoreError::NotEmpty { path } => CliError::Usage(format!(
            "{} is not empty; restore only into a new or empty data directory",
            path.display()
        )),
        other => failed(other),
    })?;
    Ok(format!(
        "restored {} tables, {} rows and {} files into {}",
        stats.tables,
        stats.rows,
        stats.files.len(),
        data_dir.display()
    ))
}

/// The API client of `lantern action`: the appliance's URL (the configuration's own address
/// when none is given), trust by CA file, by pins, or by the data directory's pins on the
/// appliance host, and the API key from `--api-key-file` or `LANTERN_API_KEY`.
pub fn api_client(
    config: &crate::config::Config,
    c: &crate::action_cli::Connection,
) -> Result<crate::apiclient::ApiClient, CliError> {
    use crate::apiclient::{ApiClient, Trust};
    let url = c
        .url
        .clone()
        .unwrap_or_else(|| crate::app::configured_public_url(config));
    let trust = if let Some(ca) = &c.ca {
        Trust::ca_file(ca).map_err(|e| CliError::Usage(e.to_string()))?
    } else if !c.pins.is_empty() {
        Trust::pins(&c.pins).map_err(|e| CliError::Usage(e.to_string()))?
    } else {
        let local = tls::pins(&TlsFiles::in_dir(&config.data_dir)).unwrap_or_default();
        Trust::pins(&local).map_err(|_| {
            CliError::Usage(
                "say how to trust the appliance: --pin sha256/... (`lantern tls pin` on the appliance prints it) or --ca FILE".into(),
            )
        })?
    };
    let key = match &c.api_key_file {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?,
        None => std::env::var("LANTERN_API_KEY").map_err(|_| {
            CliError::Usage(
                "no API key: set LANTERN_API_KEY or give --api-key-file (make one under Settings › API Keys)".into(),
            )
        })?,
    };
    let key = key.trim();
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CliError::Usage(
            "the API key is empty or has characters no key has".into(),
        ));
    }
    ApiClient::new(&url, trust, key).map_err(|e| CliError::Usage(e.to_string()))
}

/// `lantern tls pin`
pub fn tls_pin(data_dir: &Path) -> Result<String, CliError> {
    let pins = tls::pins(&TlsFiles::in_dir(data_dir)).map_err(failed)?;
    if pins.is_empty() {
        return Err(failed(format!(
            "no certificate in {}; start the appliance once first",
            data_dir.display()
        )));
    }
    Ok(pins.join("\n"))
}

/// `lantern tls install --cert C --key K`
pub async fn tls_install(data_dir: &Path, cert: &Path, key: &Path) -> Result<String, CliError> {
    let files = TlsFiles::in_dir(data_dir);
    tls::install(&files, cert, key).map_err(failed)?;
    let pins = tls::pins(&files).map_err(failed)?.join(", ");
    match via_appliance(data_dir, Request::ReloadTls).await? {
        Some(reply) => {
            let message = reply_result(reply)?;
            Ok(format!(
                "certificate installed; {message}; pins now: {pins}"
            ))
        }
        None => Ok(format!(
            "certificate installed; it is used from the next start; pins now: {pins}"
        )),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Most `*.json` files one directory may hold for `lantern vulndb import` (as for a dump).
const MAX_DIR_FILES: usize = 500_000;

/// The files `lantern vulndb import` sends to the running appliance: a directory stands for
/// its `*.json` files (not its subdirectories), in name order, as the offline path reads it.
fn files_to_send(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push((path.display().to_string(), path.clone()));
            continue;
        }
        let mut found = Vec::new();
        let entries = std::fs::read_dir(path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| failed(format!("{}: {e}", path.display())))?;
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "json") && p.is_file() {
                found.push(p);
                if found.len() > MAX_DIR_FILES {
                    return Err(CliError::Usage(format!(
                        "{} holds more than {MAX_DIR_FILES} JSON files",
                        path.display()
                    )));
                }
            }
        }
        found.sort();
        files.extend(found.into_iter().map(|p| (p.display().to_string(), p)));
    }
    Ok(files)
}

/// `lantern vulndb import FILE...`: OSV JSON records (one per file, or an array), directories
/// of them, or osv.dev dump zips. Through the running appliance (whose matcher then uses the
/// data at once), else into the store directly. Prints what was kept and skipped, and the
/// import time.
pub async fn vulndb_import(data_dir: &Path, paths: &[PathBuf]) -> Result<String, CliError> {
    use crate::vuln::db::{self, Input};
    if paths.is_empty() {
        return Err(CliError::Usage(
            "name at least one file, directory or dump zip to import".into(),
        ));
    }
    for path in paths {
        if !path.exists() {
            return Err(CliError::Usage(format!("{}: no such file", path.display())));
        }
    }
    let started = std::time::Instant::now();
    let files = files_to_send(paths)?;
    let count = u32::try_from(files.len()).map_err(|_| CliError::Usage("too many files".into()))?;
    let request = Request::VulndbImport { files: count };
    let sent = control::call_with_files(data_dir, &request, &files, CONTROL_TIMEOUT)
        .await
        .map_err(|e| failed(format!("cannot talk to the running appliance: {e}")))?;
    if let Some(reply) = sent {
        return reply_result(reply).map(|m| {
            format!(
                "{m}\n(through the running appliance; {:.2} s in all)",
                started.elapsed().as_secs_f64()
            )
        });
    }
    let store = open_store(data_dir)?;
    let inputs: Vec<Input> = paths.iter().map(|p| Input::path(p)).collect();
    let names = inputs.iter().map(|i| i.name.clone()).collect();
    let result = db::read_inputs(&inputs, &crate::vuln::osv::DumpLimits::default())
        .and_then(|read| db::prepare(read, names, &Actor::Cli, started))
        .and_then(|pending| {
            let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
            db::import_blocking(&store, pending, Actor::Cli, now)
        });
    if let Err(e) = &result {
        let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
        let event = AuditEvent::new("vulndb.import", Actor::Cli, Outcome::Failure)
            .details(serde_json::json!({"error": e.to_string()}));
        let _ = store.write_blocking(move |tx| audit::append(tx, now, event.clone()).map(|_| ()));
    }
    store.close().map_err(failed)?;
    result.map(|run| run.describe()).map_err(failed)
}
