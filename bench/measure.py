"""What the load harnesses (bench/load.py, bench/sts.py) read from a process and from wrk."""
import os
import re
import resource


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


def cpu_seconds(pid):
    """User + system CPU time a running process has used (/proc/PID/stat)."""
    return sum(cpu_split(pid))


def cpu_split(pid):
    """(user, system) CPU time a running process has used; system is time in the kernel."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def machine_busy_seconds():
    """CPU time all processes on the machine have used (/proc/stat), summed over cores."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """CPU time of this script's finished children (only wrk finishes during a run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
