"""The --confine broker in-process, driven by real client processes (no sandbox needed for these)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kro_testing import calls_of

from kro.democluster.testing import DemoHandle, kubectl_env
from kro.sandbox.broker import Broker
from kro.sandbox.pinning import PinOptions, build_session

CLIENT = """
import sys
from kro.shims.broker_client import forward
path, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
codes = {forward(path, token, "kubectl", ["delete", "pod", f"p{i}"]) for i in range(count)}
codes |= {forward(path, token, "kubectl", ["get", "ns"]) for _ in range(3)}
print(sorted(codes), file=sys.stderr)
"""


def _descriptors_on(path: Path) -> int:
    """How many of this process's descriptors are open on `path`."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:
            continue
    return found


def test_broker_keeps_no_descriptor_per_call(demo_cluster: DemoHandle, tmp_path: Path) -> None:
    """Bug: the broker opened the audit log per call and never closed it (300 calls, 300 descriptors)."""
    workdir = tmp_path / "session"
    (workdir / "bin").mkdir(parents=True, mode=0o700)
    audit = tmp_path / "audit.jsonl"
    env = {**kubectl_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    session = build_session(PinOptions(context="kro-demo", output="plain", audit_log=audit), env, workdir,
                            demo_cluster.kubeconfig)  # fmt: skip
    socket_path, token = tmp_path / "broker.sock", "t" * 64
    with Broker(session, env, str(socket_path), token) as broker:
        broker.admit(os.getpid())  # the client below is our child, so it descends from "the sandbox"
        before = _descriptors_on(audit)
        proc = subprocess.run(
            [sys.executable, "-c", CLIENT, str(socket_path), token, "300"], capture_output=True, text=True,
            timeout=600, env=env, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == "[0, 77]", proc.stderr
        assert proc.stdout.count("kube-system") == 3, "the allowed calls wrote to the client's stdout"
        during = _descriptors_on(audit)
    assert during - before == 0, f"{during - before} descriptors left open on the audit log"
    views = calls_of(audit)
    assert len(views) == 303
    assert sum(v["state"] == "blocked" for v in views) == 300
    assert [v["exit_code"] for v in views if v["state"] != "blocked"] == [0, 0, 0]
