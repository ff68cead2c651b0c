"""Policy cases for the read limits (docs/policy.md): local files, plugins, Secret fields, --raw."""

from __future__ import annotations

import pytest

from kro.shims.decide import decide_argv
from kro.shims.model import Pins

PROD = Pins(context="prod")
A = "allowed"
FILE = "read.local-file"
SECRET = "secret.value-exposure"


def case(argv: list[str], rule: str, id: str, tool: str = "kubectl") -> object:
    """argv, the expected rule, the tool."""
    return pytest.param(tool, argv, rule, id=id)


CASES = [
    # read.local-file: output formats and flags whose value kubectl or kubetail opens (README routes, 18)
    case(
        ["get", "ns", "default", "-o", "go-template-file=/etc/passwd"],
        FILE,
        "read.local-file.go-template-file",
    ),
    case(["get", "ns", "-o=templatefile", "--template", "/etc/passwd"], FILE, "read.local-file.templatefile"),
    case(["get", "ns", "-ojsonpath-file=/etc/passwd"], FILE, "read.local-file.jsonpath-file-attached"),
    case(["get", "pods", "--output", "custom-columns-file=/x"], FILE, "read.local-file.custom-columns-file"),
    case(["get", "pods", "-o", "Go-Template-File=/x"], FILE, "read.local-file.case-folded"),
    case(["get", "pods", "-o", "go-template-file", "--template=/x"], FILE, "read.local-file.template-flag"),
    case(["events", "-o", "go-template-file=/x"], FILE, "read.local-file.events"),
    case(["wait", "pod/x", "--for=delete", "-o", "jsonpath-file=/x"], FILE, "read.local-file.wait"),
    case(["auth", "whoami", "-o", "go-template-file=/x"], FILE, "read.local-file.whoami"),
    case(
        ["rollout", "history", "deploy/web", "-o", "templatefile=/x"], FILE, "read.local-file.rollout-history"
    ),
    case(["config", "view", "-o", "go-template-file=/x"], FILE, "read.local-file.config-view"),
    case(["cluster-info", "dump", "-o", "jsonpath-file=/x"], FILE, "read.local-file.cluster-info-dump"),
    case(["get", "secrets", "-o", "jsonpath-file=/x"], FILE, "read.local-file.before-secret-rule"),
    case(["get", "pods", "-o", "go-template={{.kind}}"], A, "read.local-file.inline-go-template-ok"),
    case(["get", "pods", "--template={{.kind}}"], A, "read.local-file.inline-template-flag-ok"),
    case(["logs", "x", "--config", "/etc/passwd"], FILE, "read.local-file.kubetail-config", "kubetail"),
    case(["-c", "/etc/passwd", "logs", "x"], FILE, "read.local-file.kubetail-config-short", "kubetail"),
    # verb.unknown: plugin dispatch decided on the caller's words, not on where pins land (README routes, 22)
    case(["create", "foo", "--help"], "verb.unknown", "verb.unknown.create-plugin-help"),
    case(["create", "foo", "-h"], "verb.unknown", "verb.unknown.create-plugin-h"),
    case(["create", "--help", "foo"], "verb.unknown", "verb.unknown.create-plugin-help-first"),
    case(["create", "deployment", "--help"], A, "verb.create-subcommand-help"),
    case(["create", "--help"], A, "verb.create-help"),
    case(["__complete", "foo", ""], "verb.unknown", "verb.unknown.complete-plugin"),
    case(["__complete", "foo", "bar", ""], "verb.unknown", "verb.unknown.complete-plugin-deeper"),
    case(["__completeNoDesc", "foo", ""], "verb.unknown", "verb.unknown.complete-nodesc-plugin"),
    case(["__complete", "create", "foo", ""], "verb.unknown", "verb.unknown.complete-create-plugin"),
    case(["__complete", "fo"], A, "verb.complete-first-word"),
    case(["__complete", "get", "po"], A, "verb.complete-builtin"),
    case(["__complete", "-n", "demo", "get", ""], A, "verb.complete-after-flag"),
    case(["foo", "--help"], "verb.unknown", "verb.unknown.plugin-help"),
    # secret.value-exposure: parsed field expressions; type and metadata (not annotations/managedFields) pass
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata.name}"], A, "secret.jsonpath-names"),
    case(["get", "secret", "db", "-o", "jsonpath={.type}"], A, "secret.jsonpath-type"),
    case(["get", "secrets", "-o", "custom-columns=NAME:.metadata.name,TYPE:.type"], A, "secret.columns"),
    case(["get", "secrets", "--sort-by=.metadata.creationTimestamp"], A, "secret.sort-by-metadata"),
    case(["get", "secrets", "-o", "wide", "--sort-by", "{.metadata.name}"], A, "secret.sort-by-braces"),
    case(
        ["get", "secrets", "-o", "jsonpath-as-json={.items[*].metadata.labels}"], A, "secret.as-json-labels"
    ),
    case(
        ["get", "secrets", "-o", 'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.type}{"\\n"}{end}'],
        A,
        "secret.jsonpath-range",
    ),
    case(
        ["get", "secrets", "-o", 'jsonpath={.items[?(@.type=="Opaque")].metadata.name}'],
        A,
        "secret.filter-type",
    ),
    case(["get", "secrets", "-o", "jsonpath={.items[0]['metadata.name']}"], A, "secret.dict-key"),
    case(
        ["get", "secrets", "-o", "jsonpath", "--template={.items[*].metadata.uid}"], A, "secret.template-flag"
    ),
    case(["get", "secrets", "-o", "jsonpath={.items[*].data}"], SECRET, "secret.jsonpath-data"),
    case(["get", "secret", "x", "-o", "jsonpath={.data.password}"], SECRET, "secret.jsonpath-data-key"),
    case(["get", "secret", "x", "-o", "jsonpath={.stringData}"], SECRET, "secret.jsonpath-stringdata"),
    case(["get", "secrets", "-o", "jsonpath={..password}"], SECRET, "secret.recursive-descent"),
    case(
        ["get", "secrets", "-o", "jsonpath={.items[*].metadata..name}"],
        SECRET,
        "secret.recursive-in-metadata",
    ),
    case(["get", "secrets", "-o", "jsonpath={.items[*].*}"], SECRET, "secret.object-wildcard"),
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata.*}"], SECRET, "secret.metadata-wildcard"),
    case(["get", "secrets", "-o", "jsonpath={.items[*]['data']}"], SECRET, "secret.dict-key-data"),
    case(["get", "secrets", "-o", "jsonpath={.items[*]['type','data']}"], SECRET, "secret.union-data"),
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata}"], SECRET, "secret.whole-metadata"),
    case(["get", "secrets", "-o", "jsonpath={.items[*]}"], SECRET, "secret.whole-items"),
    case(["get", "secrets", "-o", "jsonpath={@}"], SECRET, "secret.whole-root"),
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata.annotations}"], SECRET, "secret.annotations"),
    case(
        [
            "get",
            "secret",
            "x",
            "-o",
            "jsonpath={.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
        ],
        SECRET,
        "secret.last-applied",
    ),
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata.managedFields}"], SECRET, "secret.managed"),
    case(
        ["get", "secrets", "-o", 'jsonpath={.items[?(@.data.password=="x")].metadata.name}'],
        SECRET,
        "secret.filter-on-data",
    ),
    case(["get", "secrets", "-o", "jsonpath={range .items[*]}{@}{end}"], SECRET, "secret.range-whole"),
    case(["get", "secrets", "-o", "jsonpath={range .items[*].data}x{end}"], SECRET, "secret.range-over-data"),
    case(["get", "secrets", "-o", "jsonpath={.items[*].metadata.name"], SECRET, "secret.unclosed"),
    case(
        ["get", "secrets", "-o", "custom-columns=NAME:.metadata.name,V:.data"], SECRET, "secret.columns-data"
    ),
    case(["get", "secrets", "-o", "custom-columns=NAME"], SECRET, "secret.columns-malformed"),
    case(["get", "secrets", "--sort-by=.data.password"], SECRET, "secret.sort-by-data"),
    case(
        ["get", "secrets", "-o", "jsonpath={.items[*].metadata.name}", "--template={.items[*].data}"],
        SECRET,
        "secret.template-flag-data",
    ),
    case(["get", "configmaps,secrets", "-o", "jsonpath={.items[*].data}"], SECRET, "secret.mixed-list-data"),
    case(["get", "secrets", "--template={{.items}}"], SECRET, "secret.go-template-flag"),
    case(["get", "secrets", "-o", "go-template={{.kind}}"], SECRET, "secret.go-template"),
    case(["get", "secrets", "-o", "JSONPATH={.items[*].metadata.name}"], SECRET, "secret.format-case"),
    # read.raw-path: the query string is percent-decoded before it is judged
    case(
        ["get", "--raw", "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb"],
        A,
        "read.raw-path.encoded-query",
    ),
    case(
        ["get", "--raw", "/api/v1/pods?fieldSelector=metadata.name%3D%73ecret"],
        "read.raw-path",
        "read.raw-path.encoded-secret-in-query",
    ),
    case(["get", "--raw", "/api/v1/pods?x=%zz"], "read.raw-path", "read.raw-path.bad-escape"),
    case(
        ["get", "--raw", "/api/v1/namespaces/demo/%73ecrets"],
        "read.raw-path",
        "read.raw-path.percent-in-path",
    ),
    # read.raw-path: the route is judged by the API proxy's request policy (decide_request), the one judge
    case(["get", "--raw", "/apis/example.io/v1/namespaces/x/secrets"], SECRET, "secret.raw-path-crd-group"),
    case(["get", "--raw", "/api/v1/namespaces/demo/pods/web/secrets"], SECRET, "secret.raw-path-subresource"),
    case(["get", "--raw", "/api/v1/namespaces/x/pods/web/attach"], "read.raw-path", "read.raw-path.attach"),
    case(["get", "--raw", "/api/v1/watch/namespaces/demo/pods"], A, "read.raw-path.watch-verb"),
    case(["get", "--raw", "/api/v1/namespaces/demo/pods/web/log"], A, "read.raw-path.log"),
    case(["get", "--raw", "/api/v1/serviceaccounts/x/token"], "read.raw-path", "read.raw-path.token-request"),
    case(["get", "--raw", "/openapi/v2"], A, "read.raw-path.openapi-v2"),
    case(["get", "--raw", "/debug/pprof/"], "read.raw-path", "read.raw-path.debug"),
    # config view: masked by kro for yaml/json; jsonpath only when it selects no user credentials
    case(["config", "view"], A, "config-view.default"),
    case(["config", "view", "-o", "json", "--minify"], A, "config-view.json"),
    case(["config", "view", "-o", "jsonpath={.current-context}"], A, "config-view.jsonpath-context"),
    case(
        ["config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"], A, "config-view.jsonpath-server"
    ),
    case(["config", "view", "-o", "jsonpath={.users[*].name}"], A, "config-view.jsonpath-user-names"),
    case(
        ["config", "view", "-o", "jsonpath={.users[0].user.auth-provider.config.id-token}"],
        SECRET,
        "secret.config-view-id-token",
    ),
    case(["config", "view", "-o", "jsonpath={..token}"], SECRET, "secret.config-view-recursive"),
    case(
        ["config", "view", "-o", "jsonpath={.clusters[0].cluster}"],
        SECRET,
        "secret.config-view-whole-cluster",
    ),
    case(
        ["config", "view", "-o", "jsonpath={.clusters[*].cluster.proxy-url}"],
        SECRET,
        "secret.config-view-proxy",
    ),
    case(["config", "view", "-o", "jsonpath={.*[0].name}"], A, "config-view.jsonpath-wildcard-names"),
    case(["config", "view", "-o", "jsonpath={.*}"], SECRET, "secret.config-view-wildcard"),
    case(["config", "view", "-o", "go-template={{.users}}"], SECRET, "secret.config-view-go-template"),
    case(["config", "view", "--template={{.users}}"], SECRET, "secret.config-view-template-flag"),
    case(["config", "view", "--raw"], SECRET, "secret.config-view-raw"),
]


@pytest.mark.parametrize(("tool", "argv", "rule"), CASES)
def test_read_limits(tool: str, argv: list[str], rule: str) -> None:
    """Each argv is decided by the rule named, and a block says what to do instead."""
    _, decision = decide_argv(tool, argv, PROD)
    assert decision.rule == rule, decision.reason
    assert decision.allowed is (rule == A)
    if rule == FILE:
        assert "inline" in decision.reason
    if rule == "verb.unknown":
        assert "plugin" in decision.reason


def test_local_file_flag_of_a_future_kubectl() -> None:
    """--kuberc (a newer kubectl's global) is named as a local file if the tables ever learn it."""
    from kro.shims.model import FlagUse, Invocation
    from kro.shims.policy import decide

    inv = Invocation(
        "kubectl",
        ("get", "pods", "--kuberc=/x"),
        ("get",),
        (FlagUse("kuberc", "--kuberc", "/x", True),),
        ("pods",),
        (),
        1,
    )
    assert decide(inv, PROD).rule == FILE
