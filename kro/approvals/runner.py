"""Run an approved request's rebuilt argv (or its dry run) with the approving user's kubectl and kubeconfig.

Never through the agent's session: the real kubectl found on the user's PATH (never a shim), started by
the one executor (kro.shims.executor), the user's environment without kubectl overrides, KUBECONFIG set
to the files the session was launched from (or --kubeconfig), and the argv kro rebuilt and pinned to the
session's context and namespace (kro/approvals/scope.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

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


@dataclass(frozen=True)
class Bound:
    """What an approval is bound to: (KIND/NAME, uid, resourceVersion) of each target, and a get's error."""

    objects: tuple[tuple[str, str, str], ...] = ()
    problem: str = ""

    def lines(self) -> list[str]:
        """One line per target (and the error), for the user."""
        out = [f"{name} uid={uid} resourceVersion={version}" for name, uid, version in self.objects]
        return out + ([self.problem] if self.problem else [])

    def resource_version(self) -> str:
        """The resourceVersion of the one target ('' unless there is exactly one and no error)."""
        return self.objects[0][2] if len(self.objects) == 1 and not self.problem else ""


def target_state(path: str, target_args: list[str], pins: list[str], env: dict[str, str],
                 seconds: float) -> Bound:  # fmt: skip
    """The uid and resourceVersion of each object `target_args` names, read with the pinned context."""
    if not target_args:
        return Bound()
    done = run(path, ["get", *pins, *target_args, "-o", "json"], env, seconds)
    try:
        doc = orjson.loads(done.stdout) if done.stdout.strip() else {}
    except orjson.JSONDecodeError:
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    items = doc.get("items") or [] if str(doc.get("kind", "")).endswith("List") else [doc] if doc else []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        meta = item.get("metadata") or {}
        found.append((f"{item.get('kind', '?')}/{meta.get('name', '?')}", str(meta.get("uid", "")),
                      str(meta.get("resourceVersion", ""))))  # fmt: skip
    problem = f"(kubectl get exited {done.exit_code}: {done.stderr.strip()[:300]})" if done.exit_code else ""
    return Bound(tuple(sorted(found)), problem)
