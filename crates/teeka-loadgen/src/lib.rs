//! A small HTTP/1.1 client and a closed-loop load generator over loopback, shared by Teeka's
//! integration tests (which talk to a real server) and its benchmarks (which compare Teeka with
//! a bare baseline in the same run).
#![forbid(unsafe_code)]

pub mod client;
pub mod load;
pub mod replay;

pub use client::{HttpResponse, request};
pub use load::{LoadOptions, LoadReport, run_load};
pub use replay::{PreparedRequest, ReplayReport, replay};

/// Why a request or a load run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Connecting or talking to the server failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP exchange failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built.
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    /// Nothing to request.
    #[error("no paths to request")]
    NoPaths,
}
