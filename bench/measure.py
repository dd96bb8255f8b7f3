"""What the load harnesses (bench/load.py, bench/sts.py) read from a process and from wrk."""
import re


def rss_kib(pid):
    """Resident memory of a process, in KiB (0 once it has gone)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def latency_ms(out, label):
    """A percentile of wrk's --latency distribution, in milliseconds."""
    match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk_summary(out):
    """Throughput, p50/p99, non-2xx answers and socket errors from wrk's output."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency_ms(out, "50"), "p99_ms": latency_ms(out, "99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }
