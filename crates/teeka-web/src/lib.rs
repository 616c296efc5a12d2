//! Teeka's HTTP face: the axum routers per audience (today the public CoWIN v2 API and the
//! operations endpoints), the middleware every request passes through, the error shapes, and
//! the public availability cache. Everything below this crate is HTTP-free.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cache;
pub mod certificates;
pub mod config;
pub mod cowin;
pub mod desk;
pub mod error;
pub mod ledger;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod partner;
pub mod ratelimit;
pub mod router;
pub mod staff;
pub mod state;

pub use config::WebConfig;
pub use router::build_router;
pub use state::{AppState, UseCaseSettings};

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
