"""Benchmark --confine: the broker path against the direct shim for `kubectl get pods -n demo`.

Each mode runs one kro-run session whose agent times N calls from inside (so session start-up is not
counted) and prints the median; plain and envelope output, the bare kubectl for reference, and a
blocked call (`kubectl delete pod x`: no kubectl runs, so it is the shim's or the broker path's own cost).
Run: .venv/bin/python tests/bench/bench_confine.py [--runs 30]     (figures, not a test; needs bwrap)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env

BIN = Path(sys.executable).parent
AGENT = """
import json, statistics, subprocess, sys, time
argv, runs = sys.argv[1:-1], int(sys.argv[-1])
subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)  # warm the discovery cache
times = []
for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""
CALL = ["kubectl", "get", "pods", "-n", "demo"]
BLOCKED = ["kubectl", "delete", "pod", "x"]


def _inside(base: Path, kubeconfig: Path, runs: int, call: list[str], *options: str) -> list[float]:
    """Per-call seconds measured by an agent inside one kro-run session."""
    env = {**kubectl_env(), "XDG_STATE_HOME": str(base / "state"), "XDG_CACHE_HOME": str(base / "cache"),
           "XDG_RUNTIME_DIR": str(base / "run"), "HOME": str(base / "home")}  # fmt: skip
    argv = [str(BIN / "kro-run"), "--kubeconfig", str(kubeconfig), "--context", "kro-demo", *options,
            "--", sys.executable, str(base / "agent.py"), *call, str(runs)]  # fmt: skip
    proc = subprocess.run(argv, cwd=base / "work", env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"kro-run {' '.join(options)} failed: {proc.stderr.strip()}")
    times: list[float] = json.loads(proc.stdout.splitlines()[-1])
    return times


def _bare(base: Path, kubeconfig: Path, runs: int) -> list[float]:
    argv = [*CALL, f"--kubeconfig={kubeconfig}", f"--cache-dir={base}/bare-cache"]
    subprocess.run(argv, env=kubectl_env(), stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=kubectl_env(), stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Print one line per mode, then the broker's overhead over the direct shim."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        raise SystemExit("bwrap is not installed (apt-get install bubblewrap)")
    # Under /var/tmp: the sandbox replaces /tmp, and the agent script must be visible inside.
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp, DemoCluster(port=0) as demo:
        base = Path(tmp)
        for sub in ("work", "run", "home"):
            (base / sub).mkdir(mode=0o700)
        (base / "agent.py").write_text(AGENT)
        kubeconfig = demo.write_kubeconfig(base / "kubeconfig")
        medians = {"bare kubectl": statistics.median(_bare(base, kubeconfig, args.runs))}
        for output in ("plain", "envelope", "blocked"):
            call, mode = (BLOCKED, "plain") if output == "blocked" else (CALL, output)
            for label, extra in (("shim", ()), ("confined", ("--confine",))):
                times = _inside(base, kubeconfig, args.runs, call, "--output", mode, *extra)
                medians[f"{label} {output}"] = statistics.median(times)
        for name, median in medians.items():
            what = " ".join(BLOCKED if name.endswith("blocked") else CALL)
            print(f"{name:18s} median {median * 1000:6.1f} ms  ({args.runs} runs of {what})")
        for output in ("plain", "envelope", "blocked"):
            shim, confined = medians[f"shim {output}"], medians[f"confined {output}"]
            delta = (confined - shim) * 1000
            print(f"broker path vs direct shim, {output}: {delta:+.1f} ms ({confined / shim:.2f}x)")


if __name__ == "__main__":
    main()
