//! `teeka keys rotate`: a new sealing key, and every sealed value re-sealed under it in batches,
//! while servers keep running (they reload the key ring when they meet the new key id).

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
    },
}

/// Runs a keys command.
pub async fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Rotate { database, batch } = command;
    let settings = database.resolve(None)?;
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
