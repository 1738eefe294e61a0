//! The local control socket (`<data_dir>/control.sock`, mode 0600): how `lantern backup`,
//! `lantern admin create` (with a password or an activation link), `lantern api-key create`
//! `lantern tls install` and `lantern vulndb import` reach a running appliance, which holds the store open. File
//! permissions are the authentication. One JSON request line in, one JSON reply line out,
//! both bounded in size and time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{AppState, control_socket_path};
use crate::iam::activation;
use crate::iam::roles::Role;
use crate::iam::tokens::{digest, random_secret};
use crate::iam::users::{NewUser, User};
use crate::security::audit::{self, Actor, AuditEvent, Outcome};

/// Longest request or reply line.
const MAX_LINE: u64 = 64 * 1024;
/// How long a client has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A command for the running appliance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// Is anybody there?
    Ping,
    /// Writes a consistent backup to an absolute path.
    Backup {
        /// Destination file (must not exist).
        to: PathBuf,
    },
    /// Creates a user with an already computed password hash.
    CreateUser {
        /// E-mail address.
        email: String,
        /// Display name.
        name: String,
        /// Roles.
        roles: Vec<Role>,
        /// argon2id PHC string.
        password_hash: String,
    },
    /// Creates a user without a password; the reply's message carries their activation link,
    /// made with the appliance's own URL.
    CreateUserWithLink {
        /// E-mail address.
        email: String,
        /// Display name.
        name: String,
        /// Roles.
        roles: Vec<Role>,
    },
    /// Re-reads the TLS certificate and key.
    ReloadTls,
    /// Walks the audit hash chain.
    AuditVerify,
    /// Imports OSV data: `files` frames follow the request line, each a JSON
    /// [`FileFrame`] line and then exactly that many bytes; the reply's message is the
    /// import's result.
    VulndbImport {
        /// How many frames follow.
        files: u32,
    },
    /// Creates an API key for a user; the reply's message carries the key.
    CreateApiKey {
        /// Owner's e-mail.
        email: String,
        /// Label.
        label: String,
        /// Scope ids (the owner's roles when empty).
        scopes: Vec<String>,
        /// Lifetime in days.
        days: u32,
    },
}

/// The header of one file sent after a [`Request::VulndbImport`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileFrame {
    /// The file as the user named it (shown in the result).
    pub name: String,
    /// How many bytes follow.
    pub bytes: u64,
}

/// Most files one `vulndb import` may send, and most bytes all of them together (the
/// upload bound of DEFAULTS.md).
const MAX_IMPORT_FILES: u32 = 500_000;
const MAX_IMPORT_BYTES: u64 = crate::vuln::db::MAX_UPLOAD_BYTES;
/// How long one read of a file being sent may stall.
const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest reply (an import's list of invalid records can be long).
const MAX_REPLY: u64 = 4 * 1024 * 1024;

/// The answer to a [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the command succeeded.
    pub ok: bool,
    /// A human sentence: what was done, or why not.
    pub message: String,
}

/// Binds the socket (replacing a stale one) and serves it until `shutdown`.
pub fn listen(
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    let path = control_socket_path(&state.config.data_dir);
    // The store is already open exclusively, so a socket file left here is stale.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!("control socket accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = shutdown.changed() => break,
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                if let Err(e) = serve_one(&state, stream).await {
                    tracing::warn!("control socket request failed: {e}");
                }
            });
        }
    }))
}

async fn serve_one(state: &AppState, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read);
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        (&mut reader).take(MAX_LINE).read_line(&mut line),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no request in time"))??;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::VulndbImport { files }) => {
            let result = vulndb_import(state, &mut reader, files).await;
            Reply {
                ok: result.is_ok(),
                message: result.unwrap_or_else(|e| e),
            }
        }
        Ok(request) => execute(state, request).await,
        Err(e) => Reply {
            ok: false,
            message: format!("unreadable request: {e}"),
        },
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    write.write_all(&out).await
}

/// Receives the files of a `vulndb import` into spool files, then imports them into the
/// running store and matcher.
async fn vulndb_import(
    state: &AppState,
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    files: u32,
) -> Result<String, String> {
    use crate::vuln::db::{self, Input};
    use crate::vuln::spool::SpoolFile;
    if files > MAX_IMPORT_FILES {
        return Err(format!("more than {MAX_IMPORT_FILES} files"));
    }
    let started = std::time::Instant::now();
    let mut spools = Vec::new();
    let mut inputs = Vec::new();
    let mut total: u64 = 0;
    for _ in 0..files {
        let mut header = String::new();
        tokio::time::timeout(
            FRAME_READ_TIMEOUT,
            (&mut *reader).take(MAX_LINE).read_line(&mut header),
        )
        .await
        .map_err(|_| "the file header did not arrive in time".to_string())?
        .map_err(|e| e.to_string())?;
        let frame: FileFrame =
            serde_json::from_str(&header).map_err(|e| format!("unreadable file header: {e}"))?;
        total = total.saturating_add(frame.bytes);
        if total > MAX_IMPORT_BYTES {
            return Err(format!(
                "the files are larger than {MAX_IMPORT_BYTES} bytes together"
            ));
        }
        let (spool, mut file) = SpoolFile::create(&state.config.data_dir)
            .await
            .map_err(|e| format!("cannot make a temporary file: {e}"))?;
        let mut body = (&mut *reader).take(frame.bytes);
        let mut copied: u64 = 0;
        let mut buf = vec![0u8; 64 * 1024];
        while copied < frame.bytes {
            let n = tokio::time::timeout(FRAME_READ_TIMEOUT, body.read(&mut buf))
                .await
                .map_err(|_| format!("{}: the file stopped arriving", frame.name))?
                .map_err(|e| e.to_string())?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                return Err(format!("{}: the file broke off", frame.name));
            };
            file.write_all(chunk).await.map_err(|e| e.to_string())?;
            copied = copied.saturating_add(n as u64);
        }
        file.flush().await.map_err(|e| e.to_string())?;
        inputs.push(Input {
            path: spool.path().to_path_buf(),
            name: frame.name,
        });
        spools.push(spool);
    }
    let now_ms = state.clock.now_ms();
    let run = db::import_inputs(
        &state.store,
        &state.vulndb,
        inputs,
        Actor::Cli,
        now_ms,
        started,
    )
    .await
    .map_err(|e| e.to_string())?;
    drop(spools);
    tracing::info!(run = %run.id, kept = run.kept(), invalid = run.invalid_total, "vulnerability data imported from the command line");
    Ok(run.describe())
}

async fn execute(state: &AppState, request: Request) -> Reply {
    let result: Result<String, String> = match request {
        Request::Ping => Ok("running".into()),
        Request::VulndbImport { .. } => Err("vulndb_import carries files".into()),
        Request::Backup { to } => backup(state, &to).await,
        Request::CreateUser {
            email,
            name,
            roles,
            password_hash,
        } => {
            let new = NewUser {
                email,
                name,
                roles,
                password_hash: Some(password_hash),
            };
            create_user(state, new, None)
                .await
                .map(|(user, _)| crate::cli::describe_created(&user, None))
        }
        Request::CreateUserWithLink { email, name, roles } => {
            let new = NewUser {
                email,
                name,
                roles,
                password_hash: None,
            };
            // Made outside the write (which may run more than once): only its digest is kept.
            let token = random_secret();
            create_user(state, new, Some(digest(&token)))
                .await
                .map(|(user, expires_ms)| {
                    let link = activation::link(&state.public_url, &token);
                    crate::cli::describe_created(
                        &user,
                        Some((&link, expires_ms.unwrap_or_default())),
                    )
                })
        }
        Request::CreateApiKey {
            email,
            label,
            scopes,
            days,
        } => {
            let now = state.clock.now_ms();
            state
                .store
                .write(move |tx| {
                    crate::cli::create_api_key_in(tx, &email, &label, &scopes, days, now)
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
        }
        Request::AuditVerify => state
            .store
            .read(audit::verify)
            .await
            .map_err(|e| e.to_string())
            .and_then(|v| audit::describe(&v)),
        Request::ReloadTls => {
            let result = state.reload_tls();
            let outcome = if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            let event = AuditEvent::new("system.tls_reload", Actor::Cli, outcome)
                .details(serde_json::json!({"pins": state.pins()}));
            audit::record(&state.store, state.clock.now_ms(), event).await;
            result
                .map(|()| "TLS certificate reloaded".to_string())
                .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(message) => Reply { ok: true, message },
        Err(message) => Reply { ok: false, message },
    }
}

/// Creates a user for `lantern admin create` (see `cli::create_user_in`).
async fn create_user(
    state: &AppState,
    new: NewUser,
    activation_key: Option<[u8; 32]>,
) -> Result<(User, Option<i64>), String> {
    let now_ms = state.clock.now_ms();
    let created = state
        .store
        .write(move |tx| crate::cli::create_user_in(tx, &new, activation_key, now_ms))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(user = %created.0.id, "user created from the command line");
    Ok(created)
}

async fn backup(state: &AppState, to: &Path) -> Result<String, String> {
    if !to.is_absolute() {
        return Err("the backup path must be absolute".into());
    }
    let files =
        crate::ops::backup::tls_files_for_backup(&state.tls_files).map_err(|e| e.to_string())?;
    let stats = state
        .store
        .backup_to_with_files(to, &files)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(path = %to.display(), rows = stats.rows, "backup written");
    let event = AuditEvent::new("system.backup", Actor::Cli, Outcome::Success)
        .target(to.display().to_string())
        .details(serde_json::json!({"rows": stats.rows, "bytes": stats.bytes}));
    audit::record(&state.store, state.clock.now_ms(), event).await;
    Ok(crate::ops::backup::describe(to, &stats))
}

/// Sends a request to the appliance running on `data_dir`. `Ok(None)` when none is running
/// (no socket, or nobody listening), so the caller can open the store itself.
pub async fn call(
    data_dir: &Path,
    request: &Request,
    timeout: Duration,
) -> std::io::Result<Option<Reply>> {
    call_with_files(data_dir, request, &[], timeout).await
}

/// [`call`] followed by files, each sent as a [`FileFrame`] and its bytes (for
/// [`Request::VulndbImport`]); `files` are (name shown, path read).
pub async fn call_with_files(
    data_dir: &Path,
    request: &Request,
    files: &[(String, PathBuf)],
    timeout: Duration,
) -> std::io::Result<Option<Reply>> {
    let path = control_socket_path(data_dir);
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    for (name, path) in files {
        let mut file = tokio::fs::File::open(path).await?;
        let bytes = file.metadata().await?.len();
        let mut header = serde_json::to_vec(&FileFrame {
            name: name.clone(),
            bytes,
        })
        .map_err(std::io::Error::other)?;
        header.push(b'\n');
        write.write_all(&header).await?;
        let sent = tokio::io::copy(&mut (&mut file).take(bytes), &mut write).await?;
        if sent != bytes {
            return Err(std::io::Error::other(format!(
                "{name} changed while it was being sent"
            )));
        }
    }
    let mut answer = String::new();
    let mut reader = BufReader::new(read.take(MAX_REPLY));
    tokio::time::timeout(timeout, reader.read_line(&mut answer))
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the appliance did not answer in time",
            )
        })??;
    serde_json::from_str(&answer)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("unreadable answer from the appliance: {e}")))
}
