//! Compiles the CLI module `wafio-cli/src/runtime.rs` against this crate and
//! checks its argument parsing (no root needed).

#[path = "../../wafio-cli/src/runtime.rs"]
mod runtime;

use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: runtime::RuntimeCommand,
}

#[test]
fn parses_watch_arguments() {
    let cli = Cli::try_parse_from([
        "wafio",
        "watch",
        "--policy",
        "p.toml",
        "--json",
        "--duration",
        "5",
        "--watch",
        "/etc/",
    ])
    .expect("parse");
    let runtime::RuntimeCommand::Watch(w) = cli.cmd else {
        panic!("not watch")
    };
    assert_eq!(w.duration, Some(5));
    assert_eq!(w.policy.as_deref(), Some(std::path::Path::new("p.toml")));
    assert_eq!(w.watch, vec!["/etc/".to_string()]);
    assert!(Cli::try_parse_from(["wafio", "watch", "--duration", "x"]).is_err());
}

#[test]
fn check_policy_reports_rule_and_field() {
    let dir = std::env::temp_dir().join(format!("wafio-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "[[rule]]\nname = \"r\"\nevent = \"net\"\n[rule.match]\nport = [70000]\n",
    )
    .unwrap();
    let err = runtime::run(runtime::RuntimeCommand::CheckPolicy { file: f.clone() }).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("rule \"r\"") && msg.contains("match.port"),
        "{msg}"
    );
    std::fs::write(&f, wafio_runtime::BUILTIN).unwrap();
    assert!(runtime::run(runtime::RuntimeCommand::CheckPolicy { file: f }).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_runs_for_its_duration_and_stops_cleanly() {
    let require = std::env::var("WAFIO_REQUIRE_KERNEL").as_deref() == Ok("1");
    if !nix::unistd::geteuid().is_root() {
        assert!(!require, "WAFIO_REQUIRE_KERNEL=1 but not root");
        eprintln!("SKIPPED: not root");
        return;
    }
    let cli = Cli::try_parse_from(["wafio", "watch", "--json", "--duration", "1"]).unwrap();
    let t = std::time::Instant::now();
    let code = runtime::run(cli.cmd).expect("watch runs");
    let took = t.elapsed();
    assert!(took >= std::time::Duration::from_secs(1), "{took:?}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    // 0 (no alert) or 1 (an alert fired on this busy machine): both are clean stops.
    let _ = code;
}
