#!/usr/bin/env bash
# Installs what building and testing the registry needs on a fresh Debian machine with the
# Rust toolchain: libclang (bindgen, for the rocksdb crate), a C++ compiler, OpenSSL 3's
# command line (the independent check of the SM2 test vector, integrity/tests/sm2_openssl.rs),
# Go with its x/mod sources (Go's signed-note opening our checkpoints,
# tlog/tests/go_note_interop.rs), Node.js and npm (the W3C suites, and the eddsa-rdfc-2022
# cross-check with jsonld.js, integrity/tests/rdfc_crosscheck.rs), and for the web console's
# browser tests Debian's Chromium (/usr/bin/chromium, driven headless by the tests) with CJK
# fonts so Chinese text renders in their screenshots, and Debian's prometheus (the
# observability test scrapes a node with it).
# Idempotent: does nothing when everything is present. Sourced by run-node.sh and test.sh.
set -euo pipefail

need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# A test may point $CHROMIUM at another binary; the package is still what CI installs.
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
# Go and its x/mod sources: the signed-note interop test opens our checkpoints with Go's
# golang.org/x/mod/sumdb/note (tlog/tests/go_note_interop.rs).
command -v go >/dev/null 2>&1 || need+=(golang-go)
dpkg -s golang-golang-x-mod-dev >/dev/null 2>&1 || need+=(golang-golang-x-mod-dev)
# Node.js and npm: the W3C interoperability suites (scripts/w3c-suites.sh) are mocha test
# suites, and the eddsa-rdfc-2022 cross-check runs jsonld.js and Digital Bazaar's
# cryptosuite (integrity/tests/rdfc_crosscheck.rs); npm installs their packages from the npm
# registry.
# systemd-analyze: the packaging test verifies the shipped unit
# (tests/integration/issue_23_packaging.rs).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Debian's Prometheus server: the observability test scrapes a real node's /metrics with it
# and queries its HTTP API (tests/integration/issue_23_metrics.rs).
[ -x /usr/bin/prometheus ] || need+=(prometheus)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
  else
    sudo=
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install the Rust toolchain (rustup)" >&2; exit 1; }

# s3s-fs: a real S3-compatible server over a directory, started by the object-storage
# publication tests (tests/integration/issue_23_object_store.rs) and `talent-bench
# read-path`. Built from crates.io, pinned (0.14.1 is the newest that builds with this
# toolchain); skipped when that version is installed. About 10 minutes on 2 cores.
S3S_FS_VERSION=0.14.1
if ! "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" --version 2>/dev/null | grep -qx "s3s-fs $S3S_FS_VERSION"; then
  echo "setup: installing s3s-fs $S3S_FS_VERSION" >&2
  cargo install --locked --quiet s3s-fs --version "=$S3S_FS_VERSION" --features binary
fi
