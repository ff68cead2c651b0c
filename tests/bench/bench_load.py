"""Load figures, seatbelt (plain kro-run) and --confine: calls/s, p50/p99 latency, kro-run's RSS and fds.

Each case is one kro-run session whose agent (a Python script inside) runs CALLS calls from THREADS threads,
each a real `kubectl` process on the session's PATH (the shim; under --confine the broker client), and
reports per-call latencies; outside, kro-run's descriptor count and peak RSS (VmHWM) are sampled, which
under --confine is the broker's. Every call must leave its audit line. Cases: a blocked call (no kubectl
runs: the shim's or broker's own cost) and `kubectl get pods -n demo` against the demo cluster.
Run: .venv/bin/python tests/bench/bench_load.py [--calls 400] [--threads 1,8]   (figures, not a test)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env

BIN = Path(sys.executable).parent
AGENT = """
import json, subprocess, sys, threading, time
calls, threads, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # warm caches
times, codes, lock, left = [], {}, threading.Lock(), [calls]
def worker():
    while True:
        with lock:
            if not left[0]:
                return
            left[0] -= 1
        start = time.perf_counter()
        code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        with lock:
            times.append(time.perf_counter() - start)
            codes[code] = codes.get(code, 0) + 1
start = time.perf_counter()
pool = [threading.Thread(target=worker) for _ in range(threads)]
[t.start() for t in pool]
[t.join() for t in pool]
print(json.dumps({"wall": time.perf_counter() - start, "times": times, "codes": codes}))
"""
CASES = {"blocked": ["kubectl", "delete", "pod", "x"], "get pods": ["kubectl", "get", "pods", "-n", "demo"]}


def _status(pid: int) -> tuple[int, int]:
    """(VmHWM KiB, open descriptors) of a process, (0, 0) once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
        fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return 0, 0
    hwm = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM:")), 0)
    return hwm, fds


def run_case(base: Path, kubeconfig: Path, call: list[str], calls: int, threads: int, confine: bool) -> dict:
    """One session: the agent's latencies and kro-run's peak RSS and descriptors."""
    audit = base / f"audit-{time.monotonic_ns()}.jsonl"
    env = {**kubectl_env(), "XDG_STATE_HOME": str(base / "state"), "XDG_CACHE_HOME": str(base / "cache"),
           "XDG_RUNTIME_DIR": str(base / "run"), "HOME": str(base / "home")}  # fmt: skip
    argv = [str(BIN / "kro-run"), *(["--confine"] if confine else []), "--kubeconfig", str(kubeconfig),
            "--context", "kro-demo", "--output", "envelope", "--audit-log", str(audit),
            "--", sys.executable, str(base / "agent.py"), str(calls), str(threads), *call]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=base / "work", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    samples: list[tuple[int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            got = _status(proc.pid)
            if got[0]:
                samples.append(got)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"kro-run failed: {err.strip()}")
    result = json.loads(out.splitlines()[-1])
    times = sorted(result["times"])
    lines = len(audit.read_text().splitlines())
    return {
        "calls/s": len(times) / result["wall"],
        "p50 ms": 1000 * statistics.median(times),
        "p99 ms": 1000 * times[min(len(times) - 1, int(len(times) * 0.99))],
        "RSS MiB": max(s[0] for s in samples) / 1024 if samples else 0.0,
        "fds": f"{samples[0][1]}→{max(s[1] for s in samples)}" if samples else "-",
        "codes": result["codes"],
        "audit": f"{lines}/{len(times) + 1}",
    }


def main() -> None:
    """Print one line per (mode, call, threads)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--threads", default="1,8")
    args = parser.parse_args()
    modes = [("seatbelt", False)] + ([("--confine", True)] if shutil.which("bwrap") else [])
    # Under /var/tmp: the sandbox replaces /tmp, and the agent script must be visible inside.
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp, DemoCluster(port=0) as demo:
        base = Path(tmp)
        for sub in ("work", "run", "home"):
            (base / sub).mkdir(mode=0o700)
        (base / "agent.py").write_text(AGENT)
        kubeconfig = demo.write_kubeconfig(base / "kubeconfig")
        print(f"{'mode':<10} {'call':<9} {'thr':>3} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'RSS MiB':>7} {'fds':>9}  audit")  # fmt: skip
        for name, confine in modes:
            for label, call in CASES.items():
                for threads in (int(t) for t in args.threads.split(",")):
                    calls = args.calls if label == "blocked" else max(20, args.calls // 10)
                    r = run_case(base, kubeconfig, call, calls, threads, confine)
                    print(f"{name:<10} {label:<9} {threads:>3} {r['calls/s']:>8.1f} {r['p50 ms']:>7.1f} "
                          f"{r['p99 ms']:>7.1f} {r['RSS MiB']:>7.1f} {r['fds']:>9}  {r['audit']} "
                          f"{r['codes']}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
