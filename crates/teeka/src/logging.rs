//! Structured logs: JSON lines for servers, compact text for people at a terminal. The filter
//! comes from `TEEKA_LOG` (`info`, `teeka_web=debug,info`, …).

use clap::ValueEnum;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Compact human-readable text.
    Text,
}

/// Installs the global subscriber (stderr, so that stdout stays for command output).
pub fn init(chosen: Option<LogFormat>, default: LogFormat) {
    let filter: Targets = std::env::var("TEEKA_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match chosen.unwrap_or(default) {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    if let Err(e) = result {
        eprintln!("teeka: logging not initialised: {e}");
    }
}
