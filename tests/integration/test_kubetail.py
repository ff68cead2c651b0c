"""The kubetail shim: same policy, pinning and audit; a recording fake kubetail; the kubectl fallback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from kro_testing import KroSession, envelope, envelopes

from kro.democluster.fixture import FAKE_BEARER_TOKEN

# kubetail cannot be installed on these machines: a fake records what it was called with.
FAKE = """#!/bin/sh
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "{record}"
echo "fake kubetail output"
"""


@pytest.fixture
def fake_kubetail(tmp_path: Path) -> tuple[Path, Path]:
    """A directory holding a `kubetail` that appends its argv (JSON) to a record file."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    record = tmp_path / "kubetail-calls.jsonl"
    script = bindir / "kubetail"
    script.write_text(FAKE.format(record=record))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bindir, record


CALLS = [
    pytest.param(["logs", "deployments/web", "--tail=20"], True, "allowed", id="kubetail.logs"),
    pytest.param(["logs", "demo:deployments/web/web", "-f"], True, "allowed", id="kubetail.logs-follow"),
    pytest.param(["cluster", "list"], True, "allowed", id="kubetail.cluster-list"),
    pytest.param(["--version"], True, "allowed", id="kubetail.version"),
    pytest.param(["serve"], False, "kubetail.listener", id="kubetail.listener"),
    pytest.param(["serve", "--port", "0"], False, "kubetail.listener", id="kubetail.listener-port"),
    pytest.param(["cluster", "install"], False, "verb.mutating", id="verb.mutating.cluster-install"),
    pytest.param(["cluster", "uninstall"], False, "verb.mutating", id="verb.mutating.cluster-uninstall"),
    pytest.param(["cluster", "repo", "add"], False, "read.local-write", id="read.local-write.repo"),
    pytest.param(["config", "init"], False, "read.local-write", id="read.local-write.config-init"),
    pytest.param(["mcp-server"], False, "verb.unknown", id="verb.unknown.mcp-server"),
    pytest.param(
        ["logs", "x", "--kube-context", "kro-demo-other"],
        False,
        "global.context-pinned",
        id="global.context-pinned.kube-context",
    ),
    pytest.param(
        ["logs", "x", "--context=kro-demo-other"],
        False,
        "global.context-pinned",
        id="global.context-pinned.context-alias",
    ),
    pytest.param(
        ["logs", "x", "--kubeconfig", "/tmp/k"], False, "global.identity", id="global.identity.kubeconfig"
    ),
    pytest.param(["logs", "x", "--in-cluster"], False, "global.identity", id="global.identity.in-cluster"),
    pytest.param(
        ["logs", "x", "--config", "/etc/passwd"], False, "read.local-file", id="read.local-file.config"
    ),
    pytest.param(
        ["-c", "/etc/passwd", "logs", "x"], False, "read.local-file", id="read.local-file.config-short"
    ),
]


def test_real_kubetail_gets_the_allowlisted_environment(kro_session: KroSession, tmp_path: Path) -> None:
    """The caller's GODEBUG, SSL_*, KUBE* and other variables never reach the real kubetail."""
    bindir, record = tmp_path / "envbin", tmp_path / "kubetail-env"
    bindir.mkdir()
    (bindir / "kubetail").write_text(f"#!/bin/sh\n/usr/bin/env > {record}\n")
    (bindir / "kubetail").chmod(0o755)
    env = kro_session.env(PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    hostile = (
        "GODEBUG=http2debug=1 SSL_CERT_FILE=/x KUBECONFIG=/etc/passwd LD_PRELOAD=/x.so EVIL=1 HOME=/tmp/h"
    )
    proc = kro_session.sh(f"{hostile} kubetail logs deployments/web", env=env)
    assert proc.returncode == 0, proc.stderr
    got = dict(line.split("=", 1) for line in record.read_text().splitlines() if "=" in line)
    assert not {"GODEBUG", "SSL_CERT_FILE", "LD_PRELOAD", "EVIL"} & set(got), got
    assert got["KUBECONFIG"].endswith("/kubeconfig")
    assert got["HOME"] == env["HOME"]


@pytest.mark.parametrize(("argv", "reaches", "rule"), CALLS)
def test_fake_kubetail_sees_only_allowed_pinned_calls(
    kro_session: KroSession, fake_kubetail: tuple[Path, Path], argv: list[str], reaches: bool, rule: str
) -> None:
    """Allowed calls reach the real kubetail pinned (--kubeconfig, --kube-context); blocked ones never do."""
    bindir, record = fake_kubetail
    env = kro_session.env()
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    proc = kro_session.run("kubetail", *argv, env=env)
    calls = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    [audit] = kro_session.audit()
    assert audit["tool"] == "kubetail"
    assert audit["rule"] == rule
    if not reaches:
        assert calls == []
        assert proc.returncode == 77
        assert proc.stderr.startswith("✘ BLOCKED: ")
        return
    assert proc.returncode == 0, proc.stderr
    assert "fake kubetail output" in proc.stdout
    [called] = calls
    assert any(a.startswith("--kubeconfig=") and a.endswith("/kubeconfig") for a in called)
    if argv[0] in ("logs", "cluster"):
        assert "--kube-context=kro-demo" in called
    assert [a for a in called if not a.startswith(("--kubeconfig=", "--kube-context="))] == argv


def test_fallback_answers_logs_through_kubectl(kro_session: KroSession) -> None:
    """Without kubetail, `kubetail logs deployments/web --tail 20` is answered via kubectl logs, redacted."""
    proc = kro_session.sh("kubetail logs deployments/web --tail 20", output="envelope")
    env = envelope(proc.stdout)
    assert env["status"] == "ok", env
    assert "kubetail is not installed" in env["notice"]
    assert "[pod/web-7c9f8d6b5d-zr2wn/web]" in env["content"]
    assert "Authorization: Bearer [REDACTED]" in env["content"]
    assert FAKE_BEARER_TOKEN not in proc.stdout
    [audit] = kro_session.audit()
    assert (audit["tool"], audit["decision"], audit["exit_code"]) == ("kubetail", "allowed", 0)


def test_fallback_grep_namespace_and_plain(kro_session: KroSession) -> None:
    """--grep filters lines, an ns: prefix picks the namespace, and plain mode prints kubectl's lines."""
    enveloped = kro_session.sh("kubetail logs demo:pods/db-0 --grep checkpoint", output="envelope")
    env = envelope(enveloped.stdout)
    assert [line for line in env["content"].splitlines() if line] == [
        line for line in env["content"].splitlines() if "checkpoint" in line and line
    ]
    assert "checkpoint starting" in env["content"]
    plain = kro_session.sh("kubetail logs kube-system:deployments/coredns --tail=2")
    assert "CoreDNS" in plain.stdout or "linux/amd64" in plain.stdout
    assert "kubetail is not installed" in plain.stderr


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        pytest.param("logs 'deployments/*'", "infra", id="fallback.glob-needs-kubetail"),
        pytest.param("logs deployments/web --head=5", "infra", id="fallback.head-needs-kubetail"),
        pytest.param("cluster list", "infra", id="fallback.cluster-list-needs-kubetail"),
        pytest.param("logs kube-system:pods/x -n", "policy", id="fallback.unknown-flag-blocked"),
    ],
)
def test_fallback_refuses_what_it_cannot_answer(kro_session: KroSession, argv: str, kind: str) -> None:
    """Anything beyond simple sources is an infra error saying kubetail is not installed and how to get it."""
    env = envelope(kro_session.sh(f"kubetail {argv}", output="envelope").stdout)
    assert env["kind"] == kind
    if kind == "infra":
        assert "install kubetail" in env["message"]


def test_fallback_keeps_namespace_allowlist(kro_session: KroSession) -> None:
    """The translated kubectl call is decided by the same policy: another namespace stays blocked."""
    proc = kro_session.run(
        "sh", "-c", "kubetail logs kube-system:pods/x; kubetail logs pods/db-0 --tail=1",
        output="envelope", options=("--namespace", "demo"),
    )  # fmt: skip
    first, second = envelopes(proc.stdout)
    assert (first["kind"], first["rule"]) == ("policy", "global.namespace")
    assert second["status"] == "ok"


def test_fallback_is_redacted_in_plain_redact(kro_session: KroSession) -> None:
    """Bug: with --output plain --redact the fallback printed the demo pod's bearer token in full."""
    from kro.democluster.fixture import CRASHLOOP_POD

    proc = kro_session.run("kubetail", "logs", f"demo:pods/{CRASHLOOP_POD}", options=("--redact",))
    assert proc.returncode == 0, proc.stderr
    assert "Authorization: Bearer [REDACTED]" in proc.stdout
    assert FAKE_BEARER_TOKEN not in proc.stdout + proc.stderr
    assert "kubetail is not installed" in proc.stderr
    [call] = kro_session.audit()
    assert (call["tool"], call["state"], call["exit_code"]) == ("kubetail", "done", 0)
