//! Criterion benchmarks for the WAFio crates live in `benches/`; this
//! library holds only shared helpers for them (corpus loading).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
