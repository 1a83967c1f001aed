//! Command-line front end shared by the `wafio-proxy` binary and
//! `wafio proxy`: arguments, configuration loading, signals, reloads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use crate::config::{ProxyConfig, TlsConfig};
use crate::decision::Mode;
use crate::proxy::{Proxy, ProxyHandle};

/// Arguments of `wafio-proxy` / `wafio proxy`. Each flag overrides the
/// configuration file's key of the same meaning; with no file the
/// defaults of [`ProxyConfig`] apply.
#[derive(Clone, Debug, clap::Args)]
pub struct ProxyArgs {
    /// Listen address.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Upstream base URL, e.g. http://127.0.0.1:3000.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// OWASP CRS directory (crs-setup.conf[.example] and rules/).
    #[arg(long = "crs", value_name = "DIR")]
    pub crs: Option<PathBuf>,
    /// CRS paranoia level (1-4).
    #[arg(long, value_name = "N")]
    pub paranoia: Option<u8>,
    /// block, detect or off.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<ModeArg>,
    /// TOML configuration file; reloaded on SIGHUP and when it changes.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Admin listener for /metrics and /healthz (default: on --listen).
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<SocketAddr>,
    /// Request body bytes buffered and inspected.
    #[arg(long, value_name = "BYTES")]
    pub body_limit: Option<usize>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Audit log: `-` for stdout or a file.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<String>,
    /// Runtime worker threads (1-1024; default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,
    /// Check the configuration (and load the CRS) without listening, then exit.
    #[arg(long)]
    pub check: bool,
}

/// `--mode` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    /// Block at or above the threshold.
    Block,
    /// Log only.
    Detect,
    /// No inspection.
    Off,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Block => Mode::Block,
            ModeArg::Detect => Mode::Detect,
            ModeArg::Off => Mode::Off,
        }
    }
}

impl ProxyArgs {
    /// The configuration: the file (if any), then the flags on top.
    pub fn config(&self) -> anyhow::Result<ProxyConfig> {
        let mut c = match &self.config {
            Some(path) => ProxyConfig::load(path)?,
            None => ProxyConfig::default(),
        };
        self.apply(&mut c);
        c.validate()?;
        Ok(c)
    }

    fn apply(&self, c: &mut ProxyConfig) {
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = &self.upstream {
            c.upstream = v.clone();
        }
        if let Some(v) = &self.crs {
            c.waf.crs_dir = Some(v.clone());
        }
        if let Some(v) = self.paranoia {
            c.waf.paranoia = v;
        }
        if let Some(v) = self.mode {
            c.waf.mode = v.into();
        }
        if let Some(v) = self.admin {
            c.admin_listen = Some(v);
        }
        if let Some(v) = self.body_limit {
            c.body_limit = v;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            c.tls = Some(TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        if let Some(v) = &self.audit_log {
            c.audit_log = v.clone();
        }
    }
}

/// Runs the proxy until SIGINT or SIGTERM. SIGHUP, or a change of the
/// configuration file's modification time (checked every 2 s), reloads it;
/// a refused reload is reported on stderr and the running configuration
/// stays.
pub fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    if args.check {
        config.waf.build()?;
        eprintln!("configuration ok");
        return Ok(ExitCode::SUCCESS);
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        runtime.worker_threads(usize::from(n));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let proxy = Proxy::bind(config.clone()).await?;
        let addr = proxy.local_addr()?;
        eprintln!(
            "wafio-proxy: listening on {}{addr}, upstream {}, mode {}, CRS {}, {} worker threads",
            if config.tls.is_some() {
                "https://"
            } else {
                "http://"
            },
            config.upstream,
            config.waf.mode,
            config
                .waf
                .crs_dir
                .as_ref()
                .map_or("off".to_string(), |d| format!(
                    "{} (PL{})",
                    d.display(),
                    config.waf.paranoia
                )),
            tokio::runtime::Handle::current().metrics().num_workers(),
        );
        let on = |b: bool| if b { "on" } else { "off" };
        let routes_limited = config
            .waf
            .routes
            .iter()
            .filter(|r| r.rate_limit.is_some())
            .count();
        eprintln!(
            "wafio-proxy: bot protection {}, rate limit {}{}, response inspection {}, \
             repeat offenders {}, trusted proxies {}, geo rules {}",
            on(config.waf.bot.enabled),
            if config.rate_limit.enabled {
                format!(
                    "{}/s burst {}",
                    config.rate_limit.requests_per_second, config.rate_limit.burst
                )
            } else {
                "off".to_string()
            },
            if routes_limited > 0 {
                format!(" (+{routes_limited} routes)")
            } else {
                String::new()
            },
            on(config.waf.response.enabled),
            match (&config.offenders.enabled, &config.offenders.xdp_iface) {
                (false, _) => "off".to_string(),
                (true, Some(iface)) => format!("to XDP on {iface}"),
                (true, None) => "audited only".to_string(),
            },
            config.trusted_proxies.len(),
            on(config.geo.is_set()),
        );
        if let Some(admin) = proxy.admin_addr() {
            eprintln!("wafio-proxy: admin (/metrics, /healthz) on http://{admin}");
        }
        let handle = proxy.handle();
        if args.config.is_some() {
            tokio::spawn(reload_loop(args.clone(), handle.clone()));
        }
        let server = tokio::spawn(proxy.serve());
        shutdown_signal().await;
        eprintln!("wafio-proxy: shutting down");
        handle.shutdown();
        let _ = server.await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

async fn reload_loop(args: ProxyArgs, handle: ProxyHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let Some(path) = args.config.clone() else {
        return;
    };
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut last = mtime(&path);
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        let by_signal = tokio::select! {
            _ = tick.tick() => false,
            Some(_) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        let now = mtime(&path);
        if !by_signal && now == last {
            continue;
        }
        last = now;
        let args = args.clone();
        let h = handle.clone();
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let config = args.config()?;
            h.reload(&config)?;
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => eprintln!("wafio-proxy: reloaded {}", path.display()),
            Ok(Err(e)) => {
                eprintln!("wafio-proxy: reload refused, keeping the running configuration: {e:#}")
            }
            Err(e) => eprintln!("wafio-proxy: reload failed: {e}"),
        }
    }
}
