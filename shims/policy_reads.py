"""Per-verb limits on the allowed reads (docs/policy.md read.*, secret.*): manifests, raw paths, secrets."""

from __future__ import annotations

from kro.shims import rules as R
from kro.shims.model import Invocation, Pins

SAFE_SECRET_OUTPUTS = frozenset({"", "wide", "name"})
# Output formats whose value is a path kubectl opens (cli-runtime's template, jsonpath and columns flags).
FILE_FORMATS = frozenset({"go-template-file", "templatefile", "jsonpath-file", "custom-columns-file"})
JSONPATH_FORMATS = frozenset({"jsonpath", "jsonpath-as-json"})
# config view: kro renders these itself with every credential masked (see config_view.py).
MASKED_CONFIG_OUTPUTS = frozenset({"", "yaml", "json"})


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
    """(rule, reason) blocking `get --raw PATH`, or None when the path is a safe GET.

    The path is judged by the API proxy's request policy (api_policy.decide_request, the one raw-path
    judge: its path and query reading, routes, subresources and namespace pins), and more strictly: the
    argv must spell the path plainly, and no Secret may be read at all (the proxy would empty them).
    """
    from kro.shims import api_path
    from kro.shims.api_path import PathError, decoded_query
    from kro.shims.api_policy import REACH_IN, ApiPins, ApiRequest, decide_request

    reason = (
        f"--raw {path!r} is not a plain read kro can vouch for; raw paths may name health, "
        "version, discovery, openapi, metrics or non-secret resources under /api and /apis, so use one "
        "of those (a plain path: no '..', '//' or escapes) or 'kubectl get KIND' for objects"
    )
    route, _, query = path.partition("?")
    plain = path.startswith("/") and not any(bad in path for bad in ("..", "//", "\\", "#"))
    if not plain or "%" in route:  # the argv spells the path as kubectl sends it: plainly
        return R.RAW_PATH, reason
    try:
        pairs = decoded_query(query)
        where = api_path.route(api_path.split_path(route))
    except PathError:
        return R.RAW_PATH, reason
    if "secret" in query.lower() or any("secret" in f"{k}={v}".lower() for k, v in pairs):
        return R.RAW_PATH, reason
    if where.kind == "resource" and any(is_secret_type(p or "") for p in (where.resource, where.name,
                                                                          where.subresource)):  # fmt: skip
        return R.SECRET, R.secret_exposure(f"--raw {path!r}")  # what the proxy would empty, refused here
    # no discovery here: a cluster-wide read of any kind is refused under a namespace pin
    decision = decide_request(ApiRequest("GET", route, query, ()), ApiPins(pins.namespaces), _scope_unknown)
    if decision.rule == R.API_NAMESPACE:
        ns = ", ".join(pins.namespaces)
        resource = f"this session may only read namespaces {ns}; use a path under /namespaces/<ns>/"
        return R.NAMESPACE, resource if where.kind == "resource" else decision.reason
    if where.verb == "proxy" or where.subresource in REACH_IN:
        return R.RAW_PATH, (
            f"--raw {path!r} reaches into a workload or node (proxy/exec/attach/portforward); "
            "use logs, describe or get to inspect instead"
        )
    if not decision.allowed or decision.rewrite == "secrets":
        return R.RAW_PATH, reason
    return None


def _scope_unknown(group_version: str, resource: str) -> bool | None:
    return None


def check_reads(inv: Invocation, pins: Pins) -> tuple[str, str] | None:
    """(rule, reason) for the first per-verb limit the invocation breaks, or None."""
    path = inv.path
    for flag in inv.flags:
        if flag.name == "output" and output_format(flag.value or "")[0].strip().lower() in FILE_FORMATS:
            return R.LOCAL_FILE, R.local_file(f"-o {output_format(flag.value or '')[0]}")
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
            return secret_output_problem(inv)
    elif path in (("describe",), ("wait",)) and names_secrets(inv):
        return R.SECRET, R.secret_exposure(f"'{inv.verb}' on secrets")
    elif path == ("config", "view"):
        for name in ("raw", "flatten"):
            if inv.is_true(name):
                return R.SECRET, (
                    f"config view --{name} prints the kubeconfig's credentials; "
                    "plain 'kubectl config view' shows everything else"
                )
        return config_view_problem(inv)
    elif path == ("cluster-info", "dump") and pins.namespaces:
        wanted = {n for v in inv.values("namespaces") for n in v.split(",") if n}
        if not wanted or not wanted <= set(pins.namespaces):
            ns = ",".join(pins.namespaces)
            return R.NAMESPACE, f"this session may only read namespaces {ns}; add --namespaces {ns}"
    return None


def output_format(value: str) -> tuple[str, str | None]:
    """An -o value split as cli-runtime splits it: (format, inline template or None)."""
    name, eq, inline = value.partition("=")
    return name, (inline if eq else None)


def _templates(inv: Invocation, inline: str | None) -> list[str]:
    """The templates kubectl may use: the -o value's and every --template (judging all is the safe side)."""
    return [t for t in (inline, *inv.values("template")) if t]


def secret_output_problem(inv: Invocation) -> tuple[str, str] | None:
    """(rule, reason) when `get` on Secrets could print values, else None (docs/policy.md)."""
    output = inv.last("output") or ""
    name, inline = output_format(output)
    if output.strip() in SAFE_SECRET_OUTPUTS:
        if inv.has("template"):
            return R.SECRET, R.secret_exposure("--template on secrets")
    elif name in JSONPATH_FORMATS or name == "custom-columns":
        from kro.shims import jsonpath

        for template in _templates(inv, inline):
            if name == "custom-columns":
                columns = jsonpath.custom_columns(template)
                why = (
                    jsonpath.check_many(columns, jsonpath.SECRETS, "object")
                    if columns is not None
                    else "kubectl would reject the spec"
                )
            else:
                why = jsonpath.check(template, jsonpath.SECRETS, "root")
            if why:
                return R.SECRET, R.secret_fields(f"-o {name}", why)
    else:
        return R.SECRET, R.secret_exposure(f"-o {output}")
    sort_by = inv.values("sort-by")
    if sort_by:
        from kro.shims import jsonpath

        why = jsonpath.check_many(sort_by, jsonpath.SECRETS, "object")
        if why:
            return R.SECRET, R.secret_fields("--sort-by", why)
    return None


def config_view_problem(inv: Invocation) -> tuple[str, str] | None:
    """(rule, reason) when `config view` could print credentials kro cannot mask, else None."""
    output = inv.last("output") or ""
    name, inline = output_format(output)
    if name in MASKED_CONFIG_OUTPUTS and inline is None:
        if name == "" and inv.has("template"):
            return R.SECRET, R.config_credentials("--template")
        return None
    if name in JSONPATH_FORMATS:
        from kro.shims import jsonpath

        for template in _templates(inv, inline):
            why = jsonpath.check(template, jsonpath.KUBECONFIG, "config")
            if why:
                return R.SECRET, R.config_credentials(f"-o {name} ({why})")
        return None
    return R.SECRET, R.config_credentials(f"-o {output}")
