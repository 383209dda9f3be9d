#!/usr/bin/env bash
# `make bench-scale` (issue 21's proof): 1,000,000 tasks in a throw-away PostgreSQL
# (tests/pg/llpg.py), two `labelloop serve --db postgresql://...` processes with data dirs of
# their own, 200 annotators (one user and token each, wrk with annotator.lua) for 60 s spread
# over both: /next, the task, an annotation, a page of the list. Then the same on SQLite with one
# server. Prints rps, p99 and errors per server and one summary line:
#   bench scale: pg_rps=... pg_p99_ms=... sqlite_rps=... errors=... (more keys after)
# Quick runs: BENCH_TASKS=50000 BENCH_SECONDS=10 BENCH_CLIENTS=200 (BENCH_CHUNK: tasks per
# import request, default 5000). Everything, PostgreSQL and the clients included, shares this
# machine's cores.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/scale/bench_scale.py "$build/labelloop"
