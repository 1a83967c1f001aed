//! The `wafio-proxy` binary: configuration errors, serving, SIGHUP reload.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_wafio-proxy");

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("wafio-cli-{}-{name}", std::process::id()))
}

#[test]
fn invalid_config_is_refused_with_key_and_line() {
    let path = temp("bad.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:0\"\n\n[waf]\nthreshhold = 4.0\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("threshhold"), "{err}");

    std::fs::write(&path, "[waf]\nmode = \"block\"\nthreshold = 11.0\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waf.threshold"), "{err}");
    let _ = std::fs::remove_file(&path);
}

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Waits (at most 30 s) for a stderr line matching `pred`.
fn wait_for(rx: &mpsc::Receiver<String>, pred: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).expect("expected stderr line in time");
        if pred(&line) {
            return;
        }
    }
}

#[test]
fn serves_and_reloads_on_sighup() {
    // Upstream: answers one request per connection, as many as arrive.
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in up.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let path = temp("good.toml");
    let audit = temp("audit.jsonl");
    let write_config = |mode: &str| {
        std::fs::write(
            &path,
            format!(
                "listen = \"127.0.0.1:0\"\nupstream = \"http://{up_addr}\"\naudit_log = \"{}\"\n[waf]\nmode = \"{mode}\"\n",
                audit.display()
            ),
        )
        .unwrap();
    };
    write_config("block");
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();

    assert!(http_get(&addr, "/a?b=c").starts_with("HTTP/1.1 200"));
    let attack = "/?id=1%27%20OR%20%271%27%3D%271";
    assert!(http_get(&addr, attack).starts_with("HTTP/1.1 403"));

    write_config("detect");
    let pid = child.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    // The file watcher may reload too; either way a reload is reported.
    wait_for(&rx, |l| l.contains("reloaded"));
    assert!(http_get(&addr, attack).starts_with("HTTP/1.1 200"));

    // A broken file is refused; the running configuration stays.
    std::fs::write(&path, "[waf]\nmode = \"sometimes\"\n").unwrap();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    wait_for(&rx, |l| l.contains("refused") && l.contains("line 2"));
    wait_for(&rx, |l| l.contains("sometimes"));
    assert!(http_get(&addr, attack).starts_with("HTTP/1.1 200"));

    let lines = std::fs::read_to_string(&audit).unwrap();
    let decisions: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["decision"].to_string())
        .collect();
    assert_eq!(decisions, ["\"block\"", "\"log\"", "\"log\""]);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&audit);
}
