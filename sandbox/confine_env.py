"""The environment a --confine sandbox gets: the agent's own, minus credentials and routes out of the sandbox.

The rule, in order:
1. kept: names given with --pass-env, and the agents' own variables (ANTHROPIC_*, CLAUDE_*, OPENAI_*,
   CODEX_*, GEMINI_*, GOOGLE_API_KEY, GOOGLE_GENAI_*, AZURE_OPENAI_*, … see AGENT_PREFIXES);
2. withheld: cloud and cluster settings (AWS_*, AZURE_*, ARM_*, GOOGLE_*, CLOUDSDK_*, KUBE*, HELM_*,
   VAULT_*, …), any name with a credential word in it (TOKEN, SECRET, PASSWORD, CREDENTIALS, KEY, AUTH, …),
   and handles on things outside the sandbox (DISPLAY, XAUTHORITY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS,
   SSH_AUTH_SOCK, DOCKER_HOST, CONTAINER_HOST, …);
3. everything else is kept. Then PATH gets the session's shims first, KRO_SESSION and KUBERC=off are set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

BOX = "/run/kro"  # where the sandbox sees the session's shims, session.json and broker socket

AGENT_PREFIXES = (
    "ANTHROPIC_", "CLAUDE_", "OPENAI_", "CODEX_", "GEMINI_", "GOOGLE_GENAI_", "AZURE_OPENAI_",
    "MISTRAL_", "GROQ_", "OPENROUTER_", "DEEPSEEK_", "XAI_", "OLLAMA_", "COPILOT_", "CURSOR_", "AIDER_",
)  # fmt: skip
AGENT_NAMES = frozenset({"GOOGLE_API_KEY"})
CLOUD_PREFIXES = (
    "AWS_", "AZURE_", "ARM_", "GOOGLE_", "GCLOUD_", "GCP_", "CLOUDSDK_", "KUBE", "K8S_", "HELM_", "VAULT_",
    "DIGITALOCEAN_", "OCI_", "IBMCLOUD_", "ALIBABA_CLOUD_", "ALICLOUD_", "TENCENTCLOUD_", "HCLOUD_",
    "LINODE_", "SCW_", "EXOSCALE_", "TELEPORT_", "RANCHER_", "ARGOCD_", "DOCKER_", "PODMAN_",
)  # fmt: skip
OUTSIDE_HANDLES = frozenset({
    "DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK",
    "SSH_AGENT_PID", "GPG_AGENT_INFO", "CONTAINER_HOST", "CONTAINER_CONNECTION",
})  # fmt: skip
CREDENTIAL_WORDS = frozenset({
    "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "CREDENTIAL", "CREDENTIALS", "CREDS",
    "KEY", "APIKEY", "AUTH", "PAT", "COOKIE",
})  # fmt: skip
_WORDS = re.compile(r"[A-Z0-9]+")


def withheld(name: str, passed: Iterable[str] = ()) -> bool:
    """Whether variable `name` stays outside the sandbox."""
    upper = name.upper()
    if name in passed or upper.startswith(AGENT_PREFIXES) or upper in AGENT_NAMES:
        return False
    if upper.startswith(CLOUD_PREFIXES) or upper in OUTSIDE_HANDLES:
        return True
    return any(word in CREDENTIAL_WORDS for word in _WORDS.findall(upper))


def sandbox_env(base: Mapping[str, str], passed: Iterable[str] = ()) -> tuple[dict[str, str], list[str]]:
    """The sandbox's environment and the names withheld from it (sorted)."""
    keep = set(passed)
    env = {k: v for k, v in base.items() if not withheld(k, keep)}
    dropped = sorted(k for k in base if k not in env)
    env["PATH"] = f"{BOX}/bin:{base.get('PATH', '/usr/bin:/bin')}"
    env["KRO_SESSION"] = BOX
    env["KUBERC"] = "off"
    if "TMPDIR" in env:
        env["TMPDIR"] = "/tmp"
    return env, dropped
