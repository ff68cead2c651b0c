"""Run an approved request's argv (or its dry run) with the approving user's own kubectl and kubeconfig.

Never through the agent's session: the real kubectl found on the user's PATH (never a shim), the
user's environment without kubectl overrides, KUBECONFIG set to the files the session was launched
from (or --kubeconfig), and the argv pinned to the session's context and namespace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from kro.approvals.store import OUTPUT_CAP, Result
from kro.sandbox.session_dir import find_real
from kro.shims import executor
from kro.shims.errors import ToolNotFound


def kubectl_path(env: Mapping[str, str]) -> str:
    """The user's real kubectl (the first on PATH that is not a kro shim)."""
    found = find_real("kubectl", env.get("PATH", ""))
    if found is None:
        raise ToolNotFound("kubectl not found on PATH (kro approve runs your own kubectl); install it")
    return found


def user_env(env: Mapping[str, str], kubeconfigs: Sequence[str]) -> dict[str, str]:
    """The user's environment for the run: kubectl overrides and kro markers removed, the kubeconfig set."""
    out = {k: v for k, v in env.items() if not executor.scrubbed(k) and not k.startswith("KRO_")}
    out["KUBECONFIG"] = os.pathsep.join(kubeconfigs)
    out["KUBERC"] = "off"  # the user's aliases and defaults must not change what was shown
    return out


def run(path: str, argv: list[str], env: dict[str, str], seconds: float) -> Result:
    """Run kubectl once, capturing its output (bounded) and exit code."""
    chunks: list[bytes] = []
    size = 0
    truncated = False

    def keep(chunk: bytes) -> bool:
        nonlocal size, truncated
        if size < OUTPUT_CAP:
            chunks.append(chunk[: OUTPUT_CAP - size])
        truncated = truncated or size + len(chunk) > OUTPUT_CAP
        size += len(chunk)
        return True

    done = executor.run_captured(path, argv, env, keep, seconds=seconds, stream=False)
    stderr = done.stderr.decode("utf-8", "replace")
    if done.timed_out:
        stderr += f"\nkro: kubectl did not finish within {seconds:g} s and was stopped\n"
    return Result(done.exit_code, b"".join(chunks).decode("utf-8", "replace"), stderr, time.time(), truncated)
