//! Teeka's use cases, above storage and below HTTP: loading master data, generating the demo
//! country, administering facilities and session plans, and answering availability questions.
//! Each use case is one explicit store transaction (or a read); nothing here knows SQL or HTTP.
#![forbid(unsafe_code)]

pub mod access;
pub mod admin;
pub mod anomaly;
pub mod antibot;
pub mod availability;
pub mod booking;
pub mod certificates;
pub mod citizen;
pub mod clock;
pub mod demo;
pub mod desk;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod ledger_verify;
pub mod master;
pub mod outbox;
pub mod partner;
pub mod reports;
pub mod staff;
pub mod staff_admin;
pub mod vault;

pub use error::{AppError, Refusal};
