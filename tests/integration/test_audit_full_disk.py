"""The audit log on a disk that fills mid-record: a record lands whole or not at all; verify passes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from disk_testing import fill, small_tmpfs
from kro_testing import BIN, KroSession

from kro.shims.audit import AuditLog, Call
from kro.shims.errors import AuditError
from kro.shims.model import Decision

ALLOWED = Decision(True, "read", "get is a read", None)


def verify(log: Path) -> subprocess.CompletedProcess[str]:
    """`kro audit verify` on `log`."""
    return subprocess.run([str(BIN / "kro"), "audit", "verify", "--audit-log", str(log)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def lines(log: Path) -> list[dict[str, object]]:
    raw = log.read_bytes()
    assert raw.endswith(b"\n"), raw[-200:]
    return [json.loads(line) for line in raw.splitlines()]


@pytest.mark.parametrize("pages", [pytest.param(n, id=f"{n}-pages-free") for n in (0, 1, 2)])
def test_records_land_whole_on_a_disk_that_fills(tmp_path: Path, pages: int) -> None:
    """Records are appended until the disk is full, the last one cut mid-record: it is removed whole, the
    error says the call was not run, verify passes; once there is room again the log goes on cleanly."""
    with small_tmpfs(tmp_path / "disk", "32k") as disk:
        fill(disk / "filler", pages)
        log_path = disk / "audit.jsonl"
        problems: list[str] = []
        with AuditLog.open(str(log_path)) as log:
            for n in range(200):
                call = Call("s1", "kubectl", ["get", "pods", "-n", f"ns-{n}", "x" * (n % 37)], "ctx")
                try:
                    log.call(call, ALLOWED, time.monotonic())
                except AuditError as exc:
                    problems.append(str(exc))
        assert problems
        assert all("the call was not run" in p for p in problems)
        if pages:  # records filled the free pages, then one was cut mid-record
            assert "short write" in problems[0]
        written = lines(log_path) if log_path.stat().st_size else []
        assert all(r["event"] == "call" for r in written)
        assert verify(log_path).returncode == 0, verify(log_path).stdout
        (disk / "filler").unlink()
        with AuditLog.open(str(log_path)) as log:
            log.write(Call("s1", "hook", ["after"], "ctx"), ALLOWED, 0, time.monotonic())
        assert lines(log_path)[-1]["argv"] == ["after"]
        done = verify(log_path)
        assert done.returncode == 0, done.stdout
        assert f"OK: {len(written) + 1} well-formed records" in done.stdout


def test_a_torn_tail_is_cut_when_the_log_is_next_opened(tmp_path: Path) -> None:
    """A record cut short by a crash (no newline) is cut back to the last whole line on the next open, so
    the next record is not glued onto it."""
    log_path = tmp_path / "audit.jsonl"
    with AuditLog.open(str(log_path)) as log:
        log.write(Call("s1", "hook", ["first"], "ctx"), ALLOWED, 0, time.monotonic())
    with open(log_path, "ab") as handle:
        handle.write(b'{"ts": "2026-12-06T00:00:00.000Z", "session": "s1", "call": "ab')
    with AuditLog.open(str(log_path)) as log:
        log.write(Call("s1", "hook", ["second"], "ctx"), ALLOWED, 0, time.monotonic())
    assert [r["argv"] for r in lines(log_path)] == [["first"], ["second"]]
    assert verify(log_path).returncode == 0


def test_shim_calls_on_a_full_audit_disk(kro_session: KroSession, tmp_path: Path) -> None:
    """kubectl calls in a session whose audit log's disk fills: refused once a record cannot land whole,
    never "internal error"; no list reached the cluster without its record; verify passes."""
    with small_tmpfs(tmp_path / "disk", "32k") as disk:
        fill(disk / "filler", 1)
        log_path = disk / "audit.jsonl"
        before = len(kro_session.demo.cluster.requests())
        loop = "for i in $(seq 30); do kubectl get pods -n demo -o name >/dev/null; echo $?; done"
        options = ("--direct", "--audit-log", str(log_path))
        proc = kro_session.run("sh", "-c", loop, options=options, env=kro_session.env(), timeout=300)
        codes = proc.stdout.split()
        assert "0" in codes, proc.stderr
        assert "78" in codes, proc.stderr
        assert "internal error" not in proc.stderr
        assert "the call was not run" in proc.stderr
        done = verify(log_path)
        assert done.returncode == 0, done.stdout
        audited = [r for r in lines(log_path) if r["tool"] == "kubectl" and r["event"] == "call"]
        assert len(audited) == codes.count("0")
        lists = [r for r in kro_session.demo.cluster.requests()[before:] if r["path"].endswith("/pods")]
        assert len(lists) == len(audited), "each list that reached the cluster has its call record"
