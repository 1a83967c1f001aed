//! An open-loop, fixed-rate HTTP/1.1 load generator for
//! `benches/proxy-bench.sh`: sends `--rate` requests per second for
//! `--duration` seconds, cycling through the request mix of
//! `benches/proxy-mix.tsv`, and prints latency percentiles and status
//! counts on one line.
//!
//! Open loop: request *i* is due at `start + i / rate` whatever happened
//! to the earlier ones, and its latency is measured from that due time,
//! not from when it was actually sent. A stalled target therefore shows
//! its stall in every request that was due during it (no coordinated
//! omission), as wrk2 does. A pacing thread sleeps until each due time and
//! hands the request to a tokio runtime; the lag between the due time and
//! the hand-off is reported too (`lag_p99_us`), so a generator that
//! cannot keep up is visible.
//!
//! ```text
//! cargo run --release -p wafio-proxy --example rate_load -- \
//!     --url http://127.0.0.1:18081 --mix benches/proxy-mix.tsv --rate 1000 --duration 10
//! ```
//!
//! Output (one line, then the process exits 0; 2 on bad arguments or mix):
//!
//! ```text
//! RATE rate=1000 duration_s=10 sent=10000 done=10000 p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=..
//!      s2xx=.. s403=.. sother=.. errors=.. benign_not_2xx=.. attack_not_403=.. lag_p99_us=..
//! ```
//!
//! `benign_not_2xx` counts benign requests of the mix that did not get a
//! 2xx answer (blocked or failed), `attack_not_403` attacks that were not
//! refused with 403. Requests due in the first `--warmup` seconds are sent
//! but not counted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Fixed-rate load on one HTTP/1.1 target with the bench request mix.
#[derive(Debug, Parser)]
struct Args {
    /// Target base URL, e.g. http://127.0.0.1:18081 (the mix's paths are appended).
    #[arg(long)]
    url: String,
    /// The request mix (benches/proxy-mix.tsv).
    #[arg(long)]
    mix: PathBuf,
    /// Requests per second (1..=100000).
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds of measured load (1..=600).
    #[arg(long, default_value_t = 10)]
    duration: u32,
    /// Seconds of load sent before the measured part (0..=60).
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// A request not answered in this many milliseconds counts as an error.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
}

/// One request of the mix.
struct MixRequest {
    attack: bool,
    method: Method,
    path: String,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

/// What happened to one measured request.
struct Outcome {
    attack: bool,
    /// From the due time to the end of the response body.
    latency: Duration,
    /// From the due time to the hand-off to the runtime.
    lag: Duration,
    /// The status, or `None` for a connection error or timeout.
    status: Option<u16>,
}

const MAX_MIX_LINES: usize = 10_000;
const MAX_BODY: usize = 1 << 20;

fn load_mix(path: &PathBuf) -> Result<Vec<MixRequest>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |what: &str| format!("{}:{}: {what}", path.display(), n + 1);
        let f: Vec<&str> = line.split('\t').collect();
        let [weight, kind, method, target, ctype, body] = f[..] else {
            return Err(at("expected 6 tab-separated fields"));
        };
        let weight: usize = weight
            .parse()
            .ok()
            .filter(|w| (1..=1000).contains(w))
            .ok_or_else(|| at("weight is not 1..=1000"))?;
        let attack = match kind {
            "attack" => true,
            "benign" => false,
            _ => return Err(at("kind is neither benign nor attack")),
        };
        let method = Method::from_bytes(method.as_bytes()).map_err(|_| at("bad method"))?;
        if !target.starts_with('/') {
            return Err(at("path does not start with /"));
        }
        let content_type = match ctype {
            "-" => None,
            c => Some(HeaderValue::from_str(c).map_err(|_| at("bad Content-Type"))?),
        };
        let body = match body {
            "-" => Bytes::new(),
            b if b.len() > MAX_BODY => return Err(at("body over 1 MiB")),
            b => Bytes::copy_from_slice(b.as_bytes()),
        };
        for _ in 0..weight {
            out.push(MixRequest {
                attack,
                method: method.clone(),
                path: target.to_string(),
                content_type: content_type.clone(),
                body: body.clone(),
            });
        }
        if out.len() > MAX_MIX_LINES {
            return Err(at("more than 10000 requests per cycle"));
        }
    }
    if out.is_empty() {
        return Err(format!("{}: no requests", path.display()));
    }
    // The same order as benches/proxy-mix.lua: a stride coprime with the
    // cycle length spreads the attacks.
    let len = out.len();
    let mut stride = 7;
    while len % stride == 0 {
        stride += 2;
    }
    let mut slots: Vec<Option<MixRequest>> = out.into_iter().map(Some).collect();
    Ok((0..len)
        .filter_map(|i| slots[(i * stride) % len].take())
        .collect())
}

fn percentile(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_micros()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rate_load: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<String, String> {
    if !(1..=100_000).contains(&args.rate) {
        return Err(format!("--rate {} is not 1..=100000", args.rate));
    }
    if !(1..=600).contains(&args.duration) {
        return Err(format!("--duration {} is not 1..=600", args.duration));
    }
    if args.warmup > 60 {
        return Err(format!("--warmup {} is over 60", args.warmup));
    }
    let base = args.url.trim_end_matches('/').to_string();
    if !base.starts_with("http://") {
        return Err(format!("--url {base}: only http:// targets"));
    }
    let mix = load_mix(&args.mix)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let rate = u64::from(args.rate);
    let warm = rate * u64::from(args.warmup);
    let total = warm + rate * u64::from(args.duration);
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant, Instant)>();
    let start = Instant::now() + Duration::from_millis(50);
    // The pacer: one due time per request, slept to on its own thread so
    // the runtime's timer granularity (1 ms) does not shape the load.
    let pacer = std::thread::spawn(move || {
        for i in 0..total {
            let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send((i, due, Instant::now())).is_err() {
                return;
            }
        }
    });
    let timeout = Duration::from_millis(args.timeout_ms);
    let outcomes = runtime.block_on(async move {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(connector);
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
        while let Some((i, due, handed)) = due_rx.recv().await {
            let m = &mix[(i % mix.len() as u64) as usize];
            let mut req = Request::builder()
                .method(m.method.clone())
                .uri(format!("{base}{}", m.path))
                .header("host", "shop.example")
                .header(
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                )
                .header(
                    "accept",
                    "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
                )
                .header("accept-language", "en-US,en;q=0.5")
                .header("cookie", "session=0123456789abcdef; theme=dark");
            if let Some(ct) = &m.content_type {
                req = req.header("content-type", ct.clone());
            }
            let Ok(req) = req.body(Full::new(m.body.clone())) else {
                continue;
            };
            let measured = i >= warm;
            let attack = m.attack;
            let client = client.clone();
            let done_tx = done_tx.clone();
            tokio::spawn(async move {
                let sent = async {
                    let resp = client.request(req).await.ok()?;
                    let status = resp.status().as_u16();
                    resp.into_body().collect().await.ok()?;
                    Some(status)
                };
                let status = tokio::time::timeout(timeout, sent).await.ok().flatten();
                if measured {
                    let _ = done_tx.send(Outcome {
                        attack,
                        latency: due.elapsed(),
                        lag: handed.saturating_duration_since(due),
                        status,
                    });
                }
            });
        }
        drop(done_tx);
        let mut out = Vec::new();
        while let Some(o) = done_rx.recv().await {
            out.push(o);
        }
        out
    });
    let _ = pacer.join();
    let sent = total - warm;
    let mut lat: Vec<Duration> = outcomes
        .iter()
        .filter(|o| o.status.is_some())
        .map(|o| o.latency)
        .collect();
    lat.sort_unstable();
    let mut lag: Vec<Duration> = outcomes.iter().map(|o| o.lag).collect();
    lag.sort_unstable();
    let count = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let s2xx = count(&|o| o.status.is_some_and(|s| (200..300).contains(&s)));
    let s403 = count(&|o| o.status == Some(403));
    let errors = count(&|o| o.status.is_none());
    let sother = outcomes.len() - s2xx - s403 - errors;
    let benign_bad = count(&|o| !o.attack && !o.status.is_some_and(|s| (200..300).contains(&s)));
    let attack_bad = count(&|o| o.attack && o.status != Some(403));
    Ok(format!(
        "RATE rate={} duration_s={} sent={sent} done={} p50_us={} p90_us={} p99_us={} p999_us={} max_us={} \
         s2xx={s2xx} s403={s403} sother={sother} errors={errors} benign_not_2xx={benign_bad} \
         attack_not_403={attack_bad} lag_p99_us={}",
        args.rate,
        args.duration,
        lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        percentile(&lat, 99.9),
        lat.last().map_or(0, |d| d.as_micros()),
        percentile(&lag, 99.0),
    ))
}
