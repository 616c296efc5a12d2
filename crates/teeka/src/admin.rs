//! `teeka admin facility add|import` and `teeka admin session add|import`: load a deployment's
//! own centres and session plans. Safe to run beside a live server on the same database.

use crate::server::open_store;
use crate::settings::DatabaseArgs;
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use teeka_app::admin::{
    Facilities, FacilityInput, NumberOrText, SessionInput, Sessions, parse_records,
};
use teeka_app::clock::today_in_india;

/// `teeka admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Vaccination centres.
    #[command(subcommand)]
    Facility(FacilityCommand),
    /// Session plans.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Creates a staff account; prints a temporary password (to be changed at first sign-in)
    /// and the authenticator enrolment URI (`otpauth://…`), once.
    CreateUser(CreateUser),
    /// Staff remedies.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The partner registry and its kill switch.
    #[command(subcommand)]
    Partners(crate::partners_cli::PartnersCommand),
    /// Prints the current authenticator code for an enrolment URI: a terminal stand-in for an
    /// authenticator app (scripts, the curl walk-through). Anyone holding the URI can do this;
    /// keep it like a password.
    TotpCode {
        /// The `otpauth://totp/…` URI printed at enrolment.
        uri: String,
    },
}

/// `teeka admin create-user`.
#[derive(Debug, clap::Args)]
pub struct CreateUser {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Sign-in name.
    #[arg(long)]
    pub username: String,
    /// vaccinator, verifier, centre_admin, district_admin, state_admin, national_admin, auditor
    /// or partner_manager.
    #[arg(long)]
    pub role: String,
    /// The centre (centre roles).
    #[arg(long, conflicts_with_all = ["district", "state"])]
    pub centre: Option<i64>,
    /// The district (district administrators).
    #[arg(long, conflicts_with = "state")]
    pub district: Option<i64>,
    /// The state (state administrators).
    #[arg(long)]
    pub state: Option<i64>,
}

/// `teeka admin staff …`
#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Ends every staff session, or one account's (`--username`).
    EndSessions {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Only this account's sessions.
        #[arg(long)]
        username: Option<String>,
    },
    /// Makes every member of staff change their password at next sign-in, and ends every
    /// staff session now.
    ForcePasswordReset {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Clears an account's lock after failed sign-ins, and a suspension by anomaly detection
    /// (after review).
    Unlock {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The account.
        #[arg(long)]
        username: String,
    },
}

/// `teeka admin facility …`
#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Add one centre; prints its id.
    Add(Box<FacilityAdd>),
    /// Import centres from a JSON or CSV file (all or nothing).
    Import(ImportArgs),
}

/// `teeka admin session …`
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Add one session plan; prints its UUID.
    Add(Box<SessionAdd>),
    /// Import session plans from a JSON or CSV file (all or nothing); prints their UUIDs.
    Import(ImportArgs),
}

/// A file to import.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// JSON (an array of objects) or CSV (header row) file.
    pub file: PathBuf,
}

/// `teeka admin facility add`.
#[derive(Debug, clap::Args)]
pub struct FacilityAdd {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Centre id (default: the next free one).
    #[arg(long)]
    pub id: Option<i64>,
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub address: String,
    /// State id (CoWIN's).
    #[arg(long = "state")]
    pub state_id: i32,
    /// District id (CoWIN's).
    #[arg(long = "district")]
    pub district_id: i32,
    #[arg(long = "block", default_value = "")]
    pub block_name: String,
    #[arg(long)]
    pub pincode: String,
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    #[arg(long, allow_negative_numbers = true)]
    pub long: f64,
    /// Free or Paid.
    #[arg(long, default_value = "Free")]
    pub fee_type: String,
    /// Fees of a paid centre: COVISHIELD=780,COVAXIN=1410
    #[arg(long, default_value = "")]
    pub fees: String,
    /// Opening time, HH:MM.
    #[arg(long, default_value = "09:00")]
    pub from: String,
    /// Closing time, HH:MM.
    #[arg(long, default_value = "17:00")]
    pub to: String,
}

/// `teeka admin session add`.
#[derive(Debug, clap::Args)]
pub struct SessionAdd {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[arg(long)]
    pub centre: i64,
    /// DD-MM-YYYY
    #[arg(long)]
    pub date: String,
    #[arg(long)]
    pub vaccine: String,
    /// Dose 1 capacity bookable online.
    #[arg(long)]
    pub dose1: u32,
    /// Dose 2 capacity bookable online.
    #[arg(long)]
    pub dose2: u32,
    /// Precaution-dose capacity bookable online.
    #[arg(long, default_value_t = 0)]
    pub precaution: u32,
    #[arg(long, default_value_t = 18)]
    pub min_age: u8,
    #[arg(long)]
    pub max_age: Option<u8>,
    /// Walk-in capacity kept beside each dose kind's online capacity (applies to dose 1, dose 2
    /// and, when planned, precaution).
    #[arg(long, default_value_t = 0)]
    pub onsite: u32,
    /// Slot bands, e.g. "09:00AM-11:00AM,11:00AM-01:00PM" (default: four bands over the
    /// centre's opening hours).
    #[arg(long)]
    pub slots: Option<String>,
}

fn read_file(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Runs an admin command.
pub async fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::Partners(cmd) => return crate::partners_cli::run(cmd).await,
        AdminCommand::CreateUser(c) => {
            let settings = c.database.resolve(None)?;
            let store = open_store(&settings.database_url).await?;
            let vault = crate::server::open_vault(&settings)?;
            let role: teeka_domain::StaffRole = c.role.parse()?;
            let config = teeka_app::staff::StaffConfig::default();
            let staff = teeka_app::staff::Staff {
                store: &store,
                vault: &vault,
                config: &config,
            };
            let enrolment = staff
                .create_user(&c.username, role, c.centre.or(c.district).or(c.state))
                .await?;
            println!("username:           {}", c.username.trim());
            println!("temporary password: {}", enrolment.temporary_password);
            println!("authenticator:      {}", enrolment.otpauth_uri);
            println!(
                "Both are shown once. The password must be changed at first sign-in, which needs a code from the authenticator."
            );
            store.close().await;
        }
        AdminCommand::TotpCode { uri } => {
            let secret = teeka_crypto::totp::secret_from_uri(uri.trim()).ok_or_else(|| {
                anyhow::anyhow!("not an otpauth://totp/… URI with a base32 secret")
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            println!("{}", teeka_crypto::totp::code_at(&secret, now));
        }
        AdminCommand::Staff(StaffCommand::EndSessions { database, username }) => {
            let store = open_store(&database.resolve(None)?.database_url).await?;
            let which = match &username {
                Some(name) => {
                    let account = store
                        .staff_by_username(name.trim())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no staff account {name:?}"))?;
                    teeka_store::staff::SessionsToEnd::OfAccount(account.staff_id)
                }
                None => teeka_store::staff::SessionsToEnd::Everyone,
            };
            println!("ended {} sessions", store.end_staff_sessions(which).await?);
            store.close().await;
        }
        AdminCommand::Staff(StaffCommand::ForcePasswordReset { database }) => {
            let store = open_store(&database.resolve(None)?.database_url).await?;
            let (accounts, sessions) = store.force_staff_password_reset().await?;
            println!("{accounts} accounts must change their password; {sessions} sessions ended");
            store.close().await;
        }
        AdminCommand::Staff(StaffCommand::Unlock { database, username }) => {
            let store = open_store(&database.resolve(None)?.database_url).await?;
            let account = store
                .staff_by_username(username.trim())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no staff account {username:?}"))?;
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis(),
            )?;
            store.reinstate_staff(account.staff_id, now).await?;
            println!("unlocked {}", account.username);
            store.close().await;
        }
        AdminCommand::Facility(FacilityCommand::Add(a)) => {
            let store = open_store(&a.database.resolve(None)?.database_url).await?;
            let input = FacilityInput {
                center_id: a.id,
                name: a.name,
                address: a.address,
                state_id: a.state_id,
                district_id: a.district_id,
                block_name: a.block_name,
                pincode: NumberOrText::Text(a.pincode),
                lat: a.lat,
                long: a.long,
                fee_type: a.fee_type,
                fees: a.fees,
                from: a.from,
                to: a.to,
            };
            let id = Facilities::new(&store).add(&input).await?;
            println!("{id}");
            store.close().await;
        }
        AdminCommand::Facility(FacilityCommand::Import(a)) => {
            let store = open_store(&a.database.resolve(None)?.database_url).await?;
            let inputs: Vec<FacilityInput> = parse_records(&read_file(&a.file)?)?;
            let n = Facilities::new(&store).import(&inputs).await?;
            eprintln!("imported {n} centres");
            store.close().await;
        }
        AdminCommand::Session(SessionCommand::Add(a)) => {
            let store = open_store(&a.database.resolve(None)?.database_url).await?;
            let input = SessionInput {
                center_id: a.centre,
                date: a.date,
                vaccine: a.vaccine,
                dose1: a.dose1,
                dose2: a.dose2,
                precaution: a.precaution,
                dose1_onsite: a.onsite,
                dose2_onsite: a.onsite,
                precaution_onsite: if a.precaution > 0 { a.onsite } else { 0 },
                min_age: a.min_age,
                max_age: a.max_age,
                slots: a.slots,
            };
            let id = Sessions::new(&store).add(&input, today_in_india()).await?;
            println!("{id}");
            store.close().await;
        }
        AdminCommand::Session(SessionCommand::Import(a)) => {
            let store = open_store(&a.database.resolve(None)?.database_url).await?;
            let inputs: Vec<SessionInput> = parse_records(&read_file(&a.file)?)?;
            let ids = Sessions::new(&store)
                .import(&inputs, today_in_india())
                .await?;
            for id in &ids {
                println!("{id}");
            }
            eprintln!("imported {} sessions", ids.len());
            store.close().await;
        }
    }
    Ok(ExitCode::SUCCESS)
}
