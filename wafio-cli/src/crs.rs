//! `wafio crs …` and `wafio debug …`: the SecLang engine from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use wafio_crs::ast::{self, ParseOptions};
use wafio_crs::engine::Engine;
use wafio_crs::ftw::{self, EngineRunner, Outcome, Overrides, UPSTREAM_TEST_SETUP};

/// `wafio crs` subcommands.
#[derive(Debug, Subcommand)]
pub enum CrsCommand {
    /// Compile a CRS directory and report rule counts and compile time.
    Check {
        /// CRS directory (crs-setup.conf[.example] and rules/*.conf).
        dir: PathBuf,
    },
    /// Run go-ftw regression tests in-process against a CRS directory.
    Test(TestArgs),
}

/// Arguments of `wafio crs test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// CRS directory.
    #[arg(long)]
    rules: PathBuf,
    /// Directory of go-ftw YAML tests (walked recursively).
    #[arg(long)]
    tests: PathBuf,
    /// go-ftw override file (`test_overrides:`).
    #[arg(long = "override")]
    overrides: Option<PathBuf>,
    /// Run only this rule id or `<rule>-<test>`.
    #[arg(long)]
    only: Option<String>,
}

/// `wafio debug` subcommands: print each compiler stage of a rule file.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// The parsed directives.
    Ast {
        /// Rule file.
        file: PathBuf,
    },
    /// The typed rules after lowering.
    Ir {
        /// Rule file.
        file: PathBuf,
    },
    /// The per-phase evaluation plan of the compiled engine.
    Plan {
        /// Rule file.
        file: PathBuf,
    },
}

/// Runs `wafio crs …`.
pub fn run(cmd: CrsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CrsCommand::Check { dir } => {
            let engine = Engine::builder().crs_dir(&dir).build()?;
            let s = engine.stats();
            println!(
                "{}: {} files compiled in {:.1} ms",
                dir.display(),
                s.files,
                s.compile_time.as_secs_f64() * 1e3
            );
            for p in 1..=5 {
                println!("  phase {p}: {} rules", s.rules_per_phase[p]);
            }
            println!(
                "  phase 1 prelude: the first {} plan items read nothing of the request and run once, at build",
                s.prelude_items
            );
            println!("  no paranoia tag: {} rules", s.rules_per_paranoia[0]);
            for pl in 1..=4 {
                println!("  paranoia level {pl}: {} rules", s.rules_per_paranoia[pl]);
            }
            Ok(ExitCode::SUCCESS)
        }
        CrsCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let engine = Engine::builder()
        .rules_before(UPSTREAM_TEST_SETUP)
        .crs_dir(&args.rules)
        .build()?;
    let files = ftw::load_dir(&args.tests)?;
    let overrides = match &args.overrides {
        Some(p) => Overrides::load(p)?,
        None => Overrides::default(),
    };
    let report = ftw::run(
        &files,
        &overrides,
        &EngineRunner::new(&engine),
        args.only.as_deref(),
    );
    for (name, outcome) in &report.results {
        match outcome {
            Outcome::Failed(why) => println!("FAIL {name}: {why}"),
            Outcome::Skipped(why) => println!("SKIP {name}: {why}"),
            Outcome::Passed => {}
        }
    }
    println!("{report}");
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse(file: &Path) -> anyhow::Result<ast::Config> {
    ast::parse_file(file, &ParseOptions::default()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs `wafio debug …`.
pub fn debug(cmd: DebugCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DebugCommand::Ast { file } => print!("{}", parse(&file)?.debug_ast()),
        DebugCommand::Ir { file } => {
            let config = parse(&file)?;
            let set = ast::ir::lower(&config, &ast::ir::LowerOptions::default())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{}", set.debug_ir());
        }
        DebugCommand::Plan { file } => {
            let engine = Engine::builder()
                .file(&file)
                .build()
                .with_context(|| format!("compiling {}", file.display()))?;
            print!("{}", engine.debug_plan());
        }
    }
    Ok(ExitCode::SUCCESS)
}
