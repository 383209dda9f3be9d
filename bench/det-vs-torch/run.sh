#!/usr/bin/env bash
# bench det-vs-torch: training throughput of our FCOS against the identical network in PyTorch
# (Debian's python3-torch), both trained on the same augmented raccoon batches from the same
# initial weights, with the same losses and SGD, on LL_THREADS threads (default 2). The first
# step's losses must agree (same weights, same batch), which checks that the networks are the
# same. Reports median step times as images/s; ratio = ours / torch. The sides alternate
# (ours, torch, ours, torch) so that background load hits both alike.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
export LL_SHARED=${LL_SHARED:-$PWD/../shared} LL_THREADS=${LL_THREADS:-2}
export LL_MODEL_DIR=${LL_MODEL_DIR:-$(cd "$build" && pwd)/models} # pretrained backbone (fcos-mv3)
steps=${DET_BENCH_STEPS:-8}
arch=${DET_BENCH_ARCH:-fcos-mv3} # the default architecture; fcos-s for the from-scratch one
dir=$(mktemp -d /tmp/ll-bench-det-vs-torch.XXXXXX)
trap 'rm -rf "$dir"' EXIT
tool="$build/bench/det-vs-torch/bench_det"
py=/usr/bin/python3
"$tool" train "$dir" "$arch" 320 16 "$steps" > "$dir/ours1.txt"
"$py" bench/det-vs-torch/fcos_torch.py train "$dir" "$arch" 320 16 "$steps" > "$dir/torch1.txt"
"$tool" train "$dir" "$arch" 320 16 "$steps" > "$dir/ours2.txt"
"$py" bench/det-vs-torch/fcos_torch.py train "$dir" "$arch" 320 16 "$steps" > "$dir/torch2.txt"
"$py" - "$dir" "$arch" <<'PY'
import re, statistics, sys
d = sys.argv[1]
def steps(name):
    rows = []
    for line in open('%s/%s' % (d, name)):
        m = re.match(r'step=(\d+) loss_cls=(\S+) loss_box=(\S+) loss_ctr=(\S+) npos=\d+ ms=(\S+)', line)
        if m:
            rows.append([float(x) for x in m.groups()])
    return rows
ours = steps('ours1.txt') + steps('ours2.txt')
torch = steps('torch1.txt') + steps('torch2.txt')
for k, name in ((1, 'cls'), (2, 'box'), (3, 'ctr')):
    a, b = ours[0][k], torch[0][k]
    if abs(a - b) > 1e-3 * max(1.0, abs(b)):
        sys.exit('det-vs-torch: first-step %s loss differs: ours %.6f torch %.6f' % (name, a, b))
ms_ours = statistics.median(r[4] for r in ours if r[0] >= 2)
ms_torch = statistics.median(r[4] for r in torch if r[0] >= 2)
print('first-step losses agree: cls %.5f/%.5f box %.5f/%.5f ctr %.5f/%.5f' %
      (ours[0][1], torch[0][1], ours[0][2], torch[0][2], ours[0][3], torch[0][3]))
print('median step: ours %.0f ms, torch %.0f ms (batch 16, 320x320)' % (ms_ours, ms_torch))
print('bench det-vs-torch: arch=%s ours_ips=%.2f torch_ips=%.2f ratio=%.2f' %
      (sys.argv[2], 16e3 / ms_ours, 16e3 / ms_torch, ms_torch / ms_ours))
PY
