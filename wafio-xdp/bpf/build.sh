#!/bin/sh
# Rebuilds the committed eBPF objects of wafio-xdp from their C sources.
#
#   bpf/build.sh          rebuild bpf/*.bpf.o in place
#   bpf/build.sh --check  rebuild into a temporary directory and fail when the
#                         committed objects differ (CI runs this)
#
# Reproducible: sources are compiled from inside bpf/ with the directory
# mapped to `.` (-fdebug-prefix-map, clang otherwise embeds it in BTF),
# DWARF is stripped (`llvm-strip -g`; BTF and BTF.ext stay, aya needs them),
# so the object depends only on the source, the headers and clang's version.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}
ARCH_INC=/usr/include/$(uname -m)-linux-gnu

build() {
    out=$1
    for src in *.bpf.c; do
        obj="$out/${src%.c}.o"
        "$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I"$ARCH_INC" \
            -Wall -Werror -fdebug-prefix-map="$PWD"=. -fno-ident -c "$src" -o "$obj"
        "$STRIP" -g "$obj"
    done
}

if [ "${1:-}" = "--check" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    build "$tmp"
    status=0
    for src in *.bpf.c; do
        obj="${src%.c}.o"
        if ! cmp -s "$obj" "$tmp/$obj"; then
            echo "bpf/$obj is stale: run wafio-xdp/bpf/build.sh and commit the result" >&2
            status=1
        fi
    done
    [ $status -eq 0 ] && echo "bpf objects match their sources"
    exit $status
fi
build .
echo "built: $(ls ./*.bpf.o)"
