//! Teeka's documents: the appointment slip (a small PDF written by hand with the standard
//! Helvetica fonts), and vaccination certificates (a bilingual PDF in bundled fonts, `typeset`) in three formats (a W3C Verifiable Credential
//! in CoWIN's data model, an EU Digital COVID Certificate, a SMART Health Card) with the
//! universal verifier that checks those and CoWIN/DIVOC's own offline.
#![forbid(unsafe_code)]

pub mod certificate;
pub mod dcc;
pub mod ld;
pub mod pdf;
pub mod qr_image;
pub mod shc;
pub mod slip;
pub mod trust;
pub mod typeset;
pub mod verify;

pub use slip::{AppointmentSlip, SlipPerson, render_slip};
