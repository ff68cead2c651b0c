"""Redaction cases (README "The envelope"): what is replaced, what is left alone, what stays valid."""

from __future__ import annotations

import itertools
import json
import random
import re
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims import envelope_output
from kro.shims import redact as redact_module
from kro.shims.envelope import classify
from kro.shims.envelope_output import MAX_BYTES, Collector
from kro.shims.outcome import RunResult, judge
from kro.shims.redact import _KEYWORDS, _NEEDLES, LONG_LINE, MARK, Lines, Redactor, redact_text
from kro.shims.sinks import Feed


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Authorization: Bearer abcdef0123456789", "abcdef0123456789", id="redact.bearer-header"),
        pytest.param(
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln here", "eyJhbGciOiJIUzI1NiJ9", id="redact.jwt"
        ),
        pytest.param("key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP", id="redact.aws-key-id"),
        pytest.param("DB_PASSWORD=hunter2", "hunter2", id="redact.env-assignment"),
        pytest.param('{"api_key": "k-123"}', "k-123", id="redact.json-pair"),
        pytest.param("      DB_PASSWORD:  hunter2", "hunter2", id="redact.describe-env"),
        pytest.param("client_secret: abc", "abc", id="redact.yaml-pair"),
        pytest.param("    - name: API_TOKEN\n      value: tok-9", "tok-9", id="redact.yaml-env-entry"),
        pytest.param('{\n  "name": "DB_PASSWORD",\n  "value": "pw1"\n}', "pw1", id="redact.json-env-entry"),
        pytest.param("map[name:DB_PASSWORD value:pw2]", "pw2", id="redact.go-map-env"),
        pytest.param('[{"name":"AWS_SECRET_ACCESS_KEY","value":"s3"}]', "s3", id="redact.compact-json-env"),
        pytest.param(
            '"a": "{\\"env\\":[{\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"pw3\\"}]}"',
            "pw3",
            id="redact.escaped-json-in-annotation",
        ),
        pytest.param(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA",
            id="redact.pem-block",
        ),
        pytest.param(
            '"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----"',
            "MIIEvQ",
            id="redact.pem-inline",
        ),
        pytest.param(
            "apiVersion: v1\ndata:\n  password: czNj\n  user: d2Vi\nkind: Secret",
            "d2Vi",
            id="redact.secret-data-yaml",
        ),
        pytest.param(
            '{\n    "apiVersion": "v1",\n    "data": {\n        "user": "d2Vi"\n    },\n'
            '    "kind": "Secret"\n}',
            "d2Vi",
            id="redact.secret-data-json",
        ),
    ],
)
def test_secret_shapes_are_replaced(text: str, secret: str) -> None:
    """The value is gone, a [REDACTED] mark stands in its place, and the count says so."""
    out, count = redact_text(text)
    assert secret not in out
    assert MARK in out
    assert count >= 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("secretName: db-creds", id="keep.secret-name"),
        pytest.param("automountServiceAccountToken: false", id="keep.boolean"),
        pytest.param('"tokenExpirationSeconds": 3607', id="keep.seconds"),
        pytest.param(
            "        secretKeyRef:\n          key: password\n          name: db-creds", id="keep.key-ref"
        ),
        pytest.param('"serviceAccountToken": {', id="keep.structure"),
        pytest.param("apiVersion: v1\ndata:\n  app.yaml: x\nkind: ConfigMap", id="keep.configmap-data"),
        pytest.param("NAME   READY   STATUS\nweb-1  1/1     Running", id="keep.table"),
        pytest.param("level=info msg=asia-east1 region", id="keep.keyword-without-value"),
    ],
)
def test_harmless_text_is_left_alone(text: str) -> None:
    """Names of secrets, booleans, references and ordinary data are not redacted."""
    assert redact_text(text) == (text, 0)


def test_redacted_json_stays_json() -> None:
    """Redacting kubectl's pretty JSON keeps it parseable for jq."""
    env = [{"name": "DB_PASSWORD", "value": "x"}, {"name": "PORT", "value": "80"}]
    doc = {"spec": {"containers": [{"env": env}]}, "password": 1234, "token": None}
    out, count = redact_text(json.dumps(doc, indent=4))
    parsed = json.loads(out)
    assert parsed["spec"]["containers"][0]["env"][0]["value"] == MARK
    assert parsed["spec"]["containers"][0]["env"][1]["value"] == "80"
    assert parsed["password"] == MARK
    assert count == 2


def test_redacted_yaml_stays_yaml() -> None:
    """Redacting kubectl's YAML keeps it loadable."""
    text = "env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: PORT\n  value: '80'\npassword: x\n"
    parsed = yaml.safe_load(redact_text(text)[0])
    assert parsed["env"][0]["value"] != "hunter2"
    assert parsed["env"][1]["value"] == "80"


def test_streaming_matches_whole_text() -> None:
    """Feeding lines one by one gives the same result as redacting the whole text."""
    text = "a: 1\ndata:\n  k: v\nkind: Secret\n- name: X_TOKEN\n  value: t\nplain\n"
    redactor = Redactor()
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(redactor.feed(line))
    lines.extend(redactor.flush())
    assert ("\n".join(lines), redactor.count) == redact_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_raises_and_keeps_line_count(text: str) -> None:
    """Any text redacts without error, line for line."""
    out, count = redact_text(text)
    assert count >= 0
    assert out.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        pytest.param('Error from server (NotFound): pods "x" not found', "user", id="classify.notfound"),
        pytest.param(
            'Error from server (Forbidden): secrets is forbidden: User "v"', "user", id="classify.forbidden"
        ),
        pytest.param("error: unknown flag: --foo", "user", id="classify.bad-flag"),
        pytest.param(
            'error: the server doesn\'t have a resource type "x"', "user", id="classify.unknown-kind"
        ),
        pytest.param("The connection to the server 127.0.0.1:1 was refused", "infra", id="classify.refused"),
        pytest.param(
            "Unable to connect to the server: dial tcp: i/o timeout", "infra", id="classify.timeout"
        ),
        pytest.param(
            "error: You must be logged in to the server (Unauthorized)", "infra", id="classify.unauthorized"
        ),
        pytest.param(
            "Unable to connect to the server: x509: certificate signed by unknown authority",
            "infra",
            id="classify.tls",
        ),
    ],
)
def test_error_classification(stderr: str, kind: str) -> None:
    """kubectl's stderr maps to user (the request was wrong) or infra (could not reach or authenticate)."""
    assert classify(stderr) == kind


_PROXY_DOWN = (
    'Error from server (InternalError): an error on the server ("kro: cannot reach the API server '
    "https://127.0.0.1:6443: connection refused; the cluster is down or unreachable from here (kro's proxy "
    'is up)") has prevented the request from succeeding'
)


def test_the_proxys_upstream_failure_is_infra_with_kros_message() -> None:
    """api.upstream: kubectl's memcache lines are dropped from the message, kro's own words stay; infra."""
    klog = (
        'E1206 15:30:27.168518    2651 memcache.go:265] "Unhandled Error" err="couldn\'t get current server '
        'API group list: an error on the server (\\"kro: cannot reach ...\\")"'
    )
    stderr = "\n".join([klog] * 5 + [_PROXY_DOWN]) + "\n"
    result = RunResult("", "agent", None, 0, 0, 0, 0, stderr, 1, None, False, False, 30.0, "a bound")
    failure = judge(result)
    assert failure is not None
    assert (failure.kind, failure.message) == ("infra", _PROXY_DOWN)


# Streaming in blocks (Collector, plain --redact): any chunking gives what redacting the whole text gives.

_SHAPES = [
    "plain text",
    "",
    "   ",
    '    "name": "DB_PASSWORD",',
    '    "value": "pw1"',
    '    "value": "pw1",',
    "- name: API_TOKEN",
    "  value: tok-9",
    "  value: true",
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEpAIBAAKCAQEA",
    "-----END RSA PRIVATE KEY-----",
    '"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----"',
    "apiVersion: v1",
    "data:",
    "  password: czNj",
    "  user: d2Vi",
    "kind: Secret",
    "kind: ConfigMap",
    '    "data": {',
    '        "user": "d2Vi"',
    "    },",
    '    "kind": "Secret"',
    "stringData:",
    "metadata:",
    "  name: web",
    "secretName: db-creds",
    "Authorization: Bearer abcdef0123456789",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln here",
    "key AKIAABCDEFGHIJKLMNOP used",
    "map[name:DB_PASSWORD value:pw2]",
    "api_key=abc",
    "TO\u212aEN: kelvin",
    "ap\u0130key: dotted",
    "\u017fecret: long-s",
    "eyj \u017fecret: long-s",
    "caf\u00e9 password: x",
]
_INVALID = [b"\xff\xfe", b"\xc3\x28", b"\xe2\x84", b"\xed\xa0\x80", b"\x80"]


@st.composite
def _outputs(draw: st.DrawFn) -> bytes:
    """Bytes shaped like kubectl output: secret shapes, stateful blocks, free text and invalid UTF-8."""
    piece = st.one_of(
        st.sampled_from(_SHAPES).map(lambda s: s.encode()),
        st.text(max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from(_INVALID),
    )
    lines = draw(st.lists(st.lists(piece, max_size=3).map(b"".join), max_size=25))
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _whole(data: bytes) -> tuple[list[str], int]:
    """The redacted lines of the output (a final newline ends the last line) and the count, all at once."""
    if not data:
        return [], 0
    text = data.decode("utf-8", "surrogateescape")
    out, count = redact_text(text[:-1] if text.endswith("\n") else text)
    return out.split("\n"), count


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def out(self, data: bytes) -> None:
        self.data += data


def _plain(chunks: list[bytes]) -> tuple[bytes, int]:
    sink = _Sink()
    writer = Feed(sink, True, None)  # type: ignore[arg-type]
    for chunk in chunks:
        writer.feed(chunk)
    writer.finish()
    return bytes(sink.data), writer.redactor.count


def _collect(chunks: list[bytes], spill: Path, grep: str | None = None) -> Collector:
    collector = Collector(spill, None, re.compile(grep) if grep else None)
    for chunk in chunks:
        assert collector.feed(chunk)
    collector.finish()
    return collector


def _check_collector(data: bytes, chunks: list[bytes], max_lines: int, max_bytes: int) -> None:
    """The collector's preview, counts and spill file are those of the whole text's redacted lines."""
    lines, count = _whole(data)
    encoded = [line.encode("utf-8", "surrogateescape") + b"\n" for line in lines]
    preview: list[str] = []
    size = 0
    for line, raw in zip(lines, encoded, strict=True):
        if len(preview) >= max_lines or size + len(raw) > max_bytes:
            break
        preview.append(line)
        size += len(raw)
    truncated = len(preview) < len(lines)
    if truncated and not preview:
        preview = [lines[0][: max_bytes // 4]]
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.object(envelope_output, "MAX_LINES", max_lines),
        mock.patch.object(envelope_output, "MAX_BYTES", max_bytes),
    ):
        spill = Path(tmp) / "spill"
        collector = _collect(chunks, spill)
        assert collector.preview == preview
        assert (collector.lines, collector.bytes, collector.truncated) == (len(lines), len(data), truncated)
        assert collector.redactor.count == count
        assert collector.final_newline == (not data or data.endswith(b"\n"))
        assert (spill.read_bytes() if spill.exists() else None) == (b"".join(encoded) if truncated else None)


@settings(max_examples=400, deadline=None)
@given(_outputs(), st.lists(st.integers(min_value=0), max_size=8))
def test_any_chunking_redacts_like_the_whole_text(data: bytes, cuts: list[int]) -> None:
    """Block streaming (plain --redact) gives the bytes and count of redacting the whole text at once."""
    lines, count = _whole(data)
    expected = "\n".join(lines) + ("\n" if data.endswith(b"\n") else "") if lines else ""
    out, got = _plain(_chunks(data, cuts))
    assert (out, got) == (expected.encode("utf-8", "surrogateescape"), count)


@settings(max_examples=300, deadline=None)
@given(
    _outputs(),
    st.lists(st.integers(min_value=0), max_size=8),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=4, max_value=300),
)
def test_any_chunking_collects_like_the_whole_text(
    data: bytes, cuts: list[int], max_lines: int, max_bytes: int
) -> None:
    """Envelope mode's preview, line/byte counts, count and spill file do not depend on the chunking."""
    _check_collector(data, _chunks(data, cuts), max_lines, max_bytes)


_STATEFUL = {
    "hit-line": 'a: 1\n    "api_key": "k-123",\nb: 2\nAuthorization: Bearer abcdef0123456789\n',
    "pem": "x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nMIIEpAIBAAKCAQEB\n"
    "-----END RSA PRIVATE KEY-----\ny\n",
    "secret-yaml": "apiVersion: v1\ndata:\n  password: czNj\n  user: d2Vi\nkind: Secret\nmetadata:\n"
    "  name: s\n",
    "secret-json": '{\n    "data": {\n        "user": "d2Vi"\n    },\n    "kind": "Secret"\n}\n',
    "configmap": "data:\n  app.yaml: x\n  token: abc\nkind: ConfigMap\n",
    "env": '- name: X_TOKEN\n  value: t\n{\n  "name": "DB_PASSWORD",\n  "value": "pw1"\n}\n',
    "open-data": "data:\n  user: d2Vi\n  password: x",
    "open-pem": "-----BEGIN PRIVATE KEY-----\nabc\n",
}


@pytest.mark.parametrize("text", list(_STATEFUL.values()), ids=list(_STATEFUL))
def test_every_two_way_split_redacts_like_the_whole_text(text: str) -> None:
    """A chunk boundary anywhere (inside a hit line, a PEM block, a held data block) changes nothing."""
    data = text.encode()
    whole = _plain([data])
    assert MARK.encode() in whole[0]
    for cut in range(len(data) + 1):
        assert _plain([data[:cut], data[cut:]]) == whole, cut
        _check_collector(data, [data[:cut], data[cut:]], 3, 60)
    assert _plain([data[i : i + 1] for i in range(len(data))]) == whole


def test_a_repeated_line_is_redacted_by_its_state() -> None:
    """The same line is remembered per state: a value after a sensitive env name, not after a plain one."""
    block = '"name": "DB_PASSWORD",\n"value": "pw1",\n"name": "PORT",\n"value": "pw1",\n' * 3
    out, count = _plain([block.encode()])
    assert out.decode().count('"value": "[REDACTED]",') == 3
    assert out.decode().count('"value": "pw1",') == 3
    assert count == 3


def test_needles_cover_the_keyword_check() -> None:
    """Block mode's byte needles find every line whose str.lower() holds a keyword (the per-line gate)."""
    assert all(any(needle in word.encode() for needle in _NEEDLES) for word in _KEYWORDS)
    lowers_to_ascii = {chr(cp) for cp in range(0x80, 0x110000) if any(ch.isascii() for ch in chr(cp).lower())}
    assert {ch.encode() for ch in lowers_to_ascii} <= set(_NEEDLES)


def test_spill_file_keeps_invalid_utf8_and_bytes(tmp_path: Path) -> None:
    """Unredacted bulk output reaches the spill file byte for byte, invalid UTF-8 included."""
    data = b"".join(b"line %d \xff\xfe \xc3\x28 caf\xc3\xa9 \x00\x1b[2J\n" % i for i in range(5000))
    collector = _collect([data[i : i + 65536] for i in range(0, len(data), 65536)], tmp_path / "spill")
    assert collector.truncated
    assert (tmp_path / "spill").read_bytes() == data
    assert collector.preview[0] == "line 0 \udcff\udcfe \udcc3( caf\u00e9 \x00\x1b[2J"
    assert (collector.lines, collector.bytes) == (5000, len(data))


def test_grep_filters_redacted_lines(tmp_path: Path) -> None:
    """With a pattern (kubetail fallback), only matching redacted lines are kept, in order."""
    data = b"web 1\ndb password: x\nweb 2 token: y\nother\n" * 3
    collector = _collect([data[:7], data[7:]], tmp_path / "spill", grep="web|db")
    expected = [line for line in _whole(data)[0] if re.search("web|db", line)]
    assert collector.preview == expected
    assert collector.lines == 9


def test_stream_stops_after_its_lines(tmp_path: Path) -> None:
    """A stream collector says stop once it has its lines, counting the chunk that got there."""
    collector = Collector(tmp_path / "spill", 5, None)
    assert collector.feed(b"a\nb\nc")
    assert collector.feed(b"\nd\n")
    assert not collector.feed(b"e\nf\ng\n")
    assert collector.lines == 7


def test_long_lines_in_linear_time(tmp_path: Path) -> None:
    """A 50 MB line, and a 4 MB run of key characters with a keyword, fed in 64 KiB chunks: no rescans."""
    keyed = b"x" * (4 * 1024 * 1024) + b" password=hunter2"  # one key-character run: was quadratic in _PAIR
    data = b"first\n" + b"x" * (50 * 1024 * 1024) + b"\n" + keyed + b"\nlast\n"
    started = time.process_time()  # CPU time: ~1 s linear, hours if quadratic, whatever else the machine runs
    collector = _collect([data[i : i + 65536] for i in range(0, len(data), 65536)], tmp_path / "spill")
    assert time.process_time() - started < 30
    assert (collector.lines, collector.redactor.count) == (4, 1)
    assert (tmp_path / "spill").read_bytes() == data.replace(b"hunter2", MARK.encode())


def _collected(data: bytes, chunk: int, tmp: Path) -> tuple[bytes, Collector]:
    """Feed `data` to an envelope Collector in `chunk`-sized pieces; the spilled output and the collector."""
    collector = Collector(tmp / "spill.txt", None)
    for at in range(0, len(data), chunk):
        collector.feed(data[at : at + chunk])
    collector.finish()
    return (tmp / "spill.txt").read_bytes(), collector


def _long_line(seed: int, size: int) -> bytes:
    """One line of `size` bytes: filler words, secret-shaped pairs and bearer tokens at random places."""
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size:
        roll = rng.random()
        if roll < 0.05:
            part = f"token={rng.getrandbits(64):x}{rng.getrandbits(64):x} "
        elif roll < 0.07:
            part = f'"password": "p{rng.getrandbits(40):x}", '
        elif roll < 0.08:
            part = f"Authorization: Bearer abc{rng.getrandbits(64):x} "
        else:
            part = "x" * rng.randint(1, 40) + rng.choice(" ,;&")
        parts.append(part)
        total += len(part)
    return "".join(parts).encode()


@pytest.mark.parametrize("chunk", [pytest.param(65536, id="long-line.kubectl-chunks"),
                                   pytest.param(65537 * 3, id="long-line.odd-chunks")])  # fmt: skip
@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_line_in_pieces_is_redacted_as_a_whole(chunk: int, seed: int, tmp_path: Path) -> None:
    """A line of 3 MiB (held in 1 MiB windows) comes out as the whole-line redaction would give it: no
    secret split across a chunk or window edge is missed, and the count agrees."""
    line = _long_line(seed, 3 * LONG_LINE)
    spilled, collector = _collected(line + b"\nnext line\n", chunk, tmp_path)
    whole, count = redact_text(line.decode())
    assert spilled == whole.encode() + b"\nnext line\n"
    assert collector.redactor.count == count > 0
    assert collector.lines == 2
    assert len(collector.content().encode()) <= MAX_BYTES


def test_a_long_secret_value_is_dropped_whole(tmp_path: Path) -> None:
    """A secret value longer than the window overlap is redacted to its end, never leaked in its tail."""
    value = "s" * (2 * LONG_LINE)
    line = f"start token={value} after".encode()
    spilled, _ = _collected(line + b"\n", 65536, tmp_path)
    assert b"sss" not in spilled
    assert spilled.startswith(b"start token=[REDACTED]")
    assert spilled.endswith(b" after\n")


_PIECES = st.sampled_from(["token", "Password", "api-key", "x", "-", ".", "_", "=", ":", " ", '"', "'", ",",
                           "secretRef", "name", "true", "abc123", "\\", "[REDACTED]", "é", "K"])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=60))
def test_key_start_scan_equals_the_regex_pass(pieces: list[str]) -> None:
    """The long-line _PAIR path (tried at key starts only) gives exactly what the full regex pass gives."""
    text = "".join(pieces)
    fast, slow = Redactor(), Redactor()
    assert fast._pairs(text, text.lower()) == redact_module._PAIR.sub(slow._pair, text)
    assert fast.count == slow.count


def test_plain_feed_and_preview_share_the_one_line_redactor(tmp_path: Path) -> None:
    """Plain --redact and the envelope preview cut, redact and count lines with the same redact.Lines."""
    from kro.shims.executor import DIRECT

    feed, collector = Feed(DIRECT, True, None), Collector(tmp_path / "spill", None)
    assert isinstance(feed.cutter, Lines)
    assert isinstance(collector.cutter, Lines)
    assert feed.cutter.redactor is feed.redactor
    assert collector.cutter.redactor is collector.redactor


@pytest.mark.parametrize(
    "seed", [pytest.param(1, id="long-line.plain-1"), pytest.param(2, id="long-line.plain-2")]
)
def test_a_long_line_in_plain_redacted_mode_is_redacted_as_a_whole(seed: int) -> None:
    """Plain redacted mode takes a 3 MiB line in bounded windows too, with the whole-line result and count."""
    data = _long_line(seed, 3 * LONG_LINE) + b"\nnext line\n"
    out, count = _plain([data[i : i + 65536] for i in range(0, len(data), 65536)])
    whole, expected = redact_text(data.decode())
    assert out == whole.encode()
    assert count == expected > 0


def test_values_redacted_upstream_are_counted_by_the_redactor(tmp_path: Path) -> None:
    """The envelope's count includes values the session API proxy had already replaced: the redactor counts
    them as it reads the lines (redact.Redactor.arrived), with its own replacements beside them."""
    data = b'"value": "[REDACTED]"\nAuthorization: Bearer abcdef0123456789\nname: web\n'
    collector = Collector(tmp_path / "spill", None)
    collector.feed(data)
    collector.finish()
    assert (collector.redactor.arrived, collector.redactor.count) == (1, 1)
