"""`kro check`: the single and --batch contracts of README "kro check", exit codes, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KRO = str(Path(sys.executable).parent / "kro")


def check(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `kro check ARGS`."""
    return subprocess.run(
        [KRO, "check", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("args", "code", "stdout"),
    [
        pytest.param(["--", "get", "pods"], 0, "OK\n", id="check.ok"),
        pytest.param(["get", "pods"], 0, "OK\n", id="check.ok-without-dashes"),
        pytest.param(
            ["--context", "prod", "--", "--context=prod", "get", "pods"], 0, "OK\n", id="check.pinned"
        ),
        pytest.param(
            ["--", "-n", "get", "delete", "pod", "x"],
            1,
            "BLOCKED: 'delete' is a mutating command; this session is read-only,"
            " so ask the user to run it if it is needed\n",
            id="check.blocked",
        ),
        pytest.param(["--tool", "kubetail", "--", "serve"], 1, None, id="check.kubetail"),
        pytest.param(["--namespace", "demo", "--", "get", "pods", "-A"], 1, None, id="check.namespace"),
    ],
)
def test_single(args: list[str], code: int, stdout: str | None) -> None:
    """OK or BLOCKED: reason, exit 0 or 1."""
    proc = check(*args)
    assert proc.returncode == code, proc.stderr
    if stdout is not None:
        assert proc.stdout == stdout
    else:
        assert proc.stdout.startswith("BLOCKED: ")


def test_json_decision() -> None:
    """--json prints the decision object with exactly the contract's keys."""
    proc = check("--json", "--context", "prod", "--", "get", "secret", "x", "-o", "yaml")
    decision = json.loads(proc.stdout)
    assert set(decision) == {"allowed", "rule", "reason", "verb"}
    assert decision == {
        "allowed": False,
        "rule": "secret.value-exposure",
        "reason": decision["reason"],
        "verb": "get",
    }
    assert proc.returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "nothing to check", id="usage.empty"),
        pytest.param(["--bogus", "--", "get"], "unknown option --bogus", id="usage.unknown-option"),
        pytest.param(["--tool", "helm", "--", "ls"], "--tool must be one of", id="usage.tool"),
        pytest.param(["--context"], "--context needs a value", id="usage.missing-value"),
        pytest.param(["--batch", "get"], "--batch reads the calls from stdin", id="usage.batch-args"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    """Usage errors exit 2 with one line on stderr, never a traceback."""
    proc = check(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_control_characters_block() -> None:
    """Control characters in an argument block the call (input.control-char)."""
    proc = check("--json", "--", "get", "pods\x1b[2J")
    assert json.loads(proc.stdout)["rule"] == "input.control-char"


def test_batch_keeps_order_and_survives_bad_lines() -> None:
    """One JSON line out per line in, in order; malformed lines give {"error": ...}; exit 0."""
    lines = [
        '{"argv": ["get", "pods"]}',
        "not json",
        '{"argv": "get pods"}',
        '{"argv": ["get", 5]}',
        '{"tool": "kubetail"}',
        '{"argv": []}',
        '{"argv": ["serve"], "tool": "kubetail"}',
        '["get"]',
        '{"argv": ["get", "pods"], "tool": "helm"}',
        '{"argv": ["--context", "prod", "delete", "pod", "x"]}',
    ]
    proc = check("--batch", "--context", "prod", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["allowed"] is True
    assert [("error" in o) for o in out[1:6]] == [True] * 5
    assert out[6]["rule"] == "kubetail.listener"
    assert "error" in out[7]
    assert "error" in out[8]
    assert out[9]["rule"] == "verb.mutating"
    assert "Traceback" not in proc.stderr


_GOOD = '{"argv": ["get", "pods"]}'


@pytest.mark.parametrize(
    ("line", "error"),
    [
        pytest.param("{", "line is not JSON", id="batch.hostile-open-brace"),
        pytest.param('"abc', "line is not JSON", id="batch.hostile-open-string"),
        pytest.param('{"argv": ["get", "po', "line is not JSON", id="batch.hostile-cut-string"),
        pytest.param("[" * 1000 + "]" * 1000, "JSON object", id="batch.hostile-nested-1000"),
        pytest.param('{"argv":' + "[" * 100_000, "line is not JSON", id="batch.hostile-nested-100000"),
        pytest.param('{"a":' * 5000 + "1" + "}" * 5000, "line is not JSON", id="batch.hostile-objects-5000"),
        pytest.param('{"argv": ["' + "a" * (2 << 20) + '"]}', "longer than", id="batch.hostile-huge-line"),
        pytest.param("\udcff{", "line is not JSON", id="batch.hostile-invalid-utf8"),
        pytest.param("\x00\x01", "line is not JSON", id="batch.hostile-nul"),
        pytest.param('{"argv": ["get", "pods"]} {}', "line is not JSON", id="batch.hostile-extra-data"),
    ],
)
def test_batch_hostile_line(line: str, error: str) -> None:
    """A hostile line gets its {"error": ...} (no traceback) and the lines around it are still decided."""
    data = f"{_GOOD}\n{line}\n{_GOOD}\n".encode("utf-8", "surrogateescape")
    proc = subprocess.run([KRO, "check", "--batch"], input=data, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    first, middle, last = (json.loads(out) for out in proc.stdout.splitlines())
    assert first["allowed"] is True
    assert last["allowed"] is True
    assert set(middle) == {"error"}
    assert error in middle["error"]
