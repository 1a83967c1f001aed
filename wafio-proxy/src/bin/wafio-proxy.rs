//! `wafio-proxy`: the WAF as a reverse proxy sidecar.
//!
//! ```text
//! wafio-proxy --listen 127.0.0.1:8080 --upstream http://127.0.0.1:3000 [--crs DIR] [--mode block|detect] [--config FILE]
//! ```

use std::process::ExitCode;

use clap::Parser;

// Per-request parsing allocates many small buffers on every worker thread;
// mimalloc's thread-local free lists serve them without glibc's arena locks
// and consolidation passes.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The WAF as a reverse proxy in front of one HTTP upstream.
#[derive(Debug, Parser)]
#[command(name = "wafio-proxy", version)]
struct Cli {
    #[command(flatten)]
    args: wafio_proxy::cli::ProxyArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match wafio_proxy::cli::run(cli.args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("wafio-proxy: {err:#}");
            ExitCode::FAILURE
        }
    }
}
