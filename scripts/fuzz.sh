#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 600), one after another, seeded from
# fuzz/seeds/<target>. Stable Rust runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (its -Z flags).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse c14n verify redirect post policy expression query)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  echo "== fuzzing $t for ${seconds}s"
  features=()
  case "$t" in expression | query) features=(--features services) ;; esac
  cargo fuzz run -O "${features[@]}" "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 2>&1 \
    | grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
  if ls artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "CRASH in $t: $(ls artifacts/"$t"/crash-*)"; exit 1
  fi
done
