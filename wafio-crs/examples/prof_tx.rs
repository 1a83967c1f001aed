use std::path::Path;
use wafio_crs::engine::Engine;
use wafio_crs::request::HttpRequest;

#[inline(never)]
fn run(engine: &Engine, reqs: &[HttpRequest], n: usize) -> usize {
    let mut k = 0;
    for _ in 0..n {
        for req in reqs {
            let mut tx = engine.transaction(req);
            tx.process_request();
            k += tx.intervention().is_none() as usize;
        }
    }
    k
}

fn mix() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string("/work/main/benches/proxy-mix.tsv").unwrap();
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (w, kind, method, path, ct, body) =
            (f[0].parse::<usize>().unwrap(), f[1], f[2], f[3], f[4], f[5]);
        if kind != "benign" && std::env::var_os("WITH_ATTACKS").is_none() {
            continue;
        }
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\n").into_bytes();
        if body != "-" {
            raw.extend_from_slice(
                format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        } else {
            raw.extend_from_slice(b"\r\n");
        }
        if std::env::var("ONLY").is_ok_and(|o| !path.contains(&o)) {
            continue;
        }
        for _ in 0..w {
            out.push(raw.clone());
        }
    }
    out
}

#[inline(never)]
fn warm(engine: &Engine, req: &HttpRequest) {
    for _ in 0..3 {
        let mut tx = engine.transaction(req);
        tx.process_request();
    }
}

fn main() {
    let kind = std::env::args().nth(1).unwrap_or("get".into());
    let n: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    let pl = 1;
    let setup = format!(
        "SecRuleEngine On\nSecRequestBodyAccess On\n\
         SecAction \"id:900005,phase:1,nolog,pass,t:none,\
         setvar:tx.blocking_paranoia_level={pl},setvar:tx.detection_paranoia_level={pl}\"\n"
    );
    if std::env::var_os("PRE4").is_some() {
        let e4 = Engine::builder()
            .rules_before(setup.replace("level=1", "level=4"))
            .crs_dir(Path::new("/work/shared/crs"))
            .build()
            .unwrap();
        drop(e4);
    }
    let engine = if let Ok(r) = std::env::var("RULES") {
        Engine::builder().rules_before(format!(
            "SecRuleEngine On\nSecRequestBodyAccess On\n{}",
            std::fs::read_to_string(r).unwrap()
        ))
    } else {
        Engine::builder()
            .rules_before(setup)
            .crs_dir(Path::new("/work/shared/crs"))
    };
    let engine = engine
        .rules_after(
            std::env::var("REMOVE")
                .map(|r| format!("SecRuleRemoveById {r}\n"))
                .unwrap_or_default(),
        )
        .build()
        .unwrap();
    let raws: Vec<Vec<u8>> = if kind == "mix" {
        mix()
    } else {
        vec![match kind.as_str() {
            "get" => {
                let q: Vec<String> = (0..10).map(|i| format!("name{i}=value{i}")).collect();
                format!("GET /shop/items?{} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\nAccept-Language: en-US\r\n\r\n", q.join("&")).into_bytes()
            }
            "json" => {
                let mut b = b"{\"items\":[".to_vec();
                let mut i = 0;
                while b.len() < 65536 {
                    if i > 0 {
                        b.push(b',');
                    }
                    b.extend_from_slice(
                        format!(
                            "{{\"id\":{i},\"name\":\"item_number_{i}\",\"tags\":[\"a\",\"b\"]}}"
                        )
                        .as_bytes(),
                    );
                    i += 1;
                }
                b.extend_from_slice(b"]}");
                let mut raw = format!("POST /submit HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", b.len()).into_bytes();
                raw.extend_from_slice(&b);
                raw
            }
            _ => {
                let mut b = Vec::new();
                let mut i = 0;
                while b.len() < 4096 {
                    if !b.is_empty() {
                        b.push(b'&');
                    }
                    b.extend_from_slice(format!("field{i}=some_ordinary_text_{i}").as_bytes());
                    i += 1;
                }
                let mut raw = format!("POST /submit HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n", b.len()).into_bytes();
                raw.extend_from_slice(&b);
                raw
            }
        }]
    };
    if std::env::var_os("DBG_MM").is_some() {
        for ph in 1..=2u8 {
            for it in engine.phase(ph) {
                if let wafio_crs::engine::PlanItem::Rule(r) = it {
                    let mut l = Some(r);
                    while let Some(x) = l {
                        if x.multi_match
                            || std::env::var("DBG_IDS")
                                .is_ok_and(|v| v.split(',').any(|i| i == x.id.to_string()))
                        {
                            eprintln!(
                                "mm {} pf={:?} kind={:?} t={:?} needles={:?}",
                                x.id,
                                x.prefilter,
                                x.operator.kind(),
                                x.transforms,
                                0
                            );
                        }
                        l = x.chain.as_deref();
                    }
                }
            }
        }
    }
    let st = std::fs::read_to_string("/proc/self/status").unwrap();
    eprintln!(
        "{}",
        st.lines()
            .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let reqs: Vec<HttpRequest> = raws
        .iter()
        .map(|raw| HttpRequest::parse(raw, engine.request_limits()).unwrap())
        .collect();
    let per = reqs.len();
    for req in &reqs {
        warm(&engine, req);
    }
    if std::env::var_os("PER_REQ").is_some() {
        for (i, req) in reqs.iter().enumerate() {
            let t = std::time::Instant::now();
            for _ in 0..n {
                let mut tx = engine.transaction(req);
                tx.process_request();
                std::hint::black_box(tx.intervention());
            }
            let first =
                String::from_utf8_lossy(&raws[i][..raws[i].len().min(60)]).replace("\r\n", " ");
            eprintln!(
                "{:8.1} us  {}",
                t.elapsed().as_secs_f64() * 1e6 / n as f64,
                first.lines().next().unwrap_or("")
            );
        }
        return;
    }
    let a0 = allocs();
    let t = std::time::Instant::now();
    let k = run(&engine, &reqs, n);
    let a1 = allocs();
    eprintln!(
        "allocs/req {} bytes/req {}",
        (a1.0 - a0.0) / (n * per),
        (a1.1 - a0.1) / (n * per)
    );
    eprintln!(
        "{k} passed, {:.1} us/req",
        t.elapsed().as_secs_f64() * 1e6 / (n * per) as f64
    );
}

struct Counting;
static ALLOCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        BYTES.fetch_add(l.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        BYTES.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GA: Counting = Counting;
pub fn allocs() -> (usize, usize) {
    (
        ALLOCS.load(std::sync::atomic::Ordering::Relaxed),
        BYTES.load(std::sync::atomic::Ordering::Relaxed),
    )
}
