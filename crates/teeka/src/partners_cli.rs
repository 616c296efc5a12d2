//! `teeka admin partners add|list|rotate|disable|enable`: the partner registry and its kill
//! switch from the server's command line. Safe beside running servers on the same database: a
//! switch is in force on every process at its next request.

use crate::server::open_store;
use crate::settings::DatabaseArgs;
use clap::Subcommand;
use std::process::ExitCode;
use teeka_app::partner::{AdminActor, NewPartner, PartnerAdmin, SwitchRequest};

/// `teeka admin partners …`
#[derive(Debug, Subcommand)]
pub enum PartnersCommand {
    /// Registers a partner; prints its client id and API key (the key is shown once).
    Add(Box<PartnerAdd>),
    /// Lists partners and the switches turned off.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Rotates a partner's API key; prints the new one (the old one stops at once).
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Partner id or client id.
        #[arg(long)]
        partner: String,
    },
    /// Kill switch: turns every partner, one partner or one scope off.
    Disable(SwitchArgs),
    /// Turns a switch back on (explicitly; nothing turns back on by itself).
    Enable(SwitchArgs),
}

/// `teeka admin partners add`.
#[derive(Debug, clap::Args)]
pub struct PartnerAdd {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Name, shown to people asked for consent.
    #[arg(long)]
    pub name: String,
    /// Scopes: availability, booking, beneficiary_read, certificate, status_check, research.
    #[arg(long)]
    pub scopes: String,
    /// What the partner is for.
    #[arg(long, default_value = "Services for its users, with their consent")]
    pub purpose: String,
    /// Fields it may ask for: name, birth_year, gender, photo_id, mobile, appointments
    /// (default: name, birth_year, appointments).
    #[arg(long)]
    pub fields: Option<String>,
    /// Registration ends on this day (YYYY-MM-DD, end of the day in India).
    #[arg(long)]
    pub expires: Option<String>,
    /// Who to call.
    #[arg(long, default_value = "")]
    pub contact: String,
    /// Requests a minute.
    #[arg(long)]
    pub requests_per_minute: Option<i32>,
    /// Requests a day.
    #[arg(long)]
    pub daily_quota: Option<i64>,
    /// Distinct people an hour before it is throttled and an alert raised.
    #[arg(long)]
    pub people_per_hour: Option<i64>,
    /// SHA-256 fingerprint of the client certificate it must present (mutual TLS at the proxy).
    #[arg(long)]
    pub tls_fingerprint: Option<String>,
}

/// Which switch.
#[derive(Debug, clap::Args)]
pub struct SwitchArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Every partner.
    #[arg(long)]
    pub all: bool,
    /// One partner (id or client id).
    #[arg(long)]
    pub partner: Option<String>,
    /// One scope, for every partner.
    #[arg(long)]
    pub scope: Option<String>,
}

impl SwitchArgs {
    fn target(&self) -> anyhow::Result<SwitchRequest> {
        let named = usize::from(self.all)
            + usize::from(self.partner.is_some())
            + usize::from(self.scope.is_some());
        if named != 1 {
            anyhow::bail!("name exactly one of --all, --partner ID, --scope S");
        }
        Ok(match (&self.partner, &self.scope) {
            (Some(p), _) => SwitchRequest::Partner(p.clone()),
            (_, Some(s)) => SwitchRequest::Scope(s.parse()?),
            _ if self.all => SwitchRequest::All,
            _ => anyhow::bail!("name --all, --partner ID or --scope S"),
        })
    }
}

/// End of `YYYY-MM-DD` in India, in unix ms.
fn end_of_day_in_india(day: &str) -> anyhow::Result<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day.trim(), &format)
        .map_err(|_| anyhow::anyhow!("--expires: a day as YYYY-MM-DD"))?;
    let next = date
        .next_day()
        .ok_or_else(|| anyhow::anyhow!("--expires: too far"))?;
    Ok((next.midnight().assume_utc().unix_timestamp() - 19_800) * 1000)
}

/// Runs a partners command.
pub async fn run(command: PartnersCommand) -> anyhow::Result<ExitCode> {
    let admin_of = |store| PartnerAdmin {
        store,
        actor: AdminActor::operator(),
    };
    match command {
        PartnersCommand::Add(a) => {
            let mut p = NewPartner::with_defaults(
                a.name.clone(),
                a.purpose.clone(),
                &a.scopes,
                a.fields.as_deref(),
            )?;
            p.expires_at_ms = a.expires.as_deref().map(end_of_day_in_india).transpose()?;
            p.contact.clone_from(&a.contact);
            p.requests_per_minute = a.requests_per_minute.unwrap_or(p.requests_per_minute);
            p.daily_quota = a.daily_quota.unwrap_or(p.daily_quota);
            p.people_per_hour = a.people_per_hour.unwrap_or(p.people_per_hour);
            p.tls_fingerprint.clone_from(&a.tls_fingerprint);
            let store = open_store(&a.database.resolve(None)?.database_url).await?;
            let r = admin_of(&store).register(&p, "cli").await?;
            println!("partner id: {}", r.partner_id);
            println!("client id:  {}", r.client_id);
            println!("api key:    {}", r.api_key.expose());
            println!("The API key is shown once; send it as X-Api-Key. Only its hash is kept.");
            store.close().await;
        }
        PartnersCommand::List { database } => {
            let store = open_store(&database.resolve(None)?.database_url).await?;
            let (partners, off) = admin_of(&store).list().await?;
            for p in &partners {
                println!(
                    "{}  {}  {:?}  scopes={} fields={}{}{}",
                    p.partner_id,
                    p.client_id,
                    p.name,
                    p.scopes,
                    p.fields,
                    if p.disabled { "  DISABLED" } else { "" },
                    if p.throttled_until_ms > 0 {
                        "  THROTTLED"
                    } else {
                        ""
                    },
                );
            }
            for s in &off {
                println!("switched off: {s}");
            }
            store.close().await;
        }
        PartnersCommand::Rotate { database, partner } => {
            let store = open_store(&database.resolve(None)?.database_url).await?;
            let key = admin_of(&store).rotate(&partner, "cli").await?;
            println!("api key:    {}", key.expose());
            println!("The old key no longer works. The new one is shown once.");
            store.close().await;
        }
        PartnersCommand::Disable(s) => switch(s, true).await?,
        PartnersCommand::Enable(s) => switch(s, false).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn switch(s: SwitchArgs, off: bool) -> anyhow::Result<()> {
    let target = s.target()?;
    let store = open_store(&s.database.resolve(None)?.database_url).await?;
    let admin = PartnerAdmin {
        store: &store,
        actor: AdminActor::operator(),
    };
    let changed = admin.switch(&target, off, "cli").await?;
    println!(
        "{} {}{}",
        match &target {
            SwitchRequest::All => "every partner".to_owned(),
            SwitchRequest::Scope(sc) => format!("scope {sc}"),
            SwitchRequest::Partner(p) => format!("partner {p}"),
        },
        if off { "switched off" } else { "switched on" },
        if changed { "" } else { " (it already was)" }
    );
    store.close().await;
    Ok(())
}
