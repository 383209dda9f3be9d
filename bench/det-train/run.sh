#!/usr/bin/env bash
# bench det-train: the learning curve of `labelloop train` on raccoon, 2 threads.
# Fixed split (det_dataset_split with --val-split 0.2 --seed 1): the 200 images sorted by path
# (the same order as their annotation file names, raccoon-1 ... raccoon-99), shuffled by
# base_rng seeded with 1 (xoshiro256** / splitmix64, Fisher-Yates), the first 40 validate and
# the other 160 train. Validation AP50 and AP@[.5:.95] are read from the training log at the last
# evaluation within 5, 10 and 15 minutes of training time (evaluation time excluded). The run is
# the default recipe (its epochs, DET_BENCH_EPOCHS to change them) cut at 15 minutes
# (DET_BENCH_MINUTES); when it ends earlier, the later points are its final model, which is what
# a user has at that time. DET_BENCH_ARCH picks the architecture (default: labelloop's default),
# named in the summary.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
shared=${LL_SHARED:-$PWD/../shared}
minutes=${DET_BENCH_MINUTES:-15}
dir=$(mktemp -d /tmp/ll-bench-det-train.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$build/labelloop" train --data "$shared/datasets/raccoon" --format voc --out "$dir/model.safetensors" \
  --val-split 0.2 --seed 1 ${DET_BENCH_EPOCHS:+--epochs "$DET_BENCH_EPOCHS"} --max-minutes "$minutes" --threads "${LL_THREADS:-2}" \
  ${DET_BENCH_ARCH:+--arch "$DET_BENCH_ARCH"} --log "$dir/log.jsonl" ${DET_BENCH_ARGS:-} \
  2>"$dir/train.err" | tee "$dir/train.out" || { tail -5 "$dir/train.err"; exit 1; }
arch=$(sed -n 's/^wrote [^:]*: \([^,]*\),.*/\1/p' "$dir/train.out")
/usr/bin/python3 - "$dir/log.jsonl" "$minutes" "$arch" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
limit = float(sys.argv[2])
print('epoch  minutes  img/s   loss   val AP50  val AP')
for r in rows:
    print('%5d  %7.2f  %5.1f  %6.3f  %8.3f  %6.3f' % (r['epoch'], r['elapsed_s'] / 60, r['images_per_s'],
                                                   r['loss'], r['val_ap50'], r['val_ap']))
def at(m):
    best = [r for r in rows if r['elapsed_s'] <= m * 60 + 1e-6]
    return best[-1] if best else None
out = []
for m in (5, 10, 15):
    r = at(m)
    out.append('ap50_%dmin=%s ap_%dmin=%s' % (m, '%.3f' % r['val_ap50'] if r else 'nan', m,
                                              '%.3f' % r['val_ap'] if r else 'nan'))
last = rows[-1]
print('bench det-train: arch=%s ap50=%.3f ap=%.3f %s minutes=%.2f epochs=%d images_per_s=%.1f' %
      (sys.argv[3], last['val_ap50'], last['val_ap'], ' '.join(out), last['elapsed_s'] / 60,
       last['epoch'], last['images_per_s']))
PY
