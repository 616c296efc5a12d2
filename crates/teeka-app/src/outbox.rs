//! SMS delivery through the outbox. Messages are written in the same transaction as what caused
//! them; a worker delivers them, retrying with exponential backoff, so a gateway outage delays
//! messages but loses none. Backends: `log` appends JSON lines to `<data-dir>/outbox/sms.jsonl`
//! for development (never in production), `webhook` POSTs JSON to an SMS gateway.

use crate::AppError;
use crate::clock::now_ms;
use crate::vault::Vault;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use teeka_store::Store;
use teeka_store::identity::{OutboxMessage, SealedColumn};
use tokio::io::AsyncWriteExt;

/// Where SMS go.
#[derive(Debug, Clone)]
pub enum Notifier {
    /// Development: append JSON lines `{"to","template","text","otp"}` to this file.
    Log(PathBuf),
    /// An SMS gateway: `POST` of the same JSON to this `http://` URL (put a TLS-terminating
    /// relay in front for a remote gateway).
    Webhook(http::Uri),
}

impl Notifier {
    /// The development notifier under `data_dir`.
    pub fn log_in(data_dir: &std::path::Path) -> Notifier {
        Notifier::Log(data_dir.join("outbox").join("sms.jsonl"))
    }

    async fn deliver(&self, payload: &[u8]) -> Result<(), String> {
        match self {
            Notifier::Log(path) => {
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let mut options = tokio::fs::OpenOptions::new();
                options.create(true).append(true);
                // The development log holds mobiles and OTPs in the clear: owner-only.
                #[cfg(unix)]
                options.mode(0o600);
                let mut file = options.open(path).await.map_err(|e| e.to_string())?;
                let mut line = payload.to_vec();
                line.push(b'\n');
                file.write_all(&line).await.map_err(|e| e.to_string())?;
                file.flush().await.map_err(|e| e.to_string())
            }
            Notifier::Webhook(uri) => post_json(uri, payload).await,
        }
    }
}

async fn post_json(uri: &http::Uri, payload: &[u8]) -> Result<(), String> {
    let host = uri.host().ok_or("webhook URL has no host")?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// webhook URLs are supported (use a TLS relay)".into());
    }
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let request = http::Request::post(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::copy_from_slice(payload)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .map_err(|_| "gateway timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    driver.abort();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("gateway answered {status}"))
    }
}

/// How long an OTP SMS may wait for delivery (the OTP's own lifetime).
const OTP_DELIVERY_WINDOW_MS: i64 = 180_000;
/// The least time a claimed message is left to its claimer.
const DELIVERY_LEASE: Duration = Duration::from_secs(60);

/// Delay before attempt `n + 1`: 2 s, 4 s, 8 s … capped at 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    Duration::from_secs(
        2u64.saturating_pow(u32::try_from(attempts.clamp(1, 10)).unwrap_or(1))
            .min(600),
    )
}

/// Delivers one batch of due messages; how many were delivered.
pub async fn deliver_due(
    store: &Store,
    vault: &Vault,
    notifier: &Notifier,
) -> Result<usize, AppError> {
    let now = now_ms();
    let mut delivered = 0;
    for message in store.due_outbox(now, 100).await? {
        let claimed_at = now_ms();
        // An OTP is useless after it expires: drop it rather than deliver it late.
        if message.template == "otp" && claimed_at - message.created_at_ms > OTP_DELIVERY_WINDOW_MS
        {
            if store
                .claim_outbox(message.message_id, message.next_attempt_at_ms, i64::MAX)
                .await?
            {
                store
                    .mark_outbox_sent(message.message_id, claimed_at)
                    .await?;
                tracing::warn!(message_id = %message.message_id, "dropped an OTP SMS that could not be delivered before it expired");
            }
            continue;
        }
        // The lease covers the slowest delivery (connect 5 s + answer 10 s) with room to spare,
        // so another process never re-sends a message that is still on its way.
        let retry_at = claimed_at
            + i64::try_from(
                backoff(message.attempts + 1)
                    .max(DELIVERY_LEASE)
                    .as_millis(),
            )
            .unwrap_or(i64::MAX);
        // Claim first: with several processes, each message goes out once per attempt.
        if !store
            .claim_outbox(message.message_id, message.next_attempt_at_ms, retry_at)
            .await?
        {
            continue;
        }
        match deliver_one(vault, notifier, &message).await {
            Ok(()) => {
                store.mark_outbox_sent(message.message_id, now_ms()).await?;
                delivered += 1;
            }
            Err(reason) => {
                // The reason is the gateway's or the filesystem's, never the payload.
                tracing::warn!(message_id = %message.message_id, attempts = message.attempts + 1, %reason, "SMS delivery failed; will retry");
            }
        }
    }
    Ok(delivered)
}

async fn deliver_one(
    vault: &Vault,
    notifier: &Notifier,
    message: &OutboxMessage,
) -> Result<(), String> {
    let payload = vault
        .open_unchecked(
            &message.payload_sealed,
            &SealedColumn::OutboxPayload.bound_to(message.message_id.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
    notifier.deliver(&payload).await
}

/// Runs the worker until the store is closed: delivers due messages every `interval`, and prunes
/// rate-limit events older than a day now and then.
pub async fn run_worker(store: Store, vault: Arc<Vault>, notifier: Notifier, interval: Duration) {
    let mut ticks: u64 = 0;
    loop {
        if let Err(e) = deliver_due(&store, &vault, &notifier).await {
            tracing::warn!(error = %e, "outbox pass failed");
        }
        ticks += 1;
        // Pick up keys rotated by another process, so new values are sealed under the current one.
        if ticks.is_multiple_of(120)
            && let Err(e) = vault.reload()
        {
            tracing::warn!(error = %e, "reloading keys failed");
        }
        if ticks.is_multiple_of(600)
            && let Err(e) = store.prune_expired(now_ms() - 2 * 86_400_000).await
        {
            tracing::warn!(error = %e, "pruning expired records failed");
        }
        tokio::time::sleep(interval).await;
    }
}
