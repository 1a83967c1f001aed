// Runtime monitor overhead (harness = false; needs root and a BPF kernel).
//
// Measures, without and with the wafio-runtime monitor loaded:
//   * fork+exec of /bin/true N times (env WAFIO_BENCH_EXECS, default 2000;
//     the figure is 20000),
//   * M openat(O_WRONLY)+close of a file under a watched prefix, so every
//     call is an event (env WAFIO_BENCH_OPENS, default 100000; issue: 1000000),
//   * the same opens of /dev/null (not watched: filtered in the kernel).
// Reports the added time %, events/s delivered and lost, the agent's CPU
// time (its reader thread; kernel-side program time is part of the
// workload's time) and its resident memory.
//
// The workload runs in a child process (this binary re-executed with
// WAFIO_BENCH_WORKER set) because the monitor never reports its own process.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wafio_runtime::{Monitor, MonitorConfig, WatchPrefix};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn worker(spec: &str) {
    let mut it = spec.splitn(3, ':');
    let kind = it.next().unwrap_or_default();
    let n: u64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    match kind {
        "exec" => {
            for _ in 0..n {
                let _ = Command::new("/bin/true").status();
            }
        }
        "open" => {
            let path = it.next().unwrap_or("/tmp/wafio-bench-file");
            for _ in 0..n {
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path);
            }
        }
        _ => {}
    }
}

fn run_worker(spec: &str) -> Duration {
    let exe = std::env::current_exe().expect("current exe");
    let t = Instant::now();
    let st = Command::new(exe)
        .env("WAFIO_BENCH_WORKER", spec)
        .status()
        .expect("worker");
    assert!(st.success(), "worker failed: {st:?}");
    t.elapsed()
}

fn thread_cpu_secs() -> f64 {
    // utime + stime (fields 14, 15) in clock ticks; Linux USER_HZ is 100.
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Measured {
    name: &'static str,
    ops: u64,
    base: Duration,
    with: Duration,
    delivered: u64,
    lost: u64,
    agent_cpu: f64,
}

fn main() {
    if let Ok(spec) = std::env::var("WAFIO_BENCH_WORKER") {
        worker(&spec);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let execs = env_num("WAFIO_BENCH_EXECS", 2000);
    let opens = env_num("WAFIO_BENCH_OPENS", 100_000);
    let dir = std::env::temp_dir().join(format!("wafio-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("f");
    let prefix = format!("{}/", dir.display());
    let cases: [(&'static str, u64, String); 3] = [
        ("fork+exec /bin/true", execs, format!("exec:{execs}")),
        (
            "openat watched (event)",
            opens,
            format!("open:{opens}:{}", file.display()),
        ),
        ("openat unwatched", opens, format!("open:{opens}:/dev/null")),
    ];
    let mut results = Vec::new();
    for (name, ops, spec) in cases {
        let base = run_worker(&spec);
        let config = MonitorConfig {
            watch: vec![WatchPrefix::writes(&prefix)],
            ..Default::default()
        };
        let monitor = match Monitor::start(&config) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("runtime bench skipped: monitor cannot start: {e}");
                return;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let delivered = Arc::new(AtomicU64::new(0));
        let (s2, d2) = (Arc::clone(&stop), Arc::clone(&delivered));
        let reader = std::thread::spawn(move || {
            let mut m = monitor;
            let cpu0 = thread_cpu_secs();
            loop {
                let n = match m.poll(Duration::from_millis(50), usize::MAX) {
                    Ok(v) => v.len() as u64,
                    Err(_) => 0,
                };
                d2.fetch_add(n, Ordering::Relaxed);
                if s2.load(Ordering::Relaxed) && n == 0 {
                    break;
                }
            }
            let lost = m.lost().map(|l| l.total).unwrap_or(0);
            (lost, thread_cpu_secs() - cpu0)
        });
        let with = run_worker(&spec);
        stop.store(true, Ordering::Relaxed);
        let (lost, agent_cpu) = reader.join().expect("reader");
        results.push(Measured {
            name,
            ops,
            base,
            with,
            delivered: delivered.load(Ordering::Relaxed),
            lost,
            agent_cpu,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("wafio-runtime overhead (agent RSS {} KiB)", rss_kib());
    for r in results {
        let added = (r.with.as_secs_f64() / r.base.as_secs_f64() - 1.0) * 100.0;
        let secs = r.with.as_secs_f64();
        println!(
            "{:<24} n={:<8} base {:>8.3}s  monitored {:>8.3}s  added {:>6.1}%  \
             delivered {} ({:.0}/s)  lost {}  agent cpu {:.2}s",
            r.name,
            r.ops,
            r.base.as_secs_f64(),
            secs,
            added,
            r.delivered,
            r.delivered as f64 / secs,
            r.lost,
            r.agent_cpu
        );
    }
}
