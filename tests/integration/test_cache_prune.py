"""The shared bulk-output cache: a session pruning it never deletes a file another session can still name."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from kro_testing import KroSession, envelopes

from kro.shims.cache import MIN_AGE_S, context_dir, prune


def _named(env: dict[str, object]) -> Path:
    context = str(env["agent_context"])
    return Path(context.split(" is in ", 1)[1].split(".", 1)[0] + ".json")


@pytest.mark.load
def test_pruning_while_another_session_spills(kro_session: KroSession) -> None:
    """Session B prunes the shared cache flat out (size bound 0) while session A spills: every file A names
    stays; B's prune removes only old files of other sessions, never its own."""
    root = kro_session.tmp / "cache" / "kro"
    other = context_dir(root, "kro-demo")
    other.mkdir(parents=True, exist_ok=True)
    stale = other / "20200101T000000000Z-get-0a0a0a0a0a0a-1-abcdef.json"
    own_old = other / "20200101T000000000Z-get-0b0b0b0b0b0b-1-abcdef.json"
    for path in (stale, own_old):
        path.write_text("{}")
        old = time.time() - 2 * MIN_AGE_S
        os.utime(path, (old, old))
    stop = threading.Event()
    rounds = [0]

    def session_b() -> None:
        while not stop.is_set():
            prune(root, max_bytes=0, keep_session="0b0b0b0b0b0b")
            rounds[0] += 1

    pruner = threading.Thread(target=session_b)
    pruner.start()
    try:
        script = "for i in 1 2 3 4 5 6; do kubectl get pods -A -o json; done"
        proc = kro_session.sh(script, output="envelope")
    finally:
        stop.set()
        pruner.join(timeout=30)
    found = envelopes(proc.stdout)
    assert len(found) == 6, proc.stderr
    assert rounds[0] > 6, "session B pruned all along"
    for env in found:
        path = _named(env)
        assert path.is_file(), f"{path} was named in an envelope but is gone"
        assert path.stat().st_size > 16 * 1024
    assert not stale.exists(), "an old file of another session is pruned"
    assert own_old.exists(), "the pruning session's own files are kept"
    assert prune(root, max_bytes=0, min_age=0) >= 7, "with no age floor every file goes"
