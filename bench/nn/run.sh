#!/usr/bin/env bash
# bench/nn: one training step (forward + backward) of conv stacks and of a compact FCOS-sized
# detector at batch 8, 320x320 on our engine (oneDNN backend) against PyTorch on the identical
# network (same weights, same inputs, torch.set_num_threads equal to ours), in the same run; plus
# single-image inference of the detector. The machine is shared and noisy: each side runs ROUNDS
# alternating rounds and the best median counts.
# Usage: bench/nn/run.sh <build dir>. Last line:
#   bench nn: ours_ms=... torch_ms=... ratio=... gflops=... conv_gflops=... efficiency=...
# (the detector training step; conv_gflops is a lone 3x3 convolution measured in the same run)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-2}
ITERS=${ITERS:-5}
BIN="$BUILD/bench/nn/bench_nn"
# Both sides run on libgomp (torch and oneDNN alike). With the default spinning barriers, two
# threads on a machine shared by several busy processes lose most of their time when one thread
# is descheduled; passive waiting is far steadier there. Same setting for both sides.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/ll_bench_nn.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
best() { awk 'NF {if (b == "" || $1 + 0 < b + 0) b = $1} END {print b}'; }

run_net() { # name [infer]
  local name=$1 mode=${2:-} ours="" torch="" line="" threads
  for r in $(seq "$ROUNDS"); do
    line=$("$BIN" "$name" "$ITERS" "$TMP/$name.safetensors" $mode)
    ours+="$(field ours_ms "$line")"$'\n'
    threads=$(field threads "$line")
    torch+="$(field torch_ms "$($PY tests/unit/nn/nn_torch.py bench "$TMP/$name.safetensors" "$threads" "$ITERS")")"$'\n'
  done
  local o t
  o=$(best <<<"$ours")
  t=$(best <<<"$torch")
  local gf
  gf=$(awk -v g="$(field gflops "$line")" -v m="$(field ours_ms "$line")" -v o="$o" 'BEGIN{printf "%.1f", g*m/o}')
  echo "nn ${name}${mode:+-$mode}: ours_ms=$o torch_ms=$t ratio=$(awk -v o="$o" -v t="$t" 'BEGIN{printf "%.2f", t/o}') gflops=$gf threads=$threads params=$(field params "$line") mem_mb=$(field mem_mb "$line") faults_per_step=$(field faults_per_step "$line")"
}

conv1=$(run_net conv1)
echo "$conv1"
run_net conv3x3
run_net dwsep
run_net detector infer
det=$(run_net detector)
echo "$det"
# conv_gflops: one 3x3 convolution alone (forward + both backward passes), the machine's oneDNN
# throughput in this run; efficiency = detector GFLOPS / conv_gflops.
peak=$(field gflops "$conv1")
eff=$(awk -v d="$(field gflops "$det")" -v p="$peak" 'BEGIN{printf "%.2f", d/p}')
echo "bench nn: $(sed 's/^nn detector: //; s/ threads=.*//' <<<"$det") conv_gflops=$peak efficiency=$eff"
