//! The `lantern` command: parses the command line, loads the configuration and hands over
//! to the library. The only place that prints errors and picks exit codes.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use lantern::action_cli;
use lantern::cli::{self, CliError};
use lantern::config::{self, Config, Overrides};

#[derive(Parser)]
#[command(
    name = "lantern",
    version,
    about = "Live debugging and runtime reachability, on-prem, in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (TOML); the embedded default applies otherwise.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration and LANTERN_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the appliance.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Listen address, e.g. 0.0.0.0:8443 (overrides the configuration and LANTERN_LISTEN).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Check a configuration file; exits non-zero with the key and the reason.
    CheckConfig {
        /// The file to check.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Manage users from a shell on the appliance host.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a consistent backup (works while the appliance runs).
    Backup {
        #[command(flatten)]
        common: Common,
        /// The backup file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Restore a backup into a new or empty data directory.
    Restore {
        #[command(flatten)]
        common: Common,
        /// The backup file to read.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// API keys for scripts and tools.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// TLS certificate pins and installation.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// The offline vulnerability database (OSV).
    Vulndb {
        #[command(subcommand)]
        command: VulndbCommand,
    },
    /// Live-debugging actions (snapshots, logs, metrics) through the REST API, as the API
    /// key's user: works from any machine that reaches the appliance.
    Action {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        connection: action_cli::Connection,
        // Boxed: the action commands are far larger than the other variants.
        #[command(subcommand)]
        command: Box<action_cli::ActionCommand>,
    },
}

#[derive(Subcommand)]
enum VulndbCommand {
    /// Import OSV records: JSON files (a record or an array), directories of them, or
    /// osv.dev dump zips (ECOSYSTEM/all.zip). Bad records are skipped and listed.
    Import {
        #[command(flatten)]
        common: Common,
        /// Files, directories or zips to import.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user: the password is read from standard input, or, with --activation-link,
    /// a link is printed with which the user chooses their own.
    Create {
        #[command(flatten)]
        common: Common,
        /// E-mail address (the sign-in name).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Role id (repeatable); company-admin when none is given.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Do not read a password: print a one-use activation link (valid for 7 days) to hand
        /// to the user, who opens it and chooses their password.
        #[arg(long)]
        activation_link: bool,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a user and print it (it is shown only once).
    Create {
        #[command(flatten)]
        common: Common,
        /// The owner's e-mail address.
        #[arg(long)]
        email: String,
        /// 3 to 50 characters.
        #[arg(long)]
        label: String,
        /// Scope (a role id, metrics or scim; repeatable); the owner's roles when none.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Lifetime in days (1 to 365).
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exits 1 and names the first broken link if any.
    Verify {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum TlsCommand {
    /// Print the SPKI pin(s) agents should accept.
    Pin {
        #[command(flatten)]
        common: Common,
    },
    /// Install the site's own certificate chain and key (PEM).
    Install {
        #[command(flatten)]
        common: Common,
        /// Certificate chain, leaf first.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Private key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

fn load_config(common: &Common, listen: Option<String>) -> Result<Config, CliError> {
    let overrides = Overrides {
        data_dir: common.data_dir.clone(),
        listen,
    };
    config::load(common.config.as_deref(), &config::process_env(), &overrides)
        .map_err(|e| CliError::Usage(format!("configuration error: {e}")))
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lantern={level},warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // stderr as before, each line also copied (scrubbed) into System Diagnostics' log.
        .with_writer(lantern::ops::diagnostics::LogTee)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the runtime: {e}")))
}

fn run(cli: Cli) -> Result<Option<String>, CliError> {
    match cli.command {
        Command::Serve { common, listen } => {
            let config = load_config(&common, listen)?;
            init_logging(&config.log.level);
            let clock = Arc::new(lantern::clock::SystemClock);
            runtime()?
                .block_on(lantern::app::run(config, clock))
                .map_err(|e| CliError::Failed(e.to_string()))?;
            Ok(None)
        }
        Command::CheckConfig { config: file } => {
            let common = Common {
                config: file,
                data_dir: None,
            };
            let config = load_config(&common, None)?;
            Ok(Some(format!(
                "configuration is valid (data_dir = {}, listen = {})",
                config.data_dir.display(),
                config.listen
            )))
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    common,
                    email,
                    name,
                    roles,
                    activation_link,
                },
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            if activation_link {
                let offline_url = lantern::app::configured_public_url(&config);
                return runtime()?
                    .block_on(cli::admin_create_with_link(
                        &config.data_dir,
                        &offline_url,
                        &email,
                        name.as_deref(),
                        &roles,
                    ))
                    .map(Some);
            }
            let mut stdin = std::io::stdin().lock();
            runtime()?
                .block_on(cli::admin_create(
                    &config.data_dir,
                    &email,
                    name.as_deref(),
                    &roles,
                    &mut stdin,
                ))
                .map(Some)
        }
        Command::Backup { common, to } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            runtime()?
                .block_on(cli::backup(&config.data_dir, &to))
                .map(Some)
        }
        Command::Restore { common, from } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            cli::restore(&config.data_dir, &from).map(Some)
        }
        Command::ApiKey {
            command:
                ApiKeyCommand::Create {
                    common,
                    email,
                    label,
                    scopes,
                    days,
                },
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            runtime()?
                .block_on(cli::api_key_create(
                    &config.data_dir,
                    &email,
                    &label,
                    &scopes,
                    days,
                ))
                .map(Some)
        }
        Command::Audit {
            command: AuditCommand::Verify { common },
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            runtime()?
                .block_on(cli::audit_verify(&config.data_dir))
                .map(Some)
        }
        Command::Vulndb {
            command: VulndbCommand::Import { common, files },
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            runtime()?
                .block_on(cli::vulndb_import(&config.data_dir, &files))
                .map(Some)
        }
        Command::Tls {
            command: TlsCommand::Pin { common },
        } => {
            let config = load_config(&common, None)?;
            cli::tls_pin(&config.data_dir).map(Some)
        }
        Command::Action {
            common,
            connection,
            command,
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            let rt = runtime()?;
            let client = cli::api_client(&config, &connection)?;
            rt.block_on(action_cli::run(&client, *command, connection.json))
                .map(Some)
        }
        Command::Tls {
            command: TlsCommand::Install { common, cert, key },
        } => {
            let config = load_config(&common, None)?;
            init_logging("warn");
            runtime()?
                .block_on(cli::tls_install(&config.data_dir, &cert, &key))
                .map(Some)
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Some(line)) => {
            println!("{line}");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            eprintln!("lantern: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
