//! A closed-loop load generator: N keep-alive connections, each sending the next request as soon
//! as the last answer is read, cycling through a list of paths. Reports throughput and latency
//! percentiles over the measured window (after a warm-up).

use crate::LoadError;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Concurrent connections.
    pub connections: usize,
    /// Unmeasured time first (fills caches, opens connections).
    pub warmup: Duration,
    /// Measured time.
    pub duration: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Responses read in the measured window.
    pub requests: u64,
    /// Responses whose status was not 2xx.
    pub non_2xx: u64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

async fn one_connection(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    offset: usize,
    measure_from: Instant,
    until: Instant,
) -> Result<(Vec<u32>, u64), LoadError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let host = addr.to_string();
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut non_2xx = 0;
    let mut i = offset;
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let path = &paths[i % paths.len()];
        i += 1;
        let request = Request::get(path.as_str())
            .header(http::header::HOST, host.as_str())
            .body(Empty::<Bytes>::new())?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        if now >= measure_from {
            latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
            if !ok {
                non_2xx += 1;
            }
        }
    }
    driver.abort();
    Ok((latencies, non_2xx))
}

/// Runs the load against `addr`, cycling through `paths`.
pub async fn run_load(
    addr: SocketAddr,
    paths: Vec<String>,
    options: &LoadOptions,
) -> Result<LoadReport, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoPaths);
    }
    let paths = Arc::new(paths);
    let start = Instant::now();
    let measure_from = start + options.warmup;
    let until = measure_from + options.duration;
    let step = (paths.len() / options.connections.max(1)).max(1);
    let tasks: Vec<_> = (0..options.connections)
        .map(|c| {
            tokio::spawn(one_connection(
                addr,
                paths.clone(),
                c * step,
                measure_from,
                until,
            ))
        })
        .collect();
    let mut all = Vec::new();
    let mut non_2xx = 0;
    for task in tasks {
        let (latencies, errors) = task
            .await
            .map_err(|e| LoadError::Io(std::io::Error::other(e)))??;
        all.extend(latencies);
        non_2xx += errors;
    }
    all.sort_unstable();
    let pick = |q: f64| crate::replay::percentile(&all, q);
    Ok(LoadReport {
        requests: all.len() as u64,
        non_2xx,
        requests_per_second: all.len() as f64 / options.duration.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    })
}
