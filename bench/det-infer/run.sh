#!/usr/bin/env bash
# bench det-infer: single-picture latency (median of ITERS calls of det_predict: letterbox,
# forward, decode, NMS) at 320 and 640 and throughput in batches of 8, against PyTorch running
# the identical network with the same weights in the same run (forward + the same decoding and
# batched NMS), both on LL_THREADS threads (default 2). ratio = torch_ms320 / ms320.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
export LL_SHARED=${LL_SHARED:-$PWD/../shared} LL_THREADS=${LL_THREADS:-2}
export LL_MODEL_DIR=${LL_MODEL_DIR:-$(cd "$build" && pwd)/models} # pretrained backbone (fcos-mv3)
iters=${DET_BENCH_ITERS:-60}
arch=${DET_BENCH_ARCH:-fcos-mv3} # the default architecture; fcos-s for the from-scratch one
dir=$(mktemp -d /tmp/ll-bench-det-infer.XXXXXX)
trap 'rm -rf "$dir"' EXIT
tool="$build/bench/det-vs-torch/bench_det"
py=/usr/bin/python3
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2" | head -1; }
for size in 320 640; do
  "$tool" model "$dir/m$size.safetensors" "$arch" $size > "$dir/model$size.txt"
  "$tool" infer "$dir/m$size.safetensors" "$iters" 8 > "$dir/ours$size.txt"
  titers=$iters # PyTorch's depthwise convolutions at 640 take seconds each: fewer calls there
  [ "$size" = 640 ] && titers=$(( iters / 6 > 5 ? iters / 6 : 5 ))
  "$py" bench/det-vs-torch/fcos_torch.py infer "$dir/m$size.safetensors" "$arch" $size "$titers" 8 \
    > "$dir/torch$size.txt"
  echo "size $size: ours $(cat "$dir/ours$size.txt")"
  echo "size $size: torch $(cat "$dir/torch$size.txt")"
done
ms320=$(val ms "$dir/ours320.txt"); ms640=$(val ms "$dir/ours640.txt")
t320=$(val torch_ms "$dir/torch320.txt"); t640=$(val torch_ms "$dir/torch640.txt")
ips=$(val batch_ips "$dir/ours320.txt"); tips=$(val torch_batch_ips "$dir/torch320.txt")
ratio=$("$py" -c "print('%.2f' % ($t320 / $ms320))")
echo "bench det-infer: arch=$arch ms320=$ms320 ms640=$ms640 torch_ms320=$t320 torch_ms640=$t640 batch_ips=$ips torch_batch_ips=$tips ratio=$ratio"
