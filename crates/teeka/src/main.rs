//! The one Teeka binary: `serve`, `demo`, `migrate`, `admin …`, `keys …`, `ledger …` and `bench …`.
#![forbid(unsafe_code)]

mod admin;
mod bench;
mod bench_booking;
mod bench_cert;
mod cli;
mod keys;
mod ledger_cli;
mod logging;
mod partners_cli;
mod server;
mod settings;
mod verify_cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format, cli.command.default_log_format());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("teeka: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("teeka: {e:#}");
            ExitCode::FAILURE
        }
    }
}
