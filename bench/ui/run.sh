#!/usr/bin/env bash
# bench/ui: the UI measured in headless Chromium against the real server (see bench.mjs).
# Usage: bench/ui/run.sh <build dir>. Prints `bench ui: editor_ms=... frame_ms_p95=... list_scroll_ms=...`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
export LL_BIN="$PWD/$BUILD/labelloop"
export LL_ARTIFACTS="$PWD/bench/out"
exec node bench/ui/bench.mjs
