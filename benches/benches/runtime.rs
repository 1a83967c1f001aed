// Runtime monitor overhead (harness = false; needs root and a BPF kernel).
//
// Measures, without and with the wafio-runtime monitor loaded:
//   * fork+exec of /bin/true N times (env WAFIO_BENCH_EXECS, default 2000;
//     the figure is 20000),
//   * M openat(O_WRONLY|O_CREAT)+close of a file under a watched prefix, so
//     every call is an event (env WAFIO_BENCH_OPENS, default 100000; issue:
//     1000000),
//   * the same opens of /dev/null (not watched: filtered in the kernel),
//   * M openat(O_RDONLY)+close of /dev/null (the commonest open of all).
// The monitor watches what the agent watches by default (default_watch():
// writes under /etc, /bin, /usr, ..., reads of /etc/shadow and the like,
// so every open has its path checked in the kernel) plus the bench's
// directory.
// Each case runs WAFIO_BENCH_ROUNDS times (default 3), alternating a bare
// run and a monitored run; the minimum of each is kept, which filters out
// the noise of other work on the machine.
//
// The figure that counts is CPU time (user + system, the workload's own plus
// its children's): the kernel programs run in the workload's context, so
// their cost is system time of the workload, and CPU time does not move when
// other processes compete for the cores. Wall time is printed too.
// Also reported: events/s delivered and lost, the agent's reader CPU time
// (kernel-side program time is part of the workload's time) and its
// resident memory. Then, per case, one more monitored run with the kernel's
// BPF run-time statistics on gives the time spent inside wafio's programs
// per operation: a figure other load on the machine hardly moves (the CPU
// time above varies by +-10% between runs on a shared VM), but without the
// tracepoint's own cost.
//
// The workload runs in a child process (this binary re-executed with
// WAFIO_BENCH_WORKER set) because the monitor never reports its own process.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wafio_runtime::{default_watch, enable_run_time_stats, Monitor, MonitorConfig, WatchPrefix};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds of this process so far: its own (nanosecond schedstat of the
/// single worker thread) plus its reaped children's (clock ticks, USER_HZ 100).
fn own_cpu_secs() -> f64 {
    let own_ns: u64 = std::fs::read_to_string("/proc/self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // cutime, cstime are fields 16 and 17 (indexes 13, 14 after the comm).
    let child_ticks: u64 = f.get(13).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(14).and_then(|v| v.parse().ok()).unwrap_or(0);
    own_ns as f64 / 1e9 + child_ticks as f64 / 100.0
}

fn worker(spec: &str) {
    let mut it = spec.splitn(3, ':');
    let kind = it.next().unwrap_or_default();
    let n: u64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let cpu0 = own_cpu_secs();
    match kind {
        "exec" => {
            for _ in 0..n {
                let _ = Command::new("/bin/true").status();
            }
        }
        "open" | "read" => {
            let path = it.next().unwrap_or("/tmp/wafio-bench-file");
            let write = kind == "open";
            for _ in 0..n {
                let _ = std::fs::OpenOptions::new()
                    .read(!write)
                    .write(write)
                    .create(write)
                    .truncate(false)
                    .open(path);
            }
        }
        _ => {}
    }
    println!("cpu {}", own_cpu_secs() - cpu0);
}

/// (wall, cpu) of one worker run.
fn run_worker(spec: &str) -> (Duration, f64) {
    let exe = std::env::current_exe().expect("current exe");
    let t = Instant::now();
    let out = Command::new(exe)
        .env("WAFIO_BENCH_WORKER", spec)
        .output()
        .expect("worker");
    let wall = t.elapsed();
    assert!(out.status.success(), "worker failed: {:?}", out.status);
    let cpu = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("cpu ")?.trim().parse().ok())
        .expect("worker cpu line");
    (wall, cpu)
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

#[derive(Default)]
struct Measured {
    name: &'static str,
    ops: u64,
    base_wall: Option<Duration>,
    with_wall: Option<Duration>,
    base_cpu: Option<f64>,
    with_cpu: Option<f64>,
    with_wall_total: Duration,
    /// Kernel program time and runs in the statistics run.
    kernel: Option<(Duration, u64)>,
    delivered: u64,
    lost: u64,
    agent_cpu: f64,
}

fn min_opt<T: PartialOrd + Copy>(a: Option<T>, b: T) -> Option<T> {
    match a {
        Some(x) if x <= b => Some(x),
        _ => Some(b),
    }
}

/// Kernel program time summed over the monitor's programs, and their runs.
fn kernel_time(m: &Monitor) -> (Duration, u64) {
    m.program_stats()
        .iter()
        .fold((Duration::ZERO, 0), |(t, n), p| {
            (t + p.run_time, n + p.run_count)
        })
}

/// One monitored run: (wall, cpu, delivered, lost, agent cpu, kernel program
/// time and runs during the workload), or None when the monitor cannot
/// start. The kernel time is counted only with `stats` (the kernel's run-time
/// statistics, which add two clock reads per program run, so the runs whose
/// CPU time is compared go without them).
fn monitored_run(prefix: &str, spec: &str, stats: bool) -> Option<MonitoredRun> {
    let _stats = if stats {
        match enable_run_time_stats() {
            Ok(fd) => Some(fd),
            Err(e) => {
                eprintln!("kernel program time not measured: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut watch = default_watch();
    watch.push(WatchPrefix::writes(prefix));
    let config = MonitorConfig {
        watch,
        ..Default::default()
    };
    let monitor = match Monitor::start(&config) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("runtime bench skipped: monitor cannot start: {e}");
            return None;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let (s2, d2) = (Arc::clone(&stop), Arc::clone(&delivered));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut m = monitor;
        let cpu0 = thread_cpu_secs();
        let k0 = kernel_time(&m);
        let _ = ready_tx.send(());
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
        let k1 = kernel_time(&m);
        let lost = m.lost().map(|l| l.total).unwrap_or(0);
        (lost, thread_cpu_secs() - cpu0, (k1.0 - k0.0, k1.1 - k0.1))
    });
    let _ = ready_rx.recv();
    let (wall, cpu) = run_worker(spec);
    stop.store(true, Ordering::Relaxed);
    let (lost, agent_cpu, kernel) = reader.join().expect("reader");
    Some(MonitoredRun {
        wall,
        cpu,
        delivered: delivered.load(Ordering::Relaxed),
        lost,
        agent_cpu,
        kernel,
    })
}

struct MonitoredRun {
    wall: Duration,
    cpu: f64,
    delivered: u64,
    lost: u64,
    agent_cpu: f64,
    kernel: (Duration, u64),
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
    let rounds = env_num("WAFIO_BENCH_ROUNDS", 3).max(1);
    let dir = std::env::temp_dir().join(format!("wafio-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("f");
    let prefix = format!("{}/", dir.display());
    let cases: [(&'static str, u64, String); 4] = [
        ("fork+exec /bin/true", execs, format!("exec:{execs}")),
        (
            "openat watched (event)",
            opens,
            format!("open:{opens}:{}", file.display()),
        ),
        ("openat unwatched", opens, format!("open:{opens}:/dev/null")),
        (
            "openat O_RDONLY unwatched",
            opens,
            format!("read:{opens}:/dev/null"),
        ),
    ];
    let mut results = Vec::new();
    for (name, ops, spec) in cases {
        if ops == 0 {
            continue;
        }
        let mut r = Measured {
            name,
            ops,
            ..Default::default()
        };
        for _ in 0..rounds {
            let (wall, cpu) = run_worker(&spec);
            r.base_wall = min_opt(r.base_wall, wall);
            r.base_cpu = min_opt(r.base_cpu, cpu);
            let Some(m) = monitored_run(&prefix, &spec, false) else {
                return;
            };
            r.with_wall = min_opt(r.with_wall, m.wall);
            r.with_cpu = min_opt(r.with_cpu, m.cpu);
            r.with_wall_total += m.wall;
            r.delivered += m.delivered;
            r.lost += m.lost;
            r.agent_cpu += m.agent_cpu;
        }
        // One more monitored run, with the kernel's run-time statistics on.
        if let Some(m) = monitored_run(&prefix, &spec, true) {
            r.kernel = Some(m.kernel);
        }
        results.push(r);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "wafio-runtime overhead ({rounds} rounds, best of each; agent RSS {} KiB)",
        rss_kib()
    );
    for r in results {
        let (bw, ww) = (
            r.base_wall.unwrap_or_default().as_secs_f64(),
            r.with_wall.unwrap_or_default().as_secs_f64(),
        );
        let (bc, wc) = (r.base_cpu.unwrap_or(0.0), r.with_cpu.unwrap_or(0.0));
        let pct = |b: f64, w: f64| if b > 0.0 { (w / b - 1.0) * 100.0 } else { 0.0 };
        let per_op_ns = |s: f64| s * 1e9 / r.ops as f64;
        println!(
            "{:<26} n={:<8} cpu {:>7.3}s -> {:>7.3}s ({:>5.0} -> {:>5.0} ns/op) added {:>6.1}%  \
             | wall {:>7.3}s -> {:>7.3}s added {:>6.1}%  | delivered {} ({:.0}/s)  lost {}  \
             agent cpu {:.2}s",
            r.name,
            r.ops,
            bc,
            wc,
            per_op_ns(bc),
            per_op_ns(wc),
            pct(bc, wc),
            bw,
            ww,
            pct(bw, ww),
            r.delivered,
            r.delivered as f64 / r.with_wall_total.as_secs_f64().max(1e-9),
            r.lost,
            r.agent_cpu
        );
        if let Some((t, runs)) = r.kernel {
            println!(
                "{:<26} kernel programs {:>6.0} ns/op in {:.2} runs/op (BPF run-time statistics, \
                 one extra run; the tracepoint's own cost is not included)",
                "",
                t.as_secs_f64() * 1e9 / r.ops as f64,
                runs as f64 / r.ops as f64
            );
        }
    }
}
