#!/usr/bin/env bash
# bench zoo: single-picture latency of the zoo's models through det_predict (letterbox, forward,
# decoding, NMS; median of ITERS calls on raccoon pictures) and throughput in batches of 8, on
# LL_THREADS threads (default 2), with the load average seen: the CenterNet (512), the zoo's
# face detector FaceBoxes (512) and the earlier BlazeFace (256), and the CenterNet with FaceBoxes
# in one model (512); both face detectors' AP50 and AP on seed-faces16's 16 portraits (`labelloop
# eval`, the face boxes of the data set), next to FaceBoxes' own TF.js graph scored the same way,
# and our FaceBoxes' latency over TF.js's (pure-JS CPU backend, 512x512) in the same run.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
export LL_SHARED=${LL_SHARED:-$PWD/../shared} LL_THREADS=${LL_THREADS:-2}
export LL_MODEL_DIR=${LL_MODEL_DIR:-$(cd "$build" && pwd)/models}
iters=${ZOO_BENCH_ITERS:-40}
load0=$(cut -d' ' -f1 /proc/loadavg)
val() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }
cn=$("$build/bench/det-vs-torch/bench_det" infer zoo:centernet-coco "$iters" 8)
echo "centernet-coco: $cn"
ours=$("$build/bench/det-vs-torch/bench_det" infer zoo:faceboxes "$iters" 8)
echo "faceboxes: $ours"
bf=$("$build/bench/det-vs-torch/bench_det" infer zoo:blazeface-back "$iters" 8)
echo "blazeface-back: $bf"
both=$("$build/bench/det-vs-torch/bench_det" infer zoo:centernet-coco+faceboxes "$iters" 8)
echo "centernet-coco+faceboxes: $both"
# AP50 and AP of a zoo face model on seed-faces16 through `labelloop eval`: "AP50 AP"
face_eval() {
  local ev
  ev=$("$build/labelloop" eval --model "zoo:$1" --data "$LL_SHARED/datasets/seed-faces16" \
    --threads "$LL_THREADS" --json 2>/dev/null)
  echo "$1 on seed-faces16: $ev" >&2
  echo "$(sed -n 's/.*"ap50": \([0-9.]*\).*/\1/p' <<<"$ev" | head -1)" \
    "$(sed -n 's/^{[^}]*"ap": \([0-9.]*\).*/\1/p' <<<"$ev" | head -1)"
}
read -r ap50 ap < <(face_eval faceboxes)
read -r bf_ap50 bf_ap < <(face_eval blazeface-back)
# FaceBoxes' own TF.js graph scored with det's evaluator, and its latency at 512
# (ZOO_BENCH_FACEBOXES=0 skips it; ~1.5 minutes, the large portraits in pure JS)
fb_ap50=- fb_ap=- tfjs_ms=- ratio=-
if [ "${ZOO_BENCH_FACEBOXES:-1}" != 0 ]; then
  faces=$LL_SHARED/datasets/seed-faces16
  node bench/zoo/faceboxes_tfjs.mjs "$PWD" models/human-models/faceboxes.json \
    "$faces"/images/*.jpg 2>"$build/faceboxes-tfjs.log" | python3 -c '
import os, sys
# det_eval_tool input: each picture its true boxes (YOLO labels: centre and size) and detections
faces = sys.argv[1]
names = sorted(n for n in os.listdir(faces + "/images") if n.endswith(".jpg"))
print("classes 1")
for name, part in zip(names, sys.stdin.read().split("image ")[1:]):
    size, dt = part.split("\n", 1)
    w, h = map(float, size.split())
    print("image")
    for line in open(faces + "/labels/" + name[:-4] + ".txt"):
        c, x, y, bw, bh = map(float, line.split())
        print("gt", (x - bw / 2) * w, (y - bh / 2) * h, (x + bw / 2) * w, (y + bh / 2) * h, 0)
    sys.stdout.write(dt)
' "$faces" \
    > "$build/faceboxes-eval.txt"
  fb=$("$build/tests/unit/det/det_eval_tool" < "$build/faceboxes-eval.txt" | head -2 | tr '\n' ' ')
  fb_ap=$(cut -d' ' -f1 <<<"$fb") fb_ap50=$(cut -d' ' -f2 <<<"$fb")
  tfjs_ms=$(sed -n 's/^tfjs_512_ms=//p' "$build/faceboxes-tfjs.log")
  ratio=$(python3 -c "print(f'{$(val ms "$ours") / $tfjs_ms:.4f}')")
  echo "faceboxes (TF.js) on seed-faces16: ap=$fb_ap ap50=$fb_ap50; at 512: $tfjs_ms ms"
fi
load1=$(cut -d' ' -f1 /proc/loadavg)
echo "bench zoo: model=centernet-coco ms=$(val ms "$cn") ms_p10=$(val ms_p10 "$cn")" \
  "ms_p90=$(val ms_p90 "$cn") batch_ips=$(val batch_ips "$cn")" \
  "face_model=faceboxes face_ms=$(val ms "$ours") face_ms_p10=$(val ms_p10 "$ours")" \
  "face_ap50=$ap50 face_ap=$ap faceboxes_tfjs_ap50=$fb_ap50 faceboxes_tfjs_ap=$fb_ap" \
  "faceboxes_tfjs_ms=$tfjs_ms ms_vs_tfjs=$ratio" \
  "blazeface_ms=$(val ms "$bf") blazeface_ap50=$bf_ap50 blazeface_ap=$bf_ap" \
  "both_ms=$(val ms "$both") threads=$LL_THREADS load=$load0-$load1"
