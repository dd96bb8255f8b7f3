#!/usr/bin/env bash
# The peers of idfed's sign/verify benchmark: python-xmlsec, signxml and python3-saml
# (bench/peers/peers.py), xml-crypto, node-saml and samlify (bench/peers/peers.js), each signing and
# verifying the same 2-role AWS response that idfed's criterion bench uses, in their own process.
# Writes bench/results/peers.json (both halves merged, the machine and its load noted).
#
# Usage: bench/peers/run.sh [SECONDS]    timed seconds per peer and op (default 3; 11 rows)
#
# Fixtures come from the release binaries (built here only when missing): `idfed keys generate`
# makes an RSA-2048 key and certificate, the mint_aws_responses example one signed response.
# Installs what is missing: the venv and its SAML packages (scripts/setup-oracles.sh, then
# bench/peers/requirements.txt, skipped while its stamp matches) and bench/peers/node_modules
# (npm ci, from package-lock.json). Exits non-zero when a peer cannot produce a signature that
# xmlsec1 verifies, or cannot verify the response (or accepts a tampered one); the results file is
# still written then, with an "error" on that row.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PEERS=$REPO/bench/peers
VENV=$REPO/.venv
OUT=$REPO/bench/results/peers.json
SECS=${1:-3}
IDFED=$REPO/target/release/idfed
MINT=$REPO/target/release/examples/mint_aws_responses
ACCOUNT=arn:aws:iam::111122223333
ROLES=("$ACCOUNT:role/Okta_Role,$ACCOUNT:saml-provider/Okta_Connect_Admin"
       "$ACCOUNT:role/Connect_Agent,$ACCOUNT:saml-provider/Okta_Connect_Admin")

[[ $SECS =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }

# 1. The fixture makers.
if [ ! -x "$IDFED" ]; then (cd "$REPO" && cargo build -q --release -p idfed); fi
if [ ! -x "$MINT" ]; then (cd "$REPO" && cargo build -q --release -p idfed-saml --example mint_aws_responses); fi

# 2. Python peers: the oracles' venv (lxml/xmlsec built against Debian's libraries), then signxml.
if [ ! -x "$VENV/bin/python" ] || ! command -v xmlsec1 >/dev/null; then
  "$REPO/scripts/setup-oracles.sh"
fi
stamp=$VENV/.peers-requirements.sha256
want=$(cat "$PEERS/requirements.txt" "$REPO/tools/oracles/requirements.txt" | sha256sum | cut -d' ' -f1)
py_ok() { "$VENV/bin/python" -c 'import xmlsec, signxml, onelogin.saml2.response' >/dev/null 2>&1; }
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! py_ok; then
  "$VENV/bin/pip" install --disable-pip-version-check -q -r "$PEERS/requirements.txt"
  py_ok
  echo "$want" >"$stamp"
fi

# 3. Node peers, pinned by package.json + package-lock.json.
node_ok() {
  (cd "$PEERS" && node -e '
    const want = require("./package.json").dependencies;
    for (const [name, v] of Object.entries(want))
      if (require(name + "/package.json").version !== v) process.exit(1);' >/dev/null 2>&1)
}
if ! node_ok; then
  (cd "$PEERS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  node_ok
fi

# 4. Key, certificate and one signed response, fresh (so it is inside its validity window).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$IDFED" keys generate --alg rsa2048 --subject CN=bench --out "$tmp" >/dev/null
"$MINT" "$tmp/key.pem" "$tmp/cert.pem" "$(date +%s)" 1 "${ROLES[@]}" >"$tmp/response.b64"
args=(--key "$tmp/key.pem" --cert "$tmp/cert.pem" --response "$tmp/response.b64" --seconds "$SECS")

# 5. Both halves, one after the other (never side by side: each wants a core to itself).
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
py_rc=0; "$VENV/bin/python" "$PEERS/peers.py" "${args[@]}" >"$tmp/python.json" || py_rc=$?
node_rc=0; node "$PEERS/peers.js" "${args[@]}" >"$tmp/node.json" || node_rc=$?
if [ "$py_rc" -gt 1 ] || [ "$node_rc" -gt 1 ]; then
  echo "peers: a harness crashed (peers.py exit $py_rc, peers.js exit $node_rc); $OUT left as it was" >&2
  exit 1
fi

# 6. Merge, written aside and moved only when complete.
mkdir -p "$(dirname "$OUT")"
python3 - "$tmp/python.json" "$tmp/node.json" "$SECS" "$load_before" >"$OUT.new" <<'EOF'
import datetime, json, os, platform, sys
py, node = (json.load(open(p)) for p in sys.argv[1:3])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(json.dumps({
    "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": "%d cores, %s, Linux %s" % (os.cpu_count(), cpu, platform.release()),
    "load_average_before": sys.argv[4],
    "seconds_per_row": float(sys.argv[3]),
    "python": py["python"],
    "node": node["node"],
    "peers": [dict(r, runtime="python") for r in py["peers"]]
           + [dict(r, runtime="node") for r in node["peers"]],
}, indent=1))
EOF
mv "$OUT.new" "$OUT"

# 7. Summary; failures last, and in the exit status.
python3 - "$OUT" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["peers"]:
    what = "%10.1f /s  %9.1f us" % (r["per_second"], r["mean_us"]) if "error" not in r else "FAILED: " + r["error"]
    print("%-45s %-8s %s" % (r["peer"], r["op"], what))
EOF
echo "wrote ${OUT#"$REPO"/}"
if [ "$py_rc" -ne 0 ] || [ "$node_rc" -ne 0 ]; then
  echo "peers: at least one peer failed its check (see \"error\" in ${OUT#"$REPO"/})" >&2
  exit 1
fi
