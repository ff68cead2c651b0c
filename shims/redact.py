"""Replace secret-shaped values with [REDACTED], line by line, counting what was replaced."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MARK = "[REDACTED]"
_MARK_BYTES = MARK.encode()
_SENSITIVE = r"(?:passw(?:or)?d|secret|token|api[-_]?key|apikey|private[-_]?key|credential|access[-_]?key)"
# Keys that name or point at a secret rather than hold one.
_POINTER = re.compile(
    r"(?i)(?:name|names|ref|refs|path|file|seconds|type|ttl|expiration|mount|source|items)$"
)
_POINTER_ENDS = ("name", "names", "ref", "refs", "path", "file", "seconds", "type", "ttl", "expiration",
                 "mount", "source", "items")  # fmt: skip
_HARMLESS_VALUE = re.compile(r"""(?i)\s*(?:true|false|null|~|""|''|\{\}|\[\]|<none>|<unset>)?\s*,?\s*$""")

# Cheap substring tests (lower-cased) that every secret shape below contains; a line with none is left
# alone without running a regex over it (a case-insensitive regex crawls over a 50 MB line).
_KEYWORDS = ("bearer", "eyj", "akia", "asia", "private", "passw", "secret", "token", "apikey", "api_key",
             "api-key", "credential", "accesskey", "access_key", "access-key")  # fmt: skip
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_AWS = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_PEM_INLINE = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
# key: value, "key": "value", key=value, KEY:  value (describe), with a sensitive key. A key starts a run
# of key characters (the lookbehind): a match starting inside the run ends where one from its start would,
# so it is never the leftmost, and trying each inner start would rescan the run (quadratic on a long line).
_PAIR = re.compile(
    r"""(?P<pre>(?P<q>["']?)(?<![A-Za-z0-9_.\-])(?P<key>[A-Za-z0-9_.\-]*"""
    + _SENSITIVE
    + r"""[A-Za-z0-9_.\-]*)(?P=q)\s*(?::|=)\s*)"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&{\[][^\s,;&]*)""",
    re.IGNORECASE,
)
# Literal parts of _SENSITIVE (lower-cased): every key _PAIR matches holds one of them.
_PAIR_WORDS = ("passw", "secret", "token", "api", "private", "credential", "access")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SCAN_LINE = 4096  # lines longer than this get _PAIR tried at key starts only (Redactor._pairs)
# An env entry's name line (YAML `- name: X` / JSON `"name": "X",`) whose value follows on the next line.
_ENV_NAME = re.compile(r"""^\s*-?\s*"?name"?\s*:\s*"?(?P<name>[^",\s]+)"?,?\s*$""")
_ENV_VALUE = re.compile(r"""^(?P<pre>\s*"?value"?\s*:\s*)(?P<val>.+?)(?P<comma>,?)\s*$""")
_SENSITIVE_NAME = re.compile(_SENSITIVE, re.IGNORECASE)
# An env entry on one line: JSON {"name":"DB_PASSWORD","value":"x"} or Go's map[name:DB_PASSWORD value:x].
# Quotes may be escaped (\"): JSON inside a JSON string, e.g. the last-applied-configuration annotation.
_Q = r"""(?:\\*["'])?"""
_INLINE_ENV = re.compile(
    r"(?P<pre>"
    + _Q
    + r"name"
    + _Q
    + r"""\s*[:=]\s*"""
    + _Q
    + r"""[^"'\\\s,\]}]*"""
    + _SENSITIVE
    + r"""[^"'\\\s,\]}]*"""
    + _Q
    + r"""[\s,]*"""
    + _Q
    + r"value"
    + _Q
    + r"""\s*[:=]\s*)"""
    r"""(?P<val>\\+"(?:[^"\\]|\\[^"])*\\+"|"(?:[^"\\]|\\.)*"|[^\s,\]}]+)""",
    re.IGNORECASE,
)
_DATA_KEY = re.compile(r"""^(?P<indent>\s*)"?(?:data|stringData)"?\s*:\s*\{?\s*$""")
_KIND = re.compile(r"""^\s*"?kind"?\s*:\s*"?(?P<kind>[A-Za-z]+)"?,?\s*$""")


# Block mode (Redactor.feed_block) looks for these in the ASCII-lowered bytes of a block of lines, and runs
# the per-line machinery only on the lines holding one: a superset of the lines `feed` acts on in its idle
# state (a _KEYWORDS hit or a _DATA_KEY line). "key" stands for the api/access key spellings, "data" for
# data:/stringData:, and the last two are the UTF-8 of the only characters whose str.lower() holds ASCII
# (U+0130 -> "i" + U+0307, U+212A KELVIN SIGN -> "k"), which bytes.lower() leaves as they are.
_NEEDLES = (b"bearer", b"eyj", b"akia", b"asia", b"private", b"passw", b"secret", b"token", b"key",
            b"credential", b"data", "\u0130".encode(), "\u212a".encode())  # fmt: skip
# Lines this short are remembered with their idle-state result: kubectl repeats the same few keyword lines
# (volume mounts, secretKeyRef, env names) in every object.
_MEMO_LINE = 512
_MEMO_SIZE = 2048


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class Redactor:
    """A streaming redactor: feed lines (without newline), get lines back, possibly later."""

    def __init__(self) -> None:
        self.count = 0
        self.arrived = 0  # values already [REDACTED] in the blocks fed: the session API proxy replaced them
        self._in_pem = False
        self._env_armed = False
        self._data: list[str] | None = None
        self._data_indent = 0
        self._data_closed = False
        # An idle-state line's bytes -> (its redacted bytes or None if unchanged, values replaced, env armed,
        # in PEM): `line` in the idle state depends on the text alone.
        self._memo: dict[bytes, tuple[bytes | None, int, bool, bool]] = {}

    def _sub(self, pattern: re.Pattern[str], repl: str, line: str) -> str:
        line, n = pattern.subn(repl, line)
        self.count += n
        return line

    def _pair(self, match: re.Match[str]) -> str:
        pre, q, key, value = match.group("pre", "q", "key", "val")
        if key.lower().endswith(_POINTER_ENDS) or _HARMLESS_VALUE.fullmatch(value) or MARK in value:
            return match.group(0)
        self.count += 1
        # Keep JSON valid: an unquoted JSON value (number, bare word) becomes a quoted string.
        quote = value[0] if value[0] in "\"'" else q and '"'
        return f"{pre}{quote}{MARK}{quote}"

    def line(self, text: str) -> str:
        """Redact one line on its own (plus the PEM and env state carried between lines)."""
        if self._in_pem:
            if _PEM_END.search(text):
                self._in_pem = False
                return text
            self.count += 1
            return MARK
        if self._env_armed:
            self._env_armed = False
            value = _ENV_VALUE.match(text)
            if value and not _HARMLESS_VALUE.fullmatch(value.group("val")) and MARK not in value.group("val"):
                self.count += 1
                val = value.group("val")
                quote = val[0] if val[0] in "\"'" else ""
                return f"{value.group('pre')}{quote}{MARK}{quote}{value.group('comma')}"
        lowered = text.lower()
        if not any(word in lowered for word in _KEYWORDS):
            return text
        env = _ENV_NAME.match(text)
        if env and _SENSITIVE_NAME.search(env.group("name")):
            self._env_armed = True
            return text
        # Each pattern runs only where its literal occurs (a regex pass costs ~0.15 s per MiB of text).
        if "-----BEGIN" in text:
            text = self._sub(_PEM_INLINE, MARK, text)
            if _PEM_BEGIN.search(text):
                self._in_pem = True
                return text
        if "bearer" in lowered:
            text = self._sub(_BEARER, r"\1" + MARK, text)
        if "eyJ" in text:
            text = self._sub(_JWT, MARK, text)
        if "AKIA" in text or "ASIA" in text:
            text = self._sub(_AWS, MARK, text)
        if "name" in lowered and "value" in lowered:
            text = _INLINE_ENV.sub(self._inline_env, text)
        if len(text) > _SCAN_LINE:
            lowered = text.lower()  # the substitutions above may have moved things
            if len(lowered) == len(text):  # so that positions in `lowered` are positions in `text`
                return self._pairs(text, lowered)
        return _PAIR.sub(self._pair, text)

    def _pairs(self, text: str, lowered: str) -> str:
        """_PAIR.sub(self._pair, text), trying the pattern only where a key holds a sensitive word.

        A _PAIR key is a whole run of key characters holding a _SENSITIVE word, so its match starts at that
        run's start (or at a quote just before it): on a long line those few starts are tried instead of
        every position, which a regex pass costs about 0.5 s per MiB.
        """
        starts = set()
        for word in _PAIR_WORDS:
            at = lowered.find(word)
            while at >= 0:
                run = at
                while run and text[run - 1] in _KEY_CHARS:
                    run -= 1
                starts.add(run - 1 if run and text[run - 1] in "\"'" else run)
                at = lowered.find(word, at + len(word))
        out: list[str] = []
        done = 0
        for start in sorted(starts):
            if start < done:
                continue
            match = _PAIR.match(text, start)
            if match is None and text[start] in "\"'":
                match = _PAIR.match(text, start + 1)
            if match is None:
                continue
            out += (text[done : match.start()], self._pair(match))
            done = match.end()
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

    def _inline_env(self, match: re.Match[str]) -> str:
        value = match.group("val")
        if MARK in value or _HARMLESS_VALUE.fullmatch(value):
            return match.group(0)
        self.count += 1
        quote = (
            value[: len(value) - len(value.lstrip("\\"))] + '"' if value.lstrip("\\").startswith('"') else ""
        )
        return f"{match.group('pre')}{quote}{MARK}{quote}"

    def feed(self, text: str) -> list[str]:
        """Redact one line; data/stringData blocks are held until the object's kind is known."""
        if self._data is not None:
            return self._feed_data(text)
        start = _DATA_KEY.match(text)
        if start:
            self._data = [text]
            self._data_indent = len(start.group("indent"))
            self._data_closed = False
            return []
        return [self.line(text)]

    def _feed_data(self, text: str) -> list[str]:
        assert self._data is not None
        indent = _indent(text)
        if not self._data_closed:
            if indent > self._data_indent or not text.strip():
                self._data.append(text)
                return []
            self._data_closed = True
            if text.strip() in ("}", "},"):
                self._data.append(text)
                return []
        if indent == self._data_indent:
            kind = _KIND.match(text)
            if kind:
                return [*self._release(secret=kind.group("kind") == "Secret"), self.line(text)]
            if len(self._data) < 10_000:
                self._data.append(text)
                return []
        return self._release(secret=False) + self.feed(text)

    def _release(self, *, secret: bool) -> list[str]:
        held, self._data = self._data or [], None
        if not secret:
            return [self.line(t) for t in held]
        out = [held[0]]
        for text in held[1:]:
            if _indent(text) > self._data_indent and ":" in text:
                key, _, _ = text.partition(":")
                comma = "," if text.rstrip().endswith(",") else ""
                quote = '"' if key.strip().startswith('"') else ""
                out.append(f"{key}: {quote}{MARK}{quote}{comma}")
                self.count += 1
            else:
                out.append(self.line(text))
        return out

    def flush(self) -> list[str]:
        """Lines still held at the end of the output."""
        return self._release(secret=False) if self._data is not None else []

    def flush_block(self) -> bytes:
        """`flush` as bytes: the lines still held, each with its newline."""
        return _encode(self.flush())

    def feed_block(self, block: bytes) -> bytes:
        """Redact whole lines at once: `block` is empty or ends with a newline, and so is the result.

        The same lines as `feed` line by line would give (held data lines come out in a later block or from
        `flush_block`), but runs the per-line machinery only on lines holding a keyword (`_NEEDLES`) or
        continuing a pending state; the spans between them are passed on as they are.
        """
        self.arrived += block.count(_MARK_BYTES)
        starts = _candidates(block)
        out: list[bytes] = []
        kept = 0  # start of the span of unchanged lines not yet in `out`
        pos = 0
        end = len(block)
        i = 0
        while pos < end:
            if self._data is None and not self._in_pem and not self._env_armed:
                while i < len(starts) and starts[i] < pos:
                    i += 1
                if i == len(starts):
                    break
                start = starts[i]
                stop = block.index(b"\n", start)
                raw = block[start:stop]
                known = self._memo.get(raw)
                if known is None:
                    known = self._idle_line(raw)
                else:
                    self.count += known[1]
                    self._env_armed, self._in_pem = known[2], known[3]
                if known is not None:
                    if known[0] is not None:
                        out += (block[kept:start], known[0])
                        kept = stop + 1
                    pos = stop + 1
                    continue
            else:
                start = pos
                stop = block.index(b"\n", pos)
                raw = block[start:stop]
            text = raw.decode("utf-8", "surrogateescape")
            lines = self.feed(text)
            if len(lines) != 1 or lines[0] != text:
                out += (block[kept:start], _encode(lines))
                kept = stop + 1
            pos = stop + 1
        if not kept:
            return block
        out.append(block[kept:])
        return b"".join(out)

    def _idle_line(self, raw: bytes) -> tuple[bytes | None, int, bool, bool] | None:
        """`feed` on one line in the idle state, remembered; None for a data/stringData line (not run yet)."""
        text = raw.decode("utf-8", "surrogateescape")
        if _DATA_KEY.match(text):
            return None
        before = self.count
        redacted = self.line(text)
        known = (
            None if redacted == text else (redacted + "\n").encode("utf-8", "surrogateescape"),
            self.count - before,
            self._env_armed,
            self._in_pem,
        )
        if len(raw) <= _MEMO_LINE:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[raw] = known
        return known


def _candidates(block: bytes) -> list[int]:
    """Where the lines of `block` that hold a needle start, in order."""
    lowered = block.lower()
    needles = _NEEDLES if not block.isascii() else _NEEDLES[:-2]
    starts = set()
    for needle in needles:
        at = lowered.find(needle)
        while at >= 0:
            start = lowered.rfind(b"\n", 0, at) + 1
            starts.add(start)
            at = lowered.find(needle, lowered.index(b"\n", at))
    return sorted(starts)


def _encode(lines: list[str]) -> bytes:
    return "".join(f"{text}\n" for text in lines).encode("utf-8", "surrogateescape")


def redact_text(text: str) -> tuple[str, int]:
    """Redact a whole text at once; returns it and the number of values replaced."""
    redactor = Redactor()
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(redactor.feed(line))
    out.extend(redactor.flush())
    return "\n".join(out), redactor.count


# The _KEYWORDS test as one scan of the lowered text (an IGNORECASE pattern is several times slower).
_KEYWORD_SCAN = re.compile("|".join(map(re.escape, _KEYWORDS)))


def may_hold_secret(text: str) -> bool:
    """Whether `text` holds a keyword every secret shape above needs (cheap; False means leave it alone)."""
    return _KEYWORD_SCAN.search(text.lower()) is not None


def is_secret_key(key: str) -> bool:
    """Whether a key names a secret value (password, token, api key, …) rather than points at one."""
    return bool(_SENSITIVE_NAME.search(key)) and not _POINTER.search(key)


def is_secret_name(name: str) -> bool:
    """Whether an env var name is secret-like (its value is redacted whatever the name's suffix)."""
    return bool(_SENSITIVE_NAME.search(name))


def is_harmless(value: str) -> bool:
    """Whether a value carries nothing to hide (empty, a boolean, null, <none>) or is already redacted."""
    return bool(_HARMLESS_VALUE.fullmatch(value)) or MARK in value


# One over-long line is redacted in windows of LONG_LINE bytes. Each window is cut at a separator that no
# secret-shaped match spans, found within OVERLAP of its end; the rest is carried into the next window, so
# a key and its value split across chunks are still seen together (values up to OVERLAP long).
LONG_LINE = 1 << 20
OVERLAP = 64 * 1024
_SPANNING = (_PEM_INLINE, _BEARER, _JWT, _AWS, _INLINE_ENV, _PAIR)
_SEPARATORS = " \t\r,;&"
_VALUE_END = re.compile(r"[\s,;&]")


def _safe_cut(text: str, target: int) -> tuple[int, bool]:
    """Where to cut `text` at or before `target` with no match across the cut; (cut, cut inside a value)."""
    low = max(0, target - OVERLAP)
    cut = max(text.rfind(sep, low, target) for sep in _SEPARATORS) + 1
    inside = cut <= 0
    if inside:  # a run longer than OVERLAP with no separator: cut it, and drop its rest if it is a value
        cut = target
    spans = [m.span() for pattern in _SPANNING for m in pattern.finditer(text, low)]
    moved = True
    while moved:
        moved = False
        for start, end in spans:
            if start < cut < end and start > 0:
                cut, moved = start, True
    return cut, inside


class LongLine:
    """Redacts one line too long to hold, piece by piece, with `redactor`'s rules and count."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._swallow = False  # dropping the rest of a secret value longer than OVERLAP (fail closed)
        self.active = False  # a line is being redacted in pieces: its end goes through `end`

    def end(self, data: bytes) -> bytes:
        """Redact the line's last piece (carry included, without its newline); then ready for the next."""
        text = data.decode("utf-8", "surrogateescape")
        if self._swallow:
            stop = _VALUE_END.search(text)
            text = text[stop.start() :] if stop else ""
        self._swallow = self.active = False
        return self.redactor.line(text).encode("utf-8", "surrogateescape") if text else b""

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Redact the start of a partial line: (redacted bytes to pass on, raw bytes carried to the next)."""
        self.active = True
        text = data.decode("utf-8", "surrogateescape")
        if self._swallow:
            stop = _VALUE_END.search(text)
            if stop is None:
                return b"", b""
            text, self._swallow = text[stop.start() :], False
        cut, inside = _safe_cut(text, max(1, len(text) - OVERLAP))
        before = self.redactor.count
        out = self.redactor.line(text[:cut])
        if inside and self.redactor.count > before and out.rstrip("\"'").endswith(MARK):
            self._swallow = True  # the value ran on past the cut: the rest of it is secret too
        return out.encode("utf-8", "surrogateescape"), text[cut:].encode("utf-8", "surrogateescape")


class Lines:
    """The one streaming line redactor (plain --redact, the kubetail fallback's filter, the envelope preview).

    Stdout chunks are cut into whole lines; with a redactor they are redacted before `whole(block)` gets
    them. A line too long to hold (with `pieces`) is redacted and handed to `piece(data, ended)` in bounded
    pieces, `ended` on its last one.
    """

    def __init__(self, whole: Callable[[bytes], None], piece: Callable[[bytes, bool], None],
                 redactor: Redactor | None, pieces: bool) -> None:  # fmt: skip
        self.whole, self.piece, self.redactor = whole, piece, redactor
        self.long_line = LongLine(redactor) if redactor is not None and pieces else None
        self.partial = bytearray()

    @property
    def in_long_line(self) -> bool:
        """Whether a line is being taken in pieces (its end goes through `end_long_line`)."""
        return self.long_line is not None and self.long_line.active

    def feed(self, chunk: bytes) -> None:
        """Take a chunk of stdout: its whole lines at once, a long line's pieces as they fill."""
        if self.long_line is not None and self.long_line.active and b"\n" in chunk:
            end = chunk.index(b"\n")  # the end of a line taken in pieces
            self.piece(self.long_line.end(bytes(self.partial) + chunk[:end]) + b"\n", True)
            self.partial = bytearray()
            chunk = chunk[end + 1 :]
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self.partial += chunk  # a long line grows in place: no quadratic re-joining
            if self.long_line is not None and len(self.partial) >= LONG_LINE:
                out, carry = self.long_line.feed(bytes(self.partial))  # memory stays bounded
                self.partial = bytearray(carry)
                self.piece(out, False)
            return
        if self.partial:
            self.partial += chunk[:cut]
            block = bytes(self.partial)
        else:
            block = chunk[:cut] if cut < len(chunk) else chunk
        self.partial = bytearray(chunk[cut:])
        self.whole(self.redacted(block))

    def redacted(self, block: bytes) -> bytes:
        """Whole lines (ending with a newline, or empty) through the redactor, if any."""
        return block if self.redactor is None else self.redactor.feed_block(block)

    def tail(self) -> bytes:
        """The last line's bytes, taken (it had no newline)."""
        tail = bytes(self.partial)
        self.partial = bytearray()
        return tail

    def end_long_line(self) -> bytes:
        """The redacted last piece of a line taken in pieces, without a newline (the output ended in it)."""
        assert self.long_line is not None
        return self.long_line.end(self.tail())

