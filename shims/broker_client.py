"""The shim inside a --confine sandbox: hand the call and this process's stdio to the broker outside.

Protocol (one call per connection): the client sends one JSON line
`{"token", "tool", "argv", "output"?, "cwd"?}` with its stdin, stdout and stderr attached (SCM_RIGHTS);
the broker decides, audits and runs the real tool writing straight to those descriptors, then answers
one JSON line `{"exit_code": int, "error"?: str}`. Hot path: stdlib only, no kro policy imports.
"""

from __future__ import annotations

import json
import os
import socket
import sys

SESSION_FILE = "session.json"
MAX_REQUEST = 1 << 20
EXIT_UNAVAILABLE = 69


def main(tool: str, script: str, argv: list[str]) -> int:
    """Entry point of the bin/kubectl and bin/kubetail scripts inside a confined session."""
    box = os.path.dirname(os.path.dirname(os.path.realpath(script)))
    try:
        with open(os.path.join(box, SESSION_FILE), "rb") as handle:
            session = json.loads(handle.read())
        return forward(session["broker"], session["broker_token"], tool, argv, session.get("output"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"kro: no usable confined session at {box}: {exc}; start the agent with kro-run\n")
        return 78
    except KeyboardInterrupt:
        return 130


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
                return EXIT_UNAVAILABLE
            sent = socket.send_fds(sock, [data], fds)
            sock.sendall(data[sent:])
            reply = _reply(sock)
    finally:
        for fd in opened:
            os.close(fd)
    if reply.get("error"):
        sys.stderr.write(f"kro: {reply['error']}\n")
    code = reply.get("exit_code")
    return code if isinstance(code, int) else EXIT_UNAVAILABLE


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
