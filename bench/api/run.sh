#!/usr/bin/env bash
# `make bench-api`: the labeling server under load on loopback. Imports 100,000 JSON tasks in one
# request, lists them page by page, then fetches single tasks with wrk (100 connections, bounded
# time) and, as the peer measured in the same run, /health (the HTTP stack without the database).
# Prints one summary line: bench api: import_s=... import_tasks_per_s=... list_pages_per_s=...
# get_rps=... p99_ms=... health_rps=... get_vs_health=... rss_mb=...
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/api/bench_api.py "$build/labelloop" "${BENCH_TASKS:-100000}" \
  "${BENCH_SECONDS:-10}"
