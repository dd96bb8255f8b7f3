#!/usr/bin/env bash
# Installs the third-party SAML oracles the test suite compares us with (tools/oracles/README.md):
#   - xmlsec1 (Debian package)                      -> tools/oracles/xmlsec_verify.sh
#   - python3-saml, boto3, awscli, moto[server] in $REPO/.venv -> tools/oracles, tools/clients
#   - samlify in tools/node/node_modules            -> tools/node/samlify_idp.js
# Idempotent: a second run only checks and prints the summary. Needs root (or sudo) for apt,
# python3 (3.8+, with venv) and node/npm 18+. Output goes to a log shown only on failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$REPO/.venv
REQS=$REPO/tools/oracles/requirements.txt
NODE_DIR=$REPO/tools/node
PYTHON=${PYTHON:-python3}
APT_PKGS=(xmlsec1 libxmlsec1-dev libxmlsec1-openssl libxml2-dev libxslt1-dev pkg-config build-essential postgresql chromium fonts-dejavu-core)

start=$SECONDS
log=$(mktemp /tmp/setup-oracles.XXXXXX.log)
done_what=()
on_exit() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "setup-oracles: FAILED (exit $rc); last lines of $log:" >&2
    tail -n 30 "$log" >&2
  else
    rm -f "$log"
  fi
}
trap on_exit EXIT
run() { "$@" >>"$log" 2>&1; }

# 1. Debian packages (apt-get update only when something has to be installed).
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  run $SUDO apt-get update -qq
  run $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  done_what+=("apt: ${missing[*]}")
fi

# 2. Python venv. lxml and xmlsec are built from source against Debian's libxml2/libxmlsec1
#    (--no-binary in requirements.txt); pip keeps the built wheels in its cache, so only the
#    first build on a machine is slow. A stamp with the requirements' hash skips pip entirely.
stamp=$VENV/.oracles-requirements.sha256
want=$(sha256sum "$REQS" | cut -d' ' -f1)
py_ok() { "$VENV/bin/python" -c 'import xmlsec, onelogin.saml2.response, boto3, awscli, moto' >/dev/null 2>&1; }
if [ ! -x "$VENV/bin/python" ]; then
  run "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! py_ok; then
  run "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQS"
  py_ok || { echo "import check failed:" >>"$log"; "$VENV/bin/python" -c 'import xmlsec' >>"$log" 2>&1; false; }
  echo "$want" >"$stamp"
  done_what+=("pip")
fi

# 3. samlify (versions pinned in tools/node/package.json + package-lock.json).
command -v npm >/dev/null || { echo "setup-oracles: node/npm not found" >&2; exit 1; }
node_ok() {
  (cd "$NODE_DIR" && node -e '
    const want = require("./package.json").dependencies;
    for (const [name, v] of Object.entries(want))
      if (require(name + "/package.json").version !== v) process.exit(1);' >/dev/null 2>&1)
}
if ! node_ok; then
  (cd "$NODE_DIR" && run npm ci --no-audit --no-fund)
  node_ok
  done_what+=("npm")
fi

# 4. Summary.
command -v xmlsec1 >/dev/null
versions=$("$VENV/bin/python" - <<'EOF'
from importlib.metadata import version as v
import xmlsec, lxml.etree as e
lx = ".".join(map(str, e.LIBXML_VERSION))
print(f"python3-saml {v('python3-saml')}, xmlsec {v('xmlsec')} (libxmlsec1 "
      f"{'.'.join(map(str, xmlsec.get_libxmlsec_version()))}), lxml {v('lxml')} (libxml2 {lx}), "
      f"boto3 {v('boto3')}, awscli {v('awscli')}, moto {v('moto')}")
EOF
)
samlify=$(cd "$NODE_DIR" && node -p 'require("samlify/package.json").version')
echo "setup-oracles: ok in $((SECONDS - start))s [${done_what[*]:-nothing to do}]: $(xmlsec1 --version | head -n1), $versions, samlify $samlify"
