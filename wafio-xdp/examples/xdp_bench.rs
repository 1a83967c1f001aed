// The `benches/benches/xdp.rs` benchmark built as an example of this crate,
// so it compiles (and runs) with the crate alone:
// `cargo run --release -p wafio-xdp --example xdp_bench`.
include!("../../benches/benches/xdp.rs");
