#!/usr/bin/env bash
# `make bench-export`: what a user waits for. Setup (not timed, printed) builds a real data
# directory: one project with 100,000 tasks, each with one annotation of 3 rectangles, through the
# store's bulk import. Then `labelloop export --format F` runs once per format as its own process:
# SQLite rows -> task JSON -> exporter -> file. wall_s is elapsed time, cpu_s user+system time and
# peak RSS that of the export process (/usr/bin/time). The peer is Python's json.dump of the same
# task list, whose ratio is the number to trust on a busy machine. Targets: each format < 3 s and
# < 200 MB peak. BENCH_EXPORT_DATA=DIR keeps (and reuses) the data directory there.
set -euo pipefail
build=${1:-build}
n=${BENCH_EXPORT_TASKS:-100000}
cd "$(dirname "$0")/../.."
bin="$build/labelloop" setup="$build/bench/export/bench_export_setup"
for b in "$bin" "$setup"; do
  [ -x "$b" ] || { echo "bench export: $b not built" >&2; exit 1; }
done
out=$(mktemp -d /tmp/ll-bench-export-XXXXXX)
trap 'rm -rf "$out"' EXIT
data=${BENCH_EXPORT_DATA:-$out/data}
if [ -f "$data/labelloop.sqlite3" ]; then
  setup_s=0
  echo "  setup: reusing $data"
else
  read -r setup_s _ < <("$setup" "$data" "$n")
  echo "  setup (import of $n tasks x 3 boxes, not timed): ${setup_s}s"
fi
worst=0 worst_cpu=0 peak=0 line="" cpus=""
for f in JSON JSON_MIN CSV TSV COCO YOLO VOC; do
  dest="$out/export-$f"
  if ! /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$bin" export --data-dir "$data" \
      --project 1 --format "$f" --out "$dest" >"$out/log" 2>&1; then
    cat "$out/log" >&2
    exit 1
  fi
  read -r secs usr sys rss < "$out/time"
  cpu=$(python3 -c "print('%.2f' % ($usr + $sys))")
  rss=$(python3 -c "print('%.1f' % ($rss / 1024))")
  echo "  $f: ${secs}s wall, ${cpu}s cpu, peak RSS ${rss} MB, $(du -h "$dest" | cut -f1)"
  lower=$(echo "$f" | tr 'A-Z' 'a-z')
  line="$line ${lower}_s=$secs" cpus="$cpus ${lower}_cpu_s=$cpu"
  worst=$(python3 -c "print(max($worst, $secs))")
  worst_cpu=$(python3 -c "print(max($worst_cpu, $cpu))")
  peak=$(python3 -c "print(max($peak, $rss))")
  rm -f "$dest"
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
echo "bench export: worst_s=$worst peak_rss_mb=$peak worst_cpu_s=$worst_cpu tasks=$n setup_s=$setup_s$line$cpus python_json_s=$py python_over_json=$ratio"
