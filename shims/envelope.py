"""The response envelope (schema "1"): pure constructors and the error classifier, no I/O.

The one envelope builder: every envelope kro prints (the shims, the --confine client, approvals) is made by
ok() or error() here. No `re` at import: the --confine client's hot path builds its infra envelope here too.
"""

from __future__ import annotations

from kro.shims.hotpath_stdlib import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.outcome import Outcome

SCHEMA_VERSION = "1"
_INFRA = (
    r"(?i)refused|unable to connect|dial tcp|no such host|i/o timeout|timed? ?out|"
    r"deadline exceeded|tls|x509|certificate|unauthorized|provide credentials|must be logged in|"
    r"\beof\b|connection reset|server is currently unable|serviceunavailable|internal ?error|"
    r"getting credentials|exec plugin|no route to host|network is unreachable|handshake"
)


class Output(NamedTuple):
    """What kro captured from one tool run, after redaction and bounding."""

    content: str
    render: str
    notes: tuple[str, ...] = ()


def classify(stderr: str) -> str:
    """'infra' when kubectl could not reach, authenticate or finish; else 'user' (a wrong request)."""
    import re

    if re.search(r"\((NotFound|Forbidden|BadRequest|Invalid|Conflict|MethodNotAllowed)\)", stderr):
        return "user"
    return "infra" if re.search(_INFRA, stderr) else "user"


def _common(context: str, notice: str | None) -> dict[str, object]:
    out: dict[str, object] = {"kube_context": context}
    if notice:
        out["notice"] = notice
    return out


def ok(output: Output, context: str, notice: str | None) -> dict[str, object]:
    """A success envelope; agent_context only when kro has something to say about the content."""
    env: dict[str, object] = {
        "kro": SCHEMA_VERSION,
        "status": "ok",
        "render": output.render,
        "content": output.content,
    }
    if output.notes:
        env["agent_context"] = " ".join(output.notes)
    env.update(_common(context, notice))
    return env


def error(
    kind: str, message: str, context: str, notice: str | None, rule: str | None = None
) -> dict[str, object]:
    """An error envelope: kind policy (with rule), user or infra."""
    env: dict[str, object] = {"kro": SCHEMA_VERSION, "status": "error", "kind": kind, "message": message}
    if kind == "policy":
        env["rule"] = rule or "unknown"
    env.update(_common(context, notice))
    return env


def from_outcome(outcome: Outcome) -> dict[str, object]:
    """The envelope of a call's typed outcome: the failure as an error, else the answer and kro's notes."""
    from kro.shims.outcome import notes

    failure = outcome.failure
    if failure is not None:
        return error(failure.kind, failure.message, outcome.context, outcome.notice, failure.rule)
    result = outcome.result
    assert result is not None
    return ok(Output(result.content, result.render, tuple(notes(result))), outcome.context, outcome.notice)
