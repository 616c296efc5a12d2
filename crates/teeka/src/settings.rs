//! Where settings come from, in order: a flag, its `TEEKA_*` environment variable, the TOML
//! config file (`--config`), then the default.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use teeka_app::booking::BookingConfig;
use teeka_app::citizen::IdentityConfig;
use teeka_app::outbox::Notifier;
use teeka_web::WebConfig;
use teeka_web::config::{BookingLimits, RateLimit};

/// The optional TOML file. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Listen address.
    pub listen: Option<String>,
    /// Database URL.
    pub database_url: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Public cache.
    #[serde(default)]
    pub cache: CacheSettings,
    /// Public rate limit.
    #[serde(default)]
    pub rate_limit: RateLimitSettings,
    /// Proxies whose `X-Forwarded-For` is believed.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// `development` (default) or `production`: production refuses the log SMS backend and
    /// never generates keys of its own.
    pub mode: Option<Mode>,
    /// Where the key files live (default `<data-dir>/keys`).
    pub keys_dir: Option<PathBuf>,
    /// SMS delivery.
    #[serde(default)]
    pub sms: SmsSettings,
    /// Citizen registry.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// Booking.
    #[serde(default)]
    pub booking: BookingSettings,
    /// Insider anomaly thresholds.
    #[serde(default)]
    pub anomaly: AnomalySettings,
    /// The access ledger.
    #[serde(default)]
    pub ledger: LedgerSettings,
    /// Partners and aggregates.
    #[serde(default)]
    pub partners: PartnerSettings,
}

/// `[partners]`: consents, anomaly throttling, and small-cell suppression of aggregates.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSettings {
    /// The smallest count research exports and public statistics publish (default 10, least 5).
    pub suppression_k: Option<u64>,
    /// Published counts are multiples of this (default 5, from 2 to 100).
    pub rounding_base: Option<u64>,
    /// The longest consent a partner may ask for, in days (default 180).
    pub consent_max_days: Option<i64>,
    /// Minutes an anomaly throttles a partner (default 60).
    pub throttle_minutes: Option<i64>,
}

/// `[ledger]`: the log's name in its checkpoints, and how long access details are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// The checkpoint origin line (default `teeka.local/access-ledger`); name it after your
    /// domain, since witnesses pin it with the key.
    pub origin: Option<String>,
    /// Days access-event details are kept (default and least 365; leaves are kept for ever).
    pub retention_days: Option<u32>,
}

/// `[anomaly]`: crossing any threshold suspends a staff account until an administrator reviews
/// it. Each is "more than N" in its window.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalySettings {
    /// Distinct people opened at the desk per hour (default 60).
    pub people_per_hour: Option<i64>,
    /// Wrong appointment codes per hour (default 10).
    pub wrong_codes_per_hour: Option<i64>,
    /// Check-ins for people not booked at the centre, per hour (default 5).
    pub outside_centre_per_hour: Option<i64>,
    /// Walk-ins refused as duplicate photo IDs, per day (default 5).
    pub duplicate_ids_per_day: Option<i64>,
    /// Desk actions at odd hours, per day (default 20).
    pub odd_hour_actions_per_day: Option<i64>,
    /// Openings with no dose recorded within 24 hours, per day (default 20).
    pub undosed_openings_per_day: Option<i64>,
    /// Odd hours, India time, `HH:MM-HH:MM` (default `22:00-06:00`).
    pub odd_hours: Option<String>,
}

/// `[booking]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingSettings {
    /// Online booking for a day closes at this time that day, IST, `HH:MM` (default 15:00, CoWIN's).
    pub same_day_cutoff: Option<String>,
    /// Require a proof of work of this many bits (8 to 28) with every booking; absent: off.
    /// Switch on under attack: 20 bits cost a browser about a second and a bot that second per
    /// booking.
    pub proof_of_work_bits: Option<u8>,
}

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Local use: keys are created on first run, the log SMS backend is allowed.
    #[default]
    Development,
    /// A real deployment.
    Production,
}

/// `[sms]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `log` (development) or `webhook`.
    pub backend: Option<String>,
    /// The gateway, for `webhook`.
    pub webhook_url: Option<String>,
}

/// `[identity]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettings {
    /// People per mobile (default 4; CoWIN later allowed 6).
    pub max_beneficiaries: Option<i64>,
}

/// `[cache]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Staleness bound in milliseconds (default 5000).
    pub staleness_ms: Option<u64>,
}

/// `[rate_limit]`. Limits cannot be switched off here: only `teeka demo --no-limits` does that.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests per window per IP on the public API (default 100).
    pub public_requests: Option<u32>,
    /// Window length in seconds (default 300).
    pub public_window_secs: Option<u64>,
    /// Booking requests per account per booking window (default 10).
    pub booking_per_account: Option<u32>,
    /// Booking requests per client IP per booking window (default 50).
    pub booking_per_ip: Option<u32>,
    /// Booking window in seconds (default 300).
    pub booking_window_secs: Option<u64>,
}

impl FileSettings {
    /// Reads the file, or the defaults when no file is named.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileSettings> {
        let Some(path) = path else {
            return Ok(FileSettings::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

/// Settings after every source has been consulted.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Which database.
    pub database_url: String,
    /// Where files go.
    pub data_dir: PathBuf,
    /// Web settings.
    pub web: WebConfig,
    /// Development or production.
    pub mode: Mode,
    /// Key files.
    pub keys_dir: PathBuf,
    /// SMS delivery.
    pub notifier: Notifier,
    /// Citizen identity settings.
    pub identity: IdentityConfig,
    /// Booking settings.
    pub booking: BookingConfig,
    /// Desk and anomaly settings.
    pub desk: teeka_app::desk::DeskConfig,
    /// Ledger settings.
    pub ledger: teeka_app::ledger::LedgerConfig,
    /// Partner settings.
    pub partner: teeka_app::partner::PartnerConfig,
}

/// The flags every database-touching command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (default <data-dir>/teeka.db) or postgres://…
    #[arg(long, env = "TEEKA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded database and other files.
    #[arg(long, env = "TEEKA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Optional TOML config file.
    #[arg(long, env = "TEEKA_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The flags of commands that serve HTTP.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "TEEKA_LISTEN")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl DatabaseArgs {
    /// Resolves the database settings (and loads the config file).
    pub fn resolve(&self, listen_flag: Option<&str>) -> anyhow::Result<Resolved> {
        let file = FileSettings::load(self.config.as_deref())?;
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("./teeka-data"));
        let database_url = match self.database_url.clone().or(file.database_url.clone()) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("teeka.db").display()),
        };
        let listen_text = listen_flag
            .map(str::to_owned)
            .or(file.listen.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().with_context(|| {
            format!("--listen {listen_text:?} is not an address like 127.0.0.1:8080")
        })?;
        let requests = file
            .rate_limit
            .public_requests
            .unwrap_or(RateLimit::COWIN_PUBLIC.requests);
        let window = file
            .rate_limit
            .public_window_secs
            .map_or(RateLimit::COWIN_PUBLIC.window, Duration::from_secs);
        let booking_window = file
            .rate_limit
            .booking_window_secs
            .map_or(RateLimit::BOOKING_PER_ACCOUNT.window, Duration::from_secs);
        let per_account = file
            .rate_limit
            .booking_per_account
            .unwrap_or(RateLimit::BOOKING_PER_ACCOUNT.requests);
        let per_ip = file
            .rate_limit
            .booking_per_ip
            .unwrap_or(RateLimit::BOOKING_PER_IP.requests);
        if requests == 0
            || window.is_zero()
            || per_account == 0
            || per_ip == 0
            || booking_window.is_zero()
        {
            bail!(
                "rate_limit values must be positive; only `teeka demo --no-limits` switches limits off"
            );
        }
        if file.cache.staleness_ms.is_some_and(|ms| ms < 100) {
            bail!(
                "[cache] staleness_ms must be at least 100: every request would query the database"
            );
        }
        let web = WebConfig {
            cache_staleness: file
                .cache
                .staleness_ms
                .map_or(Duration::from_secs(5), Duration::from_millis),
            public_rate_limit: Some(RateLimit { requests, window }),
            trusted_proxies: file.trusted_proxies,
            booking_limits: BookingLimits {
                per_account: Some(RateLimit {
                    requests: per_account,
                    window: booking_window,
                }),
                per_ip: Some(RateLimit {
                    requests: per_ip,
                    window: booking_window,
                }),
            },
            picture_reader: picture_reader(),
        };
        let mode = file.mode.unwrap_or_default();
        let notifier = match (
            file.sms.backend.as_deref().unwrap_or("log"),
            &file.sms.webhook_url,
        ) {
            ("log", _) if mode == Mode::Production => bail!(
                "the log SMS backend writes OTPs to a file and is refused in production: set [sms] backend = \"webhook\""
            ),
            ("log", _) => Notifier::log_in(&data_dir),
            ("webhook", Some(url)) => {
                Notifier::Webhook(url.parse().context("[sms] webhook_url is not a URL")?)
            }
            ("webhook", None) => bail!("[sms] backend = \"webhook\" needs webhook_url"),
            (other, _) => bail!("[sms] backend {other:?} is not log or webhook"),
        };
        let mut identity = IdentityConfig::default();
        if let Some(max) = file.identity.max_beneficiaries {
            if !(1..=20).contains(&max) {
                bail!("[identity] max_beneficiaries must be 1 to 20");
            }
            identity.max_beneficiaries = max;
        }
        let mut booking = BookingConfig::default();
        if let Some(cutoff) = &file.booking.same_day_cutoff {
            let parsed = teeka_domain::OpeningHours::parse(cutoff, "23:59").map_err(|_| {
                anyhow::anyhow!("[booking] same_day_cutoff must be HH:MM, before 23:59")
            })?;
            booking.same_day_cutoff_minute = parsed.from_minute;
        }
        if let Some(bits) = file.booking.proof_of_work_bits {
            if !(8..=28).contains(&bits) {
                bail!("[booking] proof_of_work_bits must be 8 to 28");
            }
            booking.proof_of_work_bits = Some(bits);
        }
        let desk = desk_config(&file.anomaly)?;
        let mut ledger = teeka_app::ledger::LedgerConfig::default();
        if let Some(origin) = &file.ledger.origin {
            // One line of printable text without spaces, as a checkpoint's origin must be; the
            // key name it also becomes may not hold a '+' (signed-note rule).
            if origin.is_empty()
                || origin.len() > 100
                || !origin.chars().all(|c| c.is_ascii_graphic() && c != '+')
            {
                bail!(
                    "[ledger] origin must be 1 to 100 printable characters, without spaces or '+'"
                );
            }
            ledger.origin.clone_from(origin);
        }
        if let Some(days) = file.ledger.retention_days {
            if days < teeka_app::ledger::MIN_RETENTION_DAYS {
                bail!("[ledger] retention_days must be at least 365 (a year)");
            }
            ledger.retention_days = days;
        }
        let mut partner = teeka_app::partner::PartnerConfig::default();
        if let Some(k) = file.partners.suppression_k {
            // Below 5, a published count is itself about a handful of people.
            if k < 5 {
                bail!("[partners] suppression_k must be at least 5");
            }
            partner.suppression_k = k;
        }
        if let Some(base) = file.partners.rounding_base {
            // A base of 1 would publish exact counts, and differences of them are exact again.
            if !(2..=100).contains(&base) {
                bail!("[partners] rounding_base must be from 2 to 100");
            }
            partner.rounding_base = base;
        }
        if let Some(days) = file.partners.consent_max_days {
            if !(1..=3650).contains(&days) {
                bail!("[partners] consent_max_days must be from 1 to 3650");
            }
            partner.consent_max_days = days;
        }
        if let Some(minutes) = file.partners.throttle_minutes {
            if !(1..=10_080).contains(&minutes) {
                bail!("[partners] throttle_minutes must be from 1 to 10080 (a week)");
            }
            partner.throttle_ms = minutes * 60_000;
        }
        let keys_dir = file
            .keys_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("keys"));
        Ok(Resolved {
            listen,
            database_url,
            data_dir,
            web,
            mode,
            keys_dir,
            notifier,
            identity,
            booking,
            desk,
            ledger,
            partner,
        })
    }
}

/// The desk settings from `[anomaly]`.
fn desk_config(a: &AnomalySettings) -> anyhow::Result<teeka_app::desk::DeskConfig> {
    let mut desk = teeka_app::desk::DeskConfig::default();
    let t = &mut desk.anomaly;
    for (value, slot, name) in [
        (a.people_per_hour, &mut t.people_per_hour, "people_per_hour"),
        (
            a.wrong_codes_per_hour,
            &mut t.wrong_codes_per_hour,
            "wrong_codes_per_hour",
        ),
        (
            a.outside_centre_per_hour,
            &mut t.outside_centre_per_hour,
            "outside_centre_per_hour",
        ),
        (
            a.duplicate_ids_per_day,
            &mut t.duplicate_ids_per_day,
            "duplicate_ids_per_day",
        ),
        (
            a.odd_hour_actions_per_day,
            &mut t.odd_hour_actions_per_day,
            "odd_hour_actions_per_day",
        ),
        (
            a.undosed_openings_per_day,
            &mut t.undosed_openings_per_day,
            "undosed_openings_per_day",
        ),
    ] {
        if let Some(v) = value {
            if !(0..=100_000).contains(&v) {
                bail!("[anomaly] {name} must be 0 to 100000");
            }
            *slot = v;
        }
    }
    if let Some(hours) = &a.odd_hours {
        let (from, until) = hours
            .split_once('-')
            .ok_or_else(|| anyhow::anyhow!("[anomaly] odd_hours must be HH:MM-HH:MM"))?;
        let minute = |t: &str| -> anyhow::Result<u16> {
            let (h, m) = t
                .trim()
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("[anomaly] odd_hours must be HH:MM-HH:MM"))?;
            let (h, m): (u16, u16) = (h.parse()?, m.parse()?);
            if h > 23 || m > 59 {
                bail!("[anomaly] odd_hours must be HH:MM-HH:MM");
            }
            Ok(h * 60 + m)
        };
        t.odd_hours_from_minute = minute(from)?;
        t.odd_hours_until_minute = minute(until)?;
    }
    Ok(desk)
}

impl ServerArgs {
    /// Resolves every setting.
    pub fn resolve(&self) -> anyhow::Result<Resolved> {
        self.database.resolve(self.listen.as_deref())
    }
}

/// How long the web verifier's child process may search one picture for a QR code: a phone's
/// photo takes well under a second.
const PICTURE_READ_LIMIT: Duration = Duration::from_secs(5);

/// The server reads pictures of QR codes in a child process of this same binary, which it can
/// stop (see [`teeka_web::config::PictureReader`]).
fn picture_reader() -> teeka_web::config::PictureReader {
    match std::env::current_exe() {
        Ok(program) => teeka_web::config::PictureReader::ChildProcess {
            program,
            limit: PICTURE_READ_LIMIT,
        },
        Err(e) => {
            tracing::warn!(error = %e, "own binary not found; pictures are read in-process, without a time limit");
            teeka_web::config::PictureReader::InProcess
        }
    }
}
