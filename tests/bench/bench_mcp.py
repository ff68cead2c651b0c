"""Benchmark `kro serve`: initialize latency, and what a tool call adds to the kubectl call it makes.

Run: .venv/bin/python tests/bench/bench_mcp.py [--runs 20]
Starts the demo cluster in-process; `kro serve` runs over stdio, driven by the official MCP client.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from kro.democluster.fixture import CRASHLOOP_POD
from kro.democluster.server import DemoCluster
from kro.democluster.testing import kubectl_env
from kro.mcp.tools import TOOLS

KRO = str(Path(sys.executable).parent / "kro")
CASES: list[tuple[str, dict[str, Any]]] = [
    ("list_pods", {"namespace": "demo"}),
    ("get_pod", {"name": CRASHLOOP_POD, "namespace": "demo"}),
    ("describe_pod", {"name": CRASHLOOP_POD, "namespace": "demo"}),
]


def _params(kubeconfig: Path, tmp: Path) -> StdioServerParameters:
    env = {name: str(tmp / name.lower()) for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")}
    for path in env.values():
        Path(path).mkdir(mode=0o700, exist_ok=True)
    args = [
        "serve",
        "--kubeconfig",
        str(kubeconfig),
        "--context",
        "kro-demo",
        "--audit-log",
        str(tmp / "a.jsonl"),
    ]
    return StdioServerParameters(command=KRO, args=args, env=env)


async def _initialize(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return time.perf_counter() - started


def _bare(kubeconfig: Path, cache: Path, argv: list[str]) -> float:
    """One kubectl call as the tool makes it (same argv and pins), without kro."""
    cmd = ["kubectl", *argv, f"--kubeconfig={kubeconfig}", "--context=kro-demo", f"--cache-dir={cache}"]
    started = time.perf_counter()
    subprocess.run(cmd, env=kubectl_env(), capture_output=True, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


async def _calls(params: StdioServerParameters, kubeconfig: Path, cache: Path, runs: int) -> None:
    specs = {spec.name: spec for spec in TOOLS}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        blocked = []
        for _ in range(runs):
            started = time.perf_counter()
            await session.call_tool("kubectl_read", {"argv": ["delete", "pod", "x"]})
            blocked.append(time.perf_counter() - started)
        print(f"blocked call (MCP round trip + decide + audit, no kubectl): median {_ms(blocked)}")
        for name, args in CASES:
            spec = specs[name]
            argv = spec.argv(spec.args.model_validate(args))
            await session.call_tool(name, args)  # warm kubectl's discovery cache in the session
            _bare(kubeconfig, cache, argv)
            tool, bare = [], []
            for _ in range(runs):
                started = time.perf_counter()
                result = await session.call_tool(name, args)
                tool.append(time.perf_counter() - started)
                assert not result.is_error, result
                bare.append(_bare(kubeconfig, cache, argv))
            overhead = statistics.median(tool) - statistics.median(bare)
            print(
                f"{name:<13} tool median {_ms(tool)}, bare `kubectl {' '.join(argv)}` median {_ms(bare)}, "
                f"overhead {overhead * 1000:+.1f}ms"
            )


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f}ms"


def main() -> None:
    """Print one line per measurement."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoCluster(port=0) as demo:
        base = Path(tmp)
        kubeconfig = demo.write_kubeconfig(base / "kubeconfig")
        params = _params(kubeconfig, base)
        inits = [anyio.run(_initialize, params) for _ in range(5)]
        print(f"initialize (spawn kro serve + handshake): median {_ms(inits)}, max {max(inits) * 1000:.1f}ms")
        anyio.run(_calls, params, kubeconfig, base / "kube-cache", args.runs)


if __name__ == "__main__":
    main()
