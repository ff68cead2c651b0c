"""The one module that starts processes: exec for plain mode, capture for envelopes (later: broker)."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kro.shims.model import Invocation
from kro.shims.session import Session

# Variables that change what kubectl runs, reads or where it caches; the session decides them.
_SCRUB_PREFIXES = ("KUBECTL_",)
_SCRUB_NAMES = frozenset({"KUBECACHEDIR", "KUBECONFIG", "KUBERC", "KUBECTL_EXTERNAL_DIFF"})


def session_env(base: Mapping[str, str], session: Session) -> dict[str, str]:
    """The environment kubectl runs with: the caller's, scrubbed, then the session's pins."""
    env = {k: v for k, v in base.items() if k not in _SCRUB_NAMES and not k.startswith(_SCRUB_PREFIXES)}
    if session.kubeconfig:
        env["KUBECONFIG"] = session.kubeconfig
    elif "KUBECONFIG" in base:
        env["KUBECONFIG"] = base["KUBECONFIG"]
    env["KUBERC"] = "off"
    for name, value in session.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def pinned_argv(inv: Invocation, session: Session) -> list[str]:
    """argv with the session's kubeconfig/context (and kube cache) inserted after the verb's words."""
    pins = [f"--kubeconfig={session.kubeconfig}"] if session.kubeconfig else []
    if inv.tool == "kubetail":
        if inv.path == ("logs",) or inv.path[:1] == ("cluster",):
            pins.append(f"--kube-context={session.context}")
    else:
        pins.append(f"--context={session.context}")
        if session.kube_cache_dir:
            pins.append(f"--cache-dir={session.kube_cache_dir}")
    argv = list(inv.argv)
    return argv[: inv.pin_at] + pins + argv[inv.pin_at :]


def exec_tool(path: str, argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with the real tool (plain mode); returns only by raising OSError."""
    os.execve(path, [path, *argv], env)


@dataclass(frozen=True, slots=True)
class Captured:
    """How a captured run ended."""

    exit_code: int
    stderr: bytes
    timed_out: bool
    stopped: bool


_STDERR_CAP = 64 * 1024


def run_captured(
    path: str,
    argv: list[str],
    env: dict[str, str],
    on_stdout: Callable[[bytes], bool],
    *,
    seconds: float,
    stream: bool,
) -> Captured:
    """Run the tool, feeding stdout chunks to `on_stdout` (False = enough) until exit or the bound.

    For a stream the bound is the normal end (stopped=True); otherwise it is a timeout.
    """
    proc = subprocess.Popen(
        [path, *argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    deadline = time.monotonic() + seconds
    stderr = bytearray()
    stopped = timed_out = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                stopped, timed_out = stream, not stream
                break
            for key, _ in sel.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif key.data == "err":
                    stderr += chunk[: max(0, _STDERR_CAP - len(stderr))]
                elif not on_stdout(chunk):
                    stopped = True
                    sel.close()
                    break
            else:
                continue
            break
    if not (stopped or timed_out):
        try:
            proc.wait(timeout=max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stopped, timed_out = stream, not stream
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
    code = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return Captured(code, bytes(stderr), timed_out, stopped)
