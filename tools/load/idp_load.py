#!/usr/bin/env python3
"""Bounded load on idfed IdP nodes over loopback, for the fault, scale-out and soak tests.

  idp_load.py writes --url U [--url U2 ...] --token T --acked FILE --max N --threads K
      admin writes (POST /api/v1/users) and sign-ins (client API) until N writes or killed;
      every acknowledged write (201) is appended to FILE and flushed before the next.
  idp_load.py mixed --url U [--url U2 ...] --token T --user L --password P --app A
      --seconds S [--threads K] [--pid PID ...] [--sample-every S]
      sign-in + signed SAML response + admin read + admin write, round-robin over the nodes,
      for S seconds; prints one JSON object: counts by outcome, latency percentiles, the
      resident memory of PID(s) sampled over time.

Only loopback URLs are accepted; every run is bounded by count or time.
"""
import argparse
import json
import os
import random
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def loopback_only(urls):
    for url in urls:
        host = urllib.parse.urlparse(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            sys.exit(f"refusing non-loopback target {url}")


def call(url, path, body=None, token=None, timeout=10, method=None):
    data = None if body is None else json.dumps(body).encode()
    method = method or ("POST" if data is not None else "GET")
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        return 0, str(error).encode()


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def writes(args):
    lock = threading.Lock()
    done = [0]
    out = open(args.acked, "a", buffering=1)

    def worker(n):
        url = args.url[n % len(args.url)]
        while True:
            with lock:
                if done[0] >= args.max:
                    return
                done[0] += 1
                i = done[0]
            login = f"burst-{os.getpid()}-{n}-{i}@example.com"
            status, _ = call(url, "/api/v1/users", {"login": login, "email": login, "password": "burst-password-123"},
                             args.token)
            if status == 201:
                with lock:
                    out.write(login + "\n")
                    out.flush()
                    os.fsync(out.fileno())
            # A sign-in between writes: the session store is written too.
            call(url, "/api/client/authn", {"username": login, "password": "burst-password-123"})

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def mixed(args):
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    outcomes = {}
    latencies = []
    samples = []

    def count(name, started):
        with lock:
            outcomes[name] = outcomes.get(name, 0) + 1
            latencies.append(time.monotonic() - started)

    def worker(n):
        i = 0
        while time.monotonic() < deadline:
            i += 1
            url = args.url[(n + i) % len(args.url)]
            started = time.monotonic()
            status, body = call(url, "/api/client/authn", {"username": args.user, "password": args.password})
            if status != 200:
                count(f"authn {status}", started)
                continue
            session = json.loads(body)["session"]
            count("authn 200", started)
            # The session from one node is used on the next one.
            other = args.url[(n + i + 1) % len(args.url)]
            started = time.monotonic()
            status, _ = call(other, f"/api/client/apps/{args.app}/saml", {}, session)
            count(f"saml {status}", started)
            started = time.monotonic()
            status, _ = call(url, "/api/v1/users?q=" + args.user.split("@")[0], None, args.token)
            count(f"read {status}", started)
            if i % 10 == 0:
                started = time.monotonic()
                login = "soak-" + "".join(random.choices(string.ascii_lowercase, k=10)) + "@example.com"
                status, _ = call(url, "/api/v1/users", {"login": login, "email": login}, args.token)
                count(f"write {status}", started)
                call(url, "/api/v1/users/" + urllib.parse.quote(login), None, args.token, method="DELETE")

    def sampler():
        start = time.monotonic()
        while time.monotonic() < deadline:
            samples.append({"t": round(time.monotonic() - start, 1), "rss_kib": [rss_kib(p) for p in args.pid]})
            time.sleep(args.sample_every)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(args.threads)]
    watch = threading.Thread(target=sampler, daemon=True)
    watch.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.append({"t": args.seconds, "rss_kib": [rss_kib(p) for p in args.pid]})
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else None
    errors = sum(v for k, v in outcomes.items() if not k.endswith((" 200", " 201")))
    print(json.dumps({"outcomes": outcomes, "requests": len(latencies), "errors": errors,
                      "p50_ms": pick(0.50), "p99_ms": pick(0.99), "rss": samples}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["writes", "mixed"])
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--acked")
    parser.add_argument("--max", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--app")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--pid", type=int, action="append", default=[])
    parser.add_argument("--sample-every", type=float, default=5)
    args = parser.parse_args()
    loopback_only(args.url)
    if args.seconds > 1200 or args.max > 100_000:
        sys.exit("runs are bounded: at most 20 minutes or 100,000 writes")
    writes(args) if args.mode == "writes" else mixed(args)


if __name__ == "__main__":
    main()
