"""kro against a real kube-apiserver: corpus, Forbidden, pinning, cluster text, the write detector.

Everything runs for real: `kro-run` with its shims, the real kubectl, the envtest apiserver of
``real_cluster``. The apiserver's own audit log is the judge of what reached the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from envtest_cluster import (
    ADMIN_USER,
    EVENT_INJECTION_TEXT,
    INJECTION_TEXT,
    SEEDED_NAMESPACE,
    VIEWER_USER,
    RealCluster,
    audit_events,
    kubectl,
)
from kro_testing import calls_of, require_shared, shared_path

import kro.shims
from kro.sandbox import session_dir
from kro.sandbox.pinning import PinOptions, build_session
from kro.shims import executor
from kro.shims.decide import decide_argv
from kro.shims.model import Pins
from kro.shims.pipeline import run_call
from kro.shims.sinks import DataSink

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
CORPUS = shared_path("corpus", "policy.jsonl")
SCHEMA_PATH = Path(kro.shims.__file__).parent / "data" / "envelope.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))

# What counts as a write in the apiserver's audit log. Non-resource requests (no objectRef) carry
# the lower-cased HTTP method as their verb, so a POST/PUT there is a write too.
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
NON_RESOURCE_WRITE_VERBS = frozenset({"post", "put", "patch", "delete"})
# `kubectl auth can-i` / `auth whoami` POST these; they ask about the caller and store nothing.
SELF_REVIEWS = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"})

STREAM_FLAGS = frozenset({"-w", "--watch", "-f", "--follow"})
CALL_TIMEOUT = 30
PLAIN_STREAM_TIMEOUT = 5  # plain mode lets kubectl stream: `get pods -w` runs until `timeout` ends it
STREAM_SECONDS = "3"  # envelope mode bounds streams itself


# --------------------------------------------------------------------- the write detector


def write_violations(audit_events: Iterable[Mapping[str, Any]], user: str) -> list[dict[str, Any]]:
    """Every write request `user` got to the apiserver (whatever its answer), self-subject reviews aside.

    A Forbidden write still counts: it reached the server, so kro's policy let it through.
    """
    found: list[dict[str, Any]] = []
    for event in audit_events:
        if event.get("stage") != "ResponseComplete":
            continue
        if (event.get("user") or {}).get("username") != user:
            continue
        verb = event.get("verb")
        ref = event.get("objectRef")
        if ref is None:
            if verb in NON_RESOURCE_WRITE_VERBS:
                found.append(dict(event))
            continue
        if verb not in WRITE_VERBS:
            continue
        if verb == "create" and ref.get("resource") in SELF_REVIEWS:
            continue
        found.append(dict(event))
    return found


def settled_audit_events(cluster: RealCluster) -> list[dict[str, Any]]:
    """The apiserver's audit events once everything requested so far has been logged.

    A client can exit before the server writes its ResponseComplete event, so make one more
    request (a GET of a ConfigMap that does not exist) and wait until its own event is there.
    """
    marker = f"kro-e2e-barrier-{uuid.uuid4().hex}"
    config = yaml.safe_load(cluster.kubeconfig.read_text(encoding="utf-8"))
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    request = urllib.request.Request(
        f"{cluster.url}/api/v1/namespaces/{SEEDED_NAMESPACE}/configmaps/{marker}",
        headers={"Authorization": f"Bearer {cluster.viewer_token}"},
    )
    tls = ssl.create_default_context(cadata=ca.decode("ascii"))
    try:
        with urllib.request.urlopen(request, context=tls, timeout=10) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 404, f"barrier GET answered {status}"
    deadline = time.monotonic() + 10
    while True:
        events = audit_events(cluster)
        if any(marker in e.get("requestURI", "") and e.get("stage") == "ResponseComplete" for e in events):
            return events
        assert time.monotonic() < deadline, "the apiserver never logged the barrier request"
        time.sleep(0.05)


# ------------------------------------------------------------------------- running kro-run


@dataclass(frozen=True)
class Call:
    """One kubectl/kubetail call an agent script makes inside the session."""

    tool: str
    argv: tuple[str, ...]

    @property
    def streams(self) -> bool:
        return bool(STREAM_FLAGS & set(self.argv))


@dataclass(frozen=True)
class Outcome:
    """What one call left behind: exit code, stdout, stderr."""

    call: Call
    code: int
    out: str
    err: str

    def envelope(self) -> dict[str, Any]:
        """The call's stdout as exactly one envelope (the whole of stdout, schema-checked)."""
        assert self.out.endswith("\n"), self.out[:500]
        assert self.out.count("\n") == 1, self.out[:500]
        obj = json.loads(self.out)
        assert isinstance(obj, dict), self.out[:500]
        VALIDATOR.validate(obj)
        return obj


@dataclass(frozen=True)
class KroRun:
    """kro-run with test-local XDG dirs, its own audit log, against the real cluster."""

    cluster: RealCluster
    tmp: Path

    @property
    def audit_log(self) -> Path:
        return self.tmp / "kro-audit.jsonl"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("KUBECTL_")}
        run = self.tmp / "run"
        run.mkdir(mode=0o700, parents=True, exist_ok=True)
        run.chmod(0o700)
        env.update(
            XDG_CACHE_HOME=str(self.tmp / "cache"),
            XDG_STATE_HOME=str(self.tmp / "state"),
            XDG_RUNTIME_DIR=str(run),
            KUBERC="off",
        )
        return env

    def argv(self, output: str, context: str | None, cmd: Sequence[str]) -> list[str]:
        return [
            str(BIN / "kro-run"),
            "--kubeconfig", str(self.cluster.kubeconfig),
            *(["--context", context] if context else []),  # else the current-context: e2e-viewer
            "--audit-log", str(self.audit_log),
            "--output", output,
            "--stream-seconds", STREAM_SECONDS,
            "--", *cmd,
        ]  # fmt: skip

    def script(self, calls: Sequence[Call], output: str) -> tuple[Path, Path]:
        """A sh script making `calls` one after another, each one's output in its own files."""
        out = self.tmp / "out"
        out.mkdir(parents=True, exist_ok=True)
        lines = []
        for n, call in enumerate(calls):
            seconds = PLAIN_STREAM_TIMEOUT if output == "plain" and call.streams else CALL_TIMEOUT
            words = " ".join(shlex.quote(a) for a in call.argv)
            lines.append(
                f"timeout {seconds} {call.tool} {words} >{out}/{n}.out 2>{out}/{n}.err </dev/null;"
                f" echo $? >{out}/{n}.rc"
            )
        script = self.tmp / "agent.sh"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return script, out

    def start(self, calls: Sequence[Call], output: str, context: str | None = None) -> subprocess.Popen[str]:
        script, _ = self.script(calls, output)
        return subprocess.Popen(
            self.argv(output, context, ["sh", str(script)]),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def collect(self, proc: subprocess.Popen[str], calls: Sequence[Call]) -> list[Outcome]:
        stdout, stderr = proc.communicate(timeout=len(calls) * CALL_TIMEOUT)
        assert proc.returncode == 0, (stdout, stderr)
        out = self.tmp / "out"
        return [
            Outcome(
                call,
                int((out / f"{n}.rc").read_text()),
                (out / f"{n}.out").read_text(encoding="utf-8", errors="replace"),
                (out / f"{n}.err").read_text(encoding="utf-8", errors="replace"),
            )
            for n, call in enumerate(calls)
        ]

    def calls(self, calls: Sequence[Call], output: str, context: str | None = None) -> list[Outcome]:
        """Run `calls` as one agent script in one session; one Outcome per call."""
        return self.collect(self.start(calls, output, context), calls)

    def audit(self, api: bool = False) -> list[dict[str, Any]]:
        """The shims' calls, each call record with its outcome folded in (api=True: the API proxy's
        records, one per request it answered)."""
        assert self.audit_log.exists(), "no audit log was written"
        return calls_of(self.audit_log, api)


def kubectl_calls(*argvs: Sequence[str]) -> list[Call]:
    return [Call("kubectl", tuple(argv)) for argv in argvs]


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())


def files_containing(roots: Iterable[Path], needles: Iterable[str]) -> list[str]:
    """`path: needle` for every file under `roots` holding one of `needles`."""
    wanted = [n.encode() for n in needles]
    return [
        f"{path}: {needle.decode()}"
        for root in roots
        for path in files_under(root)
        for needle in wanted
        if needle in path.read_bytes()
    ]


def secret_forms(cluster: RealCluster) -> list[str]:
    """The seeded Secret value as it could leak: in clear and as the Secret's base64 `data`."""
    return [cluster.secret_value, base64.b64encode(cluster.secret_value.encode()).decode()]


# ----------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One corpus line, renamed for this cluster's contexts."""

    call: Call
    expect: str
    rule: str | None


@dataclass(frozen=True)
class CorpusRun:
    """The corpus run once in one output mode, in one session."""

    output: str
    kro: KroRun
    cases: list[Case]
    outcomes: list[Outcome]


def load_corpus(rename: Mapping[str, str]) -> list[Case]:
    """The policy corpus, with its contexts `prod`/`staging` (also in `--context=prod`) renamed."""
    require_shared("corpus", "policy.jsonl")

    def renamed(arg: str) -> str:
        head, eq, value = arg.rpartition("=")
        return f"{head}{eq}{rename.get(value, value)}" if eq else rename.get(arg, arg)

    cases = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            call = Call(raw["tool"], tuple(renamed(a) for a in raw["argv"]))
            cases.append(Case(call, raw["expect"], raw.get("rule")))
    return cases


@pytest.fixture(scope="module")
def corpus_runs(real_cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CorpusRun]:
    """Every corpus line through kro-run as the viewer, plain and envelope side by side."""
    cases = load_corpus({"prod": real_cluster.viewer_context, "staging": real_cluster.admin_context})
    calls = [case.call for case in cases]
    kros = {
        mode: KroRun(real_cluster, tmp_path_factory.mktemp(f"corpus-{mode}"))
        for mode in ("plain", "envelope")
    }
    procs = {mode: kro.start(calls, mode) for mode, kro in kros.items()}
    return {
        mode: CorpusRun(mode, kros[mode], cases, kros[mode].collect(proc, calls))
        for mode, proc in procs.items()
    }


def test_corpus_plain(corpus_runs: dict[str, CorpusRun]) -> None:
    """Plain mode: blocked lines exit 77 with the reason; allowed lines ran the real kubectl."""
    run = corpus_runs["plain"]
    wrong = []
    for case, got in zip(run.cases, run.outcomes, strict=True):
        if case.expect == "block":
            if got.code != 77 or not got.err.startswith("✘ BLOCKED: ") or got.out:
                wrong.append((case, got.code, got.err[:300]))
        elif got.code == 77 or "BLOCKED" in got.err:
            wrong.append((case, got.code, got.err[:300]))
    assert wrong == []


def test_corpus_envelope(corpus_runs: dict[str, CorpusRun]) -> None:
    """Envelope mode: one schema-valid envelope per call; blocks are policy errors with the rule."""
    run = corpus_runs["envelope"]
    wrong = []
    for case, got in zip(run.cases, run.outcomes, strict=True):
        assert got.code == 0, (case, got.err)
        env = got.envelope()
        assert env["kube_context"] == run.kro.cluster.viewer_context
        if case.expect == "block":
            ok = env["status"] == "error" and env["kind"] == "policy" and env["rule"] == case.rule
        else:
            ok = env["status"] == "ok" or env["kind"] in ("user", "infra")
        if not ok:
            wrong.append((case, env))
    assert wrong == []


@pytest.mark.parametrize("mode", ["plain", "envelope"])
def test_corpus_kro_audit(corpus_runs: dict[str, CorpusRun], mode: str) -> None:
    """kro's audit log has one record per call, with the corpus's decision and rule."""
    run = corpus_runs[mode]
    records = run.kro.audit()
    assert len(records) == len(run.cases)
    for case, record, outcome in zip(run.cases, records, run.outcomes, strict=True):
        assert record["tool"] == case.call.tool
        assert record["argv"] == list(case.call.argv)
        assert record["context"] == run.kro.cluster.viewer_context
        assert record["decision"] == ("blocked" if case.expect == "block" else "allowed"), case
        if case.expect == "block":
            assert record["rule"] == case.rule
            said = outcome.err if mode == "plain" else outcome.envelope()["message"] + "\n"
            assert said.removeprefix("✘ BLOCKED: ") == record["reason"] + "\n", (case, said)


def test_corpus_reached_the_server_only_to_read(
    corpus_runs: dict[str, CorpusRun], real_cluster: RealCluster
) -> None:
    """The apiserver's audit log: the viewer read a lot, and wrote nothing."""
    events = settled_audit_events(real_cluster)
    viewer = [
        e for e in events if e.get("stage") == "ResponseComplete" and e["user"]["username"] == VIEWER_USER
    ]
    verbs = {e["verb"] for e in viewer}
    assert {"get", "list", "watch"} <= verbs, verbs
    reviews = {e["objectRef"]["resource"] for e in viewer if e["verb"] == "create"}
    # `auth whoami` reaches the server; the corpus's `auth can-i delete pods` is answered by kro's proxy
    # (api.access-review: a verb the session refuses), so no SelfSubjectAccessReview is sent for it.
    assert reviews == {"selfsubjectreviews"}, "the exemption is exercised"
    for run in corpus_runs.values():
        answered = [r for r in run.kro.audit(api=True) if "selfsubjectaccessreviews" in r["path"]]
        assert answered, "kro answered the corpus's can-i"
        assert {(r["rule"], r["status"]) for r in answered} == {("api.access-review", 201)}
    assert write_violations(events, VIEWER_USER) == []


def test_corpus_outputs_hold_no_secret(corpus_runs: dict[str, CorpusRun], real_cluster: RealCluster) -> None:
    """No stdout, stderr, envelope, cache file, audit record or session file holds the seeded
    Secret value; no output holds a bearer token; the admin token is nowhere in the session."""
    roots = [run.kro.tmp for run in corpus_runs.values()]
    assert files_containing(roots, secret_forms(real_cluster)) == []
    outputs = [run.kro.tmp / sub for run in corpus_runs.values() for sub in ("out", "cache", "state")]
    assert files_containing(outputs, [real_cluster.viewer_token, real_cluster.admin_token]) == []
    assert files_containing(roots, [real_cluster.admin_token]) == []


def test_bulk_output_is_cached_without_secrets(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Output past the content bound goes to the per-context cache; that file holds no secret either."""
    kro = KroRun(real_cluster, tmp_path)
    calls = kubectl_calls(
        ["explain", "pods", "--recursive"],
        ["get", "--raw", "/openapi/v3/api/v1"],
        ["get", "all", "-A", "-o", "json"],
    )
    context_dir = tmp_path / "cache" / "kro" / hashlib.sha256(b"e2e-viewer").hexdigest()[:12]
    for got in kro.calls(calls, "envelope"):
        env = got.envelope()
        assert (env["status"], env["render"]) == ("ok", "agent"), env
        assert str(context_dir) in env["agent_context"], env["agent_context"]
    assert "jq -r" in env["agent_context"]
    cached = list(files_under(context_dir))
    assert sorted(path.suffix for path in cached) == [".json", ".txt", ".txt"], cached
    assert context_dir.stat().st_mode & 0o777 == 0o700
    assert files_containing([tmp_path], secret_forms(real_cluster)) == []


# --------------------------------------------------------------------------- Forbidden


FORBIDDEN = kubectl_calls(
    ["get", "secrets", "-n", SEEDED_NAMESPACE],
    ["get", "secret", "api-creds", "-n", SEEDED_NAMESPACE, "-o", "name"],
    ["get", "secrets", "-A"],
    ["get", "nodes"],
    ["get", "clusterroles"],
)


@pytest.mark.parametrize("output", ["plain", "envelope"])
def test_forbidden_is_a_user_error(real_cluster: RealCluster, tmp_path: Path, output: str) -> None:
    """RBAC says no to the viewer: kubectl's own failure (plain), a typed `user` error (envelope)."""
    outcomes = KroRun(real_cluster, tmp_path).calls(FORBIDDEN, output)
    for got in outcomes:
        if output == "plain":
            assert got.code == 1, got
            assert "forbidden" in got.err.lower(), got
            assert "BLOCKED" not in got.err
        else:
            env = got.envelope()
            assert (env["status"], env["kind"]) == ("error", "user"), (got.call, env)
            assert "forbidden" in env["message"].lower(), env
    assert files_containing([tmp_path], secret_forms(real_cluster)) == []


# ------------------------------------------------------------------------------- pinning


PINNING = [
    *kubectl_calls(
        ["--context", "e2e-admin", "get", "pods", "-n", SEEDED_NAMESPACE],
        ["--context=e2e-admin", "auth", "whoami"],
        ["config", "use-context", "e2e-admin"],
        ["config", "get-contexts", "-o", "name"],
        ["config", "current-context"],
        ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
    ),
    Call("kubetail", ("logs", "deployments/api", "--kube-context", "e2e-admin")),
]


def test_context_pinning_plain(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Pinned to the viewer: the admin context is blocked and invisible; the server sees the viewer."""
    start = len(settled_audit_events(real_cluster))
    got = KroRun(real_cluster, tmp_path).calls(PINNING, "plain", context=real_cluster.viewer_context)
    for blocked in (got[0], got[1], got[6]):
        assert blocked.code == 77, blocked
        assert blocked.err.startswith("✘ BLOCKED: this session is pinned to context 'e2e-viewer'"), blocked
    assert got[2].code == 77, got[2]
    assert (got[3].code, got[3].out) == (0, "e2e-viewer\n"), got[3]
    assert (got[4].code, got[4].out) == (0, "e2e-viewer\n"), got[4]
    assert (got[5].code, got[5].out) == (0, VIEWER_USER), got[5]
    records = KroRun(real_cluster, tmp_path).audit()
    assert [r["rule"] for r in records if r["decision"] == "blocked"] == [
        "global.context-pinned", "global.context-pinned", "verb.mutating", "global.context-pinned",
    ]  # fmt: skip
    during = settled_audit_events(real_cluster)[start:]
    assert [e for e in during if e.get("user", {}).get("username") == ADMIN_USER] == []
    assert files_containing([tmp_path], [real_cluster.admin_token]) == []


def test_context_pinning_envelope(real_cluster: RealCluster, tmp_path: Path) -> None:
    """The same in envelope mode: policy errors name global.context-pinned; answers are the viewer's."""
    got = [o.envelope() for o in KroRun(real_cluster, tmp_path).calls(PINNING, "envelope")]
    for env in (got[0], got[1], got[6]):
        assert (env["status"], env["kind"], env["rule"]) == ("error", "policy", "global.context-pinned")
    assert (got[2]["kind"], got[2]["rule"]) == ("policy", "verb.mutating")
    assert (got[3]["status"], got[3]["content"].split()) == ("ok", ["e2e-viewer"])
    assert (got[4]["status"], got[4]["content"].strip()) == ("ok", "e2e-viewer")
    assert (got[5]["status"], got[5]["content"].strip()) == ("ok", VIEWER_USER)
    assert {env["kube_context"] for env in got} == {real_cluster.viewer_context}


# ------------------------------------------------------------ instruction-shaped cluster text


NS = ("-n", SEEDED_NAMESPACE)
CLUSTER_TEXT = [
    (Call("kubectl", ("get", "configmap", "api-config", *NS, "-o", "yaml")), INJECTION_TEXT),
    (Call("kubectl", ("describe", "configmap", "api-config", *NS)), INJECTION_TEXT),
    (Call("kubectl", ("describe", "deployment", "api", *NS)), INJECTION_TEXT),
    (Call("kubectl", ("get", "deployment", "api", *NS, "-o", "json")), INJECTION_TEXT),
    (Call("kubectl", ("get", "events", *NS)), EVENT_INJECTION_TEXT),
    (Call("kubectl", ("get", "events", *NS, "-o", "yaml")), EVENT_INJECTION_TEXT),
    (Call("kubectl", ("events", *NS)), EVENT_INJECTION_TEXT),
    (
        Call("kubectl", ("get", "events", *NS, "--field-selector=involvedObject.name=api-1", "-o=wide")),
        EVENT_INJECTION_TEXT,
    ),
]


def test_cluster_text_stays_inside_content(real_cluster: RealCluster, tmp_path: Path) -> None:
    """Instruction-shaped annotations and events arrive only inside `content` of one JSON object."""
    outcomes = KroRun(real_cluster, tmp_path).calls([c for c, _ in CLUSTER_TEXT], "envelope")
    for (call, text), got in zip(CLUSTER_TEXT, outcomes, strict=True):
        env = got.envelope()  # the whole of stdout is that one object
        assert env["status"] == "ok", (call, env)
        assert text in env["content"], (call, env["content"][:2000])
        others = {k: v for k, v in env.items() if k != "content"}
        assert "Ignore previous instructions" not in json.dumps(others), (call, others)
        assert "Ignore previous" not in got.err, (call, got.err)
        assert not any("Ignore" in key for key in env), env


# --------------------------------------------------------------- the tier's own detector


def test_a_write_that_slipped_past_the_policy_fails_the_tier(
    real_cluster: RealCluster, tmp_path: Path
) -> None:
    """The pipeline blocks a delete; an unsafe executor (the pipeline minus its decision) runs it as the
    admin, and the check the corpus test relies on reports that write."""
    name = f"kro-e2e-throwaway-{uuid.uuid4().hex[:8]}"
    created = kubectl(
        real_cluster, "create", "configmap", name, *NS, "--from-literal=k=v",
        context=real_cluster.admin_context, cache_dir=tmp_path / "admin-cache",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    start = len(settled_audit_events(real_cluster))

    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("KUBECTL_")}
    workdir = session_dir.new_session_dir(tmp_path)
    session = build_session(
        PinOptions(
            context=real_cluster.admin_context,
            kubeconfig=str(real_cluster.kubeconfig),
            output="envelope",
            audit_log=tmp_path / "kro-audit.jsonl",
        ),
        env,
        workdir,
    )
    argv = ["delete", "configmap", name, *NS]
    outcome = run_call(session, "kubectl", argv, DataSink())
    assert outcome.failure is not None
    assert (outcome.failure.kind, outcome.failure.rule) == ("policy", "verb.mutating"), outcome
    assert write_violations(settled_audit_events(real_cluster)[start:], ADMIN_USER) == []

    inv, decision = decide_argv("kubectl", argv, Pins(session.context, session.namespaces))
    assert not decision.allowed
    stdout = bytearray()

    def keep(chunk: bytes) -> bool:
        stdout.extend(chunk)
        return True

    ran = executor.run_captured(
        session.kubectl,
        executor.pinned_argv(inv, session),
        executor.session_env(env, session),
        keep,
        seconds=CALL_TIMEOUT,
        stream=False,
    )
    assert ran.exit_code == 0, ran.stderr
    assert f'configmap "{name}" deleted' in stdout.decode()

    during = settled_audit_events(real_cluster)[start:]
    caught = write_violations(during, ADMIN_USER)
    assert [(e["verb"], e["objectRef"]["resource"], e["objectRef"]["name"]) for e in caught] == [
        ("delete", "configmaps", name)
    ]
    assert write_violations(during, VIEWER_USER) == []
