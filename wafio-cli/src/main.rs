//! `wafio`: the command-line face of the WAFio libraries. Argument parsing
//! and printing only; all logic lives in the library crates.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod crs;
mod proxy;
mod runtime;
mod scan;
mod xdp;

/// WAFio: a self-hosted web application firewall.
#[derive(Debug, Parser)]
#[command(name = "wafio", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan HTTP requests offline with the WAF and print verdicts.
    ///
    /// Exit status: 0 when nothing is blocked, 1 when something is, 2 when
    /// an input could not be read or parsed (the rest of the batch still runs).
    Scan(scan::ScanArgs),
    /// Check a CRS directory or run its regression tests in-process.
    Crs {
        #[command(subcommand)]
        cmd: crs::CrsCommand,
    },
    /// Print the compiler stages (ast, ir, plan) of a rule file.
    Debug {
        #[command(subcommand)]
        cmd: crs::DebugCommand,
    },
    /// Run the WAF as a reverse proxy in front of an upstream.
    Proxy(proxy::ProxyArgs),
    /// Watch processes, files and connections with the eBPF runtime monitor.
    Runtime {
        #[command(subcommand)]
        cmd: runtime::RuntimeCommand,
    },
    /// Manage the L3/L4 XDP/TC firewall (root; works on the pinned firewall).
    Xdp {
        #[command(subcommand)]
        cmd: xdp::XdpCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Crs { cmd } => crs::run(cmd),
        Command::Debug { cmd } => crs::debug(cmd),
        Command::Proxy(args) => proxy::run(args),
        Command::Runtime { cmd } => runtime::run(cmd),
        Command::Xdp { cmd } => xdp::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("wafio: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
