#!/usr/bin/env bash
# Loopback benchmark of wafio-proxy with wrk: requests/s, p50 and p99 for
#   1. the upstream directly,
#   2. wafio-proxy, semantic detectors only,
#   3. wafio-proxy + OWASP CRS at paranoia level 1 (../shared/crs),
#   4. nginx + ModSecurity v3 + the same CRS (optional; SKIP_NGINX=1 skips).
#
# Usage: benches/proxy-bench.sh            (from the project root or anywhere)
# Env:   DURATION=10s CONNS=64 THREADS=2 CRS_DIR=../shared/crs SKIP_NGINX=0
#
# Loopback only. Installs wrk (and nginx + libnginx-mod-http-modsecurity for
# part 4) with apt-get when missing. Every process it starts is stopped on
# exit. The request is a benign GET with a query string and browser-like
# headers, so the WAF inspects every location and passes it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
CRS_DIR=${CRS_DIR:-$ROOT/../shared/crs}
CRS_DIR=$(cd "$CRS_DIR" && pwd)
SKIP_NGINX=${SKIP_NGINX:-0}
UP_PORT=18080
P1_PORT=18081
P2_PORT=18082
NGX_PORT=18083
WORK=$(mktemp -d /tmp/wafio-bench.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f "$WORK/nginx.pid" ]]; then kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; fi
    wait 2>/dev/null || true
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

cargo build --release -q -p wafio-proxy --bin wafio-proxy --example bench_upstream
BIN=$ROOT/target/release

wait_port() {
    for _ in $(seq 1 200); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/healthz-probe"; then return 0; fi
        sleep 0.1
    done
    echo "port $1 did not come up" >&2
    return 1
}

PATH_Q='/products?id=42&sort=price&q=blue+running+shoes&page=2'
run_wrk() { # name port
    local out
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
        -H 'Host: shop.example' \
        -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' \
        -H 'Accept: text/html,application/xhtml+xml' \
        -H 'Accept-Language: en-US,en;q=0.5' \
        -H 'Cookie: session=0123456789abcdef; theme=dark' \
        "http://127.0.0.1:$2$PATH_Q")
    local rps p50 p99 errs
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    printf '%-34s %12s %10s %10s  %s\n' "$1" "$rps" "$p50" "$p99" "$errs"
}

"$BIN/examples/bench_upstream" "127.0.0.1:$UP_PORT" 2>/dev/null & PIDS+=($!)
"$BIN/wafio-proxy" --listen "127.0.0.1:$P1_PORT" --upstream "http://127.0.0.1:$UP_PORT" \
    --audit-log "$WORK/audit1.jsonl" 2>"$WORK/proxy1.log" & PIDS+=($!)
"$BIN/wafio-proxy" --listen "127.0.0.1:$P2_PORT" --upstream "http://127.0.0.1:$UP_PORT" \
    --crs "$CRS_DIR" --paranoia 1 --audit-log "$WORK/audit2.jsonl" 2>"$WORK/proxy2.log" & PIDS+=($!)
wait_port $UP_PORT
wait_port $P1_PORT
wait_port $P2_PORT

NGINX_OK=0
if [[ "$SKIP_NGINX" != 1 ]]; then
    if [[ ! -e /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ]]; then
        apt-get install -y nginx libnginx-mod-http-modsecurity >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 && apt-get install -y nginx libnginx-mod-http-modsecurity >/dev/null 2>&1; } \
            || true
    fi
    if command -v nginx >/dev/null && [[ -e /usr/lib/nginx/modules/ngx_http_modsecurity_module.so ]]; then
        mkdir -p "$WORK/nginx/logs"
        cat >"$WORK/modsec.conf" <<CONF
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 1048576
SecResponseBodyAccess Off
SecAuditEngine Off
SecDebugLogLevel 0
Include $CRS_DIR/crs-setup.conf.example
Include $CRS_DIR/rules/*.conf
CONF
        cat >"$WORK/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream app { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server {
        listen 127.0.0.1:$NGX_PORT;
        modsecurity on;
        modsecurity_rules_file $WORK/modsec.conf;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
        if nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" 2>"$WORK/nginx-start.log"; then
            wait_port $NGX_PORT && NGINX_OK=1
        else
            echo "nginx did not start: $(tail -3 "$WORK/nginx-start.log")" >&2
        fi
    else
        echo "nginx + ModSecurity not available: skipped" >&2
    fi
fi

echo "wrk: $THREADS threads, $CONNS connections, $DURATION, GET $PATH_Q"
printf '%-34s %12s %10s %10s\n' "target" "requests/s" "p50" "p99"
run_wrk "upstream direct" $UP_PORT
run_wrk "wafio-proxy (detectors)" $P1_PORT
run_wrk "wafio-proxy (detectors + CRS PL1)" $P2_PORT
if [[ $NGINX_OK == 1 ]]; then
    run_wrk "nginx + ModSecurity v3 + CRS PL1" $NGX_PORT
fi
