"""Per-verb limits on the allowed reads (docs/policy.md read.*, secret.*): manifests, raw paths, secrets."""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.model import Invocation, Pins

SAFE_SECRET_OUTPUTS = frozenset({"", "wide", "name"})
_NON_RESOURCE_EXACT = frozenset({"/version", "/api", "/apis", "/metrics"})
_NON_RESOURCE_PREFIXES = ("/livez", "/readyz", "/healthz", "/openapi/")
_REACH_IN = frozenset({"proxy", "exec", "attach", "portforward"})


def is_secret_type(token: str) -> bool:
    """A resource token names Secrets when, lower-cased and cut at the first '.', it is secret(s)."""
    return token.strip().lower().split(".", 1)[0] in ("secret", "secrets")


def resource_types(args: tuple[str, ...]) -> list[str]:
    """The resource types named by get/describe/wait arguments (`a,b name` or `type/name` forms)."""
    types: list[str] = []
    for i, arg in enumerate(args):
        if "/" in arg:
            types.extend(arg.split("/", 1)[0].split(","))
        elif i == 0:
            types.extend(arg.split(","))
    return types


def names_secrets(inv: Invocation) -> bool:
    """Whether any resource argument of the invocation names Secrets."""
    return any(is_secret_type(t) for t in resource_types(inv.positionals + inv.after_dash))


def raw_path_problem(path: str, pins: Pins) -> tuple[str, str] | None:
    """(rule, reason) blocking `get --raw PATH`, or None when the path is a safe GET."""
    reason = (
        f"--raw {path!r} is not a plain read kro can vouch for; raw paths may name health, "
        "version, discovery, openapi, metrics or non-secret resources under /api and /apis"
    )
    if not path.startswith("/") or ".." in path or "%" in path or "//" in path or "\\" in path:
        return R.RAW_PATH, reason
    route, _, query = path.partition("?")
    if "secret" in query.lower() or "#" in path:
        return R.RAW_PATH, reason
    route = route.rstrip("/") or "/"
    if route in _NON_RESOURCE_EXACT and not (pins.namespaces and route == "/metrics"):
        return None
    if route.startswith(_NON_RESOURCE_PREFIXES) or route in ("/livez", "/readyz", "/healthz", "/openapi"):
        return None
    segments = route.strip("/").split("/")
    if segments[0] == "api" and len(segments) >= 2:
        rest = segments[2:]
    elif segments[0] == "apis" and len(segments) >= 3:
        rest = segments[3:]
    else:
        return R.RAW_PATH, reason
    lowered = [s.lower() for s in rest]
    if any(is_secret_type(s) for s in lowered):
        return R.SECRET, R.secret_exposure(f"--raw {path!r}")
    if _REACH_IN & set(lowered):
        return R.RAW_PATH, f"--raw {path!r} reaches into a workload or node (proxy/exec/attach/portforward)"
    if pins.namespaces and (len(rest) < 2 or rest[0] != "namespaces" or rest[1] not in pins.namespaces):
        ns = ", ".join(pins.namespaces)
        return (
            R.NAMESPACE,
            f"this session may only read namespaces {ns}; use a path under /namespaces/<ns>/",
        )
    return None


def check_reads(inv: Invocation, pins: Pins) -> tuple[str, str] | None:
    """(rule, reason) for the first per-verb limit the invocation breaks, or None."""
    path = inv.path
    for flag in inv.flags:
        if flag.name in ("filename", "kustomize"):
            return R.MANIFEST, (
                f"{flag.written} reads manifests (possibly remote, with hidden kinds); "
                "name the resources on the command line instead"
            )
        if flag.name == "output-directory":
            return R.READ_LOCAL_WRITE, f"{flag.written} writes files; drop it and read the dump from stdout"
    if path == ("get",):
        raw = inv.last("raw")
        if raw is not None:
            return raw_path_problem(raw, pins)
        if names_secrets(inv):
            output = (inv.last("output") or "").strip()
            if output not in SAFE_SECRET_OUTPUTS:
                return R.SECRET, R.secret_exposure(f"-o {output}")
            for name in ("template", "sort-by"):
                if inv.has(name):
                    return R.SECRET, R.secret_exposure(f"--{name} on secrets")
    elif path in (("describe",), ("wait",)) and names_secrets(inv):
        return R.SECRET, R.secret_exposure(f"'{inv.verb}' on secrets")
    elif path == ("config", "view"):
        for name in ("raw", "flatten"):
            if inv.is_true(name):
                return R.SECRET, (
                    f"config view --{name} prints the kubeconfig's credentials; "
                    "plain 'kubectl config view' shows everything else"
                )
    elif path == ("cluster-info", "dump") and pins.namespaces:
        wanted = {n for v in inv.values("namespaces") for n in v.split(",") if n}
        if not wanted or not wanted <= set(pins.namespaces):
            ns = ",".join(pins.namespaces)
            return R.NAMESPACE, f"this session may only read namespaces {ns}; add --namespaces {ns}"
    return None
