#!/usr/bin/env bash
# `make bench-loop-cycle`: what one train-and-predict cycle of the loop costs as a project grows.
# For each size (CYCLE_SIZES, default 20,100,1000,10000 labeled tasks, raccoon images repeated:
# the cost depends on the number of images, not on their being distinct) a project gets a cold
# job (from scratch) and a warm one (from the first model); each job's phases are timed from its
# progress. Prints a table and one line:
# bench loop-cycle: s20=... s100=... s1000=... s10000=... (seconds of the warm cycle)
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/loop-cycle/cycle_cost.py "$build/labelloop" \
  "${CYCLE_SIZES:-20,100,1000,10000}"
