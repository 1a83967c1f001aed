//! OWASP CRS v4 SecLang engine and the shared HTTP request model.
//!
//! **Status: empty.** This crate has no functionality yet; it exists so the
//! workspace has its final layout. Nothing here pretends to work.
#![deny(missing_docs)]
