#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md in one run on this machine, then BENCHMARKS.md written again
# (ratios first, the machine noted). Each part measures idfed side by side with its peer or its
# floor in the same run:
#   1. sign / verify a 2-role AWS response vs raw aws-lc-rs RSA-2048 (criterion, crates/saml;
#      then the same ratios paired round by round, crates/saml/benches/paired.rs)
#   2. role resolution, validation and CSV import at 100,000 people (criterion, crates/idp)
#   3. idfed vs bergshamra vs raw RSA (criterion, bench/rust-peers, its own target dir)
#   4. python-xmlsec, signxml, python3-saml, xml-crypto, node-saml, samlify (bench/peers)
#   5. the IdP's SSO launch under load vs the signing limit; cold start, memory (bench/load.py)
#   6. AssumeRoleWithSAML under load, idfed's sandbox vs moto server (bench/sts.py)
# Loads run on loopback only, bounded in time. About 25 minutes, builds included.
# Usage: bench/run.sh                 everything
#        bench/run.sh --report        write BENCHMARKS.md from the last results only
#        bench/run.sh PART...         only these parts (sign scale rust-peers peers load sts)
set -euo pipefail
cd "$(dirname "$0")/.."

parts=(sign scale rust-peers peers load sts)
if [ "${1:-}" = "--report" ]; then
  parts=()
elif [ $# -gt 0 ]; then
  parts=("$@")
fi
wants() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
step() { printf '\n== bench: %s\n' "$1"; }

if wants load || wants sts || wants peers; then
  if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else echo "install wrk (apt-get install wrk)" >&2; exit 2; fi
  fi
  bash scripts/setup-oracles.sh
  cargo build -q --release -p idfed
  cargo build -q --release -p idfed-saml --example rsa_sign_rate --example mint_aws_responses
fi
if wants sign; then
  step "sign / verify vs raw RSA (three runs; the report takes each ratio's median)"
  for run in 1 2 3; do cargo bench -p idfed-saml --bench sign_verify -- --save-baseline "run$run"; done
  step "sign / verify vs raw RSA, paired: each ratio taken within one round of back-to-back batches"
  IDFED_PAIRED_JSON="$PWD/bench/results/paired.json" cargo bench -p idfed-saml --bench paired
fi
if wants scale; then
  step "scale"
  cargo bench -p idfed-idp --bench scale
  python3 bench/scale_report.py > bench/results/scale.md
fi
if wants rust-peers; then
  step "idfed vs bergshamra"
  bash bench/rust-peers/run.sh
fi
if wants peers; then
  step "Python and Node peers"
  bash bench/peers/run.sh 5
fi
if [ -f bench/results/rust-peers.json ] && [ -f bench/results/peers.json ]; then
  python3 bench/peers_report.py > bench/results/peers.md
fi
if wants load; then
  step "SSO launch under load"
  python3 bench/load.py
fi
if wants sts; then
  step "AssumeRoleWithSAML under load vs moto"
  .venv/bin/python bench/sts.py
fi

# Written aside and moved only when complete: a failed report never empties BENCHMARKS.md.
python3 bench/report.py target/criterion/rsa2048 > BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
for section in "peers:## Against other implementations" "load:## The IdP under load" \
  "sts:## AssumeRoleWithSAML under load" "scale:## Scale: role resolution" \
  "machines:## The verification ratio on another machine"; do
  file=bench/results/${section%%:*}.md
  [ -f "$file" ] && python3 bench/merge_section.py BENCHMARKS.md "$file" "${section#*:}"
done
echo "wrote BENCHMARKS.md"
