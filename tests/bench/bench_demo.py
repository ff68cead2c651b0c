"""Benchmark the demo cluster: start-up, `kubectl get pods -A` at scale, and concurrent kubectl calls.

Run: .venv/bin/python tests/bench/bench_demo.py [--pods 5000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kro.democluster.server import DemoCluster
from kro.democluster.testing import run_kubectl


def _timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    """Print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        start = time.perf_counter()
        with DemoCluster(pods=args.pods) as demo:
            urllib.request.urlopen(demo.url + "/readyz", timeout=5).read()
            print(f"start-up to ready ({args.pods} pods): {time.perf_counter() - start:.3f}s")
            kubeconfig = demo.write_kubeconfig(base / "kubeconfig")
            cache = base / "cache"
            run_kubectl(kubeconfig, cache, "get", "ns")
            runs = [_timed(run_kubectl, kubeconfig, cache, "get", "pods", "-A") for _ in range(5)]
            print(f"kubectl get pods -A ({args.pods} pods): median {statistics.median(runs):.3f}s")
            url = demo.url + "/api/v1/namespaces/demo/pods?limit=500"
            runs = [_timed(lambda: urllib.request.urlopen(url, timeout=30).read()) for _ in range(5)]
            print(f"list 500 pods over HTTP: median {statistics.median(runs) * 1000:.1f}ms")
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                codes = list(pool.map(lambda _: run_kubectl(kubeconfig, cache, "get", "deploy").returncode,
                                      range(args.concurrency)))
            elapsed = time.perf_counter() - start
            print(f"{args.concurrency} concurrent kubectl calls: {elapsed:.2f}s, "
                  f"{codes.count(0)}/{len(codes)} succeeded")


if __name__ == "__main__":
    main()
