#!/usr/bin/env python3
"""The IdP's SSO launch under load on loopback, against the machine's signing limit measured
in the same run, plus cold start and memory of `idfed up`. Writes bench/results/load.md (a
section of BENCHMARKS.md) and bench/results/load.json. Run through bench/load.sh.

Everything runs on 127.0.0.1, bounded in time: three 10-second wrk runs and two starts.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from measure import children_cpu_seconds, cpu_split, machine_busy_seconds, rss_kib, wrk_summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDFED = os.path.join(ROOT, "target/release/idfed")
RATE = os.path.join(ROOT, "target/release/examples/rsa_sign_rate")
APP = "connect-admin"
PERSON = "ada.admin@example.com"


def start_up(data_dir):
    """`idfed up` on loopback; returns (process, info, seconds until its ready line)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [IDFED, "up", "--json", "--idp-listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    ready = time.monotonic() - started
    return process, json.loads(line), ready


def session_for(idp, login, password):
    body = json.dumps({"username": login, "password": password}).encode()
    request = urllib.request.Request(idp + "/api/client/authn", data=body, headers={"content-type": "application/json"})
    return json.load(urllib.request.urlopen(request))["session"]


def wrk(url, connections, cookie, server_pid, seconds=10):
    """One wrk row, with the cores the server, wrk and everything else used meanwhile."""
    before = (*cpu_split(server_pid), children_cpu_seconds(), machine_busy_seconds(), time.monotonic())
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Cookie: idfed_session={cookie}", url],
        capture_output=True, text=True, check=True).stdout
    after = (*cpu_split(server_pid), children_cpu_seconds(), machine_busy_seconds(), time.monotonic())
    user, system, wrk_cpu, busy, wall = (b - a for a, b in zip(before, after))
    server = user + system
    return {"connections": connections, **wrk_summary(out), "server_cores": server / wall, "wrk_cores": wrk_cpu / wall,
            "other_cores": max(0.0, busy - server - wrk_cpu) / wall, "server_kernel_share": system / server if server else 0}


def main():
    limit = json.loads(subprocess.run([RATE, "3"], capture_output=True, text=True, check=True).stdout)
    data_dir = tempfile.mkdtemp(prefix="idfed-bench-")
    try:
        process, info, first_start = start_up(data_dir)
        time.sleep(2)
        idle = rss_kib(process.pid)
        person = next(p for p in info["people"] if p["login"] == PERSON)
        cookie = session_for(info["idp"], PERSON, person["password"])
        url = f"{info['idp']}/app/{APP}/sso"
        check = urllib.request.Request(url, headers={"cookie": f"idfed_session={cookie}"})
        page = urllib.request.urlopen(check).read().decode()
        assert "SAMLResponse" in page, "the launch answers the signed auto-POST page"
        runs = []
        loaded = 0
        for connections in (1, 16, 64):
            runs.append(wrk(url, connections, cookie, process.pid))
            loaded = max(loaded, rss_kib(process.pid))
        process.terminate()
        process.wait(timeout=30)
        restarted, _, restart = start_up(data_dir)
        time.sleep(1)
        idle_restarted = rss_kib(restarted.pid)
        restarted.terminate()
        restarted.wait(timeout=30)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {"signing_limit": limit, "launch": runs, "first_start_s": first_start, "restart_s": restart,
              "idle_rss_kib": idle, "idle_rss_restarted_kib": idle_restarted, "loaded_rss_kib": loaded}
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench/results/load.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(ROOT, "bench/results/load.md"), "w") as f:
        f.write(markdown(result))
    print(json.dumps(result))


def cpu_per_launch_us(row):
    return row["server_cores"] / row["per_second"] * 1e6


def markdown(r):
    limit = r["signing_limit"]["per_second"]
    top = max(r["launch"], key=lambda x: x["per_second"])
    at64 = next(x for x in r["launch"] if x["connections"] == 64)
    rows = "\n".join(
        f"| {x['connections']} | {x['per_second']:,.0f} | {x['per_second'] / limit:.2f}× | {x['p50_ms']:.2f} ms | "
        f"{x['p99_ms']:.2f} ms | {x['non_2xx'] + x['socket_errors']} | {x['server_cores']:.2f} | {x['wrk_cores']:.2f} | "
        f"{x['other_cores']:.2f} | {cpu_per_launch_us(x):.0f} µs |" for x in r["launch"])
    signature_us = r["signing_limit"]["threads"] / limit * 1e6
    share = signature_us / cpu_per_launch_us(at64)
    ceiling = (r["signing_limit"]["threads"] - at64["wrk_cores"]) / (cpu_per_launch_us(at64) / 1e6)
    verdict_p99 = "meets" if at64["p99_ms"] < 10 else f"misses ({at64['p99_ms']:.1f} ms)"
    verdict_rate = "meets" if at64["per_second"] >= 0.8 * limit else f"misses ({at64['per_second'] / limit:.0%} of the limit)"
    return f"""
## The IdP under load (bench/load.sh)

The SSO launch of seed 002's "Amazon Connect Administrator" app by a signed-in person
(`GET /app/{APP}/sso` with a session cookie: session lookup, role resolution, a signed 2-role
response, the system-log entry, the auto-POST page), by wrk over loopback for 10 s per row, on
the release build, with the store on SQLite. wrk's two threads share the machine's two cores
with the server. The signing limit is raw aws-lc-rs RSA-2048 signatures per second on all
{r['signing_limit']['threads']} cores, measured in the same run: **{limit:,.0f}/s**.

| connections | launches/s | of the signing limit | p50 | p99 | errors | idfed cores | wrk cores | other cores | idfed CPU per launch |
|---|---|---|---|---|---|---|---|---|---|
{rows}

| target | measured | verdict |
|---|---|---|
| p99 < 10 ms at 64 connections | {at64['p99_ms']:.1f} ms | {verdict_p99} |
| ≥ 80% of the signing limit at 64 connections | {at64['per_second'] / limit:.0%} | {verdict_rate} |
| cold start < 300 ms (restart on existing data, until ready) | {r['restart_s'] * 1000:.0f} ms | {"meets" if r['restart_s'] < 0.3 else "misses"} |
| idle RSS < 30 MB | {r['idle_rss_restarted_kib'] / 1024:.1f} MB after a restart, {r['idle_rss_kib'] / 1024:.1f} MB after the first start | {"meets" if r['idle_rss_restarted_kib'] < 30 * 1024 else "misses"} |

Why the two load targets are missed: wrk keeps 64 requests in flight, so by Little's law the
mean latency is 64 ÷ throughput; a p99 under 10 ms at 64 connections would need more than 6,400
launches/s, above this machine's signing limit, so that target cannot be met in this closed-loop
test on 2 cores. Throughput, from the CPU columns: one RSA-2048 signature costs
{signature_us:.0f} µs of CPU in the limit run, and a launch at 64 connections costs idfed
{cpu_per_launch_us(at64):.0f} µs, so the signature is {share:.0%} of a launch. The rest is the
kernel's loopback TCP and scheduling ({at64['server_kernel_share']:.0%} of idfed's CPU was in the kernel), the
allocator, HTTP, the system-log insert through SQLite's thread, building the response and the
page. With wrk using {at64['wrk_cores']:.2f} of the {r['signing_limit']['threads']} cores, this launch
cost allows at most {ceiling:,.0f} launches/s ({ceiling / limit:.0%} of the limit); reaching 80% would need
a launch to cost no more than {1 / 0.8:.2f} signatures with nothing else running.

First start (generates keys and sets up the whole scenario in the sandbox through its APIs):
{r['first_start_s'] * 1000:.0f} ms. Memory under the 64-connection load: {r['loaded_rss_kib'] / 1024:.1f} MB
(`idfed up` runs the IdP and the AWS sandbox in one process). Best throughput:
{top['per_second']:,.0f} launches/s at {top['connections']} connections.
"""


if __name__ == "__main__":
    sys.exit(main())
