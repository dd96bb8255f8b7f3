#!/usr/bin/env bash
# Runs the Rust-peers criterion benchmark (idfed, bergshamra, raw aws-lc-rs RSA-2048 in one run)
# and writes bench/results/rust-peers.json: mean ns per row and the ratios between rows.
# Usage: bench/rust-peers/run.sh [criterion args]   e.g. -- --measurement-time 2 --warm-up-time 1
#        RUSTCRYPTO=1 bench/rust-peers/run.sh       also measures bergshamra's rustcrypto provider
#        bench/rust-peers/run.sh --report           rewrite the JSON from the last run's results
# Builds with -j 1 (the machine is shared) in this crate's own target dir.
set -euo pipefail
cd "$(dirname "$0")"
group=target/criterion/peers_rsa2048
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${1:-}" != "--report" ]; then
  [ "${1:-}" = "--" ] && shift
  rm -rf "$group"   # no stale rows from an earlier run
  cargo bench -j 1 --bench peers -- "$@"
  if [ "${RUSTCRYPTO:-0}" = 1 ]; then
    cargo bench -j 1 --bench peers --no-default-features --features rustcrypto -- "$@"
  fi
fi
mkdir -p ../results
python3 - "$group" "$load_before" > ../results/rust-peers.json.new <<'PY'
import json, os, platform, sys, time
group, load_before = sys.argv[1], sys.argv[2]
rows = {}
for row in sorted(os.listdir(group)):
    est = os.path.join(group, row, "new", "estimates.json")
    if os.path.isfile(est):
        with open(est) as f:
            rows[row] = round(json.load(f)["mean"]["point_estimate"], 1)
if not rows:
    sys.exit(f"no results under {group}")
pairs = [
    ("idfed_sign", "bergshamra_sign"), ("bergshamra_sign", "idfed_sign"),
    ("bergshamra_sign", "idfed_sign_element"), ("bergshamra_sign_document", "idfed_sign_element"),
    ("idfed_verify_signature", "bergshamra_verify"), ("bergshamra_verify", "idfed_verify_signature"),
    ("bergshamra_verify", "idfed_validate_response"),
    ("idfed_sign", "raw_sign"), ("bergshamra_sign", "raw_sign"), ("raw_import_sign", "raw_sign"),
    ("idfed_verify_signature", "raw_verify"), ("bergshamra_verify", "raw_verify"),
    ("bergshamra_sign_rustcrypto", "idfed_sign"), ("bergshamra_sign_rustcrypto", "bergshamra_sign"),
    ("bergshamra_verify_rustcrypto", "idfed_verify_signature"),
    ("bergshamra_verify_rustcrypto", "bergshamra_verify"),
]
ratios = {f"{a}/{b}": round(rows[a] / rows[b], 3) for a, b in pairs if a in rows and b in rows}
def locked(name):
    lines = open("Cargo.lock").read().split("\n")
    for i, l in enumerate(lines):
        if l == f'name = "{name}"':
            return lines[i + 1].split('"')[1]
    return None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
json.dump({
    "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}",
    "load_average_before": load_before,
    "bench": "bench/rust-peers (criterion group peers_rsa2048)",
    "versions": {n: locked(n) for n in ("bergshamra", "kryptering", "uppsala", "aws-lc-rs", "criterion")},
    "notes": {"bergshamra_*": "aws-lc provider; *_rustcrypto rows: rustcrypto provider",
              "raw_*": "aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 over 700 bytes",
              "raw_import_sign": "RsaKeyPair::from_pkcs8 + sign, what bergshamra's aws-lc provider does per signature"},
    "mean_ns": rows,
    "ratios": ratios,
}, sys.stdout, indent=1)
print()
PY
mv ../results/rust-peers.json.new ../results/rust-peers.json
echo "wrote bench/results/rust-peers.json"
