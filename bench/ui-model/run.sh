#!/usr/bin/env bash
# bench/ui-model: how long the Model panel takes to show the model endpoint's data with many
# versions, in headless Chromium against the real server (see bench.mjs).
# Usage: bench/ui-model/run.sh <build dir>. Prints `bench ui-model: first_ms=... update_ms=... versions=50`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
export LL_BIN="$PWD/$BUILD/labelloop"
export LL_ARTIFACTS="$PWD/bench/out"
exec node bench/ui-model/bench.mjs
