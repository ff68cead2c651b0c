"""The agent's own sandbox (Claude Code's `sandbox` settings) keeps the user's credentials from its commands.

Claude Code runs each Bash command under bubblewrap + socat (Linux) or Seatbelt (macOS) when its settings
say `sandbox.enabled`. kro-run passes, through the `--settings` it already writes in the session dir:
`filesystem.denyRead` for every kubeconfig kro-run read, the key, certificate and token files their users
name, and the credential locations --confine hides (~/.kube, ~/.aws, …); `filesystem.allowWrite` for what
the shims write (the audit log's directory, kro's cache, the approval queue); `failIfUnavailable` and
`allowUnsandboxedCommands: false`, so a missing sandbox is an error and no command runs outside it.

The route to the API proxy: the sandbox has its own network namespace and sends traffic through its
HTTP proxy, whose NO_PROXY lists 127.0.0.1 — and Go (kubectl) never proxies a loopback address anyway.
So the session kubeconfig names the proxy as https://0.0.0.0:PORT (0.0.0.0 is not loopback to Go, and
connecting to it reaches this host): kubectl inside sends it through the sandbox's proxy, which lets
`0.0.0.0` through (`network.allowedDomains`). 127.0.0.1 and every other host stay unreachable; the
host's own ports are reachable as 0.0.0.0 (Claude Code 2.1 has no per-port allowance), which is why the
credentials they would need are unreadable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kro.sandbox import kubeconfig as kc
from kro.sandbox.confine import HOME_CREDENTIALS, SYSTEM_CREDENTIALS
from kro.shims.session import SESSION_FILE, Session, write_session

INSIDE_HOST = "0.0.0.0"  # a destination (this host), not a listening address


@dataclass(frozen=True)
class AgentSandbox:
    """What the agent's sandbox is told: paths it may not read, paths it may write, hosts it may reach."""

    deny_read: tuple[str, ...]
    allow_write: tuple[str, ...]
    allowed_hosts: tuple[str, ...]


def _real(path: str | Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def credential_paths(sources: Iterable[Path], env: dict[str, str]) -> list[str]:
    """Everything the agent must not read: the kubeconfigs, the files they name, the credential dirs."""
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    sources = list(sources)
    found = {_real(p) for p in sources if p.exists()} | kc.user_files(sources)
    found |= {_real(home / d) for d in HOME_CREDENTIALS if (home / d).exists()}
    found |= {_real(d) for d in SYSTEM_CREDENTIALS if os.path.exists(d)}
    return sorted(found)


def spec(session: Session, sources: Iterable[Path], env: dict[str, str]) -> AgentSandbox:
    """The agent sandbox for `session` (its proxy must run: with --direct the credentials are in reach)."""
    from kro.shims.cache import cache_root

    writes = [os.path.dirname(session.audit_log), session.cache_dir or str(cache_root())]
    writes += [p for p in (session.kube_cache_dir, session.approvals) if p]
    for path in writes:  # made now: the sandbox opens only paths that exist to writes
        Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
    # Claude Code 2.1 matches allowedDomains by host only (no ":port"): every port of the host is
    # reachable as 0.0.0.0 from inside, the proxy's among them (README, "Claude Code's own sandbox").
    return AgentSandbox(tuple(credential_paths(sources, env)), tuple(sorted({_real(p) for p in writes})),
                        (INSIDE_HOST,))  # fmt: skip


def route_inside(session: Session) -> Session:
    """Rewrite the session so that kubectl reaches the proxy from inside: https://0.0.0.0:PORT in its
    kubeconfig, through the sandbox's HTTP proxy (the caller's proxy variables)."""
    session = session._replace(agent_sandbox=True)
    write_session(session, os.path.join(session.dir, SESSION_FILE))
    path = Path(session.kubeconfig)
    doc = yaml.safe_load(path.read_text())
    for entry in doc["clusters"]:
        server = urlsplit(entry["cluster"]["server"])
        entry["cluster"]["server"] = f"{server.scheme}://{INSIDE_HOST}:{server.port}{server.path}"
    kc.write_private(doc, path)
    return session


def _merged(items: object, ours: Iterable[str]) -> list[str]:
    kept = [str(i) for i in items] if isinstance(items, list) else []
    return list(dict.fromkeys([*kept, *ours]))


def claude_settings(settings: dict[str, Any], box: AgentSandbox) -> list[str]:
    """Turn on Claude Code's sandbox in `settings` (the user's entries kept); notes on what was dropped."""
    user = settings.get("sandbox")
    sandbox: dict[str, Any] = dict(user) if isinstance(user, dict) else {}
    notes = []
    if sandbox.get("excludedCommands"):
        notes.append("your sandbox.excludedCommands were dropped: every command runs in the sandbox")
    sandbox.pop("excludedCommands", None)
    sandbox.update(enabled=True, failIfUnavailable=True, allowUnsandboxedCommands=False)
    filesystem = sandbox.get("filesystem")
    filesystem = dict(filesystem) if isinstance(filesystem, dict) else {}
    filesystem["denyRead"] = _merged(filesystem.get("denyRead"), box.deny_read)
    filesystem["allowWrite"] = _merged(filesystem.get("allowWrite"), box.allow_write)
    network = sandbox.get("network")
    network = dict(network) if isinstance(network, dict) else {}
    network["allowedDomains"] = _merged(network.get("allowedDomains"), box.allowed_hosts)
    sandbox.update(filesystem=filesystem, network=network)
    settings["sandbox"] = sandbox
    return notes
