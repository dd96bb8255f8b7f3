#!/usr/bin/env bash
# Measures signing and verifying a typical AWS response against raw aws-lc-rs RSA-2048 in one
# criterion run, then writes BENCHMARKS.md (ratios first, machine noted).
# Usage: bench/run.sh            (run the benchmarks, then write BENCHMARKS.md)
#        bench/run.sh --report   (write BENCHMARKS.md from the last run's results)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--report" ]; then
  cargo bench -p idfed-saml --bench sign_verify
fi
# Written aside and moved only when complete: a failed report never empties BENCHMARKS.md.
python3 bench/report.py target/criterion/rsa2048 > BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
if [ -f bench/results/load.md ]; then
  python3 bench/merge_section.py BENCHMARKS.md bench/results/load.md "## The IdP under load"
fi
if [ -f bench/results/scale.md ]; then
  python3 bench/merge_section.py BENCHMARKS.md bench/results/scale.md "## Scale: role resolution"
fi
echo "wrote BENCHMARKS.md"
