#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target of the sanitizer build for a bounded time each,
# keeping the grown corpus in fuzz/corpus-run/<name>/ (not committed).
set -euo pipefail
build=${1:-build-san}
secs=${2:-60}
cd "$(dirname "$0")/.."
status=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  mkdir -p "fuzz/corpus-run/$name"
  echo "fuzz $name: ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "fuzz/corpus-run/$name" "fuzz/corpus/$name" || status=1
done
exit $status
