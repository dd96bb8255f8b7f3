#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the third-party oracles (xmlsec1,
# python3-saml, samlify) and PostgreSQL, starts a throwaway PostgreSQL on loopback, checks
# formatting and lints, runs every test (oracles and both storage backends required), and
# gives each fuzz target a short run.
#   IDFED_FUZZ_SECONDS   seconds per fuzz target (default 10; 0 skips fuzzing)
#   IDFED_CORPUS         the SAML corpus (default ../shared/corpus beside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" $(( $(date +%s) - started )); }

step "installing oracles"
bash scripts/setup-oracles.sh

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "PostgreSQL test server (loopback)"
IDFED_TEST_DATABASE_URL=$(bash scripts/pg-test-server.sh start)
export IDFED_TEST_DATABASE_URL
trap 'bash scripts/pg-test-server.sh stop' EXIT
echo "$IDFED_TEST_DATABASE_URL"

step "tests"
export IDFED_REQUIRE_ORACLES=1
if [ ! -f ../shared/corpus/MANIFEST.tsv ] && [ -z "${IDFED_CORPUS:-}" ]; then
  echo "NOTE: ../shared/corpus is absent: the corpus tests will skip (and say so)"
fi
if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --locked --no-fail-fast "$@"; }
else
  run_tests() { cargo test --locked --no-fail-fast "$@"; }
fi
run_tests --workspace
# The IdP's integration tests again with the IdP kept in each database (they ran in memory above).
for backend in sqlite postgres; do
  step "IdP tests on $backend"
  IDFED_IDP_TEST_STORE=$backend run_tests -p idfed-idp --test it
done

fuzz_seconds=${IDFED_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz smoke (${fuzz_seconds}s per target)"
  # The SAML and policy targets; expression and query pull in the IdP and the sandbox, whose
  # instrumented build would add minutes here: run them with scripts/fuzz.sh SECONDS expression query.
  bash scripts/fuzz.sh "$fuzz_seconds" parse c14n verify redirect post policy
fi
step "done"
