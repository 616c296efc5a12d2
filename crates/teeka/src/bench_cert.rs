//! `teeka bench certificates`: certificates issued per second (build the credential,
//! canonicalise and sign it, encode its QR code, store the row) on every core, credentials
//! verified per second on one core, and the PDF's render time; with the bare Ed25519 sign and
//! verify rates of the same machine in the same run as the baseline.

use crate::server::open_store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use teeka_cert::certificate::{CertificateFacts, qr_modules, render_certificate_pdf};
use teeka_crypto::issuer::IssuerKeyRing;
use teeka_store::certificate::CertificateRow;

/// Flags of the certificate benchmark.
#[derive(Debug, clap::Args)]
pub struct CertificateBench {
    /// The database: by default a fresh SQLite file under `--data-dir`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Where the SQLite file goes.
    #[arg(long, default_value = "./target/bench-certificates")]
    pub data_dir: PathBuf,
    /// Certificates to issue.
    #[arg(long, default_value_t = 4000)]
    pub certificates: usize,
    /// Issuing threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn facts(n: usize) -> CertificateFacts {
    CertificateFacts {
        certificate_id: format!("{n:012}"),
        kind: "provisional".into(),
        reference_id: format!("{:014}", 10_000_000_000_000u64 + n as u64),
        name: format!("Bench Person {n}"),
        batch: "4121Z025".into(),
        dose: 1,
        issuer: "https://teeka.local".into(),
        ..CertificateFacts::example()
    }
}

/// Signs and QR-encodes `range`'s certificates; their rows.
fn issue_range(
    ring: &IssuerKeyRing,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Vec<CertificateRow>> {
    let key = ring.current();
    let mut rows = Vec::with_capacity(range.len());
    for n in range {
        let f = facts(n);
        let signed = teeka_cert::ld::sign_ed25519(
            f.credential(),
            key.ed25519.signing_key(),
            &format!("https://teeka.local/.well-known/jwks.json#{}", key.kid),
            &f.issued_at,
        )?;
        qr_modules(&signed.to_string())?;
        rows.push(CertificateRow {
            certificate_id: f.certificate_id,
            dose_id: uuid::Uuid::new_v4(),
            subject_id: uuid::Uuid::new_v4(),
            kind: f.kind,
            kid: key.kid.clone(),
            issued_at_ms: 0,
            revoked_at_ms: None,
        });
    }
    Ok(rows)
}

fn per_second(n: usize, started: Instant) -> f64 {
    n as f64 / started.elapsed().as_secs_f64()
}

/// Runs the benchmark and prints its table.
pub async fn run(args: CertificateBench) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)?;
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let file = args.data_dir.join("certificates.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            format!("sqlite://{}", file.display())
        }
    };
    let store = open_store(&url).await?;
    let ring = std::sync::Arc::new(IssuerKeyRing::generate(0)?);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let count = args.certificates;

    // Issuing: signing and QR encoding on every core, rows stored in batches as they come.
    let started = Instant::now();
    let chunk = count.div_ceil(threads);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let ring = ring.clone();
            let range = (t * chunk).min(count)..((t + 1) * chunk).min(count);
            tokio::task::spawn_blocking(move || issue_range(&ring, range))
        })
        .collect();
    let mut stored = 0;
    for worker in workers {
        let rows = worker.await??;
        for batch in rows.chunks(500) {
            store.insert_certificates(batch).await?;
            stored += batch.len();
        }
    }
    let issued = per_second(stored, started);

    // Verifying one credential again and again, on one core.
    let key = ring.current();
    let signed = teeka_cert::ld::sign_ed25519(
        facts(0).credential(),
        key.ed25519.signing_key(),
        "https://teeka.local/.well-known/jwks.json#k",
        "2026-11-23T05:30:00Z",
    )?;
    let verifying = teeka_cert::ld::VerificationKey::Ed25519(
        ed25519_dalek::VerifyingKey::from_bytes(&key.ed25519.public())?,
    );
    let rounds = 500;
    let started = Instant::now();
    for _ in 0..rounds {
        anyhow::ensure!(teeka_cert::ld::verify_proof(&signed, &verifying)?);
    }
    let verified = per_second(rounds, started);

    // Where an issue's time goes, on one core: the signed credential, then its QR code.
    let parts = 200;
    let started = Instant::now();
    for n in 0..parts {
        let f = facts(n);
        teeka_cert::ld::sign_ed25519(
            f.credential(),
            key.ed25519.signing_key(),
            "https://teeka.local/.well-known/jwks.json#k",
            &f.issued_at,
        )?;
    }
    let signing = per_second(parts, started);
    let text = signed.to_string();
    let started = Instant::now();
    for _ in 0..parts {
        qr_modules(&text)?;
    }
    let qr_encoding = per_second(parts, started);

    // The bare primitives, same machine, same run.
    let message = [7u8; 64];
    let bare = 20_000;
    let started = Instant::now();
    let mut signature = [0u8; 64];
    for _ in 0..bare {
        signature = key.ed25519.sign(&message);
    }
    let bare_sign = per_second(bare, started);
    let started = Instant::now();
    for _ in 0..bare {
        anyhow::ensure!(teeka_crypto::verify_ed25519(
            &key.ed25519.public(),
            &message,
            &signature
        ));
    }
    let bare_verify = per_second(bare, started);

    // The PDF: p50 and p99 of 200 renders.
    let f = facts(1);
    let text = signed.to_string();
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let _ = render_certificate_pdf(&f, &text);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);

    println!(
        "certificates, {} ({} threads)",
        store.backend_name(),
        threads
    );
    println!("| what | rate |");
    println!("|---|---|");
    println!("| issued (sign + QR + store), all cores | {issued:.0}/s |");
    println!("| of which: canonicalise + sign, one core | {signing:.0}/s |");
    println!("| of which: QR encode, one core | {qr_encoding:.0}/s |");
    println!("| bare Ed25519 sign, one core | {bare_sign:.0}/s |");
    println!("| credentials verified, one core | {verified:.0}/s |");
    println!("| bare Ed25519 verify, one core | {bare_verify:.0}/s |");
    println!(
        "| PDF render (with QR) | p50 {:.2} ms, p99 {:.2} ms |",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
