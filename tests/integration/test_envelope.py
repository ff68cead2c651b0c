"""Envelope mode on the demo cluster: one schema-valid object per call, redaction, bulk, streams, errors."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kro_testing import BIN, SCHEMA, KroSession, envelope, envelopes

from kro.democluster import fixture
from kro.democluster.server import DemoCluster
from kro.democluster.testing import DemoHandle

SECRETS = (
    fixture.FAKE_SECRET_PASSWORD,
    fixture.FAKE_BEARER_TOKEN,
    fixture.FAKE_ENV_PASSWORD,
    fixture.FAKE_SA_TOKEN,
)
CRASH = fixture.CRASHLOOP_POD

READS = [
    "get pods -A -o yaml",
    "get pods -n demo -o json",
    "describe pods -n demo",
    f"logs -n demo {CRASH}",
    f"logs -n demo {CRASH} --previous",
    "logs -n demo deploy/web",
    "get events -A",
    "events -n demo",
    "get cm -A -o yaml",
    "get all -A -o yaml",
    "cluster-info dump",
    "get secrets -n demo",
    "get secrets -n demo -o wide",
    "get sa -n demo -o yaml",
    "describe sa -n demo",
    "describe deploy web -n demo",
    "get --raw /api/v1/namespaces/demo/pods",
    "config view",
    "top pods -n demo",
    "get pods -n demo -o custom-columns=NAME:.metadata.name,ENV:.spec.containers[*].env",
]


def _script(calls: list[str]) -> str:
    return "\n".join(f"kubectl {call}" for call in calls)


def _cache_files(session: KroSession) -> list[Path]:
    return [p for p in (session.tmp / "cache").rglob("*") if p.is_file() and p.suffix in (".txt", ".json")]


def test_no_secret_value_in_any_read(kro_session: KroSession) -> None:
    """No allowed command's envelope, nor any cached bulk file, holds a fake secret value."""
    proc = kro_session.sh(
        _script(READS) + "\nkubetail logs demo:deployments/web --tail=20", output="envelope"
    )
    found = envelopes(proc.stdout)
    assert len(found) == len(READS) + 1
    assert [e["status"] for e in found] == ["ok"] * len(found), [e for e in found if e["status"] != "ok"]
    everything = (
        proc.stdout + proc.stderr + "".join(p.read_text(errors="replace") for p in _cache_files(kro_session))
    )
    for value in SECRETS:
        assert value not in everything
    redacted = [e for e in found if "[REDACTED]" in e["content"]]
    assert redacted, "the demo's env password and bearer token must be caught and replaced"
    assert all("replaced with [REDACTED]" in e.get("agent_context", "") for e in redacted)


@pytest.mark.parametrize(
    ("call", "must_hide"),
    [
        pytest.param(f"logs -n demo {CRASH}", fixture.FAKE_BEARER_TOKEN, id="redact.bearer-in-log"),
        pytest.param(f"get pod -n demo {CRASH} -o yaml", fixture.FAKE_ENV_PASSWORD, id="redact.env-yaml"),
        pytest.param(f"get pod -n demo {CRASH} -o json", fixture.FAKE_ENV_PASSWORD, id="redact.env-json"),
        pytest.param(f"describe pod -n demo {CRASH}", fixture.FAKE_ENV_PASSWORD, id="redact.env-describe"),
    ],
)
def test_redaction_is_counted(kro_session: KroSession, call: str, must_hide: str) -> None:
    """Each demo secret shape is replaced and the count is stated in agent_context."""
    env = envelope(kro_session.sh(f"kubectl {call}", output="envelope").stdout)
    assert env["status"] == "ok"
    assert must_hide not in env["content"]
    assert "[REDACTED]" in env["content"]
    assert "secret-shaped value(s) were replaced" in env["agent_context"]


def test_injection_text_stays_inside_content(kro_session: KroSession) -> None:
    """Instruction-shaped cluster data appears only as data, inside `content`."""
    proc = kro_session.sh(
        f"kubectl get events -n demo; kubectl logs -n demo {CRASH}; kubectl get pod -n demo {CRASH} -o yaml",
        output="envelope",
    )
    found = envelopes(proc.stdout)
    assert len(found) == len(proc.stdout.splitlines()) == 3
    texts = [fixture.INJECTION_TEXT, fixture.LOG_INJECTION_TEXT]
    assert any(t in e["content"] for e in found for t in texts)
    for env in found:
        for key, value in env.items():
            if key != "content":
                assert not any(t in str(value) for t in texts)


def test_policy_errors_are_typed(kro_session: KroSession) -> None:
    """Blocked calls give kind=policy with the rule; exit 0 since an envelope was printed."""
    proc = kro_session.sh(
        "kubectl delete pod x; echo rc=$?; kubectl get secret db-creds -o yaml", output="envelope"
    )
    lines = proc.stdout.splitlines()
    assert lines[1] == "rc=0"
    first, second = envelope(lines[0]), envelope(lines[2])
    assert (first["kind"], first["rule"]) == ("policy", "verb.mutating")
    assert (second["kind"], second["rule"]) == ("policy", "secret.value-exposure")


@pytest.mark.parametrize(
    ("call", "kind", "text"),
    [
        pytest.param("get pod nosuch -n demo", "user", "NotFound", id="error.user-notfound"),
        pytest.param("get nosuchkind", "user", "doesn't have a resource type", id="error.user-unknown-kind"),
        pytest.param(
            "logs -n demo web-7c9f8d6b5d-4xkqp -c nope", "user", "not valid", id="error.user-bad-container"
        ),
    ],
)
def test_user_errors(kro_session: KroSession, call: str, kind: str, text: str) -> None:
    """kubectl's own refusals are typed `user` errors carrying its message."""
    env = envelope(kro_session.sh(f"kubectl {call}", output="envelope").stdout)
    assert env["status"] == "error"
    assert env["kind"] == kind
    assert text in env["message"]
    assert "rule" not in env


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\n"
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung API server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_infra_errors(kro_session: KroSession, tmp_path: Path, black_hole: str) -> None:
    """A cluster that is down and one that hangs are both `infra`; the hang is ended by the timeout."""
    down = _kubeconfig(tmp_path / "down", f"http://127.0.0.1:{_free_port()}")
    hung = _kubeconfig(tmp_path / "hung", black_hole)
    for config in (down, hung):
        argv = [str(BIN / "kro-run"), "--kubeconfig", str(config), "--audit-log", str(kro_session.audit_log),
                "--request-timeout", "3", "--output", "envelope", "--", "kubectl", "get", "pods"]  # fmt: skip
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=kro_session.env(), timeout=60, check=False
        )
        env = envelope(proc.stdout)
        assert env["kind"] == "infra", env
    assert "kro stopped kubectl: no data for 3 s (--request-timeout)" in env["message"]
    assert [r["decision"] for r in kro_session.audit()] == ["allowed", "allowed"]


def test_bulk_output_goes_to_the_cache(kro_session: KroSession) -> None:
    """Large output: content is a bounded preview, the whole output is cached, jq can read it."""
    env = envelope(kro_session.sh("kubectl get pods -A -o json", output="envelope").stdout)
    assert env["render"] == "agent"
    assert len(env["content"].encode()) <= 16 * 1024
    assert len(env["content"].splitlines()) <= 200
    context = env["agent_context"]
    path = Path(context.split(" is in ", 1)[1].split(".", 1)[0] + ".json")
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.parent.parent == kro_session.tmp / "cache" / "kro"
    assert "jq -r '.items[].metadata.name'" in context
    doc = json.loads(path.read_text())
    assert len(doc["items"]) >= 13
    if shutil.which("jq"):
        names = subprocess.run(
            ["jq", "-r", ".items[].metadata.name", str(path)], capture_output=True, text=True
        )
        assert CRASH in names.stdout.split()
    cleared = subprocess.run(
        [str(BIN / "kro"), "cache", "clear"], env=kro_session.env(), capture_output=True, text=True
    )
    assert cleared.returncode == 0
    assert not path.exists()


def test_small_tables_are_verbatim(kro_session: KroSession) -> None:
    """kubectl's own short, human output comes back whole with render=verbatim and no agent_context."""
    env = envelope(kro_session.sh("kubectl get deploy -n demo", output="envelope").stdout)
    assert env["render"] == "verbatim"
    assert env["content"].startswith("NAME")
    assert "agent_context" not in env
    assert env["kube_context"] == "kro-demo"


def test_an_answer_with_a_nonzero_exit_is_kept(kro_session: KroSession) -> None:
    """`auth can-i` answers "no" with exit 1: the envelope keeps the answer and states the exit code."""
    env = envelope(kro_session.sh("kubectl auth can-i delete pods -n demo", output="envelope").stdout)
    assert env["status"] == "ok"
    assert env["content"].startswith("no - kro: this session is read-only")  # api.access-review
    assert "exited with code 1" in env["agent_context"]


def test_notice_reaches_every_envelope(kro_session: KroSession) -> None:
    """kro-run --notice puts the operator's banner into every envelope, ok or error."""
    proc = kro_session.run(
        "sh",
        "-c",
        "kubectl get ns; kubectl delete ns demo",
        output="envelope",
        options=("--notice", "ask first"),
    )
    assert [e["notice"] for e in envelopes(proc.stdout)] == ["ask first", "ask first"]


def test_schema_command_prints_the_shipped_schema(kro_session: KroSession) -> None:
    """`kro schema envelope` prints the same JSON Schema the tests validate against."""
    out = subprocess.run([str(BIN / "kro"), "schema", "envelope"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == SCHEMA


HOSTILE = (
    b'quote " backslash \\ and a fake key\n"render":"verbatim","status":"ok"\n'
    b"\x1b[2J\x1b[31mANSI\x1b[0m NUL:\x00 BEL:\x07 DEL:\x7f C1:\xc2\x9b\n"
    b"invalid utf-8: \xff\xfe\xc3\x28 end\n"
)


@pytest.fixture(scope="module")
def hostile_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoHandle]:
    """A demo cluster whose migrate job log holds hostile bytes and a 50 MB line."""
    base = tmp_path_factory.mktemp("hostile")
    body = HOSTILE + b"x" * (50 * 1024 * 1024) + b"\nlast line\n"
    with DemoCluster(raw_logs={"demo/db-migrate-x7k2p/migrate": body}, watch_seconds=30) as cluster:
        yield DemoHandle(cluster, cluster.write_kubeconfig(base / "kubeconfig"), cluster.url, base / "cache")


def test_hostile_output_stays_inside_content(hostile_demo: DemoHandle, tmp_path: Path) -> None:
    """Quotes, fake keys, ANSI, NUL, invalid UTF-8 and a 50 MB line: one valid object, nothing lost."""
    (tmp_path / "run").mkdir(mode=0o700)
    session = KroSession(hostile_demo, tmp_path)
    proc = session.sh("kubectl logs -n demo db-migrate-x7k2p", output="envelope", timeout=300)
    assert len(proc.stdout.splitlines()) == 1
    env = envelope(proc.stdout)
    assert set(env) <= set(SCHEMA["oneOf"][0]["properties"])
    assert env["status"] == "ok"
    assert env["content"].startswith('quote " backslash \\ and a fake key\n"render":"verbatim"')
    assert "\x1b[2J" in env["content"]
    assert "\x00" in env["content"]
    assert "\\xff\\xfe" in env["content"]
    cached = next(p for p in _cache_files(session) if p.suffix == ".txt")
    assert cached.read_bytes() == HOSTILE + b"x" * (50 * 1024 * 1024) + b"\nlast line\n"


def test_streams_are_bounded(hostile_demo: DemoHandle, tmp_path: Path) -> None:
    """A watch that would run on is stopped at --stream-seconds with a notice saying how to read more."""
    (tmp_path / "run").mkdir(mode=0o700)
    session = KroSession(hostile_demo, tmp_path)
    proc = session.run(
        "sh", "-c", shlex.join(["kubectl", "get", "pods", "-n", "demo", "-w", "--output-watch-events"]),
        output="envelope", options=("--stream-seconds", "2"),
    )  # fmt: skip
    env = envelope(proc.stdout)
    assert env["status"] == "ok"
    assert "stream was stopped after 2 s" in env["notice"]
    assert "web-" in env["content"]
