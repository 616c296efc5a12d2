//! `teeka keys rotate`: a new sealing key, and every sealed value re-sealed under it in batches,
//! while servers keep running (they reload the key ring when they meet the new key id).
//! `teeka keys rotate --issuer`: a new generation of certificate-signing keys; the old ones stay
//! in the ring, so certificates they signed keep verifying.

use crate::server::{open_store, open_vault};
use crate::settings::DatabaseArgs;
use clap::Subcommand;
use std::process::ExitCode;

/// `teeka keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new sealing key and re-seal everything under it.
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Rows per batch.
        #[arg(long, default_value_t = 500)]
        batch: i64,
        /// Rotate the certificate issuer's keys instead of the sealing key.
        #[arg(long)]
        issuer: bool,
    },
}

/// Runs a keys command.
pub async fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Rotate {
        database,
        batch,
        issuer,
    } = command;
    let settings = database.resolve(None)?;
    if issuer {
        let now = teeka_app::clock::now_ms();
        // In production a missing ring is an error, not a fresh one: a wrong keys_dir must not
        // quietly start a ring that no published certificate verifies against.
        let mut ring = match settings.mode {
            crate::settings::Mode::Production => {
                teeka_crypto::keyfiles::load_issuer(&settings.keys_dir)?
            }
            crate::settings::Mode::Development => {
                teeka_crypto::keyfiles::load_or_create_issuer(&settings.keys_dir, now)?
            }
        };
        let old = ring.current().kid.clone();
        let new = ring.rotate(now)?;
        teeka_crypto::keyfiles::save_issuer(&settings.keys_dir, &ring)?;
        println!(
            "issuer key {new} is now current; {old} and {} earlier keys still verify",
            ring.all().len() - 2
        );
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store(&settings.database_url).await?;
    let vault = open_vault(&settings)?;
    let report = teeka_app::keys::rotate(&store, &vault, batch).await?;
    println!(
        "sealing key {} is now current; {} values re-sealed",
        report.key_id, report.resealed
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
