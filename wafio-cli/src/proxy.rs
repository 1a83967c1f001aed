//! `wafio proxy`: the WAF as a reverse proxy. All logic lives in
//! `wafio_proxy::cli` (shared with the `wafio-proxy` binary); this module
//! only names the subcommand's arguments.

use std::process::ExitCode;

/// Arguments of `wafio proxy` (see `wafio proxy --help`).
pub use wafio_proxy::cli::ProxyArgs;

/// Runs the proxy until SIGINT/SIGTERM; SIGHUP reloads `--config`.
pub fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    wafio_proxy::cli::run(args)
}
