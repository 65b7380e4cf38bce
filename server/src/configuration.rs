//! Configuration: command-line flags, each with an environment variable (a `.env` file is
//! read first in development). Defaults point at the local PostgreSQL and a local mailbox.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::settings::{is_hex_colour, Brand, OutboxSettings, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "assent",
    version,
    about = "Assent: staff cannot silently change a patron's key personal data."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the app and run the outbox worker (the default).
    Serve,
    /// Create the database if it is missing and apply migrations, then exit.
    Migrate,
    /// Add an admin. The password is read from standard input or asked for; only its
    /// argon2id hash is stored.
    CreateAdmin(CreateAdmin),
    /// Propose a new primary email for a patron, as an admin would from the dashboard.
    /// Nothing changes until the patron approves from the new address.
    Propose(ProposeArgs),
    /// Write a brotli (.br) and a gzip (.gz) copy beside each file of the built bundle
    /// (LEPTOS_SITE_ROOT/pkg), so the server sends them precompressed. Run after each
    /// release build.
    CompressAssets,
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The sign-in email of the proposing admin (an agent or a manager).
    #[arg(long)]
    pub admin: String,
    /// The patron's current primary email.
    #[arg(long)]
    pub patron: String,
    /// The proposed new primary email.
    #[arg(long)]
    pub new_email: String,
    /// Why, in one line; the patron reads it.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct CreateAdmin {
    /// The admin's sign-in email.
    #[arg(long)]
    pub email: String,
    /// The name shown to other admins.
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum, default_value_t = Role::Agent)]
    pub role: Role,
    /// Read the password from the first line of standard input instead of asking.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Viewer,
    Agent,
    Manager,
}

impl From<Role> for app::auth::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Viewer => app::auth::Role::Viewer,
            Role::Agent => app::auth::Role::Agent,
            Role::Manager => app::auth::Role::Manager,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL connection URL. The database is created if it is missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/assent"
    )]
    pub database_url: String,

    /// The address to listen on.
    #[arg(
        long,
        env = "ASSENT_ADDR",
        global = true,
        default_value = "127.0.0.1:3000"
    )]
    pub addr: String,

    /// The public base URL that links in messages point at. Defaults to http://ADDR.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// SMTP server, e.g. smtp://127.0.0.1:1025, smtps://user:pass@host or
    /// smtp://host:587?tls=required. Without it, development mode uses a local mailbox.
    #[arg(long, env = "SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of every message.
    #[arg(
        long,
        env = "MAIL_FROM",
        global = true,
        default_value = "Assent <no-reply@assent.localhost>"
    )]
    pub mail_from: String,

    #[arg(long, env = "ASSENT_ENV", global = true, value_enum, default_value_t = Mode::Development)]
    pub env: Mode,

    /// Seed demo patrons and a demo admin into an empty database (development only).
    #[arg(long, env = "ASSENT_DEMO_DATA", global = true, default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_data: bool,

    #[arg(long, env = "ORG_NAME", global = true, default_value = "Teatro Demo")]
    pub org_name: String,

    /// Brand colour as #rgb or #rrggbb.
    #[arg(long, env = "BRAND_COLOUR", global = true, default_value = "#7a1f5c")]
    pub brand_colour: String,

    #[arg(long, env = "BRAND_LOGO_URL", global = true)]
    pub brand_logo_url: Option<String>,

    #[arg(
        long,
        env = "SUPPORT_EMAIL",
        global = true,
        default_value = "boxoffice@teatro.example"
    )]
    pub support_email: String,

    /// How long approval links (and so requests) live.
    #[arg(long, env = "TOKEN_TTL_HOURS", global = true, default_value_t = 72)]
    pub token_ttl_hours: u32,

    /// Where the development mailbox keeps messages.
    #[arg(
        long,
        env = "MAILBOX_DIR",
        global = true,
        default_value = ".assent/mailbox"
    )]
    pub mailbox_dir: PathBuf,

    #[arg(long, env = "OUTBOX_WORKERS", global = true, default_value_t = 2)]
    pub outbox_workers: usize,

    #[arg(long, env = "OUTBOX_MAX_ATTEMPTS", global = true, default_value_t = 8)]
    pub outbox_max_attempts: i32,

    /// The first retry waits about this long; each further one twice as long.
    #[arg(long, env = "OUTBOX_BACKOFF_MS", global = true, default_value_t = 2000)]
    pub outbox_backoff_ms: u64,

    #[arg(
        long,
        env = "OUTBOX_BACKOFF_MAX_MS",
        global = true,
        default_value_t = 600_000
    )]
    pub outbox_backoff_max_ms: u64,

    #[arg(long, env = "OUTBOX_POLL_MS", global = true, default_value_t = 500)]
    pub outbox_poll_ms: u64,

    #[arg(long, env = "EXPIRY_SWEEP_SECS", global = true, default_value_t = 30)]
    pub expiry_sweep_secs: u64,

    /// Patron link pages: requests one IP may make in a burst.
    #[arg(long, env = "PATRON_RATE_BURST", global = true, default_value_t = 30)]
    pub patron_rate_burst: u32,

    /// Patron link pages: one more request is allowed per this many milliseconds.
    #[arg(
        long,
        env = "PATRON_RATE_PERIOD_MS",
        global = true,
        default_value_t = 2000
    )]
    pub patron_rate_period_ms: u64,

    /// Where cargo-leptos put the compiled site (JS, WASM, CSS).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        global = true,
        default_value = "target/site"
    )]
    pub site_root: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("BRAND_COLOUR must look like #7a1f5c (got {0:?})")]
    BrandColour(String),
    #[error("PUBLIC_URL must be an absolute http(s) URL (got {0:?})")]
    PublicUrl(String),
    #[error("SUPPORT_EMAIL is not a valid address: {0}")]
    SupportEmail(String),
    #[error("MAIL_FROM must be an address like \"Venue <no-reply@venue.example>\" (got {0:?})")]
    MailFrom(String),
    #[error("PATRON_RATE_BURST and PATRON_RATE_PERIOD_MS must be positive")]
    RateLimit,
    #[error("in production, set SMTP_URL: the development mailbox is off there")]
    SmtpRequired,
}

impl Config {
    pub fn development(&self) -> bool {
        self.env == Mode::Development
    }

    pub fn settings(&self) -> Result<Arc<Settings>, ConfigError> {
        if !is_hex_colour(&self.brand_colour) {
            return Err(ConfigError::BrandColour(self.brand_colour.clone()));
        }
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr));
        match url::Url::parse(&public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(ConfigError::PublicUrl(public_url)),
        }
        app::email::EmailAddress::parse(&self.support_email)
            .map_err(|e| ConfigError::SupportEmail(e.to_string()))?;
        if self
            .mail_from
            .parse::<app::mail::transport::Mailbox>()
            .is_err()
            || self.mail_from.chars().any(char::is_control)
        {
            return Err(ConfigError::MailFrom(self.mail_from.clone()));
        }
        if !self.development() && self.smtp_url.is_none() {
            return Err(ConfigError::SmtpRequired);
        }
        Ok(Arc::new(Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            token_ttl: chrono::Duration::hours(i64::from(self.token_ttl_hours.max(1))),
            brand: Brand {
                org_name: self.org_name.clone(),
                colour: self.brand_colour.clone(),
                logo_url: self.brand_logo_url.clone(),
                support_email: self.support_email.clone(),
            },
            outbox: OutboxSettings {
                max_attempts: self.outbox_max_attempts.max(1),
                backoff_base: Duration::from_millis(self.outbox_backoff_ms),
                backoff_max: Duration::from_millis(self.outbox_backoff_max_ms),
                poll_interval: Duration::from_millis(self.outbox_poll_ms.max(10)),
                workers: self.outbox_workers.max(1),
            },
            mail_from: self.mail_from.clone(),
            development: self.development(),
        }))
    }
}
