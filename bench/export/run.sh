#!/usr/bin/env bash
# `make bench-export`: exports 100,000 tasks with 3 boxes each in every format, one process per
# format (time includes building each task's JSON, as a store iterator would; GEN is that part
# alone), and the same JSON export written by Python's json module as the peer, whose ratio is
# the number to trust on a busy machine. Targets: each format < 3 s, < 200 MB. wall_s is
# elapsed time, cpu_s user+system time of the exporting process.
set -euo pipefail
build=${1:-build}
n=${BENCH_EXPORT_TASKS:-100000}
cd "$(dirname "$0")/../.."
bin="$build/bench/export/bench_export"
[ -x "$bin" ] || { echo "bench export: $bin not built" >&2; exit 1; }
out=$(mktemp -d /tmp/ll-bench-export-XXXXXX)
trap 'rm -rf "$out"' EXIT
worst=0 worst_cpu=0 peak=0 line=""
read -r _ gen gen_cpu _ < <("$bin" GEN "$n" /dev/null)
echo "  GEN (building the task JSON only): ${gen}s wall, ${gen_cpu}s cpu"
for f in JSON JSON_MIN CSV TSV COCO YOLO VOC; do
  read -r name secs cpu rss < <("$bin" "$f" "$n" "$out/export-$f")
  echo "  $name: ${secs}s wall, ${cpu}s cpu, peak RSS ${rss} MB, $(du -h "$out/export-$f" | cut -f1)"
  line="$line $(echo "$name" | tr 'A-Z' 'a-z')_s=$secs"
  worst=$(python3 -c "print(max($worst, $secs))")
  worst_cpu=$(python3 -c "print(max($worst_cpu, $cpu))")
  peak=$(python3 -c "print(max($peak, $rss))")
  rm -f "$out/export-$f"
done
py=$(python3 - "$n" "$out/py.json" <<'PY'
import json, random, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(42)
t0 = time.perf_counter()
tasks = []
for i in range(1, n + 1):
    result = [{"original_width": 640, "original_height": 480, "image_rotation": 0,
               "value": {"x": random.random() * 80, "y": random.random() * 80,
                         "width": random.random() * 20, "height": random.random() * 20,
                         "rotation": 0, "rectanglelabels": [random.choice(["cat", "dog", "bird"])]},
               "id": "r%d_%d" % (i, b), "from_name": "label", "to_name": "image",
               "type": "rectanglelabels", "origin": "manual"} for b in range(3)]
    tasks.append({"id": i, "annotations": [{"id": i, "completed_by": 1, "result": result}],
                  "data": {"image": "/data/upload/1/img%d.jpg" % i}})
with open(path, "w") as f:
    json.dump(tasks, f, ensure_ascii=False)
print("%.3f" % (time.perf_counter() - t0))
PY
)
json_s=$(echo "$line" | sed -n 's/.* json_s=\([0-9.]*\).*/\1/p')
ratio=$(python3 -c "print('%.2f' % ($py / $json_s))")
echo "bench export: worst_s=$worst peak_rss_mb=$peak worst_cpu_s=$worst_cpu tasks=$n gen_s=$gen$line python_json_s=$py python_over_json=$ratio"
