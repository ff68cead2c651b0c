"""kro serve answers every request that has an id: the stdio line guard (issue 22 item 8)."""

from __future__ import annotations

import json

import mcp_types as types
import pytest

from kro.mcp.rpc_guard import MAX_DEPTH, judge, scan_id


def _call(params: object, ident: object = 7) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params})


def _nested(depth: int) -> str:
    return '{"jsonrpc":"2.0","id":"deep-1","method":"tools/call","params":{"name":"x","arguments":{"a":' + (
        "[" * depth + "]" * depth) + "}}}"  # fmt: skip


@pytest.mark.parametrize(
    ("line", "cut", "ident", "code"),
    [
        pytest.param(_call("nope"), False, 7, types.INVALID_PARAMS, id="rpc.params-not-object"),
        pytest.param(_call([1, 2]), False, 7, types.INVALID_PARAMS, id="rpc.params-list"),
        pytest.param(_nested(MAX_DEPTH + 1), False, "deep-1", types.INVALID_REQUEST, id="rpc.too-deep"),
        pytest.param(_nested(100_000), False, "deep-1", types.INVALID_REQUEST, id="rpc.too-deep-for-parser"),
        pytest.param('{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"argv":["xxxx', True, 9,
                     types.INVALID_REQUEST, id="rpc.too-big"),
        pytest.param('{"jsonrpc":"2.0","id":"a\\"b","method":', False, 'a"b', types.PARSE_ERROR,
                     id="rpc.not-json-escaped-id"),
        pytest.param('{"jsonrpc":"2.0","method":"x","id":', False, None, types.PARSE_ERROR,
                     id="rpc.no-id-found"),
        pytest.param(json.dumps({"jsonrpc": "1.0", "id": 3, "method": "tools/list"}), False, 3,
                     types.INVALID_REQUEST, id="rpc.wrong-version"),
    ],
)  # fmt: skip
def test_refused_lines_are_answered_with_their_id(line: str, cut: bool, ident: object, code: int) -> None:
    """Each refused line becomes a JSON-RPC error with the request's id (null when none can be found)."""
    refusal = judge(line, cut)
    assert refusal is not None
    assert (refusal.id, refusal.code) == (ident, code)
    reply = json.loads(refusal.reply().model_dump_json(by_alias=True, exclude_unset=True))
    assert reply["id"] == ident
    assert reply["error"]["code"] == code


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(_call({"name": "cluster_info", "arguments": {}}), id="rpc.tool-call"),
        pytest.param(_nested(MAX_DEPTH - 4), id="rpc.nested-within-bound"),
        pytest.param(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                     id="rpc.notification"),
        pytest.param(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {}}), id="rpc.response"),
        pytest.param("\n", id="rpc.blank"),
    ],
)
def test_good_lines_go_to_the_sdk(line: str) -> None:
    """Well-formed requests, notifications and responses pass untouched."""
    assert judge(line) is None


def test_scan_id_reads_only_the_top_level_key() -> None:
    """An "id" inside params, or a value spelled "id", is not the request's id."""
    line = '{"params":{"id":1},"method":"id","id" : 42, "x": [' + "[" * 50
    assert scan_id(line) == 42
