// Benchmark of the wafio-xdp firewall (custom harness, `harness = false`):
//
// * ns per packet through BPF_PROG_TEST_RUN (`repeat`, kernel-measured mean
//   `duration`) for a block-list hit and a miss with 1, 10k and 1M exact
//   entries and with 100k prefixes (goal: <= 100 ns at 1M exact);
// * wall time to replace a 100k-entry rule set (goal: <= 1 s);
// * XDP versus an nftables netdev-ingress drop rule (goal: XDP drops >= 4x
//   the packets per CPU-second of nftables), in one run, on the same veth
//   (host end in the bench's namespace, sender end in a namespace the bench
//   makes), same 10k-address block set, fixed amounts of traffic sent by
//   this binary re-executed in the namespace; drops counted by wafio's
//   per-rule counter and the nft rule counter. Two traffic sources:
//   (a) "UDP-socket flood": send(2) for 3 s. The sender builds an skb per
//       packet and veth's XDP path converts (and, with < 256 B headroom,
//       copies) it, so XDP saves nothing here and is not ahead. Realistic
//       for a veth in a container host.
//   (b) "live-frames flood": BPF_PROG_TEST_RUN with
//       BPF_F_TEST_XDP_LIVE_FRAMES (kernel >= 5.18, as xdp-trafficgen),
//       10M frames (1M quick) per run, 3 alternating rounds (1 quick),
//       redirected out of the namespace's veth end. No skb on the sending
//       side: frames reach the host end as xdp_frames, dropped by XDP with
//       no skb, or turned into skbs by veth for nftables (as a NIC driver
//       would). The closest a veth gets to a physical NIC. Each round also
//       runs a "floor": a 2-instruction drop-everything XDP program, i.e.
//       what XDP costs on this veth before wafio's own lookups.
//   Columns: drops/s (wall time of the sender's loop); softirq CPU-seconds
//   from /proc/stat, system-wide (the receiving side: veth NAPI + filter),
//   drops per softirq CPU-second and softirq ns per drop; the sender
//   process's own CPU time from /proc/self/schedstat (generator + the
//   softirq work run on its stack), drops per task CPU-second and ns per
//   drop. Ratios XDP/nft (medians over rounds for (b)). See the section
//   comment before `FLOOD_SECS` for how to read them. Skip it with
//   WAFIO_BENCH_NO_FLOOD=1.
//
// Needs root and BPF. Without them it prints why and exits 0, or fails when
// WAFIO_REQUIRE_KERNEL=1. WAFIO_BENCH_QUICK=1 shrinks the sizes (smoke run).
//
// Run: cargo bench -p wafio-benches --bench xdp
// (also built as `cargo run --release -p wafio-xdp --example xdp_bench`).

use std::net::Ipv4Addr;
use std::time::Instant;

use wafio_xdp::{verdict, Cidr, Compiled, Firewall, FirewallOptions};

fn tcp_frame(src: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&[10, 0, 0, 1]);
    f.extend_from_slice(&ip);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    f.extend_from_slice(&tcp);
    f
}

/// Block list of `n` hosts (`prefix = false`) or `n` /24 prefixes.
fn block_list(n: u32, prefix: bool, base: u32) -> Compiled {
    let mut c = Compiled {
        rules: wafio_xdp::builtin_rules(),
        ..Default::default()
    };
    c.rules.push(wafio_xdp::RuleInfo {
        id: wafio_xdp::FIRST_RULE,
        name: "bench".into(),
        kind: wafio_xdp::RuleKind::Block,
    });
    for i in 0..n {
        let (addr, len) = if prefix {
            (Ipv4Addr::from(base.wrapping_add(i << 8)), 24)
        } else {
            (Ipv4Addr::from(base.wrapping_add(i)), 32)
        };
        let cidr = Cidr::new(addr.into(), len).expect("valid prefix");
        c.block.push((cidr, wafio_xdp::FIRST_RULE));
    }
    c
}

/// Median over 5 test runs of the kernel's mean ns per packet.
fn ns_per_packet(fw: &Firewall, frame: &[u8], want: u32, repeat: u32) -> f64 {
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let (v, d) = fw.bench_xdp(frame, repeat).expect("test run");
            assert_eq!(v, want, "unexpected verdict");
            d.as_nanos() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

fn kernel_missing(why: &str) {
    if std::env::var("WAFIO_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("WAFIO_REQUIRE_KERNEL=1 but {why}");
    }
    println!("xdp bench skipped: {why} (needs root and BPF)");
}

fn main() {
    if let Ok(mode) = std::env::var("WAFIO_FLOOD_SENDER") {
        let report = match mode.as_str() {
            "udp" => udp_sender(),
            "live" => live_sender(),
            _ => Err(format!("WAFIO_FLOOD_SENDER=`{mode}`: expected udp or live")),
        };
        match report {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("{mode} flood sender: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let quick = std::env::var("WAFIO_BENCH_QUICK").as_deref() == Ok("1");
    let (big, prefixes, swap) = if quick {
        (100_000, 10_000, 10_000)
    } else {
        (1_000_000, 100_000, 100_000)
    };
    let repeat = if quick { 20_000 } else { 200_000 };
    let miss = tcp_frame(Ipv4Addr::new(100, 64, 0, 9));
    println!("wafio-xdp: XDP ns/packet (BPF_PROG_TEST_RUN, repeat {repeat}, median of 5)");
    println!("{:<28} {:>10} {:>10}", "block list", "hit ns", "miss ns");
    for (label, n, prefix) in [
        ("1 exact".to_string(), 1u32, false),
        ("10k exact".to_string(), 10_000, false),
        (format!("{}k exact", big / 1000), big, false),
        (
            format!("{}k prefixes (/24)", prefixes / 1000),
            prefixes,
            true,
        ),
    ] {
        let opts = FirewallOptions {
            exact_capacity: (n + 16).max(1024),
            prefix_capacity: (n + 16).max(1024),
            ..FirewallOptions::default()
        };
        let mut fw = match Firewall::load(&opts) {
            Ok(fw) => fw,
            Err(e) => return kernel_missing(&e.to_string()),
        };
        let base = u32::from(Ipv4Addr::new(11, 0, 0, 0));
        let c = block_list(n, prefix, base);
        let t = Instant::now();
        fw.apply_compiled(&c).expect("apply");
        let load_time = t.elapsed();
        let last = if prefix {
            base + ((n - 1) << 8) + 77
        } else {
            base + n - 1
        };
        let hit = ns_per_packet(
            &fw,
            &tcp_frame(Ipv4Addr::from(last)),
            verdict::XDP_DROP,
            repeat,
        );
        let mss = ns_per_packet(&fw, &miss, verdict::XDP_PASS, repeat);
        println!(
            "{label:<28} {hit:>10.1} {mss:>10.1}   (filled in {:.0} ms)",
            load_time.as_secs_f64() * 1000.0
        );
    }

    for prefix in [false, true] {
        let opts = FirewallOptions {
            exact_capacity: 2 * swap + 1024,
            prefix_capacity: 2 * swap + 1024,
            ..FirewallOptions::default()
        };
        let mut fw = match Firewall::load(&opts) {
            Ok(fw) => fw,
            Err(e) => return kernel_missing(&e.to_string()),
        };
        let a = block_list(swap, prefix, u32::from(Ipv4Addr::new(11, 0, 0, 0)));
        let b = block_list(swap, prefix, u32::from(Ipv4Addr::new(13, 0, 0, 0)));
        fw.apply_compiled(&a).expect("apply a");
        let mut times = Vec::new();
        for i in 0..3 {
            let t = Instant::now();
            fw.apply_compiled(if i % 2 == 0 { &b } else { &a })
                .expect("swap");
            times.push(t.elapsed());
        }
        times.sort();
        let kind = if prefix { "prefix" } else { "host" };
        println!(
            "replace a {}k-{kind} rule set by another: {:.0} ms (median of 3; goal <= 1000 ms)",
            swap / 1000,
            times[1].as_secs_f64() * 1000.0
        );
    }

    if std::env::var("WAFIO_BENCH_NO_FLOOD").as_deref() != Ok("1") {
        if let Err(e) = flood_section(quick) {
            kernel_missing(&format!("XDP vs nftables flood: {e}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Second section: XDP versus an nftables drop rule under a bounded flood.
//
// One veth pair between the bench's namespace (receiver, "host" end) and a
// namespace made by the bench (sender). The same 10k-address block set (the
// sender's address plus 9,999 others) is installed as wafio's XDP program
// (native mode) on the host end, or as an nftables `netdev` ingress chain on
// the same device with a 10k-element set; never both at once. Drops are
// read from wafio's per-rule counter and from the nft rule counter. Two
// traffic sources, both run by this binary re-executed inside the namespace
// (`ip netns exec`, WAFIO_FLOOD_SENDER=udp|live):
//
// * "UDP-socket flood": `send(2)` on a UDP socket for FLOOD_SECS. The sender
//   builds an skb per packet; veth hands it to the peer, whose XDP path has
//   to convert (and, with < 256 B headroom, copy) it into an xdp_buff. This
//   is what a veth in a container host really sees, and there XDP has no
//   skb to save.
// * "live-frames flood": BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
//   (kernel >= 5.18), as xdp-trafficgen does: a 4-instruction XDP program
//   returns bpf_redirect(<veth end in the namespace>), `repeat` = packets.
//   No skb exists on the sending side; the frames reach the host end as
//   xdp_frames. With wafio's XDP attached they are dropped without any skb;
//   without XDP, veth builds an skb per frame and the nftables ingress hook
//   sees it (the same work a NIC driver does before netfilter). This is the
//   closest a veth gets to a physical NIC's receive path. Redirecting into
//   a veth needs NAPI on the receiving end: XDP attached, or GRO on, so the
//   bench turns GRO on for the host end (ETHTOOL_SGRO ioctl).
// * "floor" (live frames only): a 2-instruction `return XDP_DROP` program
//   attached natively instead of wafio's, counted by the host end's
//   rx_packets: the veth + XDP cost that any XDP filter pays, so the gap
//   between it and wafio's row is wafio's program.
//
// CPU, measured by the sender around its loop: softirq CPU-seconds from
// /proc/stat (system-wide) and the sender's own run time (schedstat). The
// live generator runs in process context with bottom halves disabled; the
// veth NAPI poll that runs the filter (XDP, or skb build + GRO + nftables)
// runs in softirq context on the same CPU when the generator re-enables
// them, so softirq CPU-seconds are the receiving side's cost (veth +
// filter) and the sender's run time adds the generator's own cost (the
// same for both filters, ~90 ns/frame here). For the UDP flood the sender's
// run time is dominated by send(2). This kernel samples softirq time at the
// tick (no IRQ_TIME_ACCOUNTING) and other load on the machine adds to it,
// hence fixed large packet counts, alternating rounds and medians.
//
// The namespace, veth, nft table and XDP pins are removed by `Flood`'s Drop,
// also on failure; senders are killed after SENDER_TIMEOUT.

/// UDP-socket flood duration per filter.
const FLOOD_SECS: f64 = 3.0;
/// Live-frames packets per round and filter (full / quick run).
const LIVE_PACKETS: u64 = 10_000_000;
const LIVE_PACKETS_QUICK: u64 = 1_000_000;
/// Upper bound accepted by the live sender (bounded run).
const LIVE_MAX_PACKETS: u64 = 1_000_000_000;
/// Alternating XDP/nftables rounds of the live-frames flood (full / quick).
const LIVE_ROUNDS: usize = 3;
const LIVE_ROUNDS_QUICK: usize = 1;
/// A sender still running after this long is killed and the bench fails.
const SENDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);

fn run_cmd(prog: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {prog}: {e}"))?;
    if let Some(mut si) = child.stdin.take() {
        if let Some(text) = stdin {
            si.write_all(text.as_bytes())
                .map_err(|e| format!("{prog} stdin: {e}"))?;
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {prog}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{prog} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// CPU time used so far: `softirq` from the `cpu` line of /proc/stat (all
/// CPUs, tick-sampled), `task` = this process's own run time from
/// /proc/self/schedstat (ns, includes the softirq work that ran on its stack).
#[derive(Clone, Copy, Default)]
struct Cpu {
    softirq: f64,
    task: f64,
}

impl Cpu {
    fn now() -> Result<Cpu, String> {
        let stat = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
        let line = stat.lines().next().unwrap_or("");
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("/proc/stat `{line}`: {e}"))?;
        if !line.starts_with("cpu ") || v.len() < 8 {
            return Err(format!("/proc/stat: unexpected first line `{line}`"));
        }
        let sched = std::fs::read_to_string("/proc/self/schedstat")
            .map_err(|e| format!("/proc/self/schedstat: {e}"))?;
        let run_ns: f64 = sched
            .split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| format!("/proc/self/schedstat: unexpected `{}`", sched.trim()))?;
        // /proc/stat counts in USER_HZ, 100 on every Linux ABI; the fields
        // are user nice system idle iowait irq softirq steal ...
        Ok(Cpu {
            softirq: v[6] / 100.0,
            task: run_ns / 1e9,
        })
    }

    fn since(self, start: Cpu) -> Cpu {
        Cpu {
            softirq: self.softirq - start.softirq,
            task: self.task - start.task,
        }
    }
}

struct Flood {
    ns: String,
    host: String,
    peer: String,
    nft_table: String,
    opts: FirewallOptions,
}

impl Drop for Flood {
    fn drop(&mut self) {
        let _ = run_cmd("nft", &["delete", "table", "netdev", &self.nft_table], None);
        let _ = Firewall::detach(&self.host, &self.opts);
        let _ = run_cmd("ip", &["link", "del", &self.host], None);
        let _ = run_cmd("ip", &["netns", "del", &self.ns], None);
    }
}

/// One flood against one filter.
struct FloodResult {
    sent: u64,
    dropped: u64,
    /// Wall time of the sender's loop.
    secs: f64,
    cpu: Cpu,
}

impl FloodResult {
    fn drops_per_sec(&self) -> f64 {
        self.dropped as f64 / self.secs
    }
    fn per(&self, cpu: f64) -> f64 {
        if cpu > 0.0 {
            self.dropped as f64 / cpu
        } else {
            f64::NAN
        }
    }
    fn per_softirq(&self) -> f64 {
        self.per(self.cpu.softirq)
    }
    fn per_task(&self) -> f64 {
        self.per(self.cpu.task)
    }
}

/// The sender's one-line report: `sent secs softirq task`.
fn parse_sender_report(out: &str) -> Result<(u64, f64, Cpu), String> {
    let f: Vec<&str> = out.split_whitespace().collect();
    let bad = || format!("sender report `{}`", out.trim());
    if f.len() != 4 {
        return Err(bad());
    }
    let num = |i: usize| f[i].parse::<f64>().map_err(|_| bad());
    Ok((
        f[0].parse().map_err(|_| bad())?,
        num(1)?,
        Cpu {
            softirq: num(2)?,
            task: num(3)?,
        },
    ))
}

fn sender_report(sent: u64, secs: f64, cpu: Cpu) -> String {
    format!("{sent} {secs} {} {}", cpu.softirq, cpu.task)
}

impl Flood {
    fn new() -> Result<Flood, String> {
        let id = std::process::id() % 100_000;
        let f = Flood {
            ns: format!("wfb-{id}"),
            host: format!("wfbh{id}"),
            peer: format!("wfbp{id}"),
            nft_table: format!("wafio_bench_{id}"),
            opts: FirewallOptions {
                exact_capacity: 16_384,
                prefix_capacity: 1024,
                ..FirewallOptions::default()
            },
        };
        run_cmd("ip", &["netns", "add", &f.ns], None)?;
        run_cmd(
            "ip",
            &[
                "link", "add", &f.host, "type", "veth", "peer", "name", &f.peer,
            ],
            None,
        )?;
        run_cmd("ip", &["link", "set", &f.peer, "netns", &f.ns], None)?;
        let host_cidr = format!("{HOST_IP}/24");
        let sender_cidr = format!("{SENDER_IP}/24");
        run_cmd("ip", &["addr", "add", &host_cidr, "dev", &f.host], None)?;
        run_cmd("ip", &["link", "set", &f.host, "up"], None)?;
        let n = ["-n", &f.ns];
        run_cmd(
            "ip",
            &[&n[..], &["addr", "add", &sender_cidr, "dev", &f.peer]].concat(),
            None,
        )?;
        run_cmd(
            "ip",
            &[&n[..], &["link", "set", &f.peer, "up"]].concat(),
            None,
        )?;
        run_cmd("ip", &[&n[..], &["link", "set", "lo", "up"]].concat(), None)?;
        Ok(f)
    }

    /// The 10k-address block set: the sender plus 9,999 addresses of 11/8.
    fn block_set() -> Vec<Ipv4Addr> {
        let base = u32::from(Ipv4Addr::new(11, 0, 0, 0));
        let mut v: Vec<Ipv4Addr> = (0..9_999).map(|i| Ipv4Addr::from(base + i)).collect();
        v.push(SENDER_IP);
        v
    }

    /// Attaches wafio's XDP program (native) to the host end with `set`.
    fn attach_xdp(&self, set: &[Ipv4Addr]) -> Result<Firewall, String> {
        let mut fw = Firewall::attach(&self.host, wafio_xdp::AttachMode::Native, &self.opts)
            .map_err(|e| format!("attach XDP to {}: {e}", self.host))?;
        let mut c = block_list(0, false, 0);
        for a in set {
            let cidr = Cidr::new((*a).into(), 32).map_err(|e| e.to_string())?;
            c.block.push((cidr, wafio_xdp::FIRST_RULE));
        }
        fw.apply_compiled(&c).map_err(|e| format!("apply: {e}"))?;
        Ok(fw)
    }

    fn detach_xdp(&self, fw: Firewall) -> Result<(), String> {
        drop(fw);
        Firewall::detach(&self.host, &self.opts).map_err(|e| format!("detach XDP: {e}"))
    }

    /// The nftables equivalent: netdev ingress chain on the host end, one
    /// rule matching a 10k-element set.
    fn install_nft(&self, set: &[Ipv4Addr]) -> Result<(), String> {
        let elems: Vec<String> = set.iter().map(|a| a.to_string()).collect();
        let script = format!(
            "table netdev {t} {{\n set blk {{ type ipv4_addr; size 16384; elements = {{ {e} }} }}\n \
             chain in {{ type filter hook ingress device \"{d}\" priority 0; policy accept;\n  \
             ip saddr @blk counter drop\n }}\n}}\n",
            t = self.nft_table,
            e = elems.join(", "),
            d = self.host
        );
        run_cmd("nft", &["-f", "-"], Some(&script)).map(|_| ())
    }

    fn remove_nft(&self) -> Result<(), String> {
        run_cmd("nft", &["delete", "table", "netdev", &self.nft_table], None).map(|_| ())
    }

    fn nft_counter(&self) -> Result<u64, String> {
        let out = run_cmd(
            "nft",
            &["list", "chain", "netdev", &self.nft_table, "in"],
            None,
        )?;
        let mut w = out.split_whitespace();
        while let Some(tok) = w.next() {
            if tok == "packets" {
                return w
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("bad nft counter in `{}`", out.trim()));
            }
        }
        Err(format!("no counter in nft output `{}`", out.trim()))
    }

    /// Runs this binary inside the namespace as a sender (`mode` = udp or
    /// live, `env` its parameters); `dropped` reads the filter's counter.
    fn flood(
        &self,
        mode: &str,
        env: &[(&str, String)],
        dropped: &dyn Fn() -> Result<u64, String>,
    ) -> Result<FloodResult, String> {
        use std::process::{Command, Stdio};
        let before = dropped()?;
        let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns])
            .arg(exe)
            .env("WAFIO_FLOOD_SENDER", mode)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("running the sender: {e}"))?;
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if start.elapsed() > SENDER_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{mode} sender still running after {SENDER_TIMEOUT:?}: killed"
                    ));
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for the sender: {e}")),
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("sender output: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{mode} sender failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let (sent, secs, cpu) = parse_sender_report(&String::from_utf8_lossy(&out.stdout))?;
        let after = dropped()?;
        Ok(FloodResult {
            sent,
            dropped: after.saturating_sub(before),
            secs,
            cpu,
        })
    }

    fn flood_xdp(
        &self,
        set: &[Ipv4Addr],
        mode: &str,
        env: &[(&str, String)],
    ) -> Result<FloodResult, String> {
        let fw = self.attach_xdp(set)?;
        let r = self.flood(mode, env, &|| {
            fw.stats()
                .map(|s| s.rule("bench").packets)
                .map_err(|e| e.to_string())
        });
        let d = self.detach_xdp(fw);
        let r = r?;
        d?;
        Ok(r)
    }

    /// Reference floor: a drop-everything XDP program (2 instructions) on
    /// the host end, counted by the host end's rx_packets.
    fn flood_floor(&self, mode: &str, env: &[(&str, String)]) -> Result<FloodResult, String> {
        let ifindex = wafio_xdp::if_index(&self.host).map_err(|e| e.to_string())?;
        let prog = live_frames::load_drop_all()?;
        let link = live_frames::attach_native(&prog, ifindex)?;
        let rx = format!("/sys/class/net/{}/statistics/rx_packets", self.host);
        let r = self.flood(mode, env, &|| {
            let s = std::fs::read_to_string(&rx).map_err(|e| format!("{rx}: {e}"))?;
            s.trim().parse().map_err(|e| format!("{rx}: {e}"))
        });
        drop(link);
        r
    }

    fn flood_nft(
        &self,
        set: &[Ipv4Addr],
        mode: &str,
        env: &[(&str, String)],
    ) -> Result<FloodResult, String> {
        self.install_nft(set)?;
        let r = self.flood(mode, env, &|| self.nft_counter());
        let d = self.remove_nft();
        let r = r?;
        d?;
        Ok(r)
    }
}

/// UDP-socket sender (this binary in the namespace, WAFIO_FLOOD_SENDER=udp):
/// floods UDP for FLOOD_SECS, prints its report.
fn udp_sender() -> Result<String, String> {
    let sock = std::net::UdpSocket::bind((SENDER_IP, 0)).map_err(|e| e.to_string())?;
    sock.connect((HOST_IP, 9)).map_err(|e| e.to_string())?;
    let payload = [0x5au8; 18]; // 60-byte frames
    let cpu0 = Cpu::now()?;
    let start = Instant::now();
    let mut sent = 0u64;
    // Bounded: stops after FLOOD_SECS (checked every 1024 sends).
    while start.elapsed().as_secs_f64() < FLOOD_SECS {
        for _ in 0..1024 {
            if sock.send(&payload).is_ok() {
                sent += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(sender_report(sent, secs, Cpu::now()?.since(cpu0)))
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    let mut mac = [0u8; 6];
    if parts.len() != 6 {
        return Err(format!("bad MAC address `{}`", s.trim()));
    }
    for (m, p) in mac.iter_mut().zip(&parts) {
        *m = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC address `{}`", s.trim()))?;
    }
    Ok(mac)
}

fn iface_mac(iface: &str) -> Result<[u8; 6], String> {
    let path = format!("/sys/class/net/{iface}/address");
    let s = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_mac(&s)
}

/// 60-byte Ethernet/IPv4/UDP frame (18-byte payload, like the UDP flood).
fn udp_frame(src_mac: [u8; 6], dst_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(60);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum: u32 = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let csum = !(((folded & 0xffff) + (folded >> 16)) as u16);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&9u16.to_be_bytes());
    f.extend_from_slice(&26u16.to_be_bytes());
    f.extend_from_slice(&[0, 0]); // no UDP checksum (allowed on IPv4)
    f.extend_from_slice(&[0x5a; 18]);
    f
}

/// Live-frames sender (this binary in the namespace, WAFIO_FLOOD_SENDER=live):
/// redirects WAFIO_LIVE_PACKETS frames out of WAFIO_LIVE_DEV (addressed to
/// WAFIO_LIVE_DST_MAC) with BPF_PROG_TEST_RUN live frames, prints its report.
fn live_sender() -> Result<String, String> {
    let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let dev = var("WAFIO_LIVE_DEV")?;
    let packets: u64 = var("WAFIO_LIVE_PACKETS")?
        .parse()
        .map_err(|e| format!("WAFIO_LIVE_PACKETS: {e}"))?;
    if packets == 0 || packets > LIVE_MAX_PACKETS {
        return Err(format!(
            "WAFIO_LIVE_PACKETS = {packets}: must be 1..={LIVE_MAX_PACKETS}"
        ));
    }
    let dst_mac = parse_mac(&var("WAFIO_LIVE_DST_MAC")?)?;
    let ifindex = wafio_xdp::if_index(&dev).map_err(|e| e.to_string())?;
    let frame = udp_frame(iface_mac(&dev)?, dst_mac, SENDER_IP, HOST_IP);
    let prog = live_frames::load_redirect(ifindex)?;
    let cpu0 = Cpu::now()?;
    let start = Instant::now();
    let mut left = packets;
    // Chunks of 1 Mi frames: each syscall is bounded and a signal between
    // chunks stops the run.
    while left > 0 {
        let n = left.min(1 << 20);
        live_frames::run(&prog, &frame, n as u32)?;
        left -= n;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(sender_report(packets, secs, Cpu::now()?.since(cpu0)))
}

/// The bpf(2) calls of the live-frames flood: load and test-run the
/// generator, load and attach the drop-all reference program.
///
/// Why raw syscalls: aya 0.14 does support live frames (`Xdp::test_run`
/// with `TestRunAttrs::xdp_live_frames`), but the bench crate depends only
/// on wafio-xdp (no aya, no libc), wafio-xdp exposes no live-frames API,
/// and this file is also compiled as a wafio-xdp example, so the bench
/// hand-assembles its 2- and 4-instruction programs and calls bpf(2)
/// through the C library's `syscall(2)` wrapper (std links the C library
/// already). The attribute structs are the leading fields of the kernel's
/// `union bpf_attr` (include/uapi/linux/bpf.h); the kernel accepts a
/// shorter attr and zero-fills the rest.
mod live_frames {
    use std::ffi::c_long;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const BPF_PROG_LOAD: c_long = 5;
    const BPF_PROG_TEST_RUN: c_long = 10;
    const BPF_LINK_CREATE: c_long = 28;
    const BPF_XDP: u32 = 37;
    const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
    const BPF_PROG_TYPE_XDP: u32 = 6;
    const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
    const BPF_FUNC_REDIRECT: i32 = 23;

    #[cfg(target_arch = "x86_64")]
    const SYS_BPF: Option<c_long> = Some(321);
    #[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
    const SYS_BPF: Option<c_long> = Some(280);
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )))]
    const SYS_BPF: Option<c_long> = None;

    extern "C" {
        fn syscall(num: c_long, ...) -> c_long;
    }

    /// `bpf_attr` for BPF_PROG_LOAD, up to `expected_attach_type`.
    #[repr(C)]
    #[derive(Default)]
    struct ProgLoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
    }

    /// `bpf_attr` for BPF_LINK_CREATE, up to `flags`.
    #[repr(C)]
    struct LinkCreateAttr {
        prog_fd: u32,
        target_ifindex: u32,
        attach_type: u32,
        flags: u32,
    }

    /// `bpf_attr` for BPF_PROG_TEST_RUN, up to `batch_size`.
    #[repr(C)]
    #[derive(Default)]
    struct TestRunAttr {
        prog_fd: u32,
        retval: u32,
        data_size_in: u32,
        data_size_out: u32,
        data_in: u64,
        data_out: u64,
        repeat: u32,
        duration: u32,
        ctx_size_in: u32,
        ctx_size_out: u32,
        ctx_in: u64,
        ctx_out: u64,
        flags: u32,
        cpu: u32,
        batch_size: u32,
        _pad: u32,
    }

    fn bpf<T>(cmd: c_long, attr: &mut T) -> Result<c_long, std::io::Error> {
        let nr = SYS_BPF.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "bpf(2) number unknown for this architecture",
            )
        })?;
        let size = std::mem::size_of::<T>() as std::ffi::c_uint;
        // SAFETY: `attr` is a live #[repr(C)] prefix of `union bpf_attr`,
        // `size` bytes long, without padding holes; the kernel reads and
        // writes only within those bytes. Pointers inside it (instructions,
        // license, log, packet data) point to buffers that outlive the call.
        let r = unsafe { syscall(nr, cmd, attr as *mut T, size) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    /// One eBPF instruction with src_reg = 0 and off = 0 (little endian).
    fn insn(code: u8, dst: u8, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = dst & 0x0f;
        b[4..8].copy_from_slice(&imm.to_le_bytes());
        b
    }

    /// Loads an XDP program made of `insns` (name <= 15 bytes).
    fn load_xdp(insns: &[[u8; 8]], what: &str) -> Result<OwnedFd, String> {
        if cfg!(target_endian = "big") {
            return Err(format!("{what}: little-endian hosts only"));
        }
        let prog: Vec<u8> = insns.concat();
        let license = b"GPL\0";
        let mut log = vec![0u8; 4096];
        let mut name = [0u8; 16];
        let n = what.len().min(15);
        name[..n].copy_from_slice(&what.as_bytes()[..n]);
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_XDP,
            insn_cnt: insns.len() as u32,
            insns: prog.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: 1,
            log_size: log.len() as u32,
            log_buf: log.as_mut_ptr() as u64,
            prog_name: name,
            ..Default::default()
        };
        let fd = bpf(BPF_PROG_LOAD, &mut attr).map_err(|e| {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            format!(
                "loading {what}: {e}; verifier: {}",
                String::from_utf8_lossy(&log[..end]).trim()
            )
        })?;
        let fd = i32::try_from(fd).map_err(|_| format!("bad fd {fd} from BPF_PROG_LOAD"))?;
        // SAFETY: BPF_PROG_LOAD returned a new file descriptor we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The generator: `return bpf_redirect(ifindex, 0);` (XDP_REDIRECT on
    /// success), i.e. every test-run frame is sent out of `ifindex`.
    pub(super) fn load_redirect(ifindex: u32) -> Result<OwnedFd, String> {
        let ifindex = i32::try_from(ifindex).map_err(|_| format!("ifindex {ifindex} too large"))?;
        load_xdp(
            &[
                insn(0xb7, 1, ifindex),           // r1 = ifindex (BPF_ALU64|BPF_MOV|BPF_K)
                insn(0xb7, 2, 0),                 // r2 = 0 (flags)
                insn(0x85, 0, BPF_FUNC_REDIRECT), // r0 = bpf_redirect(r1, r2)
                insn(0x95, 0, 0),                 // exit
            ],
            "wafio_tgen",
        )
    }

    /// The reference floor: `return XDP_DROP;` for every frame.
    pub(super) fn load_drop_all() -> Result<OwnedFd, String> {
        load_xdp(
            &[
                insn(0xb7, 0, 1), // r0 = XDP_DROP
                insn(0x95, 0, 0), // exit
            ],
            "wafio_dropall",
        )
    }

    /// Attaches `prog` to `ifindex` in native (driver) mode through a BPF
    /// link; closing the returned link fd detaches it (also if the process
    /// dies).
    pub(super) fn attach_native(prog: &OwnedFd, ifindex: u32) -> Result<OwnedFd, String> {
        let mut attr = LinkCreateAttr {
            prog_fd: prog.as_raw_fd() as u32,
            target_ifindex: ifindex,
            attach_type: BPF_XDP,
            flags: XDP_FLAGS_DRV_MODE,
        };
        let fd = bpf(BPF_LINK_CREATE, &mut attr)
            .map_err(|e| format!("attaching XDP (native) to ifindex {ifindex}: {e}"))?;
        let fd = i32::try_from(fd).map_err(|_| format!("bad fd {fd} from BPF_LINK_CREATE"))?;
        // SAFETY: BPF_LINK_CREATE returned a new file descriptor we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Runs the generator over `frame` `repeat` times in live-frames mode
    /// (default batch of 64 frames per bottom-half section).
    pub(super) fn run(prog: &OwnedFd, frame: &[u8], repeat: u32) -> Result<(), String> {
        let mut attr = TestRunAttr {
            prog_fd: prog.as_raw_fd() as u32,
            data_size_in: frame.len() as u32,
            data_in: frame.as_ptr() as u64,
            repeat,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            ..Default::default()
        };
        bpf(BPF_PROG_TEST_RUN, &mut attr).map(|_| ()).map_err(|e| {
            format!("BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (kernel >= 5.18): {e}")
        })
    }
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0")
}

fn print_header() {
    println!(
        "{:<10} {:>10} {:>10} {:>6} {:>11} {:>7} {:>13} {:>8} {:>7} {:>13} {:>8}",
        "filter",
        "sent",
        "dropped",
        "s",
        "drops/s",
        "sirq-s",
        "drops/sirq-s",
        "sirq ns",
        "task-s",
        "drops/task-s",
        "task ns"
    );
}

fn print_flood(label: &str, r: &FloodResult) {
    println!(
        "{label:<10} {:>10} {:>10} {:>6.2} {:>11.0} {:>7.2} {:>13.0} {:>8.1} {:>7.3} {:>13.0} {:>8.1}",
        r.sent,
        r.dropped,
        r.secs,
        r.drops_per_sec(),
        r.cpu.softirq,
        r.per_softirq(),
        1e9 / r.per_softirq(),
        r.cpu.task,
        r.per_task(),
        1e9 / r.per_task()
    );
}

fn ratio(a: f64, b: f64) -> f64 {
    a / b.max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Sets GRO on `iface` (legacy ETHTOOL_SGRO ioctl, any socket of the netns).
fn set_gro(iface: &str, on: bool) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn ioctl(fd: std::ffi::c_int, req: std::ffi::c_ulong, ...) -> std::ffi::c_int;
    }
    const SIOCETHTOOL: std::ffi::c_ulong = 0x8946;
    const ETHTOOL_SGRO: u32 = 0x2c;
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    /// `struct ifreq` with `ifr_data`, padded to its 40 bytes.
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        data: *mut EthtoolValue,
        _pad: [u8; 16],
    }
    if iface.is_empty() || iface.len() > 15 {
        return Err(format!("bad interface name `{iface}`"));
    }
    let sock = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .map_err(|e| format!("socket for SIOCETHTOOL: {e}"))?;
    let mut val = EthtoolValue {
        cmd: ETHTOOL_SGRO,
        data: u32::from(on),
    };
    let mut req = IfReq {
        name: [0; 16],
        data: &mut val,
        _pad: [0; 16],
    };
    req.name[..iface.len()].copy_from_slice(iface.as_bytes());
    // SAFETY: `req` is a NUL-terminated `struct ifreq` whose `ifr_data`
    // points to `val`; both outlive the call, and SIOCETHTOOL/ETHTOOL_SGRO
    // reads and writes only `struct ethtool_value`.
    let r = unsafe { ioctl(sock.as_raw_fd(), SIOCETHTOOL, &mut req as *mut IfReq) };
    if r < 0 {
        return Err(format!(
            "ETHTOOL_SGRO {iface}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn flood_section(quick: bool) -> Result<(), String> {
    if !is_root() {
        return Err("not root".into());
    }
    let f = Flood::new()?;
    let set = Flood::block_set();

    // (a) UDP-socket flood.
    let udp_xdp = f.flood_xdp(&set, "udp", &[])?;
    let udp_nft = f.flood_nft(&set, "udp", &[])?;
    println!();
    println!(
        "XDP vs nftables (a) UDP-socket flood: send(2) from a namespace over veth, {FLOOD_SECS} s \
         each, 10k-address block set; the sender builds skbs, veth's XDP converts them"
    );
    print_header();
    print_flood("wafio-xdp", &udp_xdp);
    print_flood("nftables", &udp_nft);
    println!(
        "ratio XDP/nft: drops/s {:.2}x, drops per softirq CPU-s {:.2}x, drops per sender-task CPU-s {:.2}x",
        ratio(udp_xdp.drops_per_sec(), udp_nft.drops_per_sec()),
        ratio(udp_xdp.per_softirq(), udp_nft.per_softirq()),
        ratio(udp_xdp.per_task(), udp_nft.per_task()),
    );

    // (b) Live-frames flood.
    let (packets, rounds) = if quick {
        (LIVE_PACKETS_QUICK, LIVE_ROUNDS_QUICK)
    } else {
        (LIVE_PACKETS, LIVE_ROUNDS)
    };
    set_gro(&f.host, true)?;
    let env = [
        ("WAFIO_LIVE_DEV", f.peer.clone()),
        ("WAFIO_LIVE_PACKETS", packets.to_string()),
        (
            "WAFIO_LIVE_DST_MAC",
            iface_mac(&f.host)?
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
    ];
    let mut runs = Vec::new();
    for _ in 0..rounds {
        let x = f.flood_xdp(&set, "live", &env)?;
        let z = f.flood_floor("live", &env)?;
        let n = f.flood_nft(&set, "live", &env)?;
        for (name, r) in [("XDP", &x), ("drop-all XDP", &z), ("nftables", &n)] {
            // Frames the veth could not queue never reach the filter; CPU
            // per drop would then be meaningless.
            if r.dropped * 10 < r.sent * 9 {
                return Err(format!(
                    "live-frames flood: only {} of {} frames reached the {name} drop rule",
                    r.dropped, r.sent
                ));
            }
        }
        runs.push((x, z, n));
    }
    println!();
    println!(
        "XDP vs nftables (b) live-frames flood: BPF_PROG_TEST_RUN live frames redirected into the \
         veth from the namespace, {packets} packets per run, {rounds} alternating round(s), \
         10k-address block set; no skb on the sending side, frames arrive as xdp_frames"
    );
    print_header();
    for (i, (x, z, n)) in runs.iter().enumerate() {
        print_flood(&format!("xdp #{}", i + 1), x);
        print_flood(&format!("floor #{}", i + 1), z);
        print_flood(&format!("nft #{}", i + 1), n);
    }
    // Median over rounds of one metric for one filter (0 wafio, 1 floor, 2 nft).
    let med = |get: fn(&FloodResult) -> f64, which: usize| {
        median(runs.iter().map(|(x, z, n)| get([x, z, n][which])).collect())
    };
    let line = |label: &str, which: usize| {
        let r = |get: fn(&FloodResult) -> f64| ratio(med(get, which), med(get, 2));
        println!(
            "ratio {label}/nft (medians): drops/s {:.2}x, drops per softirq CPU-s {:.2}x \
             (receiving side), drops per sender-task CPU-s {:.2}x (generator + receiving side)",
            r(FloodResult::drops_per_sec),
            r(FloodResult::per_softirq),
            r(FloodResult::per_task),
        );
    };
    line("wafio-XDP", 0);
    line("drop-all XDP", 1);
    println!(
        "goal: wafio-XDP >= 4x nftables per CPU-s. floor = a 2-instruction XDP_DROP program on \
         the same veth (counted by rx_packets): XDP's cost on veth without wafio's rule lookups"
    );
    Ok(())
}
