#!/usr/bin/env bash
# The IdP under load on loopback (SSO launch at 1, 16 and 64 connections against the signing
# limit measured in the same run), cold start and memory of `idfed up`; then BENCHMARKS.md is
# written again with this section. Needs wrk (installed from Debian when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else echo "install wrk (apt-get install wrk)" >&2; exit 2; fi
fi
cargo build -q --release -p idfed
cargo build -q --release -p idfed-saml --example rsa_sign_rate
python3 bench/load.py
python3 bench/merge_section.py BENCHMARKS.md bench/results/load.md "## The IdP under load"
