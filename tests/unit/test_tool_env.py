"""The allowlisted environment of every real kubectl (executor.session_env) and config view masking."""

from __future__ import annotations

import pytest

from kro.shims import config_view
from kro.shims.executor import launch_env, session_env, standalone_env
from kro.shims.session import Session

LAUNCH = {
    "HOME": "/home/u", "PATH": "/usr/bin:/bin", "HTTPS_PROXY": "http://proxy:3128", "AWS_PROFILE": "prod",
    "GODEBUG": "http2debug=1", "GOOGLE_APPLICATION_CREDENTIALS": "/home/u/gcp.json", "SSL_CERT_FILE": "/x",
    "KUBECONFIG": "/home/u/.kube/other", "LD_PRELOAD": "/x.so", "LANG": "C.UTF-8",
}  # fmt: skip


def _session(plugin: bool) -> Session:
    return Session(id="s", dir="/d", context="c", kubeconfig="/d/kubeconfig", kubectl="/usr/bin/kubectl",
                   env=launch_env(LAUNCH, credential_plugin=plugin))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "plugin", "expected"),
    [
        pytest.param("GODEBUG", "http2debug=1", False, None, id="caller-godebug"),
        pytest.param("GODEBUG", "http2debug=1", True, None, id="caller-godebug-plugin"),
        pytest.param("GOFLAGS", "-x", True, None, id="goflags"),
        pytest.param("SSL_CERT_FILE", "/evil", True, None, id="ssl-cert-file"),
        pytest.param("KUBECONFIG", "/evil", True, "/d/kubeconfig", id="kubeconfig-is-the-session's"),
        pytest.param("KUBERC", "/evil", False, "off", id="kuberc-off"),
        pytest.param("KUBECTL_EXTERNAL_DIFF", "/evil", True, None, id="external-diff"),
        pytest.param("LD_PRELOAD", "/evil.so", True, None, id="ld-preload"),
        pytest.param("HTTPS_PROXY", "http://evil", False, "http://proxy:3128", id="proxy-pinned-at-launch"),
        pytest.param("HOME", "/evil", False, "/home/u", id="home-pinned-at-launch"),
        pytest.param("PATH", "/evil", False, None, id="no-path-without-plugin"),
        pytest.param("PATH", "/evil", True, "/usr/bin:/bin", id="launch-path-for-plugin"),
        pytest.param("AWS_PROFILE", "evil", True, "prod", id="plugin-config-from-launch"),
        pytest.param("AWS_PROFILE", "evil", False, None, id="no-plugin-config-without-plugin"),
        pytest.param(
            "GOOGLE_APPLICATION_CREDENTIALS", "/evil", True, "/home/u/gcp.json", id="google-is-not-go"
        ),
        pytest.param("LANG", "de_DE.UTF-8", False, "de_DE.UTF-8", id="locale-from-caller"),
        pytest.param("LC_ALL", "C", False, "C", id="lc-from-caller"),
        pytest.param("NO_COLOR", "1", False, "1", id="no-color-from-caller"),
        pytest.param("ANYTHING", "x", True, None, id="anything-else"),
    ],
)
def test_session_env(name: str, value: str, plugin: bool, expected: str | None) -> None:
    """A caller's variable reaches kubectl only if allowlisted; pinned ones keep their launch value."""
    env = session_env({name: value}, _session(plugin))
    assert env.get(name) == expected


def test_standalone_env_drops_go_and_ssl() -> None:
    """kro doctor's kubectl: the same allowlist, the caller's KUBECONFIG kept (it is the user)."""
    env = standalone_env(LAUNCH)
    assert env["KUBECONFIG"] == "/home/u/.kube/other"
    assert env["KUBERC"] == "off"
    assert not {"GODEBUG", "SSL_CERT_FILE", "LD_PRELOAD"} & set(env)


def test_mask_every_credential() -> None:
    """OIDC, exec and proxy credentials are masked; settings that are not credentials stay."""
    doc: dict[str, object] = {
        "clusters": [{"name": "c", "cluster": {"server": "https://s", "proxy-url": "http://u:pw@p:1"}}],
        "users": [
            {"name": "o", "user": {"auth-provider": {"name": "oidc", "config": {
                "client-id": "id", "client-secret": "s1", "id-token": "s2", "refresh-token": "s3",
                "access-token": "s4", "idp-issuer-url": "https://i", "custom": "s5"}}}},
            {"name": "e", "user": {"exec": {
                "command": "aws", "args": ["--token", "s6", "--client-secret=s7", "x"],
                "env": [{"name": "K", "value": "s8"}]}}},
            {"name": "t", "user": {"token": "REDACTED", "password": "s9", "client-key-data": "DATA+OMITTED"}},
        ],
    }  # fmt: skip
    assert config_view.mask(doc) == 10
    text = repr(doc)
    assert not [f"s{i}" for i in range(1, 10) if f"'s{i}'" in text or f"=s{i}'" in text]
    for kept in (
        "'id'",
        "https://i",
        "'aws'",
        "'--token'",
        "'x'",
        "'K'",
        "DATA+OMITTED",
        "http://u:REDACTED@p:1",
    ):
        assert kept in text
