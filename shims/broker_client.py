"""The shim inside a --confine sandbox: hand the call and this process's stdio to the broker outside.

Protocol (one call per connection): the client sends one JSON line
`{"token", "tool", "argv", "output"?, "cwd"?}` with its stdin, stdout and stderr attached (SCM_RIGHTS);
the broker decides, audits and runs the real tool writing straight to those descriptors, then answers
one JSON line `{"exit_code": int, "error"?: str}`. Hot path: no policy imports, the lean session reader.
"""

from __future__ import annotations

import json
import os
import socket
import sys

from kro.shims.errors import ConfigError, ExitStatus, guarded
from kro.shims.session import SESSION_FILE, load_session

MAX_REQUEST = 1 << 20


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts inside a confined session."""
    box = os.path.dirname(os.path.dirname(os.path.realpath(script)))

    def body() -> int:
        session = load_session(os.path.join(box, SESSION_FILE))
        if not session.broker:
            raise ConfigError(f"the session at {box} names no broker; start the agent with kro-run --confine")
        return forward(session.broker, session.broker_token, tool, argv, session.output)

    return guarded("kro", body)


def forward(path: str, token: str, tool: str, argv: list[str], output: str | None = None) -> int:
    """Send one call to the broker at `path` and wait for its exit code; the output arrives on our stdio."""
    request = {"token": token, "tool": tool, "argv": argv, "output": output, "cwd": _cwd()}
    data = json.dumps(request).encode("utf-8", "surrogateescape") + b"\n"
    opened: list[int] = []
    try:
        fds = [_usable(fd, opened) for fd in (0, 1, 2)]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(path)
            except (FileNotFoundError, ConnectionRefusedError):
                sys.stderr.write("kro: the session's broker is gone (has kro-run exited?); nothing was run\n")
                return ExitStatus.NOT_FOUND
            sent = socket.send_fds(sock, [data], fds)
            if sent < len(data):  # an empty sendall after the broker answered and closed would be EPIPE
                sock.sendall(data[sent:])
            reply = _reply(sock)
    finally:
        for fd in opened:
            os.close(fd)
    if reply.get("error"):
        sys.stderr.write(f"kro: {reply['error']}\n")
    code = reply.get("exit_code")
    return code if isinstance(code, int) else ExitStatus.NOT_FOUND


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
