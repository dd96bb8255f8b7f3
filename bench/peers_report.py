#!/usr/bin/env python3
"""Writes bench/results/peers.md (a section of BENCHMARKS.md) from bench/results/rust-peers.json
(idfed, bergshamra and raw aws-lc-rs RSA-2048 in one criterion run) and bench/results/peers.json
(python-xmlsec, signxml, python3-saml, xml-crypto, node-saml, samlify, each in its own process),
both made by bench/run.sh in the same run on the same response and key."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench/results")


def load(name):
    with open(os.path.join(RESULTS, name)) as f:
        return json.load(f)


def verdict(value, target):
    return "meets" if value >= target else f"misses ({value:.2f}×, target {target}×)"


def main():
    rust = load("rust-peers.json")
    us = {row: ns / 1000 for row, ns in rust["mean_ns"].items()}
    sign, verify, validate = us["idfed_sign"], us["idfed_verify_signature"], us["idfed_validate_response"]
    rows = [
        ("raw aws-lc-rs RSA-2048 (the floor)", "Rust", us["raw_sign"], us["raw_verify"], None),
        ("**idfed**", "Rust", sign, verify, validate),
        (f"bergshamra {rust['versions'].get('bergshamra')} (aws-lc)", "Rust", us["bergshamra_sign"], us["bergshamra_verify"], None),
    ]
    if "bergshamra_sign_rustcrypto" in us:
        rows.append((f"bergshamra {rust['versions'].get('bergshamra')} (rustcrypto)", "Rust",
                     us["bergshamra_sign_rustcrypto"], us.get("bergshamra_verify_rustcrypto"), None))
    others = load("peers.json")
    by_peer = {}
    for p in others["peers"]:
        if "error" not in p:
            by_peer.setdefault((p["peer"], p["runtime"]), {})[p["op"]] = p["mean_us"]
    for (peer, runtime), ops in by_peer.items():
        rows.append((peer, runtime, ops.get("sign"), ops.get("verify"), ops.get("validate")))

    def cell(value, anchor):
        if value is None:
            return "–"
        return f"{value:,.0f} µs ({value / anchor:.1f}×)" if anchor else f"{value:,.0f} µs"

    table = "\n".join(
        f"| {name} | {runtime} | {cell(s, sign)} | {cell(v, verify)} | {cell(va, validate)} |"
        for name, runtime, s, v, va in rows)
    targets = [
        ("signed response rate ≥ 0.87× the raw RSA-2048 sign rate", us["raw_sign"] / sign, 0.87),
        ("verification rate ≥ 0.5× the raw verify rate (parse + signature check)", us["raw_verify"] / verify, 0.5),
        ("the same for the whole SP validation", us["raw_verify"] / validate, 0.5),
        ("signing ≥ 2.5× bergshamra's rate", us["bergshamra_sign"] / sign, 2.5),
        ("verifying ≥ 2.5× bergshamra's rate", us["bergshamra_verify"] / verify, 2.5),
    ]
    verify_missed = us["raw_verify"] / verify < 0.5 or us["bergshamra_verify"] / verify < 2.5
    verify_why = "" if not verify_missed else f"""
Why the verification targets are missed: {us['bergshamra_verify'] / 2.5:,.0f} µs (2.5× bergshamra's rate) and
{2 * us['raw_verify']:,.0f} µs (0.5× the raw verify rate) are budgets for parse, canonicalization,
digest and the RSA verify together, and the RSA verify alone takes {us['raw_verify']:,.0f} µs here.
What idfed adds to it ({verify - us['raw_verify']:,.0f} µs) is mostly roxmltree building the tree of
the 4 KB document, then the two canonicalizations; bergshamra adds
{us['bergshamra_verify'] - us['raw_verify']:,.0f} µs to the same verify. Meeting them needs a parser that
builds less than roxmltree's full tree (see "Where validation's time goes")."""
    target_rows = "\n".join(f"| {what} | {value:.2f}× | {verdict(value, goal)} |" for what, value, goal in targets)
    print(f"""
## Against other implementations (bench/run.sh: bench/rust-peers, bench/peers)

Signing the same 2-role AWS response (enveloped signature on the Assertion, exclusive c14n,
RSA-SHA256, the same key) and verifying idfed's signed response with the certificate, each
library in process with keys loaded once, process start excluded. Rust rows: one criterion run
({rust['machine']}; load average before: {rust['load_average_before']}). Python and Node rows:
{others.get('seconds_per_row', '?')} s per row in their own processes right after ({others.get('python', '')},
Node {others.get('node', '')}). In brackets: time relative to idfed's (lower is better). "verify" is parse
plus signature check; "validate" is a whole SP validation (python3-saml's is_valid, node-saml,
samlify; idfed's validate_response, as AWS's sign-in endpoint would).

| implementation | runtime | sign | verify | validate |
|---|---|---|---|---|
{table}

| target (issue 7) | measured | verdict |
|---|---|---|
{target_rows}

Every peer's output is checked before it is timed: signatures must verify in xmlsec1, verifiers
must accept the response and refuse a tampered copy. bergshamra's signature was byte-identical to
idfed's. Why bergshamra signs slower: its aws-lc provider imports the private key on every
signature (`raw_import_sign` = {us.get('raw_import_sign', 0):,.0f} µs against {us['raw_sign']:,.0f} µs for the signature alone)
and its string API parses the document several times.{verify_why}
""")


if __name__ == "__main__":
    sys.exit(main())
