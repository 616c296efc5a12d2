//! Replays a fixed list of distinct requests (POSTs with bodies and headers) over N keep-alive
//! connections, each connection taking the next request as soon as its last answer is read,
//! until the list is done. For work that cannot be repeated, such as bookings: every booking
//! in the list is a different person.

use crate::LoadError;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// One request to replay.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Headers besides `Host`.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

/// What a replay measured.
#[derive(Debug, Clone, Copy)]
pub struct ReplayReport {
    /// Requests answered.
    pub requests: u64,
    /// Answers whose status was not 2xx.
    pub non_2xx: u64,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Requests per second over `elapsed`.
    pub requests_per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// Percentiles of sorted latencies in microseconds.
pub(crate) fn percentile(sorted: &[u32], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Duration::from_micros(u64::from(sorted[idx]))
}

async fn one_connection(
    addr: SocketAddr,
    requests: Arc<Vec<PreparedRequest>>,
    next: Arc<AtomicUsize>,
) -> Result<(Vec<u32>, u64), LoadError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let host = addr.to_string();
    let (mut latencies, mut non_2xx) = (Vec::new(), 0);
    while let Some(r) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
        let mut builder = Request::builder()
            .method(r.method.clone())
            .uri(r.path.as_str())
            .header(http::header::HOST, host.as_str());
        for (name, value) in &r.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder.body(Full::new(r.body.clone()))?;
        let started = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        if !ok {
            non_2xx += 1;
        }
    }
    driver.abort();
    Ok((latencies, non_2xx))
}

/// Sends every request in `requests` once, over `connections` connections.
pub async fn replay(
    addr: SocketAddr,
    requests: Vec<PreparedRequest>,
    connections: usize,
) -> Result<ReplayReport, LoadError> {
    if requests.is_empty() {
        return Err(LoadError::NoPaths);
    }
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections.max(1))
        .map(|_| tokio::spawn(one_connection(addr, requests.clone(), next.clone())))
        .collect();
    let (mut all, mut non_2xx) = (Vec::new(), 0);
    for task in tasks {
        let (latencies, errors) = task
            .await
            .map_err(|e| LoadError::Io(std::io::Error::other(e)))??;
        all.extend(latencies);
        non_2xx += errors;
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    Ok(ReplayReport {
        requests: all.len() as u64,
        non_2xx,
        elapsed,
        requests_per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    })
}
