#!/usr/bin/env bash
# `make bench-ml-backend`: labelloop's detector as a Label Studio ML backend, timed through the
# protocol on loopback. A stand-in for Label Studio serves 16 face images (with the token check);
# /train mirrors them and trains one cycle (BENCH_TRAIN_S, default 20 s); then /predict answers a
# batch of 16 tasks with cold images (downloaded; the first call also loads the model) and warm
# (cached), and single-task calls, once the training worker has exited.
# Prints: bench ml-backend: setup_ms=... train_call_ms=... train_total_s=... predict16_cold_ms=...
# predict16_warm_ms=... predict1_ms=... per_task_ms=...
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/ml-backend/bench_ml_backend.py "$build/labelloop" \
  "${BENCH_TRAIN_S:-20}"
