//! `teeka verify [--trust FILE]... [--revoked FILE]... [--at RFC3339] FILE`: the universal
//! verifier, offline: FILE is a QR code's text or a PNG or JPEG picture of it. Prints one JSON object; exits 0 when valid, 1 when invalid, 2 when the
//! input is no certificate it can read.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use teeka_cert::trust::TrustList;
use teeka_cert::verify::{Revocations, verdict_json, verify_any};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `teeka verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted keys: PEM (public keys or X.509 certificates), JWK or JWKS, DER or base64 X.509
    /// signer certificates, or JSON with `publicKeyBase58`. Repeatable.
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Revocation lists: Teeka's (`/api/v1/certificates/revoked`) or a SMART Health Card CRL.
    #[arg(long)]
    revoked: Vec<PathBuf>,
    /// Check validity at this time instead of now (RFC 3339).
    #[arg(long)]
    at: Option<String>,
    /// A file holding a QR code's text (`HC1:…`, `shc:/…`, a JWS, a credential's JSON, a
    /// `.smart-health-card` file, or CoWIN's zip bytes or their base64).
    file: PathBuf,
}

fn unusable(reason: &str) -> ExitCode {
    println!(
        "{}",
        serde_json::json!({ "valid": false, "format": null, "reason": reason })
    );
    ExitCode::from(2)
}

/// Runs the verifier.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut trust = TrustList::new();
    for path in &args.trust {
        if let Err(e) = trust.load_file(path) {
            return Ok(unusable(&format!("--trust {}: {e}", path.display())));
        }
    }
    let mut revocations = Revocations::default();
    for path in &args.revoked {
        let text = std::fs::read_to_string(path)?;
        if let Err(e) = revocations.add_json(&text) {
            return Ok(unusable(&format!("--revoked {}: {e}", path.display())));
        }
    }
    let at = match &args.at {
        Some(t) => match OffsetDateTime::parse(t, &Rfc3339) {
            Ok(at) => at,
            Err(_) => {
                return Ok(unusable(
                    "--at: an RFC 3339 time such as 2022-05-31T00:00:00Z",
                ));
            }
        },
        None => OffsetDateTime::now_utc(),
    };
    let input = std::fs::read(&args.file)?;
    match verify_any(&input, &trust, &revocations, at) {
        Ok(verdict) => {
            println!("{}", verdict_json(&verdict));
            Ok(if verdict.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => Ok(unusable(&e.to_string())),
    }
}

/// `teeka read-qr`: the QR codes in the picture on standard input (at most the web verifier's
/// picture size), printed as `{"codes": [...]}` or `{"error": "..."}`; the exit code is 0 either
/// way, so the server tells a reader that was stopped or crashed from one that found nothing.
pub fn read_qr() -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let limit = teeka_web::certificates::MAX_PICTURE_BYTES;
    let mut picture = Vec::new();
    std::io::stdin()
        .take(u64::try_from(limit).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut picture)?;
    let answer = if picture.len() > limit {
        serde_json::json!({ "error": "the picture is larger than the verifier takes" })
    } else {
        match teeka_cert::qr_image::decode_qr_codes(&picture) {
            Ok(codes) => serde_json::json!({ "codes": codes }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        }
    };
    println!("{answer}");
    Ok(ExitCode::SUCCESS)
}
