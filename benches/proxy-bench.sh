#!/usr/bin/env bash
# Loopback benchmark of wafio-proxy, in one run, with the same upstream and
# the same request mix for every target:
#   1. the upstream directly,
#   2. wafio-proxy, semantic detectors only,
#   3. wafio-proxy + OWASP CRS at paranoia level 1 (../shared/crs),
#   4. nginx + ModSecurity v3 + the same CRS (SKIP_NGINX=1 skips it).
#
# The mix (benches/proxy-mix.tsv, 40 requests per cycle): benign GETs with
# query strings, benign urlencoded form POSTs (0.6 and 1.9 KiB), benign
# JSON POSTs (1.5 and 2.4 KiB), and 10 % attacks in several locations
# (query SQLi, query path traversal, form XSS, JSON command injection),
# all with the same browser-like headers.
#
# Part A, throughput (wrk + benches/proxy-mix.lua, closed loop): requests/s,
# p50, p99, and the responses by status: 2xx, 403 (expected for the
# attacks, 10 %), anything else (5xx, 4xx other than 403) and socket
# errors, so a failing target cannot look fast; and cpu/req, the CPU time
# (user + system, from /proc) the target's own processes used per request
# during its wrk run: the upstream for the direct path, the proxy process,
# nginx's master and workers. It depends much less than requests/s on what
# else the machine runs, so its ratio is the fairer comparison on a shared
# or loaded machine. Before each target is
# loaded, every request of the mix is sent once with curl: `check` says
# whether the benign ones got 2xx and the attacks 403 (the upstream itself
# is only expected to answer 2xx).
#
# Part B, latency at a fixed rate (wafio-proxy/examples/rate_load.rs, open
# loop, latency from each request's due time, so no coordinated omission):
# RATE requests/s for RATE_DURATION seconds per target, p50/p99/p99.9/max,
# and the p99 each target adds over the direct path.
#
# Usage: benches/proxy-bench.sh            (from the project root or anywhere)
# Env:   DURATION=10s CONNS=64 THREADS=2 WORKERS=<CPUs> RATE=1000 RATE_DURATION=10
#        WRK_TIMEOUT=10s CRS_DIR=../shared/crs SKIP_NGINX=0 SKIP_RATE=0
#        CARGO_TARGET_DIR (where the binaries are built, default target/)
#
# WRK_TIMEOUT is wrk's per-request timeout: long, so a slow target's
# latencies are measured rather than dropped as socket errors (wrk's
# default of 2 s would cut off exactly the slowest requests).
#
# WORKERS is both wafio-proxy's runtime worker threads (--workers) and
# nginx's worker_processes. Loopback only; wrk, the proxies, the upstream
# and the load generator share the machine's CPUs, so absolute figures
# depend on it. Installs wrk (and nginx + libnginx-mod-http-modsecurity
# for part 4) with apt-get when missing. Every process it starts is
# stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-$(nproc)}
RATE=${RATE:-1000}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
RATE_DURATION=${RATE_DURATION:-10}
CRS_DIR=${CRS_DIR:-$ROOT/../shared/crs}
CRS_DIR=$(cd "$CRS_DIR" && pwd)
SKIP_NGINX=${SKIP_NGINX:-0}
SKIP_RATE=${SKIP_RATE:-0}
MIX=$ROOT/benches/proxy-mix.tsv
LUA=$ROOT/benches/proxy-mix.lua
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

cargo build --release -q -p wafio-proxy --bin wafio-proxy --example bench_upstream --example rate_load
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ "$TARGET_DIR" == /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
BIN=$TARGET_DIR/release

wait_port() {
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/healthz-probe"; then return 0; fi
        sleep 0.1
    done
    echo "port $1 did not come up" >&2
    return 1
}

alive() { # name pid: fail loudly when a target died under load
    if ! kill -0 "$2" 2>/dev/null; then
        echo "$1 (pid $2) is not running any more; its log: $WORK" >&2
        return 1
    fi
}

# Every request of the mix once: benign ones must get 2xx, attacks 403
# (or, with $2 = direct, everything 2xx). Prints "ok" or the failures.
check_mix() { # port direct|waf
    local fails=() w kind method path ctype body code
    while IFS=$'\t' read -r w kind method path ctype body; do
        [[ -z "$w" || "$w" == \#* ]] && continue
        local args=(-s -o /dev/null -w '%{http_code}' -X "$method"
            -H 'Host: shop.example'
            -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
            -H 'Accept: text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8'
            -H 'Accept-Language: en-US,en;q=0.5'
            -H 'Cookie: session=0123456789abcdef; theme=dark')
        [[ "$ctype" != - ]] && args+=(-H "Content-Type: $ctype")
        [[ "$body" != - ]] && args+=(--data-binary "$body")
        code=$(curl "${args[@]}" "http://127.0.0.1:$1$path" || echo 000)
        local want=2xx
        [[ "$kind" == attack && "$2" == waf ]] && want=403
        if [[ "$want" == 2xx && "$code" != 2?? ]] || [[ "$want" == 403 && "$code" != 403 ]]; then
            fails+=("$kind $method ${path:0:24}:$code")
        fi
    done <"$MIX"
    if ((${#fails[@]} == 0)); then echo ok; else (IFS=';'; echo "FAIL ${fails[*]}"); fi
}

kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }

# CPU time (user + system, clock ticks) the given processes have used.
cpu_ticks() { # pid...
    local t=0 p stat f
    for p in "$@"; do
        stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a f <<<"${stat##*) }"
        t=$((t + f[11] + f[12]))
    done
    echo "$t"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

declare -A RPS CPU
run_wrk() { # name port direct|waf pid... (the target's processes, for its CPU time)
    local check out line c0 c1
    check=$(check_mix "$2" "$3")
    c0=$(cpu_ticks "${@:4}")
    out=$(MIX="$MIX" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$WRK_TIMEOUT" -s "$LUA" "http://127.0.0.1:$2/" 2>&1)
    c1=$(cpu_ticks "${@:4}")
    line=$(grep '^MIX ' <<<"$out" || true)
    if [[ -z "$line" ]]; then
        echo "wrk failed against $1: $out" >&2
        return 1
    fi
    RPS[$1]=$(kv rps "$line")
    local total s403
    total=$(kv requests "$line")
    s403=$(kv s403 "$line")
    # Counted from after check_mix: wrk's requests only.
    CPU[$1]=$(awk -v t=$((c1 - c0)) -v u="$TICK_US" -v n="$total" 'BEGIN { printf "%.0f", n ? t * u / n : 0 }')
    printf '%-36s %10s %10s %10s %9s %13s %7s %8s %9s  %s\n' "$1" "$(kv rps "$line")" \
        "$(ms "$(kv p50_us "$line")")" "$(ms "$(kv p99_us "$line")")" "$(kv s2xx "$line")" \
        "$s403 ($(awk -v a="$s403" -v t="$total" 'BEGIN { printf "%.1f%%", t ? 100 * a / t : 0 }'))" \
        "$(kv sother "$line")" "$(kv socket_errors "$line")" "${CPU[$1]} us" "$check"
    if [[ "$(kv other_detail "$line")" != - ]]; then echo "    other statuses: $(kv other_detail "$line")"; fi
}

declare -A P99
run_rate() { # name port
    local line gen=("$BIN/examples/rate_load")
    local cap=${RPS[$1]:-}
    if [[ -n "$cap" ]] && awk -v c="$cap" -v r="$RATE" 'BEGIN { exit !(c < r) }'; then
        printf '%-36s skipped: its wrk throughput (%s requests/s) is below the rate\n' "$1" "$cap"
        return 0
    fi
    # Real-time priority for the generator (root), so its pacing is not
    # delayed behind the targets it loads.
    if chrt -f 20 true 2>/dev/null; then gen=(chrt -f 20 "${gen[@]}"); fi
    line=$("${gen[@]}" --url "http://127.0.0.1:$2" --mix "$MIX" --rate "$RATE" \
        --duration "$RATE_DURATION" --warmup 2)
    P99[$1]=$(kv p99_us "$line")
    local added=-
    if [[ -n "${P99[upstream direct]:-}" && "$1" != "upstream direct" ]]; then
        added=$(awk -v a="${P99[$1]}" -v d="${P99[upstream direct]}" 'BEGIN { printf "%+.2f ms", (a - d) / 1000 }')
    fi
    printf '%-36s %9s %9s %9s %9s %12s %10s  %s\n' "$1" "$(ms "$(kv p50_us "$line")")" \
        "$(ms "$(kv p99_us "$line")")" "$(ms "$(kv p999_us "$line")")" "$(ms "$(kv max_us "$line")")" \
        "$added" "$(kv lag_p99_us "$line") us" \
        "sent $(kv sent "$line"), 2xx $(kv s2xx "$line"), 403 $(kv s403 "$line"), other $(kv sother "$line"), errors $(kv errors "$line"), benign not 2xx $(kv benign_not_2xx "$line"), attacks not 403 $(kv attack_not_403 "$line")"
}

for port in $UP_PORT $P1_PORT $P2_PORT $NGX_PORT; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "127.0.0.1:$port is already in use: stop what listens there first" >&2
        exit 1
    fi
done
"$BIN/examples/bench_upstream" "127.0.0.1:$UP_PORT" 2>"$WORK/upstream.log" & UP_PID=$!; PIDS+=($UP_PID)
"$BIN/wafio-proxy" --listen "127.0.0.1:$P1_PORT" --upstream "http://127.0.0.1:$UP_PORT" \
    --workers "$WORKERS" --audit-log "$WORK/audit1.jsonl" 2>"$WORK/proxy1.log" & P1_PID=$!; PIDS+=($P1_PID)
"$BIN/wafio-proxy" --listen "127.0.0.1:$P2_PORT" --upstream "http://127.0.0.1:$UP_PORT" \
    --workers "$WORKERS" --crs "$CRS_DIR" --paranoia 1 --audit-log "$WORK/audit2.jsonl" \
    2>"$WORK/proxy2.log" & P2_PID=$!; PIDS+=($P2_PID)
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
        # ModSecurity's recommended settings for the request side, the JSON
        # body processor included (as wafio parses JSON bodies), then the CRS
        # (blocking, paranoia level 1 and threshold 5 are its defaults).
        cat >"$WORK/modsec.conf" <<CONF
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQUEST_HEADERS:Content-Type "^application/json" \\
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecResponseBodyAccess Off
SecAuditEngine Off
SecDebugLogLevel 0
Include $CRS_DIR/crs-setup.conf.example
Include $CRS_DIR/rules/*.conf
CONF
        cat >"$WORK/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_modsecurity_module.so;
worker_processes $WORKERS;
pid $WORK/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_buffer_size 64k;
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

echo "machine: $(nproc) CPUs, $(uname -r); wafio-proxy --workers $WORKERS, nginx worker_processes $WORKERS"
echo "request mix: $MIX ($(grep -v '^#' "$MIX" | awk -F'\t' '{ n += $1; if ($2 == "attack") a += $1 } END { printf "%d per cycle, %d attacks", n, a }'))"
echo
echo "A. throughput: wrk $THREADS threads, $CONNS connections, $DURATION per target"
printf '%-36s %10s %10s %10s %9s %13s %7s %8s %9s  %s\n' target requests/s p50 p99 2xx "403" other sockerr cpu/req check
run_wrk "upstream direct" $UP_PORT direct $UP_PID
alive upstream $UP_PID
run_wrk "wafio-proxy (detectors)" $P1_PORT waf $P1_PID
alive "wafio-proxy (detectors)" $P1_PID
run_wrk "wafio-proxy (detectors + CRS PL1)" $P2_PORT waf $P2_PID
alive "wafio-proxy (detectors + CRS PL1)" $P2_PID
if [[ $NGINX_OK == 1 ]]; then
    NGX_MASTER=$(cat "$WORK/nginx.pid")
    # shellcheck disable=SC2046
    run_wrk "nginx + ModSecurity v3 + CRS PL1" $NGX_PORT waf "$NGX_MASTER" $(pgrep -P "$NGX_MASTER")
    awk -v w="${RPS[wafio-proxy (detectors + CRS PL1)]}" -v n="${RPS[nginx + ModSecurity v3 + CRS PL1]}" \
        -v wc="${CPU[wafio-proxy (detectors + CRS PL1)]}" -v nc="${CPU[nginx + ModSecurity v3 + CRS PL1]}" \
        'BEGIN { if (n > 0) printf "wafio-proxy + CRS PL1 / nginx + ModSecurity + CRS PL1: %.1fx the requests/s, %.1fx less CPU per request\n", w / n, (wc > 0 ? nc / wc : 0) }'
fi

if [[ "$SKIP_RATE" != 1 ]]; then
    echo
    echo "B. latency at a fixed $RATE requests/s (open loop, from the due time), ${RATE_DURATION}s per target after 2s warm-up"
    printf '%-36s %9s %9s %9s %9s %12s %10s  %s\n' target p50 p99 p99.9 max "added p99" "gen lag99" statuses
    run_rate "upstream direct" $UP_PORT
    run_rate "wafio-proxy (detectors)" $P1_PORT
    run_rate "wafio-proxy (detectors + CRS PL1)" $P2_PORT
    if [[ $NGINX_OK == 1 ]]; then
        run_rate "nginx + ModSecurity v3 + CRS PL1" $NGX_PORT
    fi
    alive "wafio-proxy (detectors)" $P1_PID
    alive "wafio-proxy (detectors + CRS PL1)" $P2_PID
fi
