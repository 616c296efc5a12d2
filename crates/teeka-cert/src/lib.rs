//! Teeka's printable documents. Today: the appointment slip, as a small PDF written by hand
//! with the standard Helvetica fonts (nothing to embed, a few kilobytes, microseconds to make).
//! Certificates, with bundled fonts for Devanagari and a QR code, will live here too.
#![forbid(unsafe_code)]

pub mod pdf;
pub mod slip;

pub use slip::{AppointmentSlip, SlipPerson, render_slip};
