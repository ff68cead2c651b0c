"""Upstream credentials from a kubeconfig user entry: token, token file, basic, exec plugins (cached)."""

from __future__ import annotations

import base64
import os
import threading
import time
from calendar import timegm
from dataclasses import dataclass, field
from typing import Any

import orjson

from kro.shims.errors import ConfigError
from kro.shims.executor import run_plugin

_PLUGIN_TIMEOUT = 60.0
_EARLY = 10.0  # re-run a plugin this many seconds before its token expires (clocks drift)


class CredentialError(ConfigError):
    """The upstream credential could not be obtained (a plugin failed, a token file vanished)."""


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and key, as PEM bytes."""

    cert: bytes
    key: bytes


def _expiry(stamp: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 expirationTimestamp; None when absent."""
    if not isinstance(stamp, str) or not stamp:
        return None
    text = stamp.replace("Z", "+00:00")
    main, _, zone = text.partition("+")
    try:
        base = timegm(time.strptime(main.split(".")[0], "%Y-%m-%dT%H:%M:%S"))
    except ValueError as exc:
        raise CredentialError(f"credential plugin gave a bad expirationTimestamp {stamp!r}") from exc
    if zone and zone != "00:00":
        hours, _, minutes = zone.partition(":")
        base -= int(hours) * 3600 + int(minutes or 0) * 60
    return float(base)


@dataclass
class ExecPlugin:
    """A client-go exec credential plugin, run by the proxy and cached until its token expires."""

    config: dict[str, Any]
    base_env: dict[str, str]
    _token: str | None = None
    _cert: ClientCert | None = None
    _expires: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    runs: int = 0

    def _run(self) -> None:
        cfg = self.config
        command = cfg.get("command")
        if not isinstance(command, str) or not command:
            raise ConfigError("the kubeconfig's exec plugin has no command")
        api_version = str(cfg.get("apiVersion") or "client.authentication.k8s.io/v1")
        env = dict(self.base_env)
        for item in cfg.get("env") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                env[item["name"]] = str(item.get("value", ""))
        info = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
        env["KUBERNETES_EXEC_INFO"] = orjson.dumps(info).decode()
        argv = [command, *(str(a) for a in cfg.get("args") or [])]
        try:
            code, out, err = run_plugin(argv, env, _PLUGIN_TIMEOUT)
        except OSError as exc:
            raise CredentialError(f"credential plugin {command} could not run: {exc}") from exc
        self.runs += 1
        if code != 0:
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {code}"]
            raise CredentialError(f"credential plugin {command} failed: {tail[0]}")
        try:
            status = orjson.loads(out).get("status") or {}
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise CredentialError(f"credential plugin {command} did not print an ExecCredential") from exc
        token = status.get("token")
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if not token and not (cert and key):
            raise CredentialError(
                f"credential plugin {command} gave neither a token nor a client certificate"
            )
        self._token = str(token) if token else None
        self._cert = ClientCert(str(cert).encode(), str(key).encode()) if cert and key else None
        self._expires = _expiry(status.get("expirationTimestamp"))

    def _fresh(self) -> bool:
        if self._token is None and self._cert is None:
            return False
        return self._expires is None or time.time() < self._expires - _EARLY

    def current(self, stale: str | None = None) -> tuple[str | None, ClientCert | None]:
        """The cached token and certificate; the plugin re-runs when they expired or `stale` was refused."""
        with self._lock:
            if not self._fresh() or (stale is not None and stale == self._token):
                self._run()
            return self._token, self._cert


@dataclass
class Credentials:
    """How the proxy authenticates upstream, from one kubeconfig user entry."""

    token: str | None = None
    token_file: str | None = None
    basic: str | None = None
    cert: ClientCert | None = None
    plugin: ExecPlugin | None = None

    @classmethod
    def from_user(cls, user: dict[str, Any], env: dict[str, str]) -> Credentials:
        """Read the user entry; ConfigError on what the proxy cannot use."""
        if user.get("auth-provider"):
            name = (user["auth-provider"] or {}).get("name", "?")
            raise ConfigError(
                f"the kubeconfig's auth-provider {name!r} is not supported by kro's API proxy; "
                "switch the user to an exec credential plugin, or run kro-run --direct"
            )
        creds = cls(token=user.get("token") or None, token_file=user.get("tokenFile") or None)
        if user.get("username") and user.get("password"):
            raw = f"{user['username']}:{user['password']}".encode()
            creds.basic = base64.b64encode(raw).decode()
        creds.cert = _client_cert(user)
        if isinstance(user.get("exec"), dict):
            creds.plugin = ExecPlugin(dict(user["exec"]), env)
        if creds.token_file:
            creds.token = None
            creds.read_token_file()
        return creds

    def read_token_file(self) -> None:
        """(Re)read tokenFile, as client-go does when the token may have been rotated."""
        assert self.token_file
        try:
            with open(self.token_file, encoding="utf-8") as handle:
                self.token = handle.read().strip()
        except OSError as exc:
            raise CredentialError(
                f"cannot read the kubeconfig's tokenFile {self.token_file}: {exc.strerror}"
            ) from exc

    def authorization(self, refused: str | None = None) -> str | None:
        """The Authorization header for the next upstream request (`refused`: the one that got a 401)."""
        if self.token_file and refused is not None:
            self.read_token_file()
        if self.token:
            return f"Bearer {self.token}"
        if self.plugin is not None:
            stale = refused.removeprefix("Bearer ") if refused else None
            token, _ = self.plugin.current(stale)
            if token:
                return f"Bearer {token}"
        if self.basic:
            return f"Basic {self.basic}"
        return None


def _read_pem(data: object, path: object, what: str) -> bytes | None:
    if isinstance(data, str) and data:
        try:
            return base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise ConfigError(f"the kubeconfig's {what}-data is not base64") from exc
    if isinstance(path, str) and path:
        try:
            with open(os.path.expanduser(path), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise ConfigError(f"cannot read the kubeconfig's {what} {path}: {exc.strerror}") from exc
    return None


def _client_cert(user: dict[str, Any]) -> ClientCert | None:
    cert = _read_pem(
        user.get("client-certificate-data"), user.get("client-certificate"), "client-certificate"
    )
    key = _read_pem(user.get("client-key-data"), user.get("client-key"), "client-key")
    if cert and key:
        return ClientCert(cert, key)
    if cert or key:
        raise ConfigError("the kubeconfig's user has a client certificate without its key (or the reverse)")
    return None


def ca_bundle(cluster: dict[str, Any]) -> bytes | None:
    """The cluster's CA certificates as PEM, from certificate-authority-data or certificate-authority."""
    return _read_pem(
        cluster.get("certificate-authority-data"),
        cluster.get("certificate-authority"),
        "certificate-authority",
    )
