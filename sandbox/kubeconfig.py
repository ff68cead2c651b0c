"""Resolve the user's kubeconfig and context, and write a minified copy pinned to one context."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kro.shims.errors import ConfigError

_CLUSTER_PATHS = ("certificate-authority",)
_USER_PATHS = ("client-certificate", "client-key", "tokenFile")


@dataclass(frozen=True)
class Kubeconfig:
    """The merged view kubectl has of one or more kubeconfig files."""

    files: tuple[Path, ...]
    current_context: str | None
    contexts: dict[str, dict[str, Any]]
    clusters: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]


def kubeconfig_files(flag: str | None, env: Mapping[str, str]) -> list[Path]:
    """The files kubectl would read: --kubeconfig, else the KUBECONFIG list, else ~/.kube/config."""
    if flag:
        return [Path(flag).expanduser()]
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [Path(env.get("HOME") or os.path.expanduser("~")) / ".kube" / "config"]


def _absolute(entry: dict[str, Any], keys: tuple[str, ...], base: Path) -> dict[str, Any]:
    entry = dict(entry)
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            entry[key] = str(base / value)
    return entry


def user_files(kubeconfigs: list[Path]) -> set[str]:
    """The key, certificate and token files the users of these kubeconfigs name (real paths that exist)."""
    found: set[str] = set()
    for path in kubeconfigs:
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        users = doc.get("users") if isinstance(doc, dict) else None
        for entry in users if isinstance(users, list) else []:
            user = entry.get("user") if isinstance(entry, dict) else None
            if isinstance(user, dict):  # relative to the kubeconfig, as client-go reads them
                named = _absolute(user, _USER_PATHS, path.parent)
                values = (named.get(key) for key in _USER_PATHS)
                found |= {os.path.realpath(v) for v in values if isinstance(v, str) and v}
    return {p for p in found if os.path.exists(p)}


def _resolve_user(user: dict[str, Any], base: Path) -> dict[str, Any]:
    user = _absolute(user, _USER_PATHS, base)
    exec_cfg = user.get("exec")
    if isinstance(exec_cfg, dict):
        command = exec_cfg.get("command")
        # client-go resolves a relative exec command against the kubeconfig only if it has a separator.
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            user["exec"] = {**exec_cfg, "command": str(base / command)}
    return user


def load(files: list[Path], *, explicit: bool) -> Kubeconfig:
    """Merge the files as client-go does: the first file to define a name or current-context wins."""
    current: str | None = None
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    found: list[Path] = []
    for path in files:
        try:
            text = path.read_text()
        except FileNotFoundError:
            if explicit or len(files) == 1:
                raise ConfigError(
                    f"kubeconfig {path} does not exist; pass --kubeconfig PATH or set KUBECONFIG"
                ) from None
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"kubeconfig {path} is not valid YAML: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
        found.append(path)
        base = path.resolve().parent
        current = current or doc.get("current-context") or None
        for item in doc.get("contexts") or []:
            contexts.setdefault(str(item.get("name")), dict(item.get("context") or {}))
        for item in doc.get("clusters") or []:
            clusters.setdefault(
                str(item.get("name")), _absolute(item.get("cluster") or {}, _CLUSTER_PATHS, base)
            )
        for item in doc.get("users") or []:
            users.setdefault(str(item.get("name")), _resolve_user(item.get("user") or {}, base))
    if not found:
        raise ConfigError(f"no kubeconfig found (looked at {', '.join(map(str, files))}); pass --kubeconfig")
    return Kubeconfig(tuple(found), current, contexts, clusters, users)


def choose_context(config: Kubeconfig, name: str | None) -> str:
    """The context to pin: --context, else current-context; ConfigError listing the choices."""
    chosen = name or config.current_context
    known = ", ".join(sorted(config.contexts)) or "(none)"
    if not chosen:
        raise ConfigError(f"no current context in {config.files[0]}; pass --context (contexts: {known})")
    if chosen not in config.contexts:
        raise ConfigError(f"context {chosen!r} is not in the kubeconfig; contexts there: {known}")
    return chosen


def uses_credential_plugin(config: Kubeconfig, context: str) -> bool:
    """Whether the context's user gets credentials from a program (exec) or an auth-provider."""
    user = config.users.get(str(config.contexts[context].get("user")), {})
    return bool(user.get("exec") or user.get("auth-provider"))


def minified(config: Kubeconfig, context: str, namespace: str | None = None) -> dict[str, Any]:
    """A self-contained kubeconfig with only `context`, its cluster and its user."""
    ctx = dict(config.contexts[context])
    if namespace:
        ctx["namespace"] = namespace
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "contexts": [{"name": context, "context": ctx}],
        "clusters": [],
        "users": [],
    }
    cluster, user = ctx.get("cluster"), ctx.get("user")
    if cluster in config.clusters:
        doc["clusters"].append({"name": cluster, "cluster": config.clusters[cluster]})
    else:
        raise ConfigError(f"context {context!r} names cluster {cluster!r}, which the kubeconfig lacks")
    if user in config.users:
        doc["users"].append({"name": user, "user": config.users[user]})
    return doc


def write_private(doc: dict[str, Any], path: Path) -> None:
    """Write YAML readable by the owner only (0600), created that way (never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(doc, out, sort_keys=False)
