//! End-to-end tests: a veth pair between the host namespace and a network
//! namespace made by the test, the firewall attached to the host end, real
//! UDP traffic. Every namespace and link is removed on drop (also when a
//! test fails); every loop is bounded. Root + BPF + iproute2 required (see
//! `common::skip_or_fail`).

mod common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{skip_or_fail, small_options};
use wafio_xdp::{AttachMode, Firewall, FirewallOptions, RuleSet};

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A namespace `ns` holding `peer` (10.77.N.2-.5/24), linked by a veth pair
/// to `host` (10.77.N.1/24) in the test's namespace.
struct Topo {
    ns: String,
    host: String,
    net: u8,
    opts: FirewallOptions,
}

impl Topo {
    fn new(test: &str, net: u8) -> Option<Topo> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip_or_fail(test, "not root");
            return None;
        }
        let id = std::process::id() % 100_000;
        let t = Topo {
            ns: format!("wfx-{id}-{net}"),
            host: format!("wfh{id}n{net}"),
            net,
            opts: small_options(),
        };
        let peer = format!("wfp{id}n{net}");
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &t.ns])?;
            ip(&[
                "link", "add", &t.host, "type", "veth", "peer", "name", &peer,
            ])?;
            ip(&["link", "set", &peer, "netns", &t.ns])?;
            ip(&["addr", "add", &format!("10.77.{net}.1/24"), "dev", &t.host])?;
            ip(&["link", "set", &t.host, "up"])?;
            for host in 2..=5 {
                ip(&[
                    "-n",
                    &t.ns,
                    "addr",
                    "add",
                    &format!("10.77.{net}.{host}/24"),
                    "dev",
                    &peer,
                ])?;
            }
            ip(&["-n", &t.ns, "link", "set", &peer, "up"])?;
            ip(&["-n", &t.ns, "link", "set", "lo", "up"])?;
            Ok(())
        };
        if let Err(e) = setup() {
            drop(t);
            skip_or_fail(test, &format!("cannot build the test network: {e}"));
            return None;
        }
        Some(t)
    }

    fn addr(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.net, host)
    }

    fn attach(&self, test: &str) -> Option<Firewall> {
        match Firewall::attach(&self.host, AttachMode::Native, &self.opts) {
            Ok(fw) => Some(fw),
            Err(e) => {
                skip_or_fail(test, &format!("cannot attach: {e}"));
                None
            }
        }
    }

    /// Another handle on the pinned firewall, as a CLI process would open it.
    fn open(&self) -> Firewall {
        Firewall::open(&self.host, &self.opts).expect("open pinned firewall")
    }

    /// Runs `f` on a thread that has entered the namespace.
    fn in_ns<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.ns);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open netns");
            use std::os::fd::AsRawFd;
            // SAFETY: a valid namespace fd; setns only affects this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
    }

    /// Sends `n` UDP datagrams from the namespace, source `src`, to
    /// `dst:port`, pausing `gap` every 10 packets.
    fn send_from_ns(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        port: u16,
        n: usize,
        gap: Duration,
    ) -> std::thread::JoinHandle<()> {
        self.in_ns(move || {
            let s = UdpSocket::bind((src, 0)).expect("bind in ns");
            for i in 0..n {
                let _ = s.send_to(&(i as u32).to_be_bytes(), (dst, port));
                if i % 10 == 9 {
                    std::thread::sleep(gap);
                }
            }
        })
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        let _ = Firewall::detach(&self.host, &self.opts);
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

/// Counts datagrams per source until `quiet` passes without one (bounded by
/// `max` overall).
fn receive(sock: &UdpSocket, quiet: Duration, max: Duration) -> HashMap<Ipv4Addr, usize> {
    sock.set_read_timeout(Some(quiet)).unwrap();
    let start = Instant::now();
    let mut counts = HashMap::new();
    let mut buf = [0u8; 64];
    while start.elapsed() < max {
        match sock.recv_from(&mut buf) {
            Ok((_, SocketAddr::V4(a))) => *counts.entry(*a.ip()).or_insert(0) += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    counts
}

#[test]
fn blocked_allowed_rate_limited_and_ttl() {
    let Some(t) = Topo::new("blocked_allowed_rate_limited_and_ttl", 1) else {
        return;
    };
    let Some(_fw) = t.attach("blocked_allowed_rate_limited_and_ttl") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("wafio-xdp-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"allow": [{{"name": "friend", "cidrs": ["{a}"]}}],
                "block": [{{"name": "enemy", "cidrs": ["{b}"]}}],
                "rate_limit": {{"packets_per_sec": 5, "burst_packets": 5}}}}"#,
            a = t.addr(4),
            b = t.addr(3)
        ),
    )
    .unwrap();
    let mut cli = t.open();
    cli.apply(&RuleSet::load(&file).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let sock = UdpSocket::bind((t.addr(1), 0)).unwrap();
    let port = sock.local_addr().unwrap().port();
    let senders: Vec<_> = [2u8, 3, 4]
        .iter()
        .map(|&h| t.send_from_ns(t.addr(h), t.addr(1), port, 30, Duration::ZERO))
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let got = receive(&sock, Duration::from_millis(300), Duration::from_secs(5));
    let of = |h: u8| got.get(&t.addr(h)).copied().unwrap_or(0);
    assert_eq!(of(3), 0, "blocked source got through: {got:?}");
    assert_eq!(of(4), 30, "allowed source lost packets: {got:?}");
    assert!(
        (1..=8).contains(&of(2)),
        "rate limit (5 pps, burst 5) let {} of 30 through",
        of(2)
    );

    let stats = t.open().stats().unwrap();
    assert_eq!(stats.rule("enemy").packets, 30);
    assert_eq!(stats.rule("friend").packets, 30);
    assert!(stats.rule("rate-limit").packets >= 22, "{stats:?}");

    // TTL: block .5 for 1 s from "another process", then it expires.
    t.open()
        .block(
            format!("{}", t.addr(5)).parse().unwrap(),
            Some(Duration::from_secs(1)),
        )
        .unwrap();
    t.send_from_ns(t.addr(5), t.addr(1), port, 3, Duration::ZERO)
        .join()
        .unwrap();
    let got = receive(&sock, Duration::from_millis(300), Duration::from_secs(5));
    assert_eq!(got.get(&t.addr(5)), None, "{got:?}");
    std::thread::sleep(Duration::from_millis(1100));
    t.send_from_ns(t.addr(5), t.addr(1), port, 3, Duration::ZERO)
        .join()
        .unwrap();
    let got = receive(&sock, Duration::from_millis(300), Duration::from_secs(5));
    assert_eq!(got.get(&t.addr(5)), Some(&3), "{got:?}");
    assert_eq!(t.open().sweep_expired().unwrap(), 1);
}

#[test]
fn egress_destination_and_port_blocks() {
    let Some(t) = Topo::new("egress_destination_and_port_blocks", 2) else {
        return;
    };
    let Some(mut fw) = t.attach("egress_destination_and_port_blocks") else {
        return;
    };
    let rs = RuleSet::from_toml(
        &format!(
            "[[egress]]\nname='c2'\ncidrs=['{}']\nudp_ports=[9999]\n",
            t.addr(3)
        ),
        "inline",
    )
    .unwrap();
    fw.apply(&rs).unwrap();

    let ready = Arc::new(AtomicBool::new(false));
    let r = ready.clone();
    let receiver = t.in_ns(move || {
        let a = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 7000)).unwrap();
        let b = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 9999)).unwrap();
        r.store(true, Ordering::SeqCst);
        let ga = receive(&a, Duration::from_millis(800), Duration::from_secs(5));
        let gb = receive(&b, Duration::from_millis(200), Duration::from_secs(5));
        (ga, gb)
    });
    let start = Instant::now();
    while !ready.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = UdpSocket::bind((t.addr(1), 0)).unwrap();
    for _ in 0..5 {
        s.send_to(b"ok", (t.addr(2), 7000)).unwrap();
        let _ = s.send_to(b"c2", (t.addr(3), 7000));
        let _ = s.send_to(b"exfil", (t.addr(2), 9999));
    }
    let (ga, gb) = receiver.join().unwrap();
    let total_a: usize = ga.values().sum();
    let total_b: usize = gb.values().sum();
    assert_eq!(
        total_a, 5,
        "only the 5 datagrams to the allowed destination arrive: {ga:?}"
    );
    assert_eq!(total_b, 0, "port 9999 is blocked on egress: {gb:?}");
    let st = fw.stats().unwrap();
    assert_eq!(st.rule("c2").packets, 10, "{st:?}");
}

#[test]
fn live_swap_under_traffic_drops_nothing_allowed() {
    let Some(t) = Topo::new("live_swap_under_traffic_drops_nothing_allowed", 3) else {
        return;
    };
    let Some(_fw) = t.attach("live_swap_under_traffic_drops_nothing_allowed") else {
        return;
    };
    // Both sets block the whole subnet and close UDP; only the allow entry
    // lets the friend through. A swap that exposed a half-written or empty
    // generation would drop its packets.
    let set = |extra: &str| {
        RuleSet::from_toml(
            &format!(
                "restrict=['udp']\n[[allow]]\nname='friend'\ncidrs=['{}']\n\
                 [[block]]\nname='subnet'\ncidrs=['10.77.3.0/24'{extra}]\n",
                t.addr(4)
            ),
            "inline",
        )
        .unwrap()
    };
    let a = set("");
    let b = set(", '198.51.100.0/24', '203.0.113.9'");
    let mut cli = t.open();
    cli.apply(&a).unwrap();

    let sock = UdpSocket::bind((t.addr(1), 0)).unwrap();
    let port = sock.local_addr().unwrap().port();
    let sock2 = sock.try_clone().unwrap();
    let receiver = std::thread::spawn(move || {
        receive(&sock2, Duration::from_millis(500), Duration::from_secs(20))
    });
    const N: usize = 3000;
    let sender = t.send_from_ns(t.addr(4), t.addr(1), port, N, Duration::from_micros(200));
    let mut swaps = 0;
    let start = Instant::now();
    while !sender.is_finished() && start.elapsed() < Duration::from_secs(15) {
        cli.apply(if swaps % 2 == 0 { &b } else { &a }).unwrap();
        swaps += 1;
    }
    sender.join().unwrap();
    let got = receiver.join().unwrap();
    eprintln!("{swaps} rule-set swaps during {N} packets");
    assert!(swaps >= 5, "only {swaps} swaps happened during the traffic");
    assert_eq!(
        got.get(&t.addr(4)).copied().unwrap_or(0),
        N,
        "swaps: {swaps}"
    );
    let st = t.open().stats().unwrap();
    assert_eq!(st.global("block").packets, 0, "{st:?}");
    assert_eq!(st.global("port_closed").packets, 0, "{st:?}");
}

#[test]
fn attach_errors_leave_nothing_behind() {
    let Some(t) = Topo::new("attach_errors_leave_nothing_behind", 4) else {
        return;
    };
    let e = Firewall::attach("wfx-nosuch0", AttachMode::Generic, &t.opts).unwrap_err();
    assert!(
        matches!(&e, wafio_xdp::Error::UnknownInterface(n) if n == "wfx-nosuch0"),
        "{e}"
    );
    assert!(!wafio_xdp::pin_dir(&t.opts.bpffs, "wfx-nosuch0").exists());
    let Some(_fw) = t.attach("attach_errors_leave_nothing_behind") else {
        return;
    };
    let e = Firewall::attach(&t.host, AttachMode::Generic, &t.opts).unwrap_err();
    assert!(e.to_string().contains("already attached"), "{e}");
    let st = Firewall::status(&t.host, &t.opts).unwrap();
    assert!(st.xdp_attached && st.tc_attached, "{st:?}");
    Firewall::detach(&t.host, &t.opts).unwrap();
    assert!(!wafio_xdp::pin_dir(&t.opts.bpffs, &t.host).exists());
    let e = Firewall::status(&t.host, &t.opts).unwrap_err();
    assert!(matches!(e, wafio_xdp::Error::NotAttached { .. }), "{e}");
    let e = Firewall::detach(&t.host, &t.opts).unwrap_err();
    assert!(matches!(e, wafio_xdp::Error::NotAttached { .. }), "{e}");
    // Attach again after a detach works.
    drop(Firewall::attach(&t.host, AttachMode::Generic, &t.opts).unwrap());
    assert!(Firewall::status(&t.host, &t.opts).unwrap().xdp_attached);
}
