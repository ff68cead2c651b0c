"""`kubectl config view` with every credential masked: kro runs it with -o json, masks, renders as asked.

kubectl itself masks only `token` and certificate data; an OIDC auth-provider's id-token and
refresh-token, a client-secret or an exec plugin's env values come out in clear. So for the outputs kro can
render (the default YAML and -o yaml/json) kro asks kubectl for JSON and prints the masked document;
jsonpath outputs are allowed only when they select no user credentials (policy_reads.config_view_problem).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from kro.shims import executor
from kro.shims.model import Invocation
from kro.shims.policy_reads import MASKED_CONFIG_OUTPUTS, output_format
from kro.shims.session import Session

MASK = "REDACTED"
_KUBECTL_PLACEHOLDERS = frozenset({"REDACTED", "DATA+OMITTED"})
# auth-provider settings that say how to get a credential but are none (everything else is masked).
_PROVIDER_KEEP = frozenset({
    "client-id", "idp-issuer-url", "idp-certificate-authority", "extra-scopes", "cmd-path", "cmd-args",
    "expiry-key", "token-key", "expiry", "tenant-id", "apiserver-id", "environment", "config-mode", "scopes",
})  # fmt: skip
_USER_SECRETS = frozenset({"token", "password", "client-key-data"})
_CREDENTIAL_WORDS = ("token", "secret", "password", "passwd", "key", "credential", "auth", "cookie")
_MAX_BYTES = 16 * 1024 * 1024
_DROPPED = frozenset({"output", "template", "allow-missing-template-keys", "show-managed-fields"})


def renders(inv: Invocation) -> bool:
    """Whether kro renders this call itself (config view with the default, yaml or json output)."""
    if inv.tool != "kubectl" or inv.path != ("config", "view"):
        return False
    name, inline = output_format(inv.last("output") or "")
    return name in MASKED_CONFIG_OUTPUTS and inline is None


def json_argv(inv: Invocation) -> list[str]:
    """The caller's config view with its output flags replaced by -o json."""
    keep = [
        f"--{flag.name}" if flag.value == "" else f"--{flag.name}={flag.value}"
        for flag in inv.flags
        if flag.name not in _DROPPED and flag.value is not None
    ]
    return ["config", "view", *keep, *inv.positionals, "--output=json"]


def _credential(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _CREDENTIAL_WORDS)


def _mask_args(args: list[object]) -> int:
    """Mask exec args that are credential flag values (`--token=x`, `--client-secret x`)."""
    count = 0
    for i, arg in enumerate(args):
        if not isinstance(arg, str) or not arg.startswith("-"):
            continue
        name, eq, _ = arg.lstrip("-").partition("=")
        if not _credential(name):
            continue
        if eq:
            args[i] = f"{arg.split('=', 1)[0]}={MASK}"
            count += 1
        elif i + 1 < len(args) and isinstance(args[i + 1], str) and not str(args[i + 1]).startswith("-"):
            args[i + 1] = MASK
            count += 1
    return count


def _mask_value(holder: dict[str, object], key: str) -> int:
    value = holder.get(key)
    if value in (None, "") or value in _KUBECTL_PLACEHOLDERS:
        return 0
    holder[key] = MASK
    return 1


def _entries(doc: dict[str, object], key: str) -> list[object]:
    value = doc.get(key)
    return value if isinstance(value, list) else []


def mask(doc: dict[str, object]) -> int:
    """Mask every credential in a kubeconfig document in place; how many values were masked."""
    count = 0
    for entry in _entries(doc, "users"):
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in list(user):
            if key in _USER_SECRETS or (
                key != "tokenFile" and _credential(key) and isinstance(user[key], str)
            ):
                count += _mask_value(user, key)
        provider = user.get("auth-provider")
        config = provider.get("config") if isinstance(provider, dict) else None
        if isinstance(config, dict):
            for key in list(config):
                if key not in _PROVIDER_KEEP:
                    count += _mask_value(config, key)
        plugin = user.get("exec")
        if isinstance(plugin, dict):
            for item in plugin.get("env") or ():
                if isinstance(item, dict):
                    count += _mask_value(item, "value")
            if isinstance(plugin.get("args"), list):
                count += _mask_args(plugin["args"])
    for entry in _entries(doc, "clusters"):
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        proxy = cluster.get("proxy-url") if isinstance(cluster, dict) else None
        if isinstance(proxy, str) and "@" in proxy and "://" in proxy:
            scheme, rest = proxy.split("://", 1)
            userinfo, host = rest.rsplit("@", 1)
            assert isinstance(cluster, dict)
            cluster["proxy-url"] = f"{scheme}://{userinfo.split(':', 1)[0]}:{MASK}@{host}"
            count += 1
    return count


def render(doc: dict[str, object], output: str) -> bytes:
    """The document as kubectl prints it: YAML (keys sorted, as kubectl's YAML printer does) or JSON."""
    if output == "json":
        return json.dumps(doc, indent=4, ensure_ascii=False).encode() + b"\n"
    import yaml

    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True).encode()


def run(session: Session, inv: Invocation, path: str, env: dict[str, str],
        on_stdout: Callable[[bytes], bool],
        capture: Callable[..., executor.Captured] = executor.run_captured) -> executor.Captured:  # fmt: skip
    """Run kubectl config view -o json, mask it, and hand the rendering to `on_stdout`."""
    from kro.shims.argv import parse
    from kro.shims.flag_tables import load

    argv = executor.pinned_argv(parse(load("kubectl"), json_argv(inv)), session)
    chunks: list[bytes] = []
    size = [0]

    def collect(chunk: bytes) -> bool:
        size[0] += len(chunk)
        chunks.append(chunk)
        return size[0] <= _MAX_BYTES

    result = capture(path, argv, env, collect, seconds=session.request_timeout, stream=False)
    if result.exit_code != 0 or result.timed_out:
        return result
    try:
        doc = json.loads(b"".join(chunks))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        error = f"kro: kubectl config view gave no kubeconfig ({exc})\n".encode()
        return executor.Captured(70, error, False, False)
    mask(doc)
    on_stdout(render(doc, output_format(inv.last("output") or "")[0]))
    return result
