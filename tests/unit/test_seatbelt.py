"""The macOS --confine profile (kro.sandbox.seatbelt), generated from confine.plan and read back here by a
small evaluator of the SBPL subset it uses (last matching rule wins), since sandbox-exec is macOS-only."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kro.sandbox import confine, seatbelt
from kro.shims.session import Session

Rule = tuple[str, list[str], list[str] | None]  # action, operations, filters (None: every path)


def _rules(profile: str) -> list[Rule]:
    rules: list[Rule] = []
    filters: list[str] | None = None
    for raw in profile.splitlines():
        line = raw.strip()
        if line.startswith(("(allow", "(deny")):
            action, *ops = line.strip("()").split()
            filters = None if line.endswith(")") else []
            rules.append((action, ops, filters))
        elif line.startswith(("(subpath", "(literal", "(regex")):
            assert filters is not None, line
            filters.append(line)
        elif line == ")":
            filters = None
    return rules


def _matches(spec: str, path: str) -> bool:
    kind, _, arg = spec.strip("()").partition(" ")
    if kind == "regex":
        return re.search(arg.removeprefix("#").strip('"'), path) is not None
    target = arg.strip('"')
    return path == target or (kind == "subpath" and path.startswith(target.rstrip("/") + "/"))


def allowed(profile: str, op: str, path: str) -> bool:
    """What sandbox-exec would decide for `op` (file-read, file-write) on the real path `path`."""
    verdict = False
    for action, ops, filters in _rules(profile):
        applies = "default" in ops or f"{op}*" in ops
        if applies and (filters is None or any(_matches(f, path) for f in filters)):
            verdict = action == "allow"
    return verdict


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A scratch dir outside /tmp: the plan hides all of /tmp, which would make every check here pass."""
    path = Path(tempfile.mkdtemp(prefix="kro-seatbelt-", dir="/var/tmp")).resolve()
    yield path
    shutil.rmtree(path)


@pytest.fixture
def setup(outside_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Path]]:
    """A profile for a session in `outside_tmp`: a home with credentials, a repository, a kubeconfig
    naming a token file; the paths by name."""
    tmp = outside_tmp
    home, work, sessions = tmp / "home", tmp / "work", tmp / "sessions"
    dirs = (home / ".kube", home / ".aws", home / ".claude", home / ".codex", work / ".git/hooks")
    dirs += (work / ".git/info",)
    for d in (*dirs, sessions / "session-a"):
        d.mkdir(parents=True)
    (home / ".kube" / "config").write_text("secret")
    (work / ".git" / "config").write_text("[core]")
    token = tmp / "token"
    token.write_text("secret")
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({"users": [{"name": "u", "user": {"tokenFile": str(token)}}]}))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "KUBECONFIG": str(kubeconfig)}
    session = Session("id", str(sessions / "session-a"), "c", str(kubeconfig), "/usr/bin/kubectl",
                      audit_log=str(tmp / "audit" / "audit.jsonl"))  # fmt: skip
    layout = confine.plan(session, env, confine.ConfineOptions("bwrap", str(work)))
    box = sessions / "session-a" / "box"
    paths = {"home": home, "work": work, "token": token, "kubeconfig": kubeconfig, "box": box,
             "other": sessions / "session-b", "audit": tmp / "audit" / "audit.jsonl",
             "hosttmp": tmp / "hosttmp"}  # fmt: skip
    return seatbelt.profile(layout, str(box), str(box / "tmp"), (str(tmp / "hosttmp"),)), paths


@pytest.mark.parametrize(
    ("op", "where", "expected"),
    [
        pytest.param("file-read", "kubeconfig", False, id="kubeconfig-kro-run-read"),
        pytest.param("file-read", "token", False, id="token-file-it-names"),
        pytest.param("file-read", "home/.kube/config", False, id="dot-kube"),
        pytest.param("file-read", "home/.aws/credentials", False, id="cloud-credentials"),
        pytest.param("file-read", "other/kubeconfig", False, id="other-session-dirs"),
        pytest.param("file-read", "audit", False, id="audit-log"),
        pytest.param("file-read", "/tmp/x", False, id="host-tmp"),
        pytest.param("file-read", "hosttmp/x", False, id="host-per-user-tmp"),
        pytest.param("file-read", "/usr/bin/env", True, id="system-readable"),
        pytest.param("file-read", "box/session.json", True, id="box-readable"),
        pytest.param("file-write", "box/session.json", False, id="box-not-writable"),
        pytest.param("file-write", "box/tmp/scratch", True, id="private-tmp-writable"),
        pytest.param("file-write", "work/main.py", True, id="working-dir-writable"),
        pytest.param("file-write", "home/.claude/state", True, id="agent-dir-writable"),
        pytest.param("file-write", "work/.git/hooks/pre-commit", False, id="git-hooks-read-only"),
        pytest.param("file-write", "work/.git/config", False, id="git-config-read-only"),
        pytest.param("file-write", "work/.git", False, id="git-dir-not-renamed"),
        pytest.param("file-write", "work/.git/commondir", False, id="git-commondir-not-created"),
        pytest.param("file-write", "work/.git/config.worktree", False, id="git-config-worktree-not-created"),
        pytest.param("file-write", "work/.git/info/attributes", False, id="git-info-read-only"),
        pytest.param("file-write", "work/.git/objects/ab/cd", True, id="git-objects-writable"),
        pytest.param("file-write", "home/.claude/settings.json", False, id="claude-settings-read-only"),
        pytest.param("file-write", "home/.codex/config.toml", False, id="codex-config-read-only"),
        pytest.param("file-write", "home/.bashrc", False, id="home-not-writable"),
        pytest.param("file-write", "/etc/hosts", False, id="system-not-writable"),
        pytest.param("file-write", "kubeconfig", False, id="kubeconfig-not-writable"),
        pytest.param("file-write", "/dev/null", True, id="dev-null"),
    ],
)
def test_what_the_profile_allows(
    setup: tuple[str, dict[str, Path]], op: str, where: str, expected: bool
) -> None:
    """The confinement plan's guarantees, as the Seatbelt profile states them."""
    profile, paths = setup
    first, _, rest = where.partition("/")
    path = where if where.startswith("/") else str(paths[first] / rest if rest else paths[first])
    assert allowed(profile, op, os.path.realpath(path)) is expected, profile


def test_paths_are_quoted(tmp_path: Path) -> None:
    """A quote or backslash in a path cannot end the string and add a rule."""
    layout = confine.Layout(cwd="/w", fresh=(), rw=('/w/a"b) (allow default', "/w/c\\d"),
                            hidden_dirs=(), hidden_files=(), shown=())  # fmt: skip
    text = seatbelt.profile(layout, "/box", "/box/tmp")
    assert '(subpath "/w/a\\"b) (allow default")' in text
    assert '(subpath "/w/c\\\\d")' in text
    assert text.count("(allow default)") == 1
