#!/usr/bin/env bash
# AssumeRoleWithSAML under load on loopback: idfed's AWS sandbox against moto server in one run,
# at 1, 16 and 64 connections, a distinct signed assertion per request (bench/sts.py); then the
# section is merged into BENCHMARKS.md.
# Usage: bench/sts.sh [SECONDS]   (per row and server; default 10)
# Needs wrk (installed from Debian when missing, as root) and the venv with boto3 and moto
# (scripts/setup-oracles.sh). IDFED_BENCH_NO_BUILD=1 uses the release binaries already built.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else echo "install wrk (apt-get install wrk)" >&2; exit 2; fi
fi
if ! .venv/bin/python -c 'import boto3, moto, flask' >/dev/null 2>&1 || [ ! -x .venv/bin/moto_server ]; then
  bash scripts/setup-oracles.sh
fi
if [ "${IDFED_BENCH_NO_BUILD:-}" != 1 ]; then
  cargo build -q --release -p idfed
  cargo build -q --release -p idfed-saml --example mint_aws_responses
fi
for binary in target/release/idfed target/release/examples/mint_aws_responses; do
  [ -x "$binary" ] || { echo "missing $binary (cargo build --release)" >&2; exit 2; }
done
.venv/bin/python bench/sts.py "$@"
python3 bench/merge_section.py BENCHMARKS.md bench/results/sts.md "## AssumeRoleWithSAML under load"
