#!/usr/bin/env bash
# `make bench-ls-reimport`: moving from Label Studio. Makes a 1,000-task Label Studio 1.6 JSON
# export (annotations in full with 1-3 boxes each, predictions listed as ids, file_upload names of
# the exporting instance), imports it as a JSON body and as an uploaded file, then exports the
# project again and re-imports that into a new project. Prints one line:
# bench ls-reimport: tasks=... import_ms=... file_ms=... reimport_ms=... server_cpu_ms=...
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/ls-reimport/bench_reimport.py "$build/labelloop" \
  "${BENCH_TASKS:-1000}" "${BENCH_REPEAT:-5}"
