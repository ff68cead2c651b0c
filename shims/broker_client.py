"""The shim inside a --confine sandbox: hand the call and this process's stdio to the broker outside.

Protocol (one call per connection): the client sends one JSON line
`{"token", "tool", "argv", "output"?, "cwd"?}` with its stdin, stdout and stderr attached (SCM_RIGHTS);
the broker decides, audits and runs the real tool writing straight to those descriptors, then answers
one JSON line `{"exit_code": int, "error"?: str, "kind"?: "infra", "retry"?: bool}`. A busy or
out-of-resources broker answers at once with exit 75 and kind infra (in envelope mode the client prints
that as an infra envelope). The client never waits forever: connecting and sending are bounded, and the
answer must come within the session's call bound plus a margin. Hot path: no policy imports, the lean
session reader.
"""

from __future__ import annotations

import json
import os
import socket
import sys

from kro.shims.errors import ConfigError, ExitStatus, guarded
from kro.shims.session import SESSION_FILE, TOTAL_CAP_S, Session, load_session

MAX_REQUEST = 1 << 20
PLAIN_BOUND_S = 3600.0  # the broker's bound on a plain-mode call without --call-timeout
_SEND_S = 10.0
_MARGIN_S = 30.0


def call_bound(session: Session) -> float:
    """The longest a brokered call may run: the session's own bound (plus stopping it), or PLAIN_BOUND_S."""
    if session.output == "envelope":  # a call still making progress may run to the pipeline's total cap
        total = session.call_timeout or max(TOTAL_CAP_S, session.request_timeout)
        return max(total, session.stream_seconds) + 15.0
    return session.call_timeout + 15.0 if session.call_timeout else PLAIN_BOUND_S


def reply_timeout(session: Session) -> float:
    """How long the client waits for the broker's answer: the broker's bound on the call, plus a margin."""
    return call_bound(session) + _MARGIN_S


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts inside a confined session."""
    box = os.path.dirname(os.path.dirname(os.path.realpath(script)))

    def body() -> int:
        from kro.shims.raw_output import for_call

        session = for_call(load_session(os.path.join(box, SESSION_FILE)), tool, argv)
        if not session.broker:
            raise ConfigError(f"the session at {box} names no broker; start the agent with kro-run --confine")
        return forward(session.broker, session.broker_token, tool, argv, session.output, session.context,
                       reply_timeout(session))  # fmt: skip

    return guarded("kro", body)


def forward(path: str, token: str, tool: str, argv: list[str], output: str | None = None, context: str = "",
            timeout: float | None = None) -> int:  # fmt: skip
    """Send one call to the broker at `path` and wait for its exit code; the output arrives on our stdio."""
    request = {"token": token, "tool": tool, "argv": argv, "output": output, "cwd": _cwd()}
    data = json.dumps(request).encode("utf-8", "surrogateescape") + b"\n"
    opened: list[int] = []
    try:
        fds = [_usable(fd, opened) for fd in (0, 1, 2)]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(_SEND_S)
            try:
                sock.connect(path)
            except (FileNotFoundError, ConnectionRefusedError):
                sys.stderr.write("kro: the session's broker is gone (has kro-run exited?); nothing was run\n")
                return ExitStatus.NOT_FOUND
            except TimeoutError:
                return _infra(output, context, "the session's broker did not take the call; nothing was run")
            try:
                sent = socket.send_fds(sock, [data], fds)
                if sent < len(data):  # an empty sendall after the broker answered and closed would be EPIPE
                    sock.sendall(data[sent:])
            except TimeoutError:
                return _infra(output, context, "the session's broker did not read the call; nothing was run")
            except (BrokenPipeError, ConnectionResetError):
                pass  # a busy broker answers and closes without reading: its reply says so
            sock.settimeout(timeout if timeout is None else max(timeout, 1.0))
            try:
                reply = _reply(sock)
            except TimeoutError:
                return _infra(output, context, f"the session's broker did not answer within {timeout:g} s")
    finally:
        for fd in opened:
            os.close(fd)
    if reply.get("kind") == "infra" and reply.get("error"):
        return _infra(output, context, str(reply["error"]), reply.get("exit_code"))
    if reply.get("error"):
        sys.stderr.write(f"kro: {reply['error']}\n")
    code = reply.get("exit_code")
    return code if isinstance(code, int) else ExitStatus.NOT_FOUND


def _infra(output: str | None, context: str, message: str, code: object = ExitStatus.TEMPFAIL) -> int:
    """Report a call the broker could not serve: an infra envelope (exit 0), or one line and exit 75."""
    if output == "envelope":
        from kro.shims.envelope import error

        envelope = error("infra", message, context, None)
        sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        return 0
    sys.stderr.write(f"kro: {message}\n")
    return code if isinstance(code, int) else ExitStatus.TEMPFAIL


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _usable(fd: int, opened: list[int]) -> int:
    """`fd` if it is open, else a /dev/null descriptor in its place."""
    try:
        os.fstat(fd)
        return fd
    except OSError:
        null = os.open(os.devnull, os.O_RDWR)
        opened.append(null)
        return null


def _reply(sock: socket.socket) -> dict[str, object]:
    buf = b""
    while b"\n" not in buf and len(buf) < MAX_REQUEST:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    try:
        reply = json.loads(buf.split(b"\n", 1)[0] or b"null")
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        return {"error": "the broker ended the call without an answer (kro-run stopped?)"}
    return reply
