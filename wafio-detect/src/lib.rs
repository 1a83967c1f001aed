//! Eight semantic, parser-based attack detectors for HTTP values.
//!
//! Each value is decoded once (URL, HTML entities, JS escapes, overlong
//! UTF-8, base64; see [`Input`]) and every enabled [`Detector`] reads the
//! decoded views. Detectors reason about the syntax a value would create in
//! its target language (SQL, HTML/JS, shell, paths, URLs, Java EL/JNDI, PHP,
//! Python templates) rather than matching keyword lists.
//!
//! ```
//! use wafio_detect::{DetectorKind, DetectorSet};
//!
//! let set = DetectorSet::default();
//! let findings = set.scan(b"1' OR '1'='1");
//! assert!(findings.iter().any(|f| f.detector == DetectorKind::Sqli));
//! assert!(set.scan(b"O'Brien").is_empty());
//! ```
//!
//! # Limits
//! - A value is inspected up to [`Limits::max_value_len`] bytes (64 KiB by
//!   default); [`Input::truncated`] says when it was cut.
//! - Decoding runs at most [`Limits::max_decode_depth`] rounds (4).
//! - Every detector runs in time linear in the inspected length, with no
//!   recursion over attacker-controlled nesting, and allocates nothing on a
//!   clean value.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod classes;
mod decode;
mod finding;
mod needles;
mod set;

mod cmdi;
mod java;
mod lfi;
mod php;
mod python;
mod sqli;
mod ssrf;
mod xss;

/// A byte lookup table, built at compile time: `true` for each byte of
/// `bytes` and for every byte from `high_from` up (256: none), as the
/// detectors' "can this byte matter" filters need.
pub(crate) const fn byte_table(bytes: &[u8], high_from: usize) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    let mut c = high_from;
    while c < 256 {
        t[c] = true;
        c += 1;
    }
    t
}

/// `t` with `bit` added for every byte that is (`member`) or is not
/// (`!member`) in `set`: how a detector's byte-class lane (see
/// [`classes`]) takes in one of its byte tables.
pub(crate) const fn class_bits(
    mut t: [u8; 256],
    set: &[bool; 256],
    member: bool,
    bit: u8,
) -> [u8; 256] {
    let mut c = 0;
    while c < 256 {
        if set[c] == member {
            t[c] |= bit;
        }
        c += 1;
    }
    t
}

pub use crate::decode::{Input, Limits, View, ViewKind};
pub use crate::finding::{DetectorKind, Finding, Hit, MAX_EVIDENCE_LEN};
pub use crate::set::{Detector, DetectorSet, DetectorSetBuilder, BLOCKING};

pub use crate::cmdi::CmdiDetector;
pub use crate::java::JavaDetector;
pub use crate::lfi::LfiDetector;
pub use crate::php::PhpDetector;
pub use crate::python::PythonDetector;
pub use crate::sqli::SqliDetector;
pub use crate::ssrf::SsrfDetector;
pub use crate::xss::XssDetector;

/// The default-configured detector of a kind.
pub fn detector_for(kind: DetectorKind) -> Box<dyn Detector> {
    match kind {
        DetectorKind::Sqli => Box::new(SqliDetector::default()),
        DetectorKind::Xss => Box::new(XssDetector::default()),
        DetectorKind::Cmdi => Box::new(CmdiDetector::default()),
        DetectorKind::Lfi => Box::new(LfiDetector::default()),
        DetectorKind::Ssrf => Box::new(SsrfDetector::default()),
        DetectorKind::Java => Box::new(JavaDetector::default()),
        DetectorKind::Php => Box::new(PhpDetector::default()),
        DetectorKind::Python => Box::new(PythonDetector::default()),
    }
}
