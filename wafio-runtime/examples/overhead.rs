// The runtime overhead benchmark, buildable from this crate:
// `cargo run --release -p wafio-runtime --example overhead`.
// Source: benches/benches/runtime.rs (the workspace bench target).
include!("../../benches/benches/runtime.rs");
