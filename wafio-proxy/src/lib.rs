//! The WAF: detectors + CRS + decision engine, as a library and a reverse proxy.
//!
//! **Status: empty.** This crate has no functionality yet; it exists so the
//! workspace has its final layout. Nothing here pretends to work.
#![deny(missing_docs)]
