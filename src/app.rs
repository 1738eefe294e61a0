//! Wires the appliance together and owns its life: data directory, TLS material, store,
//! sessions, the HTTPS listener and the control socket; start-up lines; SIGHUP certificate
//! reload; graceful shutdown on SIGTERM/SIGINT.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::iam::passwords::PasswordHasher;
use crate::iam::sessions::Sessions;
use crate::iam::setup;
use crate::iam::throttle::Throttle;
use crate::security::audit::{self, Actor, AuditEvent, Outcome};
use crate::store::{Store, StoreError, StoreOptions};
use crate::tls::{self, ReloadableCert, TlsFiles};

/// Why the appliance could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The data directory could not be made or has unsafe permissions.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// TLS material problem.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The store could not be opened (e.g. in use by another process).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another start-up step failed.
    #[error("{0}")]
    Other(String),
}

/// The store file inside a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("lantern.redb")
}

/// The control socket inside a data directory.
pub fn control_socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The configuration in force.
    pub config: Config,
    /// The injected clock.
    pub clock: SharedClock,
    /// The store.
    pub store: Store,
    /// Live sessions.
    pub sessions: Sessions,
    /// Bounded password hashing.
    pub hasher: PasswordHasher,
    /// Sign-in throttling.
    pub throttle: Throttle,
    /// Where the TLS files are.
    pub tls_files: TlsFiles,
    /// The certificate being served (reloadable).
    pub tls: Arc<ReloadableCert>,
    /// `https://host:port` as printed and shown to users.
    pub public_url: String,
    /// Last-used times of API keys, written back lazily.
    pub api_key_uses: crate::iam::api_keys::UsageTracker,
    /// The agent gateway and its live registry.
    pub agents: crate::agents::gateway::Gateway,
    /// The imported advisories, compiled for queries; imports swap a new index in.
    pub vulndb: crate::vuln::index::Matcher,
    /// Webhook delivery: the bounded queue other modules fire events into.
    pub webhooks: crate::integrations::delivery::Dispatcher,
    /// Service Configuration in force (cached; swapped after a save).
    pub settings: Arc<crate::ops::service_config::Settings>,
    /// System Diagnostics' probe (CPU usage between readings, ingest-rate baselines).
    pub diagnostics: crate::ops::diagnostics::Probe,
    /// Runtime Reachability's recent readings of the index (page, live stream, API).
    pub(crate) reach_readings: crate::http::reachability::Readings,
    ready: AtomicBool,
}

impl AppState {
    /// True once the store is open and the listener is up, false again during shutdown.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The company name in the header (organisation settings arrive with the licence work).
    pub fn company_name(&self) -> String {
        "Lantern".to_string()
    }

    /// SPKI pins agents should accept (current first), as of the last (re)load of the
    /// certificate; empty if the files were unreadable then.
    pub fn pins(&self) -> Vec<String> {
        self.tls.pins()
    }

    /// Cookie lifetime of a session: its absolute lifetime.
    pub fn session_max_age_secs(&self) -> u64 {
        self.config.auth.session_absolute_hours.saturating_mul(3600)
    }

    /// Re-reads the TLS files (SIGHUP, `lantern tls install`).
    pub fn reload_tls(&self) -> Result<(), tls::TlsError> {
        self.tls.reload(&self.tls_files)
    }
}

/// A running appliance.
#[derive(Debug)]
pub struct Appliance {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Shared state, for tests and the control socket.
    pub state: Arc<AppState>,
    /// The one-time setup link, when the store has no user yet.
    pub setup_link: Option<String>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    control: JoinHandle<()>,
    /// Writes the reachability index's changes to the store.
    reach: JoinHandle<()>,
}

/// Creates the data directory with mode 0700, or checks an existing one.
pub fn prepare_data_dir(dir: &Path) -> Result<(), AppError> {
    let err = |reason: String| AppError::DataDir {
        path: dir.to_path_buf(),
        reason,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(e.to_string()))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| err(e.to_string()))?;
    if !meta.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        // Tighten rather than refuse: the directory holds the TLS key and the store.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| err(format!("cannot restrict permissions to 0700: {e}")))?;
    }
    Ok(())
}

/// The host to print in links: the configured public host, the listen address if it is a
/// specific one, else the machine's host name.
fn public_host(config: &Config, addr: SocketAddr) -> String {
    if !config.public_host.is_empty() {
        return config.public_host.clone();
    }
    match addr.ip() {
        ip if ip.is_unspecified() => tls::host_name(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// `https://host:port` for links, from the configuration and the address actually bound.
fn public_url(config: &Config, addr: SocketAddr) -> String {
    format!("https://{}:{}", public_host(config, addr), addr.port())
}

/// The base URL of links made while the appliance is not running (`lantern admin create
/// --activation-link` on a stopped appliance): what `lantern serve` prints with the same
/// configuration, unless that listens on port 0 and so learns its port only when it binds.
pub fn configured_public_url(config: &Config) -> String {
    public_url(config, config.listen)
}

/// Starts the appliance: everything up to a bound listener and a ready health check.
pub async fn start(config: Config, clock: SharedClock) -> Result<Appliance, AppError> {
    let data_dir = config.data_dir.clone();
    prepare_data_dir(&data_dir)?;
    let tls_files = TlsFiles::in_dir(&data_dir);
    if tls::ensure_self_signed(&tls_files)? {
        tracing::info!(
            "made a self-signed TLS certificate in {}",
            tls_files.cert.display()
        );
    }
    let resolver = Arc::new(ReloadableCert::load(&tls_files)?);
    let tls_config = tls::server_config(Arc::clone(&resolver))?;
    let store = Store::open(&store_path(&data_dir), StoreOptions::default())?;
    let sessions = Sessions::load(
        store.clone(),
        Arc::clone(&clock),
        config.auth.session_idle_minutes,
        config.auth.session_absolute_hours,
    )?;
    let hasher = PasswordHasher::new(config.auth.max_concurrent_hashes)
        .map_err(|e| AppError::Other(e.to_string()))?;
    let throttle = Throttle::new(
        Arc::clone(&clock),
        config.auth.throttle_failures,
        config.auth.throttle_window_minutes,
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| AppError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| AppError::Listen {
        addr: config.listen,
        source,
    })?;
    let public_url = public_url(&config, addr);
    // The Default pool and group exist from the first start; idempotent on every later one.
    let now_ms = clock.now_ms();
    store
        .write(move |tx| {
            crate::iam::pools::ensure_default(tx, now_ms)?;
            // Agents "connected" when the last run ended are gone now.
            crate::agents::history::close_stale(tx)?;
            crate::iam::groups::ensure_default(tx, now_ms)
        })
        .await?;
    let service_config = store.read(crate::ops::service_config::load).await?;
    let settings = Arc::new(crate::ops::service_config::Settings::new(service_config));
    let agents =
        crate::agents::gateway::Gateway::new(store.clone(), clock.clone(), Arc::clone(&settings));
    crate::vuln::spool::sweep(&data_dir);
    let vulndb = crate::vuln::index::Matcher::new();
    let loading = std::time::Instant::now();
    vulndb.replace(store.read(crate::vuln::db::load).await?);
    tracing::info!(
        advisories = vulndb.snapshot().stats().records,
        ms = loading.elapsed().as_millis() as u64,
        "vulnerability database loaded"
    );
    // Packages seen before the restart are known again before the first agent connects.
    let packages = crate::agents::reach_store::load(&store, &agents.registry).await?;
    tracing::info!(packages, "reachability index restored");
    agents.config.load().await?;
    let live_actions = agents.actions.load().await?;
    tracing::info!(actions = live_actions, "live actions loaded");
    let webhook_settings = crate::integrations::delivery::Settings::from_config(&config.webhooks)
        .map_err(AppError::Other)?;
    tracing::info!(
        trusted_cas = webhook_settings.trusted_cas,
        "webhook delivery ready"
    );
    let webhooks = crate::integrations::delivery::Dispatcher::start(
        store.clone(),
        Arc::clone(&clock),
        webhook_settings,
    );
    let setup_token =
        setup::issue_if_needed(&store, clock.now_ms(), config.auth.setup_link_minutes).await?;
    let setup_link = setup_token.map(|t| format!("{public_url}/setup?token={t}"));
    let diagnostics = crate::ops::diagnostics::Probe::new(clock.now_ms());
    let state = Arc::new(AppState {
        config,
        clock,
        store,
        sessions,
        hasher,
        throttle,
        tls_files,
        tls: resolver,
        public_url,
        api_key_uses: Default::default(),
        agents,
        vulndb,
        webhooks,
        settings,
        diagnostics,
        reach_readings: crate::http::reachability::readings(),
        ready: AtomicBool::new(false),
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let control = crate::control::listen(Arc::clone(&state), shutdown_rx.clone())
        .map_err(|e| AppError::Other(format!("control socket: {e}")))?;
    let server = tokio::spawn(crate::http::server::serve(
        listener,
        Arc::clone(&state),
        tls_config,
        shutdown_rx.clone(),
    ));
    let events = crate::integrations::watched::Notifier {
        store: state.store.clone(),
        vulndb: state.vulndb.clone(),
        webhooks: state.webhooks.clone(),
        clock: Arc::clone(&state.clock),
    }
    .start();
    let reach = tokio::spawn(crate::agents::reach_store::run(
        state.store.clone(),
        Arc::clone(&state.agents.registry),
        Some(events),
    ));
    tokio::spawn(expire_actions(
        Arc::clone(&state.agents.actions),
        shutdown_rx.clone(),
    ));
    tokio::spawn(retention_sweeps(Arc::clone(&state), shutdown_rx.clone()));
    state.ready.store(true, Ordering::SeqCst);
    Ok(Appliance {
        addr,
        state,
        setup_link,
        shutdown,
        server,
        control,
        reach,
    })
}

/// Takes expired actions off their agents, once a second, until shutdown.
async fn expire_actions(
    actions: Arc<crate::actions::live::Live>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let expired = actions.expire().await;
                if !expired.is_empty() {
                    tracing::info!(count = expired.len(), "actions expired");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Applies the retention periods at start and then once a minute, until shutdown
/// (`crate::ops::retention`).
async fn retention_sweeps(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let config = state.settings.get();
                let now = state.clock.now_ms();
                match crate::ops::retention::sweep(&state.store, &state.agents.actions, &config, now).await {
                    Ok(r) if r.actions + r.results + r.audit_events > 0 => tracing::info!(
                        actions = r.actions, results = r.results, audit_events = r.audit_events,
                        unfinished = r.unfinished, "retention sweep"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("retention sweep failed, tried again in a minute: {e}"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

impl Appliance {
    /// The lines printed at start: URL, pin(s), setup link.
    pub fn banner(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "Lantern {} is listening on {}",
                env!("CARGO_PKG_VERSION"),
                self.state.public_url
            ),
            format!("Data directory: {}", self.state.config.data_dir.display()),
        ];
        for pin in self.state.pins() {
            lines.push(format!("TLS certificate pin (for agents): {pin}"));
        }
        if let Some(link) = &self.setup_link {
            lines.push(format!(
                "No user exists yet. Create the first Company Admin within {} minutes, once, at:",
                self.state.config.auth.setup_link_minutes
            ));
            lines.push(format!("  {link}"));
        }
        lines
    }

    /// Stops accepting, drains open requests within the grace period, closes the store.
    pub async fn shutdown(self) -> Result<(), AppError> {
        self.state.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        // Upgraded agent connections are not requests the HTTP drain waits for: tell each
        // agent to reconnect later (1001) and give them a moment to go.
        let registry = &self.state.agents.registry;
        registry.disconnect_all(crate::agents::protocol::CloseReason::GoingAway);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        while !registry.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if let Err(e) = self.server.await {
            tracing::error!("the server task ended abnormally: {e}");
        }
        self.control.abort();
        // The agents are gone: write what their last frames and disconnects changed.
        self.reach.abort();
        if let Err(e) = crate::agents::reach_store::flush(&self.state.store, registry).await {
            tracing::error!("reachability records not written at shutdown: {e}");
        }
        let _ = std::fs::remove_file(control_socket_path(&self.state.config.data_dir));
        let store = self.state.store.clone();
        tokio::task::spawn_blocking(move || store.close())
            .await
            .map_err(|e| AppError::Other(e.to_string()))??;
        Ok(())
    }
}

/// Runs the appliance until SIGTERM or SIGINT; SIGHUP reloads the TLS certificate.
pub async fn run(config: Config, clock: SharedClock) -> Result<(), AppError> {
    use tokio::signal::unix::{SignalKind, signal};
    let signal_err = |e: std::io::Error| AppError::Other(format!("cannot watch signals: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(signal_err)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_err)?;
    let mut hup = signal(SignalKind::hangup()).map_err(signal_err)?;
    let appliance = start(config, clock).await?;
    for line in appliance.banner() {
        println!("{line}");
    }
    crate::systemd::notify("READY=1");
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let state = &appliance.state;
                let outcome = match state.reload_tls() {
                    Ok(()) => {
                        tracing::info!("TLS certificate reloaded");
                        Outcome::Success
                    }
                    Err(e) => {
                        tracing::error!("TLS certificate not reloaded, keeping the old one: {e}");
                        Outcome::Failure
                    }
                };
                let event = AuditEvent::new("system.tls_reload", Actor::System, outcome)
                    .details(serde_json::json!({"signal": "SIGHUP", "pins": state.pins()}));
                audit::record(&state.store, state.clock.now_ms(), event).await;
            }
        }
    }
    tracing::info!("shutting down");
    crate::systemd::notify("STOPPING=1");
    appliance.shutdown().await
}
