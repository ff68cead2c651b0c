"""Table-driven policy cases for kubectl; each id cites the rule it exercises (docs/policy.md)."""

from __future__ import annotations

import pytest

from kro.shims.decide import decide_argv
from kro.shims.model import Pins

PROD = Pins(context="prod")
NS = Pins(context="prod", namespaces=("demo", "web"))

A = "allowed"


def case(argv: str | list[str], rule: str, pins: Pins = PROD, id: str = "") -> object:
    """A case: argv (split on spaces when a string), the expected rule, the pins."""
    args = argv.split() if isinstance(argv, str) else argv
    return pytest.param(args, rule, pins, id=id or f"{rule}:{' '.join(args)}")


CASES = [
    # parse.* — pflag-faithful reading of flags and values (THREATS 1)
    case("-n get delete pod x", "verb.mutating", id="parse.value-hides-verb"),
    case("--namespace=get delete pod x", "verb.mutating", id="parse.long-eq-value"),
    case("-nget delete pod x", "verb.mutating", id="parse.short-attached-value"),
    case("-n=get delete pod x", "verb.mutating", id="parse.short-eq-value"),
    case("--request-timeout 5s delete pod x", "verb.mutating", id="parse.global-value-then-verb"),
    case("--request_timeout 5s delete pod x", "verb.mutating", id="parse.underscore-normalized"),
    case("get pods -Aw", A, id="parse.bool-cluster"),
    case("get pods -Ankube-system", A, id="parse.cluster-then-value"),
    case("get -o yaml -- secrets", "secret.value-exposure", id="secret.after-dash-positional"),
    case("logs -f web-1", A, id="parse.logs-f-is-follow"),
    case("get -f pods.yaml", "read.manifest", id="read.manifest.get-f-is-filename"),
    case("get pods --bogus", "parse.unknown-flag", id="parse.unknown-flag.long"),
    case("get pods -Z", "parse.unknown-flag", id="parse.unknown-flag.short"),
    case("get pods -Aq", "parse.unknown-flag", id="parse.unknown-flag.in-cluster"),
    case("get pods -o", "parse.invalid", id="parse.invalid.missing-value"),
    case("get pods --watch=maybe", "parse.invalid", id="parse.invalid.bool-value"),
    case("get pods -w=false", A, id="parse.short-bool-eq"),
    case("get pods ---x", "parse.invalid", id="parse.invalid.triple-dash"),
    case("delete pod x --bogus", "verb.mutating", id="verb.mutating.before-unknown-flag"),
    case(["get", "pods", "-l", "app in (a,b)"], A, id="parse.selector-value-with-spaces"),
    case("get pods -o name -o yaml", A, id="parse.last-value-wins"),
    case("get secrets -o yaml -o name", A, id="secret.last-output-wins-safe"),
    case("get secrets -o name -o yaml", "secret.value-exposure", id="secret.last-output-wins-unsafe"),
    # input.*
    case(["get", "pods\x00"], "input.control-char", id="input.control-char.nul"),
    case(["get", "pods", "-l", "a=b\n"], "input.control-char", id="input.control-char.newline"),
    case(["get", "pods\x7f"], "input.control-char", id="input.control-char.del"),
    case(["get", "pods\u009b"], "input.control-char", id="input.control-char.c1"),
    # global.*
    case("--context prod get pods", A, id="global.context-pinned.same"),
    case("get pods --context=prod", A, id="global.context-pinned.same-after-verb"),
    case("get pods --context=staging", "global.context-pinned", id="global.context-pinned.after-verb"),
    case(
        "--context prod --context staging get pods",
        "global.context-pinned",
        id="global.context-pinned.repeat",
    ),
    case("--context prod get pods", "global.context-pinned", Pins(), id="global.context-pinned.unpinned"),
    case("get pods --server=https://evil", "global.identity", id="global.identity.server-after-verb"),
    case("-shttps://evil get pods", "global.identity", id="global.identity.short-attached"),
    case("get pods --as-uid 1", "global.identity", id="global.identity.as-uid"),
    case("get pods --user admin", "global.identity", id="global.identity.user"),
    case("get pods --cluster other", "global.identity", id="global.identity.cluster"),
    case("get pods --tls-server-name x", "global.identity", id="global.identity.tls-server-name"),
    case("get pods --client-key k", "global.identity", id="global.identity.client-key"),
    case("get pods --insecure-skip-tls-verify=false", "global.identity", id="global.identity.insecure-false"),
    case("get pods --profile=none", A, id="global.local-write.profile-none"),
    case("get pods --profile cpu", "global.local-write", id="global.local-write.profile"),
    case("get pods --profile-output /tmp/p", "global.local-write", id="global.local-write.profile-output"),
    case("-v=6 get pods", A, id="global.verbosity.six"),
    case("-v7 get pods", "global.verbosity", id="global.verbosity.seven-attached"),
    case("--v=10 get pods", "global.verbosity", id="global.verbosity.ten"),
    case("-v=-1 get pods", "global.verbosity", id="global.verbosity.negative"),
    case("-v=x get pods", "global.verbosity", id="global.verbosity.not-int"),
    case("get pods --vmodule=x=9", "global.verbosity", id="global.verbosity.vmodule"),
    case("-v=8 get secrets -o name", "global.verbosity", id="global.verbosity.secret-bodies"),
    case(
        "get pods --warnings-as-errors --match-server-version --disable-compression", A, id="global.harmless"
    ),
    case("get pods -n demo", A, NS, id="global.namespace.allowed"),
    case("get pods -n kube-system", "global.namespace", NS, id="global.namespace.other"),
    case("get pods -A", "global.namespace", NS, id="global.namespace.all"),
    case("get pods --all-namespaces=false", A, NS, id="global.namespace.all-false"),
    case("get nodes", A, NS, id="global.namespace.cluster-scoped"),
    # verb.*
    case("rollout undo deploy/web", "verb.mutating", id="verb.mutating.rollout-undo"),
    case("rollout pause deploy/web", "verb.mutating", id="verb.mutating.rollout-pause"),
    case("config set-context x", "verb.mutating", id="verb.mutating.config-set-context"),
    case("config delete-context x", "verb.mutating", id="verb.mutating.config-delete-context"),
    case("config rename-context a b", "verb.mutating", id="verb.mutating.config-rename"),
    case("config unset users.x", "verb.mutating", id="verb.mutating.config-unset"),
    case("taint node n k=v:NoSchedule", "verb.mutating", id="verb.mutating.taint"),
    case("set image deploy/web a=b", "verb.mutating", id="verb.mutating.set"),
    case("annotate pod x a=b", "verb.mutating", id="verb.mutating.annotate"),
    case("expose deploy web --port 80", "verb.mutating", id="verb.mutating.expose"),
    case("run x --image=nginx", "verb.mutating", id="verb.mutating.run"),
    case("autoscale deploy web --max 3", "verb.mutating", id="verb.mutating.autoscale"),
    case("replace -f x.yaml", "verb.mutating", id="verb.mutating.replace"),
    case("certificate deny csr-1", "verb.mutating", id="verb.mutating.certificate-deny"),
    case("create ns x", "verb.mutating", id="verb.mutating.create-alias"),
    case("create foo", "verb.unknown", id="verb.unknown.create-plugin"),
    case("create token default --duration 1h", "verb.side-effect", id="verb.side-effect.create-token"),
    case("kustomize --enable-helm .", "verb.side-effect", id="verb.side-effect.kustomize"),
    case("exec web-1 -- cat /etc/passwd", "verb.interactive", id="verb.interactive.exec"),
    case("foo bar", "verb.unknown", id="verb.unknown.plugin"),
    case("-n demo foo", "verb.unknown", id="verb.unknown.after-flag"),
    case("config foo", "verb.unknown", id="verb.unknown.config-sub"),
    case("top foo", "verb.unknown", id="verb.unknown.top-sub"),
    case("alpha", "verb.unknown", id="verb.unknown.alpha"),
    case("Get pods", "verb.unknown", id="verb.unknown.case-sensitive"),
    case("delete --help", A, id="verb.help-on-blocked-verb"),
    case("delete -h", A, id="verb.help-short"),
    case("delete pod x --help=false", "verb.mutating", id="verb.mutating.help-false"),
    case("foo --help", "verb.unknown", id="verb.unknown.plugin-help"),
    case([], A, id="verb.bare-kubectl"),
    case("-h", A, id="verb.root-help"),
    case("help get", A, id="verb.help-command"),
    case("top pods", A, id="verb.alias-top-pods"),
    case("top node", A, id="verb.top-node"),
    case("api-versions", A, id="verb.api-versions"),
    case("config get-clusters", A, id="verb.config-get-clusters"),
    case("config get-users", A, id="verb.config-get-users"),
    case("completion bash", A, id="verb.completion"),
    case("plugin list", A, id="verb.plugin-list"),
    case("options", A, id="verb.options"),
    case("cluster-info dump", A, id="verb.cluster-info-dump"),
    case("events -w --for pod/web-1", A, id="verb.events-for"),
    case("__complete get ''", A, id="verb.complete"),
    case(["__complete", "get", ""], A, id="verb.complete-empty-word"),
    case(
        ["__complete", "--context", "other", "get", "pods", ""],
        "global.context-pinned",
        id="verb.complete-context",
    ),
    case(["__completeNoDesc", "-s", "https://evil", "get", ""], "global.identity", id="verb.complete-server"),
    case(["__complete", "--namespace", ""], A, id="verb.complete-flag-value"),
    # read.*
    case("get -k ./overlay", "read.manifest", id="read.manifest.kustomize"),
    case("describe -f x.yaml", "read.manifest", id="read.manifest.describe"),
    case("wait --for=delete -f x.yaml", "read.manifest", id="read.manifest.wait"),
    case("rollout status -f x.yaml", "read.manifest", id="read.manifest.rollout-status"),
    case("cluster-info dump --output-directory=/tmp/d", "read.local-write", id="read.local-write.eq"),
    case("get --raw /livez/etcd", A, id="read.raw-path.livez"),
    case("get --raw /healthz", A, id="read.raw-path.healthz"),
    case("get --raw /version", A, id="read.raw-path.version"),
    case("get --raw /apis", A, id="read.raw-path.apis"),
    case("get --raw /openapi/v3", A, id="read.raw-path.openapi"),
    case("get --raw /metrics", A, id="read.raw-path.metrics"),
    case("get --raw /apis/apps/v1/namespaces/demo/deployments", A, id="read.raw-path.apps"),
    case("get --raw /api/v1/nodes/n1/proxy/metrics", "read.raw-path", id="read.raw-path.node-proxy"),
    case("get --raw /api/v1/namespaces/demo/pods/x/exec", "read.raw-path", id="read.raw-path.exec"),
    case("get --raw /api/v1/namespaces/demo/pods/x/portforward", "read.raw-path", id="read.raw-path.pf"),
    case("get --raw /api/v1/namespaces/demo/../secrets", "read.raw-path", id="read.raw-path.dotdot"),
    case("get --raw /api/v1/namespaces/demo/%73ecrets", "read.raw-path", id="read.raw-path.percent"),
    case("get --raw //api/v1/secrets", "read.raw-path", id="read.raw-path.double-slash"),
    case("get --raw /api/v1/secrets?watch=1", "secret.value-exposure", id="secret.raw-watch"),
    case("get --raw /api/v1/pods?watch=1&fieldSelector=x", A, id="read.raw-path.watch-pods"),
    case(
        "get --raw /api/v1/events?fieldSelector=involvedObject.kind=Secret",
        "read.raw-path",
        id="read.raw-path.query-secret",
    ),
    case("get --raw api/v1/pods", "read.raw-path", id="read.raw-path.relative"),
    case("get --raw /logs/", "read.raw-path", id="read.raw-path.unlisted"),
    case("get --raw /api/v1/namespaces/web/pods", A, NS, id="global.namespace.raw-in-list"),
    case("get --raw /api/v1/pods", "global.namespace", NS, id="global.namespace.raw-all"),
    case("cluster-info dump", "global.namespace", NS, id="global.namespace.dump-default"),
    case("cluster-info dump --namespaces demo,web", A, NS, id="global.namespace.dump-listed"),
    case("config view --flatten", "secret.value-exposure", id="secret.config-flatten"),
    case("config view --raw=false", A, id="secret.config-raw-false"),
    case("config view --minify -o yaml", A, id="secret.config-minify"),
    # secret.*
    case("get SECRETS -o yaml", "secret.value-exposure", id="secret.upper"),
    case("get secret.v1 -o json", "secret.value-exposure", id="secret.dotted"),
    case("get secrets.v1.external-secrets.io -o yaml", "secret.value-exposure", id="secret.other-group"),
    case("get pods,secret/db -o yaml", "secret.value-exposure", id="secret.list-type-name"),
    case("get secret db --template={{.data}}", "secret.value-exposure", id="secret.template"),
    case("get secret db -o go-template={{.data}}", "secret.value-exposure", id="secret.go-template"),
    case("get secret db -ocustom-columns=x:.data", "secret.value-exposure", id="secret.custom-columns"),
    case("get secret db -o jsonpath-as-json={.data}", "secret.value-exposure", id="secret.jsonpath-as-json"),
    case("get secrets --output=json", "secret.value-exposure", id="secret.output-eq"),
    case("get secrets --sort-by=.data.password", "secret.value-exposure", id="secret.sort-by"),
    case("get secrets -o wide -w", A, id="secret.wide-watch"),
    case("get secrets -l app=web", A, id="secret.label-list"),
    case("get all -o yaml", A, id="secret.all-excludes-secrets"),
    case("get pods secret -o yaml", A, id="secret.pod-named-secret"),
    case("describe secrets", "secret.value-exposure", id="secret.describe-list"),
    case("describe Secret/db", "secret.value-exposure", id="secret.describe-type-name"),
    case("wait --for=jsonpath={.data.p}=x secret/db", "secret.value-exposure", id="secret.wait-oracle"),
    case("explain secrets.data", A, id="secret.explain-is-schema"),
    case("auth can-i get secrets", A, id="secret.can-i-question"),
]


@pytest.mark.parametrize(("argv", "rule", "pins"), CASES)
def test_policy(argv: list[str], rule: str, pins: Pins) -> None:
    """Each argv is decided with the expected rule, and the reason is one actionable sentence."""
    _, decision = decide_argv("kubectl", argv, pins)
    assert decision.rule == rule, decision.reason
    assert decision.allowed is (rule == A)
    assert decision.reason
    assert "\n" not in decision.reason


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        pytest.param(["-n", "get", "delete", "pod"], "delete", id="verb.named-after-flag-value"),
        pytest.param(["config", "view"], "config view", id="verb.path"),
        pytest.param(["top", "po"], "top pod", id="verb.alias-canonical"),
        pytest.param(["rollout", "restart", "x"], "rollout restart", id="verb.mutating-path"),
    ],
)
def test_decision_names_verb(argv: list[str], verb: str) -> None:
    """The decision carries the parsed verb, canonical and with its subcommand."""
    _, decision = decide_argv("kubectl", argv, PROD)
    assert decision.verb == verb
