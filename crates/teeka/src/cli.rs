//! The command line: what each subcommand takes, and which function runs it.

use crate::logging::LogFormat;
use crate::settings::{DatabaseArgs, ServerArgs};
use crate::{admin, bench, server};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Teeka: a privacy-first national vaccination platform.
#[derive(Debug, Parser)]
#[command(name = "teeka", version, about)]
pub struct Cli {
    /// Log format (default: json for `serve`, text otherwise).
    #[arg(long, global = true, env = "TEEKA_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(ServerArgs),
    /// Serve the API with a synthetic India loaded when the database is empty.
    Demo(server::DemoArgs),
    /// Apply migrations and load master data, then exit.
    Migrate(DatabaseArgs),
    /// Administer facilities and session plans.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage keys.
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// The access ledger: verify, checkpoint, breach report, retention, witness.
    #[command(subcommand)]
    Ledger(crate::ledger_cli::LedgerCommand),
    /// Run a benchmark.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Verify a vaccination certificate offline (Teeka, CoWIN/DIVOC, EU DCC, SMART Health Card).
    Verify(crate::verify_cli::VerifyArgs),
    /// Read the QR codes in a picture on standard input and print them as JSON: the server runs
    /// this in a child process it can stop, since a crafted picture can keep the reader busy.
    #[command(hide = true)]
    ReadQr,
}

impl Command {
    /// Servers log JSON lines; people at a terminal get text.
    pub fn default_log_format(&self) -> LogFormat {
        match self {
            Command::Serve(_) => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Runs a parsed command.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => server::serve(args).await,
        Command::Demo(args) => server::demo(args).await,
        Command::Migrate(args) => server::migrate(args).await,
        Command::Admin(cmd) => admin::run(cmd).await,
        Command::Bench(cmd) => bench::run(cmd).await,
        Command::Keys(cmd) => crate::keys::run(cmd).await,
        Command::Ledger(cmd) => crate::ledger_cli::run(cmd).await,
        Command::Verify(args) => crate::verify_cli::run(&args),
        Command::ReadQr => crate::verify_cli::read_qr(),
    }
}
