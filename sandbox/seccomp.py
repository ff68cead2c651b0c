"""The --confine seccomp filter: no TIOCSTI/TIOCLINUX, so the sandbox cannot type into the user's terminal."""

from __future__ import annotations

import errno
import platform
import struct

# Native ABI and its 32-bit compat ABI: (AUDIT_ARCH_*, __NR_ioctl).
_ARCHES = {
    "x86_64": ((0xC000003E, 16), (0x40000003, 54)),
    "aarch64": ((0xC00000B7, 29), (0x40000028, 54)),
}
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
_X32_BIT = 0x40000000
_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _DENY = 0x7FFF0000, 0x00050000 | errno.EPERM
_ARCH_AT, _NR_AT, _ARG1_LOW_AT = 4, 0, 24  # offsets in struct seccomp_data (little-endian arches)


def program(machine: str | None = None) -> bytes | None:
    """The compiled cBPF filter for bwrap --seccomp, or None on an architecture this does not know."""
    arches = _ARCHES.get(machine or platform.machine())
    if arches is None:
        return None
    (native, nr), (compat, compat_nr) = arches
    x32 = [("jge", _X32_BIT, "deny", None)] if native == 0xC000003E else []
    code: list[tuple[str, int, str | None, str | None]] = [
        ("ld", _ARCH_AT, None, None),
        ("jeq", native, None, "compat"),
        ("ld", _NR_AT, None, None),
        *x32,
        ("jeq", nr, "cmd", "allow"),
        ("jeq", compat, None, "deny"),  # label compat: A still holds the arch
        ("ld", _NR_AT, None, None),
        ("jeq", compat_nr, "cmd", "allow"),
        ("ld", _ARG1_LOW_AT, None, None),  # label cmd: ioctl's request, truncated to 32 bits like the kernel
        ("jeq", TIOCSTI, "deny", None),
        ("jeq", TIOCLINUX, "deny", "allow"),
        ("ret", _ALLOW, None, None),
        ("ret", _DENY, None, None),
    ]
    labels = {"compat": 4 + len(x32), "cmd": 7 + len(x32), "allow": 10 + len(x32), "deny": 11 + len(x32)}
    out = b""
    for pc, (op, k, true, false) in enumerate(code):
        jt = labels[true] - pc - 1 if true else 0
        jf = labels[false] - pc - 1 if false else 0
        opcode = {"ld": _LD_ABS, "jeq": _JEQ, "jge": _JGE, "ret": _RET}[op]
        out += struct.pack("<HBBI", opcode, jt, jf, k)
    return out
