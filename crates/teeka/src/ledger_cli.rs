//! `teeka ledger …`: verify the access ledger from storage, sign a checkpoint now, the breach
//! report (with notices), retention, and the witness an outside party runs.

use crate::server::{open_store, open_vault};
use crate::settings::DatabaseArgs;
use anyhow::{Context, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use teeka_app::ledger::{Ledger, ReportCaller, ReportQuery};
use teeka_crypto::Ed25519Key;
use teeka_crypto::merkle::{Hash, verify_consistency};
use teeka_crypto::note;

/// The ledger subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute the tree from storage and check every entry and checkpoint; exit 0 clean,
    /// 1 tampered, 2 unusable input. Prints one JSON report.
    Verify {
        #[command(flatten)]
        database: DatabaseArgs,
        /// A checkpoint kept outside (a witness's copy) to check the log against as well.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Sign a checkpoint now (when the log grew) and print it.
    Checkpoint {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the checkpoint key as a verifier key (what a witness pins).
    Key {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Everyone whose data one actor touched in a window, and a CSV summary for the regulator.
    Report {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The staff account (id or sign-in name), or any actor id on the ledger.
        #[arg(long)]
        actor: String,
        /// Window start, RFC 3339.
        #[arg(long)]
        from: String,
        /// Window end, RFC 3339.
        #[arg(long)]
        to: String,
        /// Queue an SMS to each affected account through the outbox.
        #[arg(long)]
        notify: bool,
        /// Write the CSV summary here (else it is printed after the JSON).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Apply retention now: remove access details older than `[ledger] retention_days`.
    Prune {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The outside party's side: fetch the checkpoint, check it extends the last one seen, and
    /// keep a cosigned copy. Exit 0 consistent, 1 inconsistent or rolled back.
    Witness {
        /// The Teeka server, `http://host:port`.
        #[arg(long)]
        url: String,
        /// The witness's state file (its key, the log's key, the last checkpoint), created on
        /// first use.
        #[arg(long)]
        state: PathBuf,
        /// The log's verifier key; by default pinned from the server on first use.
        #[arg(long)]
        log_key: Option<String>,
    },
}

fn rfc3339(text: &str, name: &str) -> anyhow::Result<i64> {
    teeka_app::ledger::parse_instant(text)
        .with_context(|| format!("--{name} must be RFC 3339, such as 2026-11-23T10:00:00+05:30"))
}

async fn open_ledger(
    database: &DatabaseArgs,
) -> anyhow::Result<(
    teeka_store::Store,
    std::sync::Arc<teeka_app::vault::Vault>,
    Ledger,
)> {
    let settings = database.resolve(None)?;
    let store = open_store(&settings.database_url).await?;
    let vault = open_vault(&settings)?;
    let ledger = Ledger::new(store.clone(), vault.ledger_key(), settings.ledger.clone());
    Ok((store, vault, ledger))
}

/// Runs a ledger subcommand.
pub async fn run(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Verify {
            database,
            checkpoint,
        } => {
            let outside = match &checkpoint {
                // A witness's state file holds its last checkpoint; a plain note file is one.
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(text) if text.trim_start().starts_with('{') => {
                        match serde_json::from_str::<WitnessState>(&text) {
                            Ok(WitnessState {
                                checkpoint: Some(cp),
                                ..
                            }) => Some(cp),
                            _ => {
                                eprintln!("teeka: {} holds no checkpoint", path.display());
                                return Ok(ExitCode::from(2));
                            }
                        }
                    }
                    Ok(text) => Some(text),
                    Err(e) => {
                        eprintln!("teeka: cannot read {}: {e}", path.display());
                        return Ok(ExitCode::from(2));
                    }
                },
                None => None,
            };
            let settings = database.resolve(None)?;
            let store = open_store(&settings.database_url).await?;
            let vault = open_vault(&settings)?;
            let report = teeka_app::ledger_verify::verify(
                &store,
                &settings.ledger.origin,
                &vault.ledger_key().public(),
                outside.as_deref(),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            store.close().await;
            Ok(if report.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LedgerCommand::Checkpoint { database } => {
            let (store, _, ledger) = open_ledger(&database).await?;
            print!("{}", ledger.checkpoint().await?.note);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Key { database } => {
            let (store, _, ledger) = open_ledger(&database).await?;
            println!("{}", ledger.verifier_key());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Report {
            database,
            actor,
            from,
            to,
            notify,
            csv,
        } => {
            let query = ReportQuery {
                actor,
                from_ms: rfc3339(&from, "from")?,
                to_ms: rfc3339(&to, "to")?,
                notify,
            };
            let (store, vault, ledger) = open_ledger(&database).await?;
            let request_id = format!("cli-report-{}", uuid::Uuid::new_v4());
            let report = ledger
                .breach_report(&vault, ReportCaller::Operator, &query, &request_id)
                .await?;
            let affected: Vec<_> = report
                .affected
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "beneficiary_reference_id": a.reference_id,
                        "mobile": a.mobile_masked,
                        "accesses": a.accesses,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "actor_id": report.actor_id,
                    "accesses": report.events,
                    "affected_count": report.affected.len(),
                    "affected": affected,
                    "notices_queued": report.notices_queued,
                }))?
            );
            match csv {
                Some(path) => std::fs::write(&path, report.csv())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{}", report.csv()),
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Prune { database } => {
            let (store, _, ledger) = open_ledger(&database).await?;
            let n = ledger.prune(teeka_app::clock::now_ms()).await?;
            println!("removed the details of {n} access events past retention");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Witness {
            url,
            state,
            log_key,
        } => witness(&url, &state, log_key).await,
    }
}

/// What a witness keeps between runs.
#[derive(serde::Serialize, serde::Deserialize)]
struct WitnessState {
    /// The witness's own Ed25519 seed (hex).
    witness_key: String,
    /// The witness's name in cosignatures.
    witness_name: String,
    /// The log's verifier key, pinned.
    log_key: String,
    /// The last checkpoint seen, cosigned.
    checkpoint: Option<String>,
}

async fn get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<String> {
    let r = teeka_loadgen::request(addr, http::Method::GET, path, &[], None)
        .await
        .with_context(|| format!("GET {path}"))?;
    if !r.status.is_success() {
        bail!("GET {path} answered {}: {}", r.status, r.text());
    }
    Ok(r.text())
}

fn save_state(path: &Path, state: &WitnessState) -> anyhow::Result<()> {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, serde_json::to_string_pretty(state)?)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

async fn witness(
    url: &str,
    state_path: &Path,
    log_key: Option<String>,
) -> anyhow::Result<ExitCode> {
    let host = url
        .strip_prefix("http://")
        .context("--url must be http://host:port")?
        .trim_end_matches('/');
    let addr = tokio::net::lookup_host(host)
        .await?
        .next()
        .with_context(|| format!("cannot resolve {host}"))?;
    let mut state = if state_path.exists() {
        serde_json::from_str::<WitnessState>(&std::fs::read_to_string(state_path)?)
            .with_context(|| format!("reading {}", state_path.display()))?
    } else {
        let pinned = match log_key {
            Some(k) => k,
            None => get(addr, "/api/v1/ledger/key").await?.trim().to_owned(),
        };
        WitnessState {
            witness_key: Ed25519Key::generate()?.to_hex().to_string(),
            witness_name: format!("witness/{}", uuid::Uuid::new_v4().simple()),
            log_key: pinned,
            checkpoint: None,
        }
    };
    let (origin, public) = note::parse_verifier_key(&state.log_key)?;
    let fetched = get(addr, "/api/v1/ledger/checkpoint").await?;
    let new = match note::verify_checkpoint(&fetched, &origin, &origin, &public) {
        Ok(cp) => cp,
        Err(e) => {
            return Ok(refuse(&format!(
                "the served checkpoint does not verify: {e}"
            )));
        }
    };
    if let Some(old_text) = &state.checkpoint {
        let old = note::verify_checkpoint(old_text, &origin, &origin, &public)?;
        if new.size < old.size {
            return Ok(refuse(&format!(
                "rolled back: the log now says {} entries, it said {} before",
                new.size, old.size
            )));
        }
        if new.size == old.size && new.root != old.root {
            return Ok(refuse("forked: same size, different root"));
        }
        if new.size > old.size {
            let body = get(
                addr,
                &format!(
                    "/api/v1/ledger/proof/consistency?first={}&second={}",
                    old.size, new.size
                ),
            )
            .await?;
            let proof: Vec<Hash> = serde_json::from_str::<serde_json::Value>(&body)?["proof"]
                .as_array()
                .context("no proof in the answer")?
                .iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|h| hex::decode(h).ok())
                        .and_then(|b| Hash::try_from(b.as_slice()).ok())
                        .context("a proof hash is not 32 bytes of hex")
                })
                .collect::<anyhow::Result<_>>()?;
            if !verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
                return Ok(refuse(&format!(
                    "inconsistent: the checkpoint of {} entries does not extend the one of {}",
                    new.size, old.size
                )));
            }
        }
    }
    let key = Ed25519Key::from_hex(&state.witness_key)?;
    state.checkpoint = Some(note::cosign(&fetched, &state.witness_name, &key)?);
    save_state(state_path, &state)?;
    println!(
        "{}",
        serde_json::json!({ "consistent": true, "origin": origin, "tree_size": new.size })
    );
    Ok(ExitCode::SUCCESS)
}

fn refuse(why: &str) -> ExitCode {
    println!(
        "{}",
        serde_json::json!({ "consistent": false, "reason": why })
    );
    ExitCode::FAILURE
}
