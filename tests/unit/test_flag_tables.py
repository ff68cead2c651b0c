"""The kubectl and kubetail flag tables: the facts the parser relies on (drift: tests/integration)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "shims" / "data"
KINDS = {"bool", "value", "optional", "conflict"}


@cache
def _table(tool: str) -> dict[str, Any]:
    """The committed table of `tool`."""
    return dict(json.loads((DATA / f"{tool}_flags.json").read_text(encoding="utf-8")))


def _command(tool: str, path: tuple[str, ...]) -> dict[str, Any]:
    """The node for `path` (canonical names) in `tool`'s table."""
    node: dict[str, Any] = {"subcommands": _table(tool)["commands"]}
    for word in path:
        node = node["subcommands"][word]
    return node


def _walk(
    commands: dict[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every command of a table with its path."""
    for name, node in commands.items():
        yield (*prefix, name), node
        yield from _walk(node["subcommands"], (*prefix, name))


@pytest.mark.parametrize(
    ("path", "flag", "short", "kind"),
    [
        pytest.param(("get",), "filename", "f", "value", id="get -f takes a value"),
        pytest.param(("get",), "watch", "w", "bool", id="get -w is bool"),
        pytest.param(("get",), "all-namespaces", "A", "bool", id="get -A is bool"),
        pytest.param(("get",), "output", "o", "value", id="get -o takes a value"),
        pytest.param(("get",), "raw", None, "value", id="get --raw takes a path"),
        pytest.param(("get",), "help", "h", "bool", id="get -h is help"),
        pytest.param(("logs",), "follow", "f", "bool", id="logs -f is bool"),
        pytest.param(("logs",), "previous", "p", "bool", id="logs -p is bool"),
        pytest.param(("logs",), "container", "c", "value", id="logs -c takes a value"),
        pytest.param(("describe",), "show-events", None, "bool", id="describe --show-events is bool"),
        pytest.param(("config", "view"), "raw", None, "bool", id="config view --raw is bool"),
        pytest.param(("config", "view"), "flatten", None, "bool", id="config view --flatten is bool"),
        pytest.param(("config", "view"), "merge", None, "bool", id="config view --merge (tristate) is bool"),
        pytest.param(
            ("cluster-info", "dump"),
            "output-directory",
            None,
            "value",
            id="cluster-info dump --output-directory",
        ),
        pytest.param(("delete",), "dry-run", None, "optional", id="--dry-run never takes the next word"),
        pytest.param(("delete",), "cascade", None, "optional", id="--cascade never takes the next word"),
        pytest.param(("apply",), "validate", None, "optional", id="--validate never takes the next word"),
        pytest.param(("debug",), "profile", None, "value", id="debug --profile shadows the global flag"),
        pytest.param(("top", "pod"), "all-namespaces", "A", "bool", id="top pod -A is bool"),
        pytest.param(("auth", "can-i"), "list", None, "bool", id="auth can-i --list is bool"),
    ],
)
def test_kubectl_command_flag(path: tuple[str, ...], flag: str, short: str | None, kind: str) -> None:
    """Flags of kubectl commands have the shorthand and kind the parser assumes."""
    spec = _command("kubectl", path)["flags"][flag]
    assert (spec["short"], spec["kind"]) == (short, kind)


@pytest.mark.parametrize(
    ("flag", "short", "kind"),
    [
        pytest.param("namespace", "n", "value", id="-n is a global value flag"),
        pytest.param("as-group", None, "value", id="--as-group is a global value flag"),
        pytest.param("v", "v", "value", id="-v/--v is a global value flag"),
        pytest.param("server", "s", "value", id="-s is a global value flag"),
        pytest.param("context", None, "value", id="--context is a global value flag"),
        pytest.param("kubeconfig", None, "value", id="--kubeconfig is a global value flag"),
        pytest.param("insecure-skip-tls-verify", None, "bool", id="--insecure-skip-tls-verify is bool"),
        pytest.param("vmodule", None, "value", id="--vmodule is a global value flag"),
    ],
)
def test_kubectl_global_flag(flag: str, short: str | None, kind: str) -> None:
    """kubectl's global flags (`kubectl options`) have the shorthand and kind the parser assumes."""
    spec = _table("kubectl")["global"][flag]
    assert (spec["short"], spec["kind"]) == (short, kind)


def test_kubectl_help_is_per_command_not_global() -> None:
    """-h/--help is not a global flag; every command has it."""
    table = _table("kubectl")
    assert "help" not in table["global"]
    missing = [" ".join(p) for p, node in _walk(table["commands"]) if "help" not in node["flags"]]
    assert not missing


@pytest.mark.parametrize(
    ("path", "hidden"),
    [
        pytest.param(("create", "token"), False, id="create token"),
        pytest.param(("auth", "whoami"), False, id="auth whoami"),
        pytest.param(("auth", "can-i"), False, id="auth can-i"),
        pytest.param(("rollout", "status"), False, id="rollout status"),
        pytest.param(("plugin", "list"), False, id="plugin list"),
        pytest.param(("config", "get-contexts"), False, id="config get-contexts"),
        pytest.param(("cluster-info", "dump"), False, id="cluster-info dump"),
        pytest.param(("__complete",), True, id="__complete (hidden)"),
        pytest.param(("__completeNoDesc",), True, id="__completeNoDesc (hidden)"),
        pytest.param(("help",), True, id="help (hidden)"),
        pytest.param(("options",), True, id="options (hidden)"),
        pytest.param(("completion",), False, id="completion"),
    ],
)
def test_kubectl_command_exists(path: tuple[str, ...], hidden: bool) -> None:
    """Commands the policy names are in the tree, hidden ones marked."""
    assert _command("kubectl", path)["hidden"] is hidden


@pytest.mark.parametrize(
    ("path", "aliases"),
    [
        pytest.param(("top", "pod"), ["po", "pods"], id="top pods/po"),
        pytest.param(("top", "node"), ["no", "nodes"], id="top nodes/no"),
        pytest.param(("create", "deployment"), ["deploy"], id="create deploy"),
        pytest.param(("create", "namespace"), ["ns"], id="create ns"),
        pytest.param(("set", "serviceaccount"), ["sa"], id="set sa"),
        pytest.param(("cluster-info",), [], id="clusterinfo is no longer an alias"),
        pytest.param(("get",), [], id="get has no alias"),
    ],
)
def test_kubectl_aliases(path: tuple[str, ...], aliases: list[str]) -> None:
    """Only aliases the installed kubectl accepts are recorded."""
    assert _command("kubectl", path)["aliases"] == aliases


@pytest.mark.parametrize(
    "tool", [pytest.param("kubectl", id="kubectl"), pytest.param("kubetail", id="kubetail")]
)
def test_table_shape(tool: str) -> None:
    """Every node and flag has the documented keys; shorthands never clash within a command."""
    table = _table(tool)
    assert set(table) >= {"source", "global", "commands"}
    global_shorts = {spec["short"]: name for name, spec in table["global"].items() if spec["short"]}
    for spec in table["global"].values():
        assert spec["kind"] in KINDS
    for path, node in _walk(table["commands"]):
        assert set(node) == {"aliases", "hidden", "flags", "subcommands"}, path
        shorts: dict[str, str] = {}
        for name, spec in node["flags"].items():
            assert set(spec) == {"short", "kind", "type"}, (path, name)
            assert spec["kind"] in KINDS, (path, name)
            assert name, path
            assert not name.startswith("-"), (path, name)
            short = spec["short"]
            if short is None:
                continue
            assert len(short) == 1, (path, name)
            assert shorts.setdefault(short, name) == name, (path, name, short)
            # A command's shorthand may only repeat a global one for the same (shadowing) flag.
            assert global_shorts.get(short, name) == name, (path, name, short)


@pytest.mark.parametrize(
    ("path", "flag", "short", "kind"),
    [
        pytest.param(("logs",), "follow", "f", "bool", id="logs --follow/-f is bool"),
        pytest.param(("logs",), "kube-context", None, "value", id="logs --kube-context takes a value"),
        pytest.param(("logs",), "head", "h", "optional", id="logs -h is --head (optional value)"),
        pytest.param(("logs",), "tail", "t", "optional", id="logs --tail never takes the next word"),
        pytest.param(("logs",), "help", None, "bool", id="logs --help has no shorthand"),
        pytest.param(("logs",), "since", None, "value", id="logs --since takes a value"),
        pytest.param(("logs",), "grep", "g", "value", id="logs --grep takes a value"),
        pytest.param(("logs",), "all", None, "bool", id="logs --all is bool"),
        pytest.param(("cluster", "list"), "kube-context", None, "value", id="cluster list --kube-context"),
        pytest.param(("serve",), "port", "p", "value", id="serve -p takes a value"),
        pytest.param(("config", "init"), "path", None, "value", id="config init --path"),
    ],
)
def test_kubetail_command_flag(path: tuple[str, ...], flag: str, short: str | None, kind: str) -> None:
    """kubetail's flags, as its Go source declares them."""
    spec = _command("kubetail", path)["flags"][flag]
    assert (spec["short"], spec["kind"]) == (short, kind)


def test_kubetail_root() -> None:
    """kubetail's persistent flags, root-only flags and --context normalisation."""
    table = _table("kubetail")
    assert table["global"]["kubeconfig"]["kind"] == "value"
    assert "kube-context" not in table["global"]
    assert table["root_flags"]["version"] == {"short": "v", "kind": "bool", "type": "bool"}
    assert table["normalize"] == {"context": "kube-context"}
    assert set(table["commands"]) >= {"logs", "serve", "cluster", "config", "completion", "help"}
