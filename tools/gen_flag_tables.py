"""Generate shims/data/kubectl_flags.json, kubectl's commands and flags, from the installed binaries."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "shims" / "data" / "kubectl_flags.json"

Path_ = tuple[str, ...]

# pflag's NoOptDefVal on non-bool flags cannot be seen in help text. In kubectl's source
# (staging/src/k8s.io/kubectl/pkg/cmd/...) only these set it: util/helpers.go AddDryRunFlag
# ("unchanged"), util/helpers.go AddValidateFlags ("strict"), delete/delete_flags.go cascade
# ("background"). Every flag name is also probed against the binaries (see _probe_no_opt_def),
# and a disagreement with this list fails the generation.
OPTIONAL_VALUE_FLAGS = frozenset({"dry-run", "validate", "cascade"})

# Cobra aliases never show in help. Candidates read from kubectl's source; each one is kept only
# when `kubectl PARENT ALIAS --help` prints exactly what `kubectl PARENT NAME --help` prints.
ALIAS_CANDIDATES: dict[Path_, tuple[str, ...]] = {
    ("cluster-info",): ("clusterinfo",),  # dropped from kubectl long ago; kept as a negative check
    ("top", "node"): ("nodes", "no"),
    ("top", "pod"): ("pods", "po"),
    ("set", "serviceaccount"): ("sa",),
    ("create", "configmap"): ("cm",),
    ("create", "cronjob"): ("cj",),
    ("create", "deployment"): ("deploy",),
    ("create", "ingress"): ("ing",),
    ("create", "namespace"): ("ns",),
    ("create", "poddisruptionbudget"): ("pdb",),
    ("create", "priorityclass"): ("pc",),
    ("create", "quota"): ("resourcequota",),
    ("create", "service"): ("svc",),
    ("create", "serviceaccount"): ("sa",),
}

# Top-level commands that help does not list (hidden, or cobra's own); recorded when they exist.
HIDDEN_CANDIDATES = ("__complete", "__completeNoDesc", "alpha", "completion", "help", "options")
# Cobra's completion entry points disable flag parsing: every word after them is an argument.
NO_FLAG_PARSING = frozenset({"__complete", "__completeNoDesc"})

HELP_FLAG: dict[str, Any] = {"short": "h", "kind": "bool", "type": "bool"}

SECTION_RE = re.compile(r"^(?:Available Commands|[A-Z][A-Za-z ]*Commands(?: \([^)]*\))?):$")
COMMAND_RE = re.compile(r"^  ([A-Za-z0-9_][-A-Za-z0-9_.]*)(?: +\S.*)?$")
OPTION_RE = re.compile(r"^    (?:-(\S), )?--([^=\s]+)=(.*):$")
DURATION_RE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")
KUBECTL_VERSION_RE = re.compile(r"^kubectl\.1\.\d+$")


class GenerationError(Exception):
    """The binaries disagree with what the generator knows; the tables would be wrong."""


@dataclass(frozen=True)
class Flag:
    """One flag as one binary declares it."""

    short: str | None
    kind: str
    type: str


@dataclass
class Command:
    """One command of one binary."""

    hidden: bool
    flags: dict[str, Flag] = field(default_factory=dict)
    subcommands: list[str] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)
    local: dict[str, Flag] = field(default_factory=dict)


@dataclass
class Scan:
    """Everything read from one binary."""

    exe: str
    version: str
    global_flags: dict[str, Flag]
    commands: dict[Path_, Command]


@dataclass(frozen=True)
class Output:
    """A finished kubectl run."""

    rc: int
    out: str
    err: str


class Runner:
    """Runs kubectl invocations on a thread pool, in a clean environment."""

    def __init__(self, workers: int, scratch: str) -> None:
        """Prepare the pool and the environment."""
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.env = _clean_env(scratch)
        self._memo: dict[tuple[object, ...], Future[Output]] = {}
        self._lock = threading.Lock()

    def submit(self, exe: str, args: Sequence[str]) -> Future[Output]:
        """Start `exe args` on the pool."""
        return self.pool.submit(self._run, exe, list(args))

    def shared(self, key: tuple[object, ...], exe: str, args: Sequence[str]) -> Future[Output]:
        """Start `exe args` unless a run with the same key (from any binary) was started already."""
        with self._lock:
            fut = self._memo.get(key)
            if fut is None:
                fut = self._memo[key] = self.submit(exe, args)
            return fut

    def _run(self, exe: str, args: list[str]) -> Output:
        proc = subprocess.run(
            [exe, *args],
            capture_output=True,
            env=self.env,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        return Output(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )


def _clean_env(scratch: str) -> dict[str, str]:
    """Return an environment in which kubectl can only print what it was built with."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBECTL_", "KUBECONFIG", "KUBERC", "KUBECACHEDIR", "LC_", "LANG"))
    }
    env.update(
        # No user kubeconfig, preferences (kuberc aliases would add commands) or plugins
        # (an unknown command would exec kubectl-<name>), English help text.
        KUBECONFIG=os.devnull,
        KUBERC="off",
        PATH=scratch,
        HOME=scratch,
        LC_ALL="C",
        LANG="C",
        # Start-up dominates the run time; the garbage collector only slows it down.
        GOGC="off",
        GOMAXPROCS="1",
    )
    return env


def discover_kubectl() -> list[str]:
    """Return the kubectl on PATH (resolved) and the bundled kubectl.1.NN binaries beside it."""
    session = os.environ.get("KRO_SESSION")
    found: str | None = None
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or (session and os.path.realpath(entry).startswith(os.path.realpath(session))):
            continue  # our own shim would answer in a kro session
        candidate = shutil.which("kubectl", path=entry)
        if candidate:
            found = candidate
            break
    if found is None:
        return []
    real = os.path.realpath(found)
    result = [real]
    folder = os.path.dirname(real)
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if KUBECTL_VERSION_RE.match(name) and os.access(path, os.X_OK):
            result.append(os.path.realpath(path))
    return list(dict.fromkeys(result))


def _type_of(default: str) -> str:
    """Infer a flag's pflag type from the default kubectl's help prints."""
    if len(default) >= 2 and default[0] == default[-1] == "'":
        return "string"  # kubectl quotes the default exactly when Value.Type() == "string"
    if default in ("true", "false"):
        return "bool"
    if default.startswith("[") and default.endswith("]"):
        return "slice"  # stringSlice, stringArray, stringToString... print alike
    if re.fullmatch(r"-?\d+", default):
        return "int"
    if re.fullmatch(r"-?\d+\.\d+", default):
        return "float"
    if DURATION_RE.match(default):
        return "duration"
    return "other"


def _kind_of(name: str, type_: str) -> str:
    """Map a flag to how pflag consumes arguments for it."""
    if type_ == "bool":
        return "bool"
    if name in OPTIONAL_VALUE_FLAGS:
        return "optional"
    return "value"


def parse_options(text: str) -> dict[str, Flag]:
    """Parse the flags in an "Options:" block (or `kubectl options`) of kubectl's help."""
    flags: dict[str, Flag] = {}
    inside = False
    for line in text.splitlines():
        if line.startswith(("Options:", "The following options can be passed to any command:")):
            inside = True
            continue
        if line.startswith("Usage:"):
            inside = False
        if not inside:
            continue
        m = OPTION_RE.match(line)
        if m:
            short, name, default = m.group(1), m.group(2), m.group(3)
            type_ = _type_of(default)
            flags[name] = Flag(short, _kind_of(name, type_), type_)
    return flags


def parse_subcommands(text: str) -> list[str]:
    """Return the commands listed under the "... Commands:" headings of a help text."""
    names: list[str] = []
    inside = False
    for line in text.splitlines():
        if SECTION_RE.match(line):
            inside = True
            continue
        if inside:
            m = COMMAND_RE.match(line)
            if m:
                names.append(m.group(1))
            else:
                inside = False
    return names


def parse_completion(text: str) -> dict[str, str | None]:
    """Return long flag name -> shorthand from `kubectl __complete PATH... -`."""
    flags: dict[str, str | None] = {}
    last: str | None = None
    for line in text.splitlines():
        if line.startswith(":"):
            break
        word = line.split("\t", 1)[0]
        if word.startswith("--"):
            last = word[2:]
            flags[last] = None
        elif word.startswith("-") and len(word) == 2 and last is not None:
            flags[last] = word[1]  # cobra prints a shorthand right after its long form
    return flags


def _version(out: Output, exe: str) -> str:
    """Return the client gitVersion from `kubectl version --client -o json`."""
    try:
        return str(json.loads(out.out)["clientVersion"]["gitVersion"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GenerationError(f"{exe}: cannot read its version: {out.err.strip()}") from exc


def _version_key(version: str) -> tuple[int, ...]:
    """Sort key for v1.NN.P[-suffix]."""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("-", 1)[0]))


def _exists(out: Output) -> bool:
    """Tell whether `kubectl NAME --help` found a command."""
    return out.rc == 0 and "unknown command" not in out.err


def scan(exe: str, runner: Runner) -> Scan:
    """Walk one binary's whole command tree."""
    version_f = runner.submit(exe, ["version", "--client", "-o", "json"])
    options_f = runner.submit(exe, ["options"])
    helps: dict[Path_, Output] = {}
    completions: dict[Path_, Future[Output]] = {}
    hidden: set[Path_] = set()
    level: list[Path_] = [()]
    hidden_f = {name: runner.submit(exe, [name, "--help"]) for name in HIDDEN_CANDIDATES}
    while level:
        help_f = {p: runner.submit(exe, [*p, "--help"]) for p in level if p not in helps}
        nxt: list[Path_] = []
        for p in level:
            if p not in helps:
                helps[p] = help_f[p].result()
            if p and p[0] in NO_FLAG_PARSING:
                continue
            if p:
                # Binaries printing the same help for a command and its ancestors declare the
                # same flags for it (same source): ask cobra's completion once for all of them.
                chain = tuple(helps[p[:i]].out for i in range(1, len(p) + 1))
                completions[p] = runner.shared(("complete", p, chain), exe, ["__complete", *p, "-"])
            nxt.extend((*p, s) for s in parse_subcommands(helps[p].out))
        if not level[0]:
            for name, fut in hidden_f.items():
                out = fut.result()
                if (name,) not in nxt and _exists(out):
                    hidden.add((name,))
                    helps[(name,)] = out
                    nxt.append((name,))
        level = nxt

    global_flags = parse_options(options_f.result().out)
    if not global_flags:
        raise GenerationError(f"{exe}: `kubectl options` listed no flags")
    commands: dict[Path_, Command] = {}
    for p, out in helps.items():
        if not p:
            continue
        cmd = Command(hidden=p in hidden, subcommands=parse_subcommands(out.out))
        if p[0] in NO_FLAG_PARSING:
            cmd.subcommands = []
        else:
            cmd.local = parse_options(out.out)
        commands[p] = cmd
    for p, cmd in commands.items():
        cmd.flags = _resolve_flags(exe, p, commands, global_flags, completions.get(p), runner)

    alias_f: dict[tuple[Path_, str], Future[Output]] = {}
    for p, aliases in ALIAS_CANDIDATES.items():
        if p in commands:
            for alias in aliases:
                alias_f[(p, alias)] = runner.submit(exe, [*p[:-1], alias, "--help"])
    for (p, alias), fut in alias_f.items():
        out = fut.result()
        if out.rc == 0 and out.out and out.out == helps[p].out:
            commands[p].aliases.add(alias)
    return Scan(exe, _version(version_f.result(), exe), global_flags, commands)


def _resolve_flags(
    exe: str,
    path: Path_,
    commands: dict[Path_, Command],
    global_flags: dict[str, Flag],
    completion: Future[Output] | None,
    runner: Runner,
) -> dict[str, Flag]:
    """Return a command's non-global flags: its own, and those inherited from its ancestors."""
    where = f"{exe} {' '.join(path)}"
    flags = dict(commands[path].local)
    flags.pop("help", None)
    if completion is None:
        return flags
    out = completion.result()
    accepted = parse_completion(out.out)
    if "help" not in accepted and accepted and set(accepted) <= set(flags):
        # Cobra completes only the required flags until they are set: set them and ask again.
        sample = {"bool": "true", "int": "1", "float": "1", "duration": "1s"}
        given = [f"--{n}={sample.get(flags[n].type, 'x')}" for n in accepted]
        out = runner.submit(exe, ["__complete", *path, *given, "-"]).result()
        accepted = {**accepted, **parse_completion(out.out)}
    if "help" not in accepted:
        raise GenerationError(f"{where}: `__complete` listed no flags ({out.err.strip()})")
    accepted.pop("help")
    missing = sorted(set(flags) - set(accepted))
    if missing:
        raise GenerationError(f"{where}: help lists {missing}, completion does not")
    for name, short in accepted.items():
        if name in flags:
            if flags[name].short != short:
                raise GenerationError(
                    f"{where} --{name}: shorthand {flags[name].short!r} in help, {short!r} here"
                )
            continue
        if name in global_flags:
            continue  # e.g. config's own persistent --kubeconfig
        # Help hides persistent flags; the nearest ancestor that shows the name tells its kind.
        ancestors = (commands[path[:i]].local for i in range(len(path) - 1, 0, -1))
        inherited = next((local[name] for local in ancestors if name in local), None)
        if inherited is None or inherited.short != short:
            raise GenerationError(f"{where}: --{name} is accepted but its kind is unknown")
        flags[name] = inherited
    return flags


def _probe_no_opt_def(scans: list[Scan], runner: Runner) -> None:
    """Check every flag's kind against the binaries: only bool and optional flags may stand alone."""
    newest_first = sorted(scans, key=lambda s: _version_key(s.version), reverse=True)
    probes: dict[tuple[str, str, str], tuple[Path_, Flag, Future[Output]]] = {}
    probed: set[tuple[str, str]] = set()
    for s in newest_first:
        candidates: list[tuple[Path_, str, Flag]] = [((), n, f) for n, f in s.global_flags.items()]
        candidates += [(p, n, f) for p, c in sorted(s.commands.items()) for n, f in c.local.items()]
        for p, name, flag in candidates:
            # Each (name, kind) is probed once, in the newest binary declaring it that way;
            # the documented optional flags in every binary.
            if (name, flag.kind) in probed and name not in OPTIONAL_VALUE_FLAGS:
                continue
            if (s.exe, name, flag.kind) in probes:
                continue
            probed.add((name, flag.kind))
            args = ["__complete", *p, f"--{name}", "--"]
            probes[(s.exe, name, flag.kind)] = (p, flag, runner.submit(s.exe, args))
    errors: list[str] = []
    for (exe, name, _), (p, flag, fut) in probes.items():
        out = fut.result()
        text = out.out + out.err
        if "flag needs an argument" in text:
            standalone = False
        elif "Error while parsing" not in text and re.search(r"^:\d+$", out.out, re.M):
            standalone = True
        else:
            errors.append(f"{exe} {' '.join(p)} --{name}: probe inconclusive: {text.strip()[:200]}")
            continue
        if standalone != (flag.kind in ("bool", "optional")):
            state = "takes no value" if standalone else "requires a value"
            errors.append(f"{exe} {' '.join(p)} --{name} ({flag.type}) {state}; generator: {flag.kind}")
    if errors:
        raise GenerationError("flag kinds disagree with the binaries:\n  " + "\n  ".join(errors))


def _merge_flags(per_version: list[dict[str, Flag]], where: str) -> dict[str, Any]:
    """Union flags over versions; a flag whose kind differs between versions is a conflict."""
    merged: dict[str, Any] = {}
    names = sorted({n for flags in per_version for n in flags})
    for name in names:
        seen = [flags[name] for flags in per_version if name in flags]
        shorts = {f.short for f in seen if f.short is not None}
        if len(shorts) > 1:
            raise GenerationError(f"{where} --{name}: shorthand differs between versions: {sorted(shorts)}")
        kinds = {f.kind for f in seen}
        types = sorted({f.type for f in seen})
        merged[name] = {
            "short": shorts.pop() if shorts else None,
            "kind": kinds.pop() if len(kinds) == 1 else "conflict",
            "type": "|".join(types),
        }
    return merged


def _merge(scans: list[Scan]) -> dict[str, Any]:
    """Build the JSON document from the scans of all binaries."""
    global_flags = _merge_flags([s.global_flags for s in scans], "global")
    paths = sorted({p for s in scans for p in s.commands})

    def build(path: Path_) -> dict[str, Any]:
        present = [s.commands[path] for s in scans if path in s.commands]
        # A command's own flag may shadow a global one (debug --profile): it is kept.
        flags = _merge_flags([c.flags for c in present], " ".join(path))
        flags["help"] = dict(HELP_FLAG)
        children = sorted(p[-1] for p in paths if len(p) == len(path) + 1 and p[: len(path)] == path)
        return {
            "aliases": sorted({a for c in present for a in c.aliases}),
            "hidden": all(c.hidden for c in present),
            "flags": dict(sorted(flags.items())),
            "subcommands": {name: build((*path, name)) for name in children},
        }

    return {
        "source": {"kubectl": sorted({s.version for s in scans}, key=lambda v: (_version_key(v), v))},
        "global": global_flags,
        "commands": {p[0]: build(p) for p in paths if len(p) == 1},
    }


def scan_all(binaries: Sequence[str] | None = None) -> list[Scan]:
    """Scan each binary (default: those discover_kubectl finds), in parallel."""
    exes = list(binaries) if binaries is not None else discover_kubectl()
    if not exes:
        raise GenerationError("no kubectl found on PATH")
    with tempfile.TemporaryDirectory(prefix="gen-flag-tables-") as scratch:
        runner = Runner(max(2, (os.cpu_count() or 2) + 1), scratch)
        try:
            with ThreadPoolExecutor(max_workers=len(exes)) as walkers:
                scans = list(walkers.map(lambda exe: scan(exe, runner), exes))
            _probe_no_opt_def(scans, runner)
        finally:
            runner.pool.shutdown(wait=True, cancel_futures=True)
    return scans


def generate(binaries: Sequence[str] | None = None) -> dict[str, Any]:
    """Return the kubectl flag tables built from the installed binaries."""
    return _merge(scan_all(binaries))


def render(tables: dict[str, Any]) -> str:
    """Serialise the tables the way they are committed: one flag a line."""
    return _encode(tables, 0) + "\n"


def _encode(value: Any, depth: int) -> str:
    """JSON-encode, breaking lines only around objects that hold non-empty containers."""
    if isinstance(value, dict) and any(isinstance(v, dict | list) and v for v in value.values()):
        pad = "  " * (depth + 1)
        items = [f"{pad}{json.dumps(k)}: {_encode(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    return json.dumps(value, ensure_ascii=False)


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Flatten nested dicts into (dotted path, leaf) pairs; a flag's spec is one leaf."""
    if isinstance(value, dict) and value and "kind" not in value:
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def diff_summary(old: dict[str, Any], new: dict[str, Any], limit: int = 40) -> list[str]:
    """Describe how two tables differ, one line per changed leaf."""
    a, b = dict(_leaves(old)), dict(_leaves(new))
    lines = [f"- {k}: {a[k]!r}" for k in sorted(a.keys() - b.keys())]
    lines += [f"+ {k}: {b[k]!r}" for k in sorted(b.keys() - a.keys())]
    lines += [f"~ {k}: {a[k]!r} -> {b[k]!r}" for k in sorted(a.keys() & b.keys()) if a[k] != b[k]]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def _count(commands: dict[str, Any]) -> tuple[int, int]:
    """Count commands and per-command flag entries, recursively."""
    n_cmd = n_flag = 0
    for cmd in commands.values():
        sub_cmd, sub_flag = _count(cmd["subcommands"])
        n_cmd += 1 + sub_cmd
        n_flag += len(cmd["flags"]) + sub_flag
    return n_cmd, n_flag


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write or check")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        tables = generate()
    except GenerationError as exc:
        print(f"gen_flag_tables: {exc}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - start
    n_cmd, n_flag = _count(tables["commands"])
    summary = (
        f"{', '.join(tables['source']['kubectl'])}: {n_cmd} commands, {n_flag} command flags, "
        f"{len(tables['global'])} global flags ({elapsed:.1f}s)"
    )
    if args.check:
        try:
            committed = json.loads(args.output.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"gen_flag_tables: cannot read {args.output}: {exc}", file=sys.stderr)
            return 1
        if committed != tables:
            print(f"{args.output} is out of date ({summary}):", file=sys.stderr)
            print("\n".join(diff_summary(committed, tables)), file=sys.stderr)
            print("regenerate with: python tools/gen_flag_tables.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({summary})")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(tables), encoding="utf-8")
    print(f"wrote {args.output} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
