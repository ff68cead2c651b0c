"""Resource errors are clear results: a full or unwritable spill cache, a full approvals queue dir."""

from __future__ import annotations

from pathlib import Path

from disk_testing import fill, small_tmpfs
from kro_testing import KroSession, envelope

BIG = ("kubectl", "get", "pods", "-A", "-o", "json")  # more than the 16 KiB preview: it spills


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".prune"))


def test_envelope_on_a_full_cache(kro_session: KroSession, tmp_path: Path) -> None:
    """A big answer whose spill file the full disk refuses: an infra envelope naming the cache, exit 0,
    no file left (not even an empty one); a small answer on the same full disk is unaffected."""
    with small_tmpfs(tmp_path / "disk", "64k") as disk:
        fill(disk / "filler")
        env = kro_session.env(XDG_CACHE_HOME=str(disk / "cache"))
        big = kro_session.run(*BIG, output="envelope", env=env)
        assert big.returncode == 0, big.stderr
        assert "internal error" not in big.stdout + big.stderr
        answer = envelope(big.stdout)
        assert (answer["status"], answer["kind"]) == ("error", "infra")
        assert "kro could not keep it: cannot write" in answer["message"]
        assert "No space left on device" in answer["message"]
        assert _files(disk / "cache") == []
        small = envelope(kro_session.run("kubectl", "get", "ns", output="envelope", env=env).stdout)
        assert small["status"] == "ok"
        [big_call, _] = kro_session.audit()
        assert big_call["exit_code"] == 75


def test_envelope_on_an_unwritable_cache(kro_session: KroSession, tmp_path: Path) -> None:
    """A cache path that cannot be a directory (a file is in the way): the same infra envelope."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = kro_session.env(XDG_CACHE_HOME=str(blocker))
    done = kro_session.run(*BIG, output="envelope", env=env)
    assert "internal error" not in done.stderr
    answer = envelope(done.stdout)
    assert (answer["status"], answer["kind"]) == ("error", "infra")
    assert "Not a directory" in answer["message"]
    assert blocker.read_text() == ""


def test_approvals_queue_on_a_full_disk(kro_session: KroSession, tmp_path: Path) -> None:
    """A mutation to queue when the queue's disk has filled during the session: blocked (exit 77) with
    one line saying it could not be queued and why; no temp file, no request, next-id untouched."""
    with small_tmpfs(tmp_path / "disk", "64k") as disk:
        env = kro_session.env(XDG_STATE_HOME=str(disk / "state"))
        script = f"head -c 1000000 /dev/zero > {disk}/filler; kubectl delete pod web-1 -n demo; echo exit=$?"
        done = kro_session.run("sh", "-c", script, options=("--approvals",), env=env)
        assert "exit=77" in done.stdout, done.stderr
        assert "internal error" not in done.stderr
        [line] = [x for x in done.stderr.splitlines() if "BLOCKED" in x]
        assert "cannot write the approval queue" in line
        assert "No space left on device" in line
        queue = disk / "state" / "kro" / "approvals"
        leftovers = [p.name for p in queue.rglob("*") if p.name.endswith(".tmp") or p.name[0].isdigit()]
        assert leftovers == []
        assert not (queue / "next-id").exists()
        [call] = kro_session.audit()
        assert (call["decision"], call["rule"]) == ("blocked", "verb.mutating")
