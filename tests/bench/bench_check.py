"""Benchmark `kro check`: --batch decisions per second, and one process against a bare `python -c pass`.

Run: .venv/bin/python tests/bench/bench_check.py   (prints figures; not a test)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: kro_testing knows where ../shared is
from kro_testing import shared_path

BIN = Path(sys.executable).parent
CORPUS = shared_path("corpus", "policy.jsonl")
FALLBACK = [["get", "pods"], ["-n", "get", "delete", "pod", "x"], ["get", "secret", "x", "-o", "yaml"]]


def _runs(argv: list[str], n: int, stdin: bytes | None = None) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Print the figures README quotes."""
    if not CORPUS.is_file():
        print(f"{CORPUS} not found: measuring {len(FALLBACK)} calls instead", file=sys.stderr)
    cases = (
        CORPUS.read_text().splitlines() if CORPUS.is_file() else [json.dumps({"argv": a}) for a in FALLBACK]
    )
    lines = [line for line in cases if line.strip()]
    batch = ("\n".join(lines * (10000 // len(lines) + 1)) + "\n").encode()
    count = batch.count(b"\n")
    best = min(_runs([str(BIN / "kro"), "check", "--batch", "--context", "prod"], 5, batch))
    print(
        f"kro check --batch: {count} decisions in {best:.3f} s = {count / best:,.0f} decisions/s (best of 5)"
    )
    n = 30
    bare = _runs([sys.executable, "-c", "pass"], n)
    check = _runs([str(BIN / "kro"), "check", "--", "get", "pods"], n)
    for name, times in (("python -c pass", bare), ("kro check -- get pods", check)):
        print(
            f"{name:24s} median {statistics.median(times) * 1000:6.1f} ms   min {min(times) * 1000:6.1f} ms"
        )
    ratio = statistics.median(check) / statistics.median(bare)
    print(f"ratio (median): {ratio:.2f}x a bare interpreter start")


if __name__ == "__main__":
    main()
