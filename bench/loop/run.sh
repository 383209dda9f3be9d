#!/usr/bin/env bash
# `make bench-loop`: the whole loop on ../shared/datasets/raccoon (200 images, 217 boxes) with the
# default policy (first training at 10 labeled tasks, then every 20 annotations) and Uncertainty
# sampling, through `labelloop simulate` (a real server, real training workers, a simulated
# annotator on a virtual clock fed by the measured cycle times), training the default architecture
# (BENCH_LOOP_ARCH to change it, e.g. fcos-s). Targets: saved_pct >= 60 from scratch, >= 75 with
# the pretrained start (time saved against labeling by hand; ceiling_pct is a perfect model's),
# every cycle under 180 s, api_p99_ms under 50 while jobs run. ~6-17 minutes on 2 cores. The report stays in
# ${BENCH_OUT:-/tmp/labelloop-bench-loop}. Prints one line:
# bench loop: saved_pct=... saved_actions_pct=... ceiling_pct=... ap50_at_100=... cycle_s_max=... api_p99_ms=... arch=...
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
shared=${LL_SHARED:-../shared}
out=${BENCH_OUT:-/tmp/labelloop-bench-loop}
rm -rf "$out"
"$build/labelloop" simulate --data "$shared/datasets/raccoon" --sampling uncertainty \
  --policy 10,20 --out "$out" --probe-hz 5 ${BENCH_LOOP_ARCH:+--arch "$BENCH_LOOP_ARCH"} | tee "$out.log" | grep -v '^simulate:' || true
line=$(grep '^simulate: ' "$out.log") || { echo "bench loop: simulate failed" >&2; exit 1; }
echo "bench loop: ${line#simulate: }"
