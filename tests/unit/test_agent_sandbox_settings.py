"""Claude Code's own sandbox settings (kro.sandbox.agent_sandbox): what is denied, allowed and kept."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kro.sandbox import agent_sandbox, agents
from kro.sandbox.agent_sandbox import AgentSandbox
from kro.shims.executor import session_env
from kro.shims.session import SESSION_FILE, Session, load_session

BOX = AgentSandbox(("/home/u/.kube", "/k/config"), ("/state/kro",), ("0.0.0.0",))


def _kubeconfig(path: Path, user: dict[str, Any]) -> Path:
    doc = {"clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
           "users": [{"name": "u", "user": user}], "contexts": [], "current-context": ""}  # fmt: skip
    path.write_text(yaml.safe_dump(doc))
    return path


def test_credential_paths_name_kubeconfigs_their_files_and_the_credential_dirs(tmp_path: Path) -> None:
    """The kubeconfigs kro-run read, the key/cert/token files their users name (relative to the file, as
    client-go resolves them), ~/.kube, ~/.aws …; missing paths are left out."""
    home = tmp_path / "home"
    for d in (".kube", ".aws", ".config/gcloud"):
        (home / d).mkdir(parents=True)
    (tmp_path / "certs").mkdir()
    for name in ("certs/client.crt", "certs/client.key", "token"):
        (tmp_path / name).write_text("secret")
    given = _kubeconfig(tmp_path / "given", {"client-certificate": "certs/client.crt",
                                             "client-key": str(tmp_path / "certs/client.key"),
                                             "tokenFile": "token"})  # fmt: skip
    missing = tmp_path / "not-there"
    found = agent_sandbox.credential_paths([given, missing], {"HOME": str(home)})
    real = os.path.realpath
    expected = {real(p) for p in (given, tmp_path / "certs/client.crt", tmp_path / "certs/client.key",
                                  tmp_path / "token", home / ".kube", home / ".aws",
                                  home / ".config/gcloud")}  # fmt: skip
    assert expected <= set(found)
    assert real(missing) not in found
    assert real(home / ".azure") not in found


WEAKER = {"enabled": False, "allowUnsandboxedCommands": True, "failIfUnavailable": False}
OWN_LISTS = {"filesystem": {"denyRead": ["/mine"]}, "network": {"allowedDomains": ["example.com"]}}


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param(None, {}, id="no-user-settings"),
        pytest.param({"sandbox": WEAKER}, {}, id="weakening-overridden"),
        pytest.param(
            {"sandbox": OWN_LISTS},
            {"denyRead": ["/mine"], "allowedDomains": ["example.com"]},
            id="user-lists-kept",
        ),
    ],
)
def test_claude_settings_turn_the_sandbox_on(
    user: dict[str, Any] | None, expected: dict[str, list[str]]
) -> None:
    """enabled, failIfUnavailable, no unsandboxed commands whatever the user set; the user's own lists
    come first and ours are added; the hooks the settings carry stay."""
    settings: dict[str, Any] = {"hooks": {"PreToolUse": []}, **(user or {})}
    assert agent_sandbox.claude_settings(settings, BOX) == []
    sandbox = settings["sandbox"]
    assert (sandbox["enabled"], sandbox["failIfUnavailable"], sandbox["allowUnsandboxedCommands"]) == (
        True, True, False)  # fmt: skip
    fs, net = sandbox["filesystem"], sandbox["network"]
    assert fs["denyRead"] == [*expected.get("denyRead", []), *BOX.deny_read]
    assert fs["allowWrite"] == list(BOX.allow_write)
    assert net["allowedDomains"] == [*expected.get("allowedDomains", []), "0.0.0.0"]
    assert "hooks" in settings


def test_excluded_commands_are_dropped_with_a_note() -> None:
    """A command the user excluded would run outside the sandbox: dropped, and said so."""
    settings: dict[str, Any] = {"sandbox": {"excludedCommands": ["docker"]}}
    notes = agent_sandbox.claude_settings(settings, BOX)
    assert "excludedCommands" not in settings["sandbox"]
    assert len(notes) == 1
    assert "excludedCommands" in notes[0]


def test_route_inside_and_the_proxy_variables(tmp_path: Path) -> None:
    """The session kubeconfig names the proxy as 0.0.0.0 (same port), session.json says so, and only
    then does kubectl take the caller's proxy variables (the sandbox's HTTP proxy)."""
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", {"token": "t"})
    session = Session("id", str(tmp_path), "c", str(kubeconfig), "/usr/bin/kubectl", audit_log="/a/l",
                      proxy="https://127.0.0.1:6443", env={"HTTPS_PROXY": None})  # fmt: skip
    caller = {"HTTPS_PROXY": "http://srt:pw@localhost:3128", "NO_PROXY": "127.0.0.1", "LANG": "C"}
    assert "HTTPS_PROXY" not in session_env(caller, session)
    inside = agent_sandbox.route_inside(session)
    assert load_session(str(tmp_path / SESSION_FILE)) == inside
    assert inside.agent_sandbox
    doc = yaml.safe_load(kubeconfig.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://0.0.0.0:6443"
    env = session_env(caller, inside)
    assert (env["HTTPS_PROXY"], env["NO_PROXY"], env["LANG"]) == (caller["HTTPS_PROXY"], "127.0.0.1", "C")


def test_spec_makes_the_writable_dirs(tmp_path: Path) -> None:
    """The audit log's dir and kro's cache are created before the sandbox starts (it opens only paths
    that exist to writes)."""
    session = Session("id", str(tmp_path), "c", "/k", "/usr/bin/kubectl",
                      audit_log=str(tmp_path / "audit" / "audit.jsonl"), cache_dir=str(tmp_path / "cache"),
                      proxy="https://127.0.0.1:1")  # fmt: skip
    box = agent_sandbox.spec(session, [], {"HOME": str(tmp_path / "home")})
    real = os.path.realpath
    assert set(box.allow_write) == {real(tmp_path / "audit"), real(tmp_path / "cache")}
    assert all(os.path.isdir(p) for p in box.allow_write)
    assert box.allowed_hosts == ("0.0.0.0",)


def _codex(tmp_path: Path, *words: str) -> agents.Setup:
    session = Session("id", str(tmp_path), "c", "/k", "/usr/bin/kubectl", audit_log=str(tmp_path / "a/l"),
                      cache_dir=str(tmp_path / "cache"), proxy="https://127.0.0.1:1")  # fmt: skip
    visible = agents.Visible(str(tmp_path), f"{tmp_path}/bin", "/k", str(tmp_path))
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}
    return agents.codex(["codex", *words], 0, session, env, visible, [tmp_path / "given"])


def test_codex_permission_profile(tmp_path: Path) -> None:
    """kro-run codex: the `kro` profile's -c overrides parse as TOML, deny the credentials, open the
    shims' writes and the network."""
    done = _codex(tmp_path, "exec", "hi")
    pairs = dict(w.split("=", 1) for w in done.argv[1:-2] if "=" in w)
    assert tomllib.loads(f"v = {pairs['default_permissions']}")["v"] == "kro"
    table = tomllib.loads(f"v = {pairs['permissions.kro.filesystem']}")["v"]
    assert table[os.path.realpath(tmp_path / "home" / ".kube")] == "none"
    assert table[os.path.realpath(tmp_path / "a")] == "write"
    assert pairs["permissions.kro.network.enabled"] == "true"
    assert done.argv[-2:] == ["exec", "hi"]
    assert done.warnings == []


@pytest.mark.parametrize("option", ["-s", "--sandbox=read-only", "--full-auto"])
def test_codex_own_sandbox_option_replaces_the_profile_with_a_warning(tmp_path: Path, option: str) -> None:
    """A legacy sandbox option of the user's wins in Codex: no profile added, a warning says so."""
    done = _codex(tmp_path, "exec", option, "danger-full-access")
    assert not any(w.startswith("default_permissions") for w in done.argv)
    assert len(done.warnings) == 1
    assert option.split("=")[0] in done.warnings[0]
