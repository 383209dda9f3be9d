#!/usr/bin/env bash
# `make bench-abuse`: the labeling server under attack on loopback. 100 authenticated clients
# (wrk: task reads, project reads, annotation writes) work first alone, then for BENCH_SECONDS
# (default 60) while unauthenticated clients send 240 MiB bodies, flood the login (from one
# address, and from ever new ones) and hold slow connections open. Prints the legitimate clients'
# p99 with and without the abuse, their errors and the server's peak RSS:
# bench abuse: p99_ms=... p99_quiet_ms=... errors=... peak_rss_mb=... (and more keys)
# Targets (issue 16): errors=0, p99_ms under 3x p99_quiet_ms, peak_rss_mb under 300.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/abuse/bench_abuse.py "$build/labelloop" "${BENCH_SECONDS:-60}" \
  "${BENCH_QUIET_SECONDS:-20}"
