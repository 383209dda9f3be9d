#!/usr/bin/env bash
# bench zoo: single-picture latency of the zoo's CenterNet through det_predict (letterbox to
# 512, forward, peak picking, top 100, NMS; median of ITERS calls on raccoon pictures) and
# throughput in batches of 8, on LL_THREADS threads (default 2), with the load average seen.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
export LL_SHARED=${LL_SHARED:-$PWD/../shared} LL_THREADS=${LL_THREADS:-2}
export LL_MODEL_DIR=${LL_MODEL_DIR:-$(cd "$build" && pwd)/models}
iters=${ZOO_BENCH_ITERS:-40}
load0=$(cut -d' ' -f1 /proc/loadavg)
out=$("$build/bench/det-vs-torch/bench_det" infer zoo:centernet-coco "$iters" 8)
echo "centernet-coco: $out"
load1=$(cut -d' ' -f1 /proc/loadavg)
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$out" | head -1; }
echo "bench zoo: model=centernet-coco ms=$(val ms) ms_p10=$(val ms_p10) ms_p90=$(val ms_p90)" \
  "batch_ips=$(val batch_ips) threads=$LL_THREADS load=$load0-$load1"
