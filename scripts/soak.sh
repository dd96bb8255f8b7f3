#!/usr/bin/env bash
# A bounded soak of the IdP on loopback: `idfed serve` on a fresh SQLite data directory (or
# PostgreSQL with IDFED_DATABASE_URL), mixed load (sign-in, signed SAML response, admin read,
# admin write + delete) for SOAK_SECONDS (default 600), resident memory sampled every 10 s.
# Prints the load tool's JSON report and keeps it in target/soak/report.json.
#
#   scripts/soak.sh                      # 10 minutes, SQLite
#   SOAK_SECONDS=60 scripts/soak.sh      # a short one
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SOAK_SECONDS:-600}"
out=target/soak
rm -rf "$out" && mkdir -p "$out/data"
cargo build -q -p idfed
bin=target/debug/idfed
cat > "$out/tenant.yaml" <<'YAML'
users:
  - { login: ann, email: ann@example.com }
apps:
  - { name: aws, label: AWS, type: aws, identity_provider_arns: ["arn:aws:iam::111122223333:saml-provider/Okta"] }
assignments:
  - { app: aws, user: ann, roles: [Okta_Role] }
YAML
"$bin" apply -f "$out/tenant.yaml" --data-dir "$out/data" >/dev/null
IDFED_PASSWORD=soak-password-123 "$bin" users set-password ann --data-dir "$out/data" >/dev/null
token=$("$bin" api-tokens create soak --data-dir "$out/data" | grep '^idfed_')
"$bin" serve --listen 127.0.0.1:0 --data-dir "$out/data" > "$out/serve.out" 2> "$out/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q http "$out/serve.out" && break; sleep 0.1; done
url=$(awk '{print $3; exit}' "$out/serve.out")
python3 tools/load/idp_load.py mixed --url "$url" --token "$token" --user ann --password soak-password-123 \
  --app aws --seconds "$seconds" --threads 4 --pid "$pid" --sample-every 10 | tee "$out/report.json"
