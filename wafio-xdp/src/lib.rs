//! L3/L4 eBPF (XDP/TC) firewall.
//!
//! **Status: empty.** This crate has no functionality yet; it exists so the
//! workspace has its final layout. Nothing here pretends to work.
#![deny(missing_docs)]
