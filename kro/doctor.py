"""`kro doctor`: say what kro finds (kubectl, kubetail, kubeconfig, contexts, audit log) and what is wrong."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kro.sandbox import kubeconfig as kc
from kro.sandbox.session_dir import find_real
from kro.shims.audit import default_path
from kro.shims.cache import cache_root
from kro.shims.errors import ExitStatus, KroError
from kro.shims.executor import run_to_end
from kro.shims.session import SESSION_FILE, Session, load_session

DESCRIPTION = """Check that kro can be used here, and say how to fix what is wrong.

One line per check: ✔ fine, ✘ a problem (its fix on the next line), · information or not checked.
  kro         this kro and the Python it runs on
  session     whether this shell runs inside a kro session (KRO_SESSION, set by kro-run); inside,
              the session's pinned context, kubeconfig, kubectl and audit log are the ones checked
  shim        inside a session: whether `kubectl` on PATH is the session's shim (a shell start-up
              file that resets PATH would let calls skip kro's policy)
  agent       inside a session: what kro-run set up for the agent CLI (shell prefix, hook, prompt)
  proxy       inside a session: whether kro's API proxy holds the credentials (not with --direct)
  kubectl     the real kubectl (PATH without kro's shims) and its client version
  kubetail    the real kubetail, if any (optional: without it kro answers kubetail through kubectl logs)
  kubeconfig  the files kubectl would read: --kubeconfig, else $KUBECONFIG, else ~/.kube/config
  contexts    the contexts in them (* marks current-context)
  context     the context kro pins: --context, else the session's, else current-context
  reachable   `kubectl --context C get --raw /readyz` through the real kubectl, with a short timeout
  skew        kubectl's client and the server's versions: more than one minor version apart is outside
              kubectl's version skew policy (a warning: reads mostly work, some fail oddly)
  audit-log   whether the audit log can be appended to (it is opened and closed; nothing is written)
  cache       the bulk-output cache directory of envelope mode"""
EPILOG = """exit status:
  0  kro is usable here
  1  something blocks use: kubectl missing, no kubeconfig or context, the context unreachable,
     the audit log unwritable, or (inside a session) kubectl on PATH is not the session's shim
  2  usage error

--json prints {"ok": bool, "checks": [{"name", "ok", "detail", "fix"?}]}; "ok" is false for a
problem or a check that could not run.

examples:
  kro doctor                              check the current context of your kubeconfig
  kro doctor --context prod               check another context before `kro-run --context prod`
  kro-run -- kro doctor                   check from inside a session, as an agent would see it
  kro doctor --json | jq '.checks[] | select(.ok | not)'
"""
INSTALL_KUBECTL = "install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH"
# States of a check: ok and info pass; fail blocks use; warn is a problem that does not; skip = not run.
BLOCKING = "fail"
MARK = {"ok": "✔", "info": "·", "skip": "·", "warn": "✘", "fail": "✘"}


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    state: str
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """Whether this check passed (information counts as passing)."""
        return self.state in ("ok", "info")

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of one check."""
        out: dict[str, object] = {"name": self.name, "ok": self.ok, "detail": self.detail}
        if self.fix:
            out["fix"] = self.fix
        return out


@dataclass
class Target:
    """What the checks look at: the real tools, the kubeconfig, the context, the audit log."""

    kubectl: str | None
    kubetail: str | None
    kubeconfig_flag: str | None
    context_flag: str | None
    audit_log: Path
    session: Session | None = None


def build_parser() -> argparse.ArgumentParser:
    """kro doctor's command line."""
    parser = argparse.ArgumentParser(
        prog="kro doctor",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--context", metavar="NAME", help="the context to check (default: current-context)")
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="kubeconfig to check (default: $KUBECONFIG, else ~/.kube/config)"
    )
    parser.add_argument(
        "--audit-log",
        metavar="PATH",
        type=Path,
        help=f"audit log to check (default: the session's, else $KRO_AUDIT_LOG, else {default_path()})",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds to wait for /readyz (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def _clean_env(env: Mapping[str, str]) -> dict[str, str]:
    """kubectl's environment for the checks: the executor's allowlist, as a session would pin it now."""
    from kro.shims.executor import standalone_env

    return standalone_env(env)


def check_kro() -> Check:
    """This kro and its Python."""
    from kro import __version__

    return Check("kro", "info", f"kro {__version__} on Python {sys.version.split()[0]} ({sys.executable})")


def check_session(env: Mapping[str, str]) -> tuple[Check, Session | None]:
    """Inside a kro session or not; inside, the session it belongs to."""
    directory = env.get("KRO_SESSION")
    if not directory:
        return Check("session", "info", "not inside a kro session (start agents with kro-run)"), None
    try:
        session = load_session(os.path.join(directory, SESSION_FILE))
    except KroError as exc:
        fix = "restart the agent with kro-run (the session directory is gone or damaged)"
        return Check("session", BLOCKING, str(exc), fix), None
    detail = (
        f"inside kro session {session.id} ({session.dir}): context {session.context}, {session.output} output"
    )
    if session.namespaces:
        detail += f", namespaces {', '.join(session.namespaces)}"
    return Check("session", "ok", detail), session


def check_shim(session: Session, env: Mapping[str, str]) -> Check:
    """Inside a session, `kubectl` on PATH must be the session's shim."""
    shim = os.path.join(session.dir, "bin", "kubectl")
    found = shutil.which("kubectl", path=env.get("PATH", ""))
    if found and os.path.realpath(found) == os.path.realpath(shim):
        return Check("shim", "ok", f"kubectl on PATH is the session's shim ({shim})")
    return Check(
        "shim",
        BLOCKING,
        f"kubectl on PATH is {found or 'missing'}, not the session's shim {shim}",
        f"put {os.path.dirname(shim)} first on PATH; a shell start-up file (~/.bashrc, ~/.zshrc) that "
        "resets PATH lets kubectl calls skip kro",
    )


def check_proxy(session: Session) -> Check:
    """Inside a session: whether kro's API proxy holds the credentials (off with kro-run --direct)."""
    if not session.proxy:
        return Check(
            "proxy", "warn",
            "no API proxy (kro-run --direct): the session kubeconfig holds the pinned credentials, so a "
            "client that skips the shim (/usr/bin/kubectl, curl, a client library) is not checked",
            "start the session without --direct",
        )  # fmt: skip
    return Check(
        "proxy", "ok",
        f"kro's API proxy at {session.proxy} holds the credentials; every client is decided per request "
        "(reads only, Secret values emptied) and audited",
    )  # fmt: skip


def client_version(kubectl: str, env: Mapping[str, str]) -> tuple[str | None, str]:
    """kubectl's client gitVersion, or None and why not."""
    try:
        proc = run_to_end([kubectl, "version", "--client", "-o", "json"], _clean_env(env), 20)
    except OSError as exc:
        return None, str(exc)
    if proc.timed_out:
        return None, f"{kubectl} did not finish within 20 s"
    stdout, stderr = _text(proc.stdout), _text(proc.stderr)
    try:
        version = json.loads(stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        lines = (stderr or stdout).strip().splitlines()
        return None, lines[0] if lines else f"exit {proc.exit_code}"
    return str(version), ""


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def check_kubectl(target: Target, env: Mapping[str, str]) -> Check:
    """The real kubectl and its client version."""
    if target.kubectl is None:
        return Check("kubectl", BLOCKING, "not found on PATH (kro's shims do not count)", INSTALL_KUBECTL)
    if not os.access(target.kubectl, os.X_OK):
        fix = "install kubectl again and restart the session with kro-run"
        return Check("kubectl", BLOCKING, f"{target.kubectl} is not executable", fix)
    version, error = client_version(target.kubectl, env)
    if version is None:
        return Check("kubectl", BLOCKING, f"{target.kubectl} does not run: {error}", INSTALL_KUBECTL)
    note = " (Google Cloud SDK dispatcher: it runs the kubectl.1.xx matching the server)"
    return Check("kubectl", "ok", f"{target.kubectl} {version}{note if 'dispatcher' in version else ''}")


def check_kubetail(target: Target) -> Check:
    """The real kubetail, which is optional."""
    if target.kubetail:
        return Check("kubetail", "ok", target.kubetail)
    return Check("kubetail", "info", "not found (optional; kro answers kubetail calls with kubectl logs)")


def check_kubeconfig(target: Target, env: Mapping[str, str]) -> tuple[list[Check], kc.Kubeconfig | None]:
    """The kubeconfig files and the contexts they hold."""
    if target.session:
        files, explicit = [Path(target.session.kubeconfig)], True
    else:
        files, explicit = kc.kubeconfig_files(target.kubeconfig_flag, env), bool(target.kubeconfig_flag)
    try:
        config = kc.load(files, explicit=explicit)
    except KroError as exc:
        fix = (
            "get one from your cluster's CLI (e.g. gcloud container clusters get-credentials, "
            "aws eks update-kubeconfig), or pass --kubeconfig PATH / set KUBECONFIG"
        )
        return [Check("kubeconfig", BLOCKING, str(exc), fix), _skip("contexts", "no kubeconfig")], None
    missing = [str(f) for f in files if f not in config.files]
    detail = ", ".join(str(f) for f in config.files)
    if target.session:
        detail += (
            " (names only kro's API proxy)"
            if target.session.proxy
            else " (the session's minified copy, holding only the pinned context)"
        )
    if missing:
        detail += f"; not found: {', '.join(missing)}"
    checks = [Check("kubeconfig", "ok", detail)]
    if not config.contexts:
        fix = "add a context to the kubeconfig (your cluster's CLI, e.g. gcloud or aws eks, writes one)"
        checks.append(Check("contexts", BLOCKING, "the kubeconfig holds no contexts", fix))
    else:
        names = [f"{n}*" if n == config.current_context else n for n in sorted(config.contexts)]
        checks.append(Check("contexts", "ok", f"{len(names)}: {', '.join(names)}"))
    return checks, config


def check_context(target: Target, config: kc.Kubeconfig) -> tuple[Check, str | None]:
    """The context kro pins, and where it points."""
    if target.session and target.context_flag and target.context_flag != target.session.context:
        return Check(
            "context",
            BLOCKING,
            f"this session is pinned to {target.session.context!r}, not {target.context_flag!r}",
            f"drop --context, or start a new session: kro-run --context {target.context_flag} …",
        ), None
    try:
        context = kc.choose_context(config, target.context_flag)
    except KroError as exc:
        known = ", ".join(sorted(config.contexts)) or "(none)"
        return Check("context", BLOCKING, str(exc), f"pass --context with one of: {known}"), None
    entry = config.contexts[context]
    cluster = config.clusters.get(str(entry.get("cluster")), {})
    where = f"cluster {entry.get('cluster')} at {cluster.get('server', '(no server)')}"
    namespace = f", namespace {entry['namespace']}" if entry.get("namespace") else ""
    how = (
        "pinned by the session"
        if target.session
        else ("--context" if target.context_flag else "current-context")
    )
    return Check("context", "ok", f"{context} ({how}; {where}, user {entry.get('user')}{namespace})"), context


def _pinned(target: Target, env: Mapping[str, str], *args: str) -> tuple[list[str], dict[str, str]]:
    """The real kubectl's argv and environment for `args`, pinned like a session call (no --context yet)."""
    assert target.kubectl is not None
    argv = [target.kubectl, *args]
    child_env = _clean_env(env)
    if target.session:
        from kro.shims.executor import session_env

        child_env = session_env(env, target.session)
        argv.append(f"--kubeconfig={target.session.kubeconfig}")
        if target.session.kube_cache_dir:
            argv.append(f"--cache-dir={target.session.kube_cache_dir}")
    elif target.kubeconfig_flag:
        argv.append(f"--kubeconfig={target.kubeconfig_flag}")
    return argv, child_env


def minor_skew(client: str, server: str) -> int | None:
    """How many minor versions apart two gitVersions ('v1.32.4', 'v1.36.0-x') are; None if unreadable."""
    found = [re.match(r"v?(\d+)\.(\d+)", v) for v in (client, server)]
    if found[0] is None or found[1] is None:
        return None
    (cmaj, cmin), (smaj, smin) = (tuple(int(x) for x in m.groups()) for m in found if m is not None)
    return abs(cmin - smin) if cmaj == smaj else None


def check_skew(target: Target, context: str, env: Mapping[str, str], timeout: float) -> Check:
    """kubectl's client against the server's version: kubectl supports one minor version either side."""
    argv, child_env = _pinned(target, env, "version", "-o", "json")
    argv += [f"--context={context}", f"--request-timeout={timeout:g}s"]
    try:
        proc = run_to_end(argv, child_env, timeout * 2 + 10)
        doc = json.loads(_text(proc.stdout))
        client, server = str(doc["clientVersion"]["gitVersion"]), str(doc["serverVersion"]["gitVersion"])
    except (OSError, ValueError, KeyError, TypeError):
        return _skip("skew", "kubectl version did not report both versions")
    skew = minor_skew(client, server)
    detail = f"kubectl {client}, server {server}"
    if skew is None:
        return Check("skew", "info", f"{detail} (major versions differ or unreadable)")
    if skew > 1:
        server_minor = re.match(r"v?\d+\.(\d+)", server)
        wanted = f"1.{server_minor.group(1)}" if server_minor else "the server's minor version"
        return Check(
            "skew",
            "warn",
            f"{detail}: {skew} minor versions apart, outside kubectl's supported skew (one minor either "
            "side)",
            f"install kubectl {wanted} (or one minor version either side) and put it first on PATH",
        )
    return Check("skew", "ok", f"{detail}: within kubectl's supported skew")


def readyz(target: Target, context: str, env: Mapping[str, str], timeout: float) -> Check:
    """GET /readyz through the real kubectl, pinned like a session call."""
    argv, child_env = _pinned(target, env, "get", "--raw", "/readyz")
    argv += [f"--context={context}", f"--request-timeout={timeout:g}s"]
    started = time.monotonic()
    try:
        proc = run_to_end(argv, child_env, timeout * 2 + 10)
    except OSError as exc:
        return _unreachable(context, str(exc))
    if proc.timed_out:
        return _unreachable(context, f"no answer within {timeout * 2 + 10:g} s")
    took = (time.monotonic() - started) * 1000
    if proc.exit_code == 0:
        answer = _text(proc.stdout).strip().splitlines()[:1] or ["ok"]
        return Check("reachable", "ok", f"{context} is reachable (/readyz: {answer[0]}, {took:.0f} ms)")
    error = (_text(proc.stderr).strip().splitlines() or [f"kubectl exited {proc.exit_code}"])[-1]
    if "(Forbidden)" in error:
        return Check(
            "reachable", "ok", f"{context} is reachable (the API server answered; /readyz is forbidden)"
        )
    if "Unauthorized" in error or "provide credentials" in error:
        return Check(
            "reachable",
            BLOCKING,
            f"{context}: the API server rejects the credentials ({error})",
            "refresh your credentials (e.g. gcloud auth login, aws sso login, or a new token) and retry",
        )
    return _unreachable(context, error)


def _unreachable(context: str, error: str) -> Check:
    fix = (
        f"check that the cluster is up and reachable from here (VPN, proxy) and that "
        f"`kubectl --context {context} get --raw /readyz` works"
    )
    return Check("reachable", BLOCKING, f"{context} is not reachable: {error}", fix)


def _skip(name: str, why: str) -> Check:
    return Check(name, "skip", f"not checked: {why}")


def check_audit_log(path: Path) -> Check:
    """Whether the audit log can be appended to, without writing a record (or creating anything)."""
    fix = f"fix the permissions of {path}, or choose another file with --audit-log (kro-run --audit-log PATH)"
    if path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            return Check("audit-log", BLOCKING, f"{path} cannot be appended to: {exc.strerror}", fix)
        os.close(fd)
        size = path.stat().st_size
        return Check("audit-log", "ok", f"{path} (appendable, {size} bytes)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return Check("audit-log", "ok", f"{path} (will be created on the first call)")
    return Check("audit-log", BLOCKING, f"{path} cannot be created: {parent} is not writable", fix)


def check_cache(root: Path) -> Check:
    """The bulk-output cache of envelope mode (a problem here does not block plain output)."""
    fix = f"make {root} writable or set XDG_CACHE_HOME to a writable directory"
    if root.is_dir():
        if not os.access(root, os.W_OK | os.X_OK):
            return Check(
                "cache", "warn", f"{root} is not writable (envelope mode cannot keep bulk output)", fix
            )
        files = sum(1 for p in root.glob("*/*") if p.is_file())
        return Check("cache", "ok", f"{root} ({files} cached output(s); `kro cache prune` trims it)")
    parent = root.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if os.access(parent, os.W_OK | os.X_OK):
        return Check("cache", "ok", f"{root} (created on the first bulk output)")
    return Check("cache", "warn", f"{root} cannot be created: {parent} is not writable", fix)


def check_agent(env: Mapping[str, str]) -> Check:
    """What kro-run set up for the agent in this session (sandbox/agents.py), from agent.json."""
    path = Path(env.get("KRO_SESSION", "")) / "agent.json"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return Check("agent", "info", "none (not an agent kro knows, or kro-run --no-agent-setup)")
    except (OSError, ValueError) as exc:
        return Check("agent", "warn", f"{path} cannot be read: {exc}")
    items = "; ".join(str(item[0]) for item in record.get("items") or [])
    return Check("agent", "info", f"{record.get('title')}: {items} (kro-run --no-agent-setup turns it off)")


def diagnose(args: argparse.Namespace, env: Mapping[str, str]) -> list[Check]:
    """Every check, in order; later ones are skipped when what they need is missing."""
    checks = [check_kro()]
    session_check, session = check_session(env)
    checks.append(session_check)
    if session:
        checks += [check_shim(session, env), check_agent(env), check_proxy(session)]
        kubectl: str | None = session.kubectl
        kubetail = session.kubetail
        audit = Path(args.audit_log or session.audit_log)
    else:
        kubectl = find_real("kubectl", env.get("PATH", ""))
        kubetail = find_real("kubetail", env.get("PATH", ""))
        audit = Path(args.audit_log or env.get("KRO_AUDIT_LOG") or default_path())
    target = Target(kubectl, kubetail, args.kubeconfig, args.context, audit.expanduser().absolute(), session)
    kubectl_check = check_kubectl(target, env)
    checks.append(kubectl_check)
    checks.append(check_kubetail(target))
    config_checks, config = check_kubeconfig(target, env)
    checks += config_checks
    context = None
    if config is None:
        checks.append(_skip("context", "no kubeconfig"))
    else:
        context_check, context = check_context(target, config)
        checks.append(context_check)
    if context is None:
        checks.append(_skip("reachable", "no context"))
    elif kubectl_check.state == BLOCKING:
        checks.append(_skip("reachable", "kubectl is not usable"))
    else:
        checks.append(reachable := readyz(target, context, env, args.timeout))
        if reachable.state == "ok":
            checks.append(check_skew(target, context, env, args.timeout))
    checks.append(check_audit_log(target.audit_log))
    checks.append(check_cache(cache_root()))
    return checks


def render(checks: list[Check]) -> str:
    """The plain-text report."""
    lines = []
    for check in checks:
        lines.append(f"{MARK[check.state]} {check.name}: {check.detail}")
        if check.fix and not check.ok:
            lines.append(f"    fix: {check.fix}")
    blocking = [c.name for c in checks if c.state == BLOCKING]
    if blocking:
        lines.append(f"kro cannot be used here yet: fix {', '.join(blocking)} (see above)")
    else:
        lines.append("kro is ready.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Entry point of `kro doctor`."""
    args = build_parser().parse_args(argv)
    if args.timeout <= 0:
        build_parser().error("--timeout must be a positive number of seconds")
    checks = diagnose(args, os.environ)
    usable = not any(c.state == BLOCKING for c in checks)
    if args.json:
        report = {"ok": usable, "checks": [c.as_dict() for c in checks]}
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(checks))
    return ExitStatus.OK if usable else ExitStatus.FAILED
