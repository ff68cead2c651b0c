"""One 100 MB line full of secret-shaped values: the envelope shim stays under 100 MiB and redacts it all."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kro_testing import KroSession, envelope

from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle

pytestmark = pytest.mark.load  # the module's demo cluster serves one 100 MB line

POD = "db-migrate-x7k2p"
SIZE = 100 * 1000 * 1000


def _line() -> bytes:
    """100 MB, no newline until the end: a `token=…` pair every ~1 KiB between runs of filler words."""
    unit = b"filler " * 145 + b"token=s3cr3tvalue%06d "
    count = SIZE // len(unit % 0)
    return b"".join(unit % i for i in range(count)) + b"\n"


@pytest.fixture(scope="module")
def huge_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoHandle, int]]:
    base = tmp_path_factory.mktemp("huge")
    body = _line()
    with DemoCluster(raw_logs={f"demo/{POD}/migrate": body}) as cluster:
        kubeconfig = cluster.write_kubeconfig(base / "kubeconfig")
        yield DemoHandle(cluster, kubeconfig, cluster.url, base / "cache"), body.count(b"token=")


class PeakRss:
    """Samples VmHWM of the session's shim processes (not kubectl, its child) while a call runs."""

    def __init__(self, marker: str) -> None:
        self.marker = marker.encode()
        self.peak_kib = 0
        self.seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        pids: set[int] = set()
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    argv = (entry / "cmdline").read_bytes().split(b"\0")
                    if not any(a.endswith(b"/bin/kubectl") and self.marker in a for a in argv[:3]):
                        continue
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                pids.add(int(entry.name))
                hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
                if hwm:
                    self.peak_kib = max(self.peak_kib, int(hwm.group(1)))
            self.seen = len(pids)
            time.sleep(0.02)


def test_a_100_mb_line_in_bounded_memory(huge_demo: tuple[DemoHandle, int], tmp_path: Path) -> None:
    """Envelope mode on a 100 MB single line: the shim's peak RSS stays under 100 MiB, every value is
    redacted, and the whole (redacted) line is in the spill file the envelope names."""
    demo, tokens = huge_demo
    (tmp_path / "run").mkdir(mode=0o700)
    session = KroSession(demo, tmp_path)
    with PeakRss(str(tmp_path / "run")) as rss:
        proc = session.sh(f"kubectl logs -n demo {POD}", output="envelope",
                          options=("--request-timeout", "600"), timeout=900)  # fmt: skip
    env = envelope(proc.stdout)
    print(f"shim peak RSS {rss.peak_kib / 1024:.1f} MiB")
    assert rss.seen >= 1, "the shim process was sampled"  # (and its fork for kubectl, before the exec)
    assert rss.peak_kib < 100 * 1024, f"peak RSS {rss.peak_kib / 1024:.1f} MiB"
    assert env["status"] == "ok", env
    assert f"{tokens} secret-shaped value(s) were replaced" in env["agent_context"]
    assert len(env["content"].encode()) <= 16 * 1024
    spill = Path(env["agent_context"].split(" is in ", 1)[1].split(".txt", 1)[0] + ".txt")
    with spill.open("rb") as handle:
        head = handle.read(1 << 20)
    assert b"s3cr3tvalue" not in head
    assert head.count(b"token=[REDACTED]") > 900
    assert spill.stat().st_size > SIZE * 0.9
    assert session.audit()[-1]["exit_code"] == 0


def test_a_timed_out_call_leaves_only_the_file_it_names(
    huge_demo: tuple[DemoHandle, int], tmp_path: Path
) -> None:
    """The same line with a 2 s total bound (--call-timeout; data keeps arriving, so --request-timeout,
    a bound on silence, would not stop it): an infra envelope; the partial (redacted) output stays only
    in the file its message names (README: a spill file is removed unless the envelope or error names
    it)."""
    demo, _ = huge_demo
    (tmp_path / "run").mkdir(mode=0o700)
    session = KroSession(demo, tmp_path)
    proc = session.sh(f"kubectl logs -n demo {POD}", output="envelope", options=("--call-timeout", "2s"))
    env = envelope(proc.stdout)
    assert env["kind"] == "infra", env
    assert "did not finish within 2 s" in env["message"]
    left = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and not p.name.startswith(".prune")]
    assert len(left) <= 1, left
    for spill in left:
        assert str(spill) in env["message"], (spill, env["message"])
        assert spill.stat().st_mode & 0o777 == 0o600
        with spill.open("rb") as handle:
            assert b"s3cr3tvalue" not in handle.read(1 << 20)
