//! Stand-alone build of the `wafio xdp` command (the same source as
//! `wafio-cli/src/xdp.rs`), for trying the firewall without the whole CLI:
//! `cargo run -p wafio-xdp --example xdp_cli -- status --iface eth0`.

use std::process::ExitCode;

use clap::Parser;

#[path = "../../wafio-cli/src/xdp.rs"]
mod xdp;

#[derive(Parser)]
#[command(name = "wafio-xdp-cli", about = "Manage the WAFio XDP/TC firewall")]
struct Cli {
    #[command(subcommand)]
    cmd: xdp::XdpCommand,
}

fn main() -> ExitCode {
    match xdp::run(Cli::parse().cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
