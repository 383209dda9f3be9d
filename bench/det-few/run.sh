#!/usr/bin/env bash
# bench det-few: the learning curve with few labels, what the loop's first cycles see. On the
# fixed raccoon split of bench det-train (--val-split 0.2 --seed 1: 160 training images, 40
# validation), each architecture (DET_FEW_ARCHS, default "fcos-mv3 fcos-s") trains on the first
# 10, 20 and 50 training images (DET_FEW_SIZES) with the loop's cold-start schedule
# (src/loop/loop_policy.c: ceil(1600 / n) epochs, 12 to 150, so every run sees ~1600 images)
# on LL_THREADS threads (default 2), and is validated on the same 40 images.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
shared=${LL_SHARED:-$PWD/../shared}
export LL_MODEL_DIR=${LL_MODEL_DIR:-$(cd "$build" && pwd)/models}
archs=${DET_FEW_ARCHS:-fcos-mv3 fcos-s}
sizes=${DET_FEW_SIZES:-10 20 50}
dir=$(mktemp -d /tmp/ll-bench-det-few.XXXXXX)
trap 'rm -rf "$dir"' EXIT
summary=""
for arch in $archs; do
  for n in $sizes; do
    epochs=$(( (1600 + n - 1) / n ))
    epochs=$(( epochs < 12 ? 12 : epochs > 150 ? 150 : epochs ))
    start=$SECONDS
    "$build/labelloop" train --data "$shared/datasets/raccoon" --format voc \
      --out "$dir/m.safetensors" --val-split 0.2 --seed 1 --train-images "$n" --epochs "$epochs" \
      --eval-every "$epochs" --arch "$arch" --threads "${LL_THREADS:-2}" --log "$dir/$arch-$n.jsonl" \
      ${DET_BENCH_ARGS:-} >/dev/null 2>"$dir/train.err" || { tail -5 "$dir/train.err"; exit 1; }
    secs=$((SECONDS - start))
    read -r ap50 ap <<<"$(/usr/bin/python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print('%.3f %.3f' % (r['val_ap50'], r['val_ap']))" "$dir/$arch-$n.jsonl")"
    printf '%-10s %3d images  %3d epochs  %6d s  val AP50 %s  AP %s\n' "$arch" "$n" "$epochs" "$secs" "$ap50" "$ap"
    summary="$summary ${arch}_ap50_$n=$ap50 ${arch}_ap_$n=$ap"
  done
done
echo "bench det-few:$summary"
