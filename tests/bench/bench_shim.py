"""Benchmark the kubectl shim against the bare kubectl on the same kubeconfig (demo cluster).

Prints: plain-mode overhead of `kubectl get pods -n demo` (median, ratio); envelope vs plain for
`get pods -A -o json` at 500 and 5,000 pods (time ratio, and the shim's own peak memory).
Run: .venv/bin/python tests/bench/bench_shim.py [--runs 20]     (figures, not a test)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env
from kro.sandbox.launcher import agent_env
from kro.sandbox.pinning import PinOptions, build_session
from kro.shims.session import Session


def _session(base: Path, kubeconfig: Path, output: str) -> tuple[Session, dict[str, str]]:
    workdir = base / f"session-{output}"
    workdir.mkdir(mode=0o700)
    (workdir / "bin").mkdir(mode=0o700)
    env = {**kubectl_env(), "XDG_CACHE_HOME": str(base / "xdg-cache")}
    opts = PinOptions(context="kro-demo", output=output, audit_log=base / "audit.jsonl", request_timeout=120)
    session = build_session(opts, env, workdir, kubeconfig)
    return session, agent_env(env, session)


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _peak_kib(argv: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall time, the process's own peak RSS (VmHWM, polled) and /usr/bin/time's max RSS (with children)."""
    timed = ["/usr/bin/time", "-f", "%M", *argv] if os.path.exists("/usr/bin/time") else argv
    start = time.perf_counter()
    proc = subprocess.Popen(timed, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    own = 0
    child_pid = None
    while proc.poll() is None:
        try:
            child_pid = child_pid or int(
                Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0]
            )
            status = Path(f"/proc/{child_pid}/status").read_text()
            own = max(own, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            pass
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    total = int(stderr.strip().splitlines()[-1]) if timed is not argv and stderr.strip() else 0
    return elapsed, own, total


def overhead(base: Path, kubeconfig: Path, runs: int) -> None:
    """Plain mode: the shim's added milliseconds on a small read."""
    session, env = _session(base, kubeconfig, "plain")
    shim = [f"{session.dir}/bin/kubectl", "get", "pods", "-n", "demo"]
    bare = ["kubectl", f"--kubeconfig={kubeconfig}", "--context=kro-demo", f"--cache-dir={base}/bare-cache",
            "get", "pods", "-n", "demo"]  # fmt: skip
    _time(shim, env), _time(bare, kubectl_env())  # warm the discovery caches
    shim_t, bare_t = [], []
    for _ in range(runs):
        bare_t.append(_time(bare, kubectl_env()))
        shim_t.append(_time(shim, env))
    b, s = statistics.median(bare_t), statistics.median(shim_t)
    print(f"kubectl get pods -n demo: bare {b * 1000:.1f} ms, through the shim {s * 1000:.1f} ms "
          f"(median of {runs}); overhead {(s - b) * 1000:.1f} ms, ratio {s / b:.2f}")  # fmt: skip


def bulk(base: Path, pods: int, runs: int) -> None:
    """Envelope vs plain on a big JSON list: time and the shim's own memory."""
    with DemoCluster(pods=pods) as demo:
        sub = base / f"bulk-{pods}"
        sub.mkdir()
        kubeconfig = demo.write_kubeconfig(sub / "kubeconfig")
        rows = {}
        for output in ("plain", "envelope"):
            session, env = _session(sub, kubeconfig, output)
            argv = [f"{session.dir}/bin/kubectl", "get", "pods", "-A", "-o", "json"]
            _time(argv, env)
            samples = [_peak_kib(argv, env) for _ in range(runs)]
            rows[output] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples),
                            max(s[2] for s in samples))  # fmt: skip
        plain, env_row = rows["plain"], rows["envelope"]
        print(f"get pods -A -o json, {pods} pods: plain {plain[0]:.2f} s, envelope {env_row[0]:.2f} s "
              f"(ratio {env_row[0] / plain[0]:.2f}); envelope shim peak RSS {env_row[1] / 1024:.1f} MiB, "
              f"/usr/bin/time max RSS incl. kubectl {env_row[2] / 1024:.1f} MiB")  # fmt: skip


def main() -> None:
    """Print the figures README quotes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoCluster() as demo:
        base = Path(tmp)
        overhead(base, demo.write_kubeconfig(base / "kubeconfig"), args.runs)
        for pods in (500, 5000):
            bulk(base, pods, max(3, args.runs // 5))


if __name__ == "__main__":
    main()
