"""`kro hook claude-code`: Claude Code's PreToolUse hook, refusing Bash commands kro blocks or could not see.

Reads the hook payload (JSON) on stdin. For a Bash tool call it finds every kubectl/kubetail call in
the command (kro.hooks.shell_scan), decides each with kro's policy in this process (pinned to the
session's context and namespaces when KRO_SESSION is set), and denies the tool call when any is
blocked or could skip the session's shim. A refusal is written to the audit log (`"tool": "hook"`):
the session's inside a kro session, otherwise the default one. Anything else passes silently.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass

from kro.hooks.shell_scan import TOOLS, Call, Scan, ScanLimit, walk
from kro.shims.model import Pins

TYPE_CHECKING = False
if TYPE_CHECKING:
    from kro.shims.session import Session

HEADER = "kro (read-only Kubernetes session) refused this Bash command:"
FOOTER = (
    "Run kubectl as plain `kubectl …` in its own shell command: in a kro session that kubectl is "
    "kro's shim, which checks, pins and audits every call. If a change is needed, give the user "
    "the exact command to run instead of working around kro."
)
USAGE = """usage: kro hook claude-code < payload.json
       kro hook gemini < payload.json          (Gemini CLI's BeforeTool hook, same decisions)

Claude Code's PreToolUse hook. `kro-run claude` registers it by itself (with --settings); to use it
outside kro-run, add to ~/.claude/settings.json (see contrib/claude-code/settings.json):
  {"hooks": {"PreToolUse": [{"matcher": "Bash",
     "hooks": [{"type": "command", "command": "kro hook claude-code", "timeout": 30}]}]}}
It prints a deny decision (JSON) for a Bash command kro would block or could not see, nothing
otherwise, and exits 0. A payload it cannot read (not JSON, binary, no command) is refused the
blocking way: exit 2 with the reason on stderr.
"""


@dataclass(frozen=True)
class Verdict:
    """Why a Bash command is refused (no reasons: it may run) and the rule to record."""

    reasons: list[str]
    rule: str


def load_session(env: dict[str, str]) -> tuple[Session | None, str | None]:
    """The kro session the hook runs in (None outside one), and an error when it cannot be read."""
    directory = env.get("KRO_SESSION")
    if not directory:
        return None, None
    from kro.shims.errors import ConfigError
    from kro.shims.session import SESSION_FILE
    from kro.shims.session import load_session as load

    try:
        return load(os.path.join(directory, SESSION_FILE)), None
    except ConfigError as exc:
        return None, f"the kro session cannot be read, so its kubectl calls cannot be checked ({exc})"


def pins_of(session: Session | None) -> Pins:
    """The session's context and namespaces (nothing pinned outside a session)."""
    return Pins(session.context, tuple(session.namespaces)) if session else Pins(None, ())


def verdict(scan: Scan, pins: Pins) -> Verdict:
    """Decide each kubectl call the scan found; collect the reasons to refuse."""
    from kro.shims.decide import decide_argv

    found = list(scan.problems)
    rule = "hook.unverifiable" if found else "allowed"
    for call in scan.calls:
        if call.args:
            _, decision = decide_argv(call.tool, list(call.args), pins)
            if not decision.allowed:
                found.append(
                    f"`{call.shown}` is blocked by kro's read-only policy [{decision.rule}]: "
                    f"{decision.reason}"
                )
                rule = decision.rule
        if call.unchecked:
            found.append(call.unchecked)
            rule = rule if rule != "allowed" else "hook.unverifiable"
        if call.problem:
            found.append(call.problem)
            rule = rule if rule != "allowed" else "hook.shim-bypass"
    return Verdict(list(dict.fromkeys(found)), rule)


def reachable(env: dict[str, str]) -> bool:
    """Whether a command run with `env` may reach kubectl: inside a kro session, or one is on PATH."""
    if env.get("KRO_SESSION"):
        return True
    path = env.get("PATH", os.defpath)
    return any(shutil.which(tool, path=path) for tool in TOOLS)


def decide(command: str, cwd: str, env: dict[str, str]) -> Verdict:
    """The verdict on one Bash command."""
    try:
        scan = Scan(command, cwd)
        walk(command, scan)
    except ScanLimit as exc:
        return Verdict([str(exc)], "hook.limit")
    except (ValueError, StopIteration, IndexError) as exc:
        if scan.mentions:
            return Verdict(
                [
                    f"kro could not parse this command ({exc}) and it mentions kubectl, so it is refused "
                    "(fail closed); fix the quoting or run the kubectl call on its own"
                ],
                "hook.unparsable",
            )
        return Verdict([], "allowed")
    if scan.hidden and (scan.mentions or reachable(env)):
        scan.problems.extend(
            f"{what}: code kro cannot read is refused where kubectl can be reached; "
            "run the kubectl calls as plain commands" for what in scan.hidden
        )  # fmt: skip
    if not scan.calls:
        return verdict(scan, Pins(None, ()))
    session, error = load_session(env)
    if error:
        return Verdict([*scan.problems, error], "hook.session")
    return verdict(scan, pins_of(session))


def deny_text(reasons: list[str]) -> str:
    """The reason Claude Code shows the model."""
    shown = reasons[:6] + ([f"… and {len(reasons) - 6} more"] if len(reasons) > 6 else [])
    return "\n".join([HEADER, *(f"- {r}" for r in shown), FOOTER])


def record(command: str, result: Verdict, env: dict[str, str], started: float) -> str | None:
    """Append the refusal to the audit log; returns why it could not be written, if so."""
    from kro.shims.audit import AuditLog, default_path
    from kro.shims.audit import Call as AuditCall
    from kro.shims.errors import AuditError
    from kro.shims.model import Decision

    session, _ = load_session(env)
    if session and session.broker and not session.audit_log:
        return "inside --confine the session's audit log is out of the sandbox's reach"
    who = session.id if session else "claude-code-hook"
    call = AuditCall(who, "hook", [command], pins_of(session).context)
    path = (session.audit_log if session else "") or env.get("KRO_AUDIT_LOG") or default_path()
    try:
        log = AuditLog.open(path)
    except AuditError as exc:
        return str(exc)
    try:
        log.write(call, Decision(False, result.rule, "; ".join(result.reasons), None), None, started)
    except AuditError as exc:
        return str(exc)
    finally:
        log.close()
    return None


# The shell tool's name, per agent: Claude Code's PreToolUse and Gemini CLI's BeforeTool payloads.
SHELL_TOOLS = {"claude-code": "Bash", "gemini": "run_shell_command"}


MAX_PAYLOAD = 64 * 1024 * 1024  # past this the payload is refused unread (hook.bad-input)


class BadInput(Exception):
    """A hook payload that is not what the agent's hook protocol sends: the call is refused."""


def payload_command(raw: bytes, agent: str = "claude-code") -> tuple[str, str] | None:
    """The shell command and cwd of a shell-tool payload; None for another tool; BadInput otherwise."""
    if len(raw) > MAX_PAYLOAD:
        raise BadInput(f"the hook payload is over {MAX_PAYLOAD // 2**20} MiB")
    try:
        payload = json.loads(raw)
    except ValueError as exc:  # not JSON, or not UTF-8 (binary)
        raise BadInput(f"the hook payload is not JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(payload, dict):
        raise BadInput("the hook payload is not a JSON object")
    tool = payload.get("tool_name")
    if not isinstance(tool, str):
        raise BadInput("the hook payload names no tool (tool_name)")
    if tool != SHELL_TOOLS[agent]:
        return None
    tool_input = payload.get("tool_input")
    command = tool_input.get("command") if isinstance(tool_input, dict) else None
    if not isinstance(command, str):
        raise BadInput(f"the {tool} payload has no command string (tool_input.command)")
    cwd = payload.get("cwd")
    return command, cwd if isinstance(cwd, str) else os.getcwd()


def denial(agent: str, text: str) -> dict[str, object]:
    """The deny decision in the agent's own hook protocol."""
    if agent == "gemini":
        return {"decision": "deny", "reason": text}
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": text}}  # fmt: skip


def main(argv: list[str]) -> int:
    """Entry point of `kro hook claude-code|gemini`: read the payload on stdin; print a deny or nothing."""
    if argv[:1] in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    if len(argv) != 1 or argv[0] not in SHELL_TOOLS:
        sys.stderr.write(USAGE)
        return 2
    agent = argv[0]
    started = time.monotonic()
    raw = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
    env = dict(os.environ)
    try:
        found = payload_command(raw, agent)
    except BadInput as exc:  # fail closed, the blocking way: exit 2, the reason on stderr
        result = Verdict([f"{exc}, so kro cannot check the call it carries (fail closed)"], "hook.bad-input")
        text = deny_text(_audited(raw.decode("utf-8", "replace")[:2000], result, env, started))
        sys.stdout.write(json.dumps(denial(agent, text)) + "\n")
        sys.stderr.write(text + "\n")
        return 2
    if found is None:
        return 0
    command, cwd = found
    try:
        result = decide(command, cwd, env)
    except Exception as exc:  # a crashing hook lets the call through: fail closed instead
        result = Verdict([f"kro's hook failed ({type(exc).__name__}: {exc}), so the command is refused"],
                         "hook.failed")  # fmt: skip
    if not result.reasons:
        return 0
    sys.stdout.write(json.dumps(denial(agent, deny_text(_audited(command, result, env, started)))) + "\n")
    return 0


def _audited(command: str, result: Verdict, env: dict[str, str], started: float) -> list[str]:
    """Record the refusal; its reasons, with a note when it could not be recorded."""
    problem = record(command, result, env, started)
    return result.reasons + ([f"(the refusal could not be audited: {problem})"] if problem else [])


__all__ = ["Call", "decide", "main"]
