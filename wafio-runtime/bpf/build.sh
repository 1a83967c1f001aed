#!/usr/bin/env bash
# Rebuild the committed eBPF objects of wafio-runtime from their C sources.
#   bpf/build.sh          rebuild bpf/*.bpf.o in place
#   bpf/build.sh --check  rebuild into a temp dir, fail if the committed objects differ
# Reproducible: compiled from inside bpf/ with relative file names and
# -fdebug-prefix-map, then DWARF stripped (BTF and BTF.ext, which CO-RE needs, stay).
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}
command -v "$STRIP" >/dev/null 2>&1 || STRIP=$(ls /usr/bin/llvm-strip-* 2>/dev/null | sort -V | tail -1)
build() { # $1 = output dir
  for src in *.bpf.c; do
    obj="$1/${src%.c}.o"
    "$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -Wall -Werror \
      -fdebug-prefix-map="$PWD"=. -fno-ident -c "$src" -o "$obj"
    "$STRIP" -g "$obj"
  done
}
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  build "$tmp"
  status=0
  for src in *.bpf.c; do
    o="${src%.c}.o"
    if ! cmp -s "$tmp/$o" "$o"; then
      echo "bpf/$o is stale: run wafio-runtime/bpf/build.sh and commit the result" >&2
      status=1
    fi
  done
  [[ $status == 0 ]] && echo "bpf objects up to date"
  exit $status
fi
build .
echo "built: $(ls *.bpf.o)"
