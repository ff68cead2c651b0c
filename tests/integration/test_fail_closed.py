"""Audit before the call, in every mode: an audit log that refuses writes (/dev/full) means nothing runs.

And the contract around it: a missing kubectl is the same outcome from the shim and from kro serve.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kro_testing import KroSession, envelope

MESSAGE = "cannot write the audit log /dev/full: No space left on device; the call was not run"


@pytest.mark.parametrize(
    ("output", "options", "argv"),
    [
        pytest.param("plain", (), "get pods -n demo", id="audit.full-plain"),
        pytest.param("plain", ("--redact",), "get pods -n demo", id="audit.full-plain-redact"),
        pytest.param("envelope", (), "get pods -n demo", id="audit.full-envelope"),
        pytest.param("plain", (), "delete pod web-0 -n demo", id="audit.full-blocked"),
        pytest.param("envelope", (), "delete pod web-0 -n demo", id="audit.full-blocked-envelope"),
        pytest.param("plain", ("--redact",), "logs -n demo db-0", id="audit.full-logs-redact"),
    ],
)
def test_full_audit_log_runs_nothing(
    kro_session: KroSession, output: str, options: tuple[str, ...], argv: str
) -> None:
    """No request reaches the server, no data is printed, and the agent is told the call was not run."""
    before = len(kro_session.demo.cluster.requests())
    kro_session.audit_log = Path("/dev/full")
    proc = kro_session.sh(f"kubectl {argv}; echo rc=$?", output=output, options=options)
    assert len(kro_session.demo.cluster.requests()) == before, "nothing reached the server"
    if output == "envelope":
        env = envelope(proc.stdout.replace("rc=0\n", ""))
        assert (env["status"], env["kind"]) == ("error", "infra")
        assert MESSAGE in env["message"]
        assert "rc=0" in proc.stdout
    else:
        assert proc.stdout == "rc=78\n", proc.stdout
        assert f"kro: {MESSAGE}" in proc.stderr
    assert "BLOCKED" not in proc.stderr, "the audit failure is what is reported"


def test_envelope_never_prints_data_then_says_not_run(kro_session: KroSession) -> None:
    """Bug: an envelope call ran, printed the pods, then said 'the call was not run'."""
    kro_session.audit_log = Path("/dev/full")
    proc = kro_session.sh("kubectl get pods -n demo", output="envelope")
    assert "web-7c9f8d6b5d" not in proc.stdout
    assert "was not run" in proc.stdout
    assert proc.stderr == ""


def test_missing_kubectl_is_an_infra_envelope(kro_session: KroSession, tmp_path: Path) -> None:
    """Bug: kubectl removed after launch gave an envelope session no envelope (stderr, exit 69).

    Now: an infra envelope; plain mode keeps stderr and 69; both audit the same outcome (kro serve's side
    is test_mcp.py::test_missing_kubectl_is_the_shims_infra_error).
    """
    real = shutil.which("kubectl")
    assert real
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(real)
    env = kro_session.env()
    env["PATH"] = f"{bindir}:{env['PATH']}"
    proc = kro_session.sh(f"rm {bindir}/kubectl; kubectl get pods -n demo", output="envelope", env=env)
    env_out = envelope(proc.stdout)
    assert (env_out["status"], env_out["kind"]) == ("error", "infra")
    assert f"kubectl is not installed at {bindir}/kubectl, where this session found it" in env_out["message"]
    (bindir / "kubectl").symlink_to(real)
    plain = kro_session.sh(f"rm {bindir}/kubectl; kubectl get pods; echo rc=$?", env=env)
    assert "rc=69" in plain.stdout
    assert "kro: kubectl is not installed at" in plain.stderr
    shim_calls = kro_session.audit()
    assert [c["exit_code"] for c in shim_calls] == [69, 69]
    said = f"kubectl is not installed at {bindir}/kubectl, where this session found it at start"
    assert all(said in c["error"] for c in shim_calls)
