//! The XDP offender sink against a real firewall: a veth pair made by the
//! test, `wafio_xdp::Firewall::attach` on it (generic XDP), then the
//! proxy pushes a repeat offender through the pinned maps, as
//! `wafio xdp block ADDR --ttl` would from another process. Needs root, BPF
//! and iproute2: skipped otherwise, failed when `WAFIO_REQUIRE_KERNEL=1`.
#![cfg(feature = "xdp")]

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use wafio_proxy::{OffenderSink, Proxy, ProxyConfig, XdpOffenderSink};
use wafio_xdp::{AttachMode, Firewall, FirewallOptions, List};

fn skip_or_fail(test: &str, why: &str) {
    if std::env::var("WAFIO_REQUIRE_KERNEL").as_deref() == Ok("1") {
        panic!("{test}: WAFIO_REQUIRE_KERNEL=1 but {why}");
    }
    eprintln!("SKIPPED {test}: {why} (needs root and BPF; set WAFIO_REQUIRE_KERNEL=1 to fail)");
}

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

/// A veth pair with the firewall attached to one end; all removed on drop.
struct Dummy {
    iface: String,
    opts: FirewallOptions,
    fw: Option<Firewall>,
}

impl Dummy {
    fn new(test: &str, n: u8) -> Option<Dummy> {
        let iface = format!("wfo{}n{n}", std::process::id() % 1_000_000);
        let mut d = Dummy {
            iface,
            opts: FirewallOptions {
                exact_capacity: 1024,
                prefix_capacity: 1024,
                ..FirewallOptions::default()
            },
            fw: None,
        };
        let peer = format!("wfq{}n{n}", std::process::id() % 1_000_000);
        if let Err(e) = ip(&[
            "link", "add", &d.iface, "type", "veth", "peer", "name", &peer,
        ])
        .and_then(|()| ip(&["link", "set", &d.iface, "up"]))
        {
            skip_or_fail(test, &format!("cannot make a veth pair: {e}"));
            return None;
        }
        match Firewall::attach(&d.iface, AttachMode::Generic, &d.opts) {
            Ok(fw) => d.fw = Some(fw),
            Err(e) => {
                skip_or_fail(test, &format!("cannot attach the firewall: {e}"));
                return None;
            }
        }
        Some(d)
    }

    fn blocked(&self) -> Vec<(IpAddr, Option<u64>)> {
        let fw = Firewall::open(&self.iface, &self.opts).expect("open pinned firewall");
        fw.list()
            .expect("list")
            .into_iter()
            .filter(|e| e.list == List::Block)
            .map(|e| (e.cidr.addr(), e.expires_in_secs))
            .collect()
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        self.fw = None;
        let _ = Firewall::detach(&self.iface, &self.opts);
        let _ = ip(&["link", "del", &self.iface]);
    }
}

#[test]
fn sink_adds_offenders_to_the_block_list_with_a_ttl() {
    let test = "sink_adds_offenders_to_the_block_list_with_a_ttl";
    let Some(d) = Dummy::new(test, 1) else { return };
    let sink = XdpOffenderSink::new(&d.iface, d.opts.bpffs.clone());
    let v4: IpAddr = "192.0.2.77".parse().unwrap();
    let v6: IpAddr = "2001:db8::77".parse().unwrap();
    sink.block(v4, Duration::from_secs(600)).unwrap();
    sink.block(v6, Duration::from_secs(60)).unwrap();
    let blocked = d.blocked();
    let ttl_of = |ip: IpAddr| blocked.iter().find(|(a, _)| *a == ip).map(|(_, t)| *t);
    let t4 = ttl_of(v4)
        .expect("IPv4 offender listed")
        .expect("with a TTL");
    assert!((590..=600).contains(&t4), "{t4}");
    let t6 = ttl_of(v6)
        .expect("IPv6 offender listed")
        .expect("with a TTL");
    assert!((50..=60).contains(&t6), "{t6}");

    // Detached: the next push fails (and warns once) instead of writing
    // into orphaned maps.
    let iface = d.iface.clone();
    drop(d);
    let err = sink.block(v4, Duration::from_secs(1)).unwrap_err();
    assert!(err.contains(&iface), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_pushes_repeat_offenders_to_xdp() {
    let test = "proxy_pushes_repeat_offenders_to_xdp";
    let Some(d) = Dummy::new(test, 2) else { return };
    let mut config = ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        // Never reached: every request here is blocked.
        upstream: "http://127.0.0.1:9".into(),
        audit_log: std::env::temp_dir()
            .join(format!("wafio-xdp-offenders-{}.jsonl", std::process::id()))
            .display()
            .to_string(),
        ..ProxyConfig::default()
    };
    config.offenders.enabled = true;
    config.offenders.max_blocks = 2;
    config.offenders.ttl_secs = 300;
    config.offenders.xdp_iface = Some(d.iface.clone());
    let proxy = Proxy::bind(config.clone()).await.unwrap();
    let addr = proxy.local_addr().unwrap();
    let handle = proxy.handle();
    tokio::spawn(proxy.serve());
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(
            b"GET /?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(
            out.starts_with(b"HTTP/1.1 403"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if d.blocked().iter().any(|(a, _)| *a == loopback) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "offender never reached the XDP block list"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.shutdown();
    let audit = std::fs::read_to_string(&config.audit_log).unwrap();
    assert!(audit.contains("\"event\":\"offender\""), "{audit}");
    assert!(audit.contains("\"result\":\"pushed\""), "{audit}");
    let _ = std::fs::remove_file(&config.audit_log);
}
