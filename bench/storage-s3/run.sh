#!/usr/bin/env bash
# `make bench-storage-s3`: S3 storages against s3rver on loopback (tests/s3rver). Syncs a bucket
# of BENCH_OBJECTS (default 2000, two listing pages and more) image objects as blob tasks, re-syncs it (nothing new), syncs
# 200 JSON task objects, then times the media route: presigned redirects, and bytes streamed
# through the server (first read fetches into the cache, later reads come from it). Prints:
# bench storage-s3: sync_objects=... sync_s=... resync_s=... json_sync_objects=... json_sync_s=...
#   presign_p50_ms=... stream_first_ms=... stream_cached_p50_ms=...
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 -B bench/storage-s3/bench_storage_s3.py "$build/labelloop" \
  "${BENCH_OBJECTS:-2000}"
