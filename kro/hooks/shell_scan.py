"""Find every kubectl/kubetail call in a shell command, and the ways it could skip the session's shim.

The walk is bounded by counted limits, never by the clock: nesting depth (MAX_DEPTH levels of `$( )`,
`sh -c`, `eval` …), the command's length (MAX_CHARS) and the characters scanned over all levels
(MAX_WORK). Past one of them it raises ScanLimit and the hook refuses the command (fail closed).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

TOOLS = ("kubectl", "kubetail")
SHIM_MARKER = b"kro.shims.shim"  # what kro's session shims carry (kro.sandbox.session_dir)
MAX_DEPTH = 8
MAX_CHARS = 64 * 1024
MAX_WORK = 4 * MAX_CHARS  # characters scanned over every level; each level rescans its own text


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VERSIONED = re.compile(r"^(kubectl|kubetail)\.\d[\w.+-]*$")  # the gcloud dispatcher's kubectl.1.32 …
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_PYTHON = re.compile(r"^(python|pypy)[0-9.]*$")
_FD = re.compile(r"\d+(?=[<>])")
_PUNCTUATION = frozenset(";&|()<>\n")
# Longest first: shlex glues neighbouring punctuation ("|(") and _split_operator takes it apart.
_OPERATORS = sorted(
    _names("&>> <<< ;;& && || ;; |& << >> &> >& <& <> >| ;&") | _PUNCTUATION, key=len, reverse=True
)
SEPARATORS = frozenset({";", "&", "&&", "||", "|", "|&", "\n", ";;", ";&", ";;&", "(", ")"})
REDIRECTS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<", "<<<"})
RESERVED = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac"}
)
# Variables the kro session decides; setting them for a kubectl call changes what it reaches.
SESSION_VARS = frozenset(
    {"KUBECONFIG", "KUBERC", "KUBECACHEDIR", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"}
    | {f"{p}_PROXY" for p in ("HTTP", "HTTPS", "NO", "ALL")}
    | {f"{p}_proxy" for p in ("http", "https", "no", "all")}
)


# Commands that only print or move their arguments: a kubectl among them is data, not a call.
INERT = _names(
    "echo printf grep egrep fgrep rg ag ack cat tac less more head tail wc sort uniq cut tr column nl fold "
    "ls stat file which whereis type man info apropos whatis help true false test [ [[ jq yq basename "
    "dirname realpath readlink touch mkdir rmdir rm cp mv ln chmod tee diff cmp comm od xxd hexdump "
    "strings sha256sum sha1sum md5sum base64 cd pushd popd pwd git set shopt trap wait read sleep date "
    "export declare typeset local readonly unset hash"
)
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "yash", "busybox"})
PRIVILEGED = frozenset({"sudo", "doas", "su", "runuser", "pkexec", "sg", "chroot", "nsenter", "unshare"})
REMOTE = frozenset({"ssh", "mosh", "rsh", "docker", "podman", "nerdctl", "lxc", "vagrant"})
RUNNERS = _names(
    "perl ruby node nodejs deno bun php lua luajit awk gawk mawk nawk Rscript R julia osascript tclsh wish "
    "expect pwsh powershell java groovy scala jshell make gmake just task source . parallel script "
    "tmux screen"
)


@dataclass(frozen=True)
class Call:
    """One kubectl/kubetail invocation found in the command."""

    tool: str
    program: str
    args: tuple[str, ...]
    shown: str
    problem: str | None = None  # a reason to refuse whatever the policy says
    unchecked: str | None = None  # why an allowed decision cannot be trusted (expansions, stdin)


class ScanLimit(Exception):
    """The command is past one of the walk's limits (depth, length, work): refuse it, naming the limit."""


@dataclass
class Scan:
    """What walking one Bash command found: kubectl calls and reasons to refuse outright."""

    text: str
    cwd: str
    calls: list[Call] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # code that only exists when the command runs (eval of an expansion, a script piped to a shell):
    # refused whenever kubectl may be reached, since its text cannot mention kubectl here
    hidden: list[str] = field(default_factory=list)
    path_change: str | None = None  # an earlier statement that changed PATH or a session variable
    mentions: bool = field(init=False)  # the command names kubectl/kubetail somewhere, even quoted
    work: int = 0  # characters scanned so far, over every level (MAX_WORK)
    in_code: int = 0  # how many eval / sh -c levels the walk is inside

    def __post_init__(self) -> None:
        if len(self.text) > MAX_CHARS:
            raise ScanLimit(
                f"the command is {len(self.text):,} characters long, over the hook's limit of "
                f"{MAX_CHARS:,} (hook.limit); split it, or write big files with the editor tool"
            )
        plain = re.sub(r"[\"'\\]", "", self.text).lower()
        self.mentions = any(tool in plain for tool in TOOLS)

    def charge(self, chars: int) -> None:
        """Count `chars` more characters scanned; ScanLimit past MAX_WORK."""
        self.work += chars
        if self.work > MAX_WORK:
            raise ScanLimit(
                f"checking the command would scan more than {MAX_WORK:,} characters over its nested "
                "levels, the hook's work limit (hook.limit); flatten it or run the kubectl calls on their own"
            )


def _word(word: str) -> str:
    if word and not re.search(r"[\s\"']", word):
        return word
    if '"' not in word:
        return f'"{word}"'
    return shlex.quote(word)


def _q(words: list[str] | tuple[str, ...], limit: int = 100) -> str:
    """Words as the agent wrote them (near enough), cut to `limit` characters."""
    text = " ".join(_word(w) for w in words)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- lexing ---------------------------------------------------------------------------------


def _read_word(text: str, i: int) -> tuple[str, int]:
    """The raw word starting at i (quotes kept) and where it ends."""
    start, quote = i, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c in " \t\r\n" or c in _PUNCTUATION:
            break
        i += 1
    return text[start:i], i


def prepare(text: str) -> tuple[str, list[str]]:
    """Drop comments, line continuations and here-document bodies (returned in order) from `text`.

    Also drops the fd number of a redirection (2>&1). shlex treats '#' inside a word as a comment,
    keeps backslash-newlines and cannot tell `2>x` from `2 >x`; the shell does all of that.
    """
    out: list[str] = []
    bodies: list[str] = []
    pending: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    quote: str | None = None
    word_start = True
    while i < n:
        c = text[i]
        if quote == "'":
            out.append(c)
            quote = None if c == "'" else quote
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            if text[i + 1] != "\n":
                out.append(text[i : i + 2])
            i += 2
            word_start = False
            continue
        if quote == '"':
            out.append(c)
            quote = None if c == '"' else quote
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif c == "#" and word_start:
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif word_start and (fd := _FD.match(text, i)):
            i = fd.end()  # the fd of 2>&1: gone, so `--tail 10 >x` keeps its 10
            continue
        elif text.startswith("<<<", i):
            out.append("<<<")
            i += 3
            word_start = True
            continue
        elif text.startswith("<<", i):
            j = i + 2
            strip_tabs = text.startswith("-", j)
            j += 1 if strip_tabs else 0
            while j < n and text[j] in " \t":
                j += 1
            raw, j = _read_word(text, j)
            pending.append((re.sub(r"[\"'\\]", "", raw), strip_tabs))
            out.append(f"<< {raw} ")
            i = j
            word_start = False
            continue
        elif c == "\n" and pending:
            out.append(c)
            i += 1
            for delimiter, strip_tabs in pending:
                lines: list[str] = []
                while i < n:
                    end = text.find("\n", i)
                    line = text[i : n if end < 0 else end]
                    i = n if end < 0 else end + 1
                    if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                        break
                    lines.append(line)
                bodies.append("\n".join(lines))
            pending = []
            word_start = True
            continue
        out.append(c)
        word_start = c in " \t\r\n" or c in _PUNCTUATION
        i += 1
    if quote:
        raise ValueError("No closing quotation")
    return "".join(out), bodies


def _split_operator(token: str) -> list[str]:
    """'|(' → ['|', '(']: shlex glues neighbouring punctuation into one token."""
    parts: list[str] = []
    while token:
        op = next(o for o in _OPERATORS if token.startswith(o))
        parts.append(op)
        token = token[len(op) :]
    return parts


def tokenize(text: str) -> list[str]:
    """Words and operators of one (prepared) command line; ValueError when quoting is unbalanced."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    tokens: list[str] = []
    for token in lexer:
        if token and set(token) <= _PUNCTUATION:
            tokens.extend(_split_operator(token))
        else:
            tokens.append(token)
    return tokens


def substitutions(text: str) -> list[str]:
    """The bodies of $(...) and `...` anywhere in text (quotes ignored: over-finding is safe)."""
    found: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$(", i) and not text.startswith("$((", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            found.append(text[i + 2 : j - 1] if depth == 0 else text[i + 2 :])
            i = j  # the body's own $( ) are found when it is walked: each level scans its text once
            continue
        if text[i] == "`":
            end = text.find("`", i + 1)
            found.append(text[i + 1 :] if end < 0 else text[i + 1 : end])
            i = len(text) if end < 0 else end + 1
            continue
        i += 1
    return found


# --- walking the command ----------------------------------------------------------------------


def tool_of(word: str) -> str | None:
    """'kubectl' or 'kubetail' when `word` names one (bare, by path, or a versioned binary)."""
    name = os.path.basename(word).lower()
    if name in TOOLS:
        return name
    match = _VERSIONED.match(name)
    return match.group(1) if match else None


def _is_shim(path: str, cwd: str) -> bool:
    """Whether `path` is one of kro's session shims (then calling it by path is fine)."""
    full = os.path.join(cwd, os.path.expanduser(os.path.expandvars(path)))
    try:
        with open(full, "rb") as handle:
            return SHIM_MARKER in handle.read(512)
    except OSError:
        return False


def _expanding(word: str) -> bool:
    return "$" in word or "`" in word


def walk(text: str, scan: Scan, depth: int = 0) -> None:
    """Find the kubectl calls in `text` (and in its $(...), sh -c, eval, ... bodies)."""
    if depth > MAX_DEPTH:
        raise ScanLimit(
            f"the command nests $( ), backticks, sh -c, eval and the like more than {MAX_DEPTH} levels deep, "
            "the hook's depth limit (hook.limit); flatten it or run the kubectl calls on their own"
        )
    scan.charge(len(text))
    for inner in substitutions(text):
        walk(inner, scan, depth + 1)
    prepared, bodies = prepare(text)
    tokens = tokenize(prepared)
    words: list[str] = []
    redirs: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "(" and len(words) == 1 and tokens[i + 1 : i + 2] == [")"]:
            _function(words[0], scan)  # NAME() { ...; }
            words = []
            i += 2
            continue
        if token in SEPARATORS:
            _simple(words, redirs, scan, depth)
            words, redirs = [], []
            i += 1
            continue
        if token in REDIRECTS:
            target = ""
            if i + 1 < len(tokens) and tokens[i + 1] not in SEPARATORS and tokens[i + 1] not in REDIRECTS:
                target = tokens[i + 1]
                i += 1
            if token == "<<":
                target = bodies.pop(0) if bodies else ""
            redirs.append((token, target))
            i += 1
            continue
        if token.endswith("$") and tokens[i + 1 : i + 2] == ["("]:
            i = _closing(tokens, i + 1)  # the lexer split a $( … ): one word again (its body was walked)
            words.append(f"{token}(…)")
            continue
        words.append(token)
        i += 1
    _simple(words, redirs, scan, depth)


def _closing(tokens: list[str], start: int) -> int:
    """The index after the ")" matching the "(" at `start` (or the end)."""
    depth = 0
    for j in range(start, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[j], 0)
        if depth == 0:
            return j + 1
    return len(tokens)


def _function(name: str, scan: Scan) -> None:
    if tool_of(name):
        scan.problems.append(f"`{name}() …` redefines {tool_of(name)}, which would hide its calls from kro")


def _note_assignment(assignment: str, scan: Scan) -> None:
    """A standalone `NAME=value` / export: it changes what later kubectl calls in the command reach."""
    name, _, value = assignment.partition("=")
    name = name.rstrip("+")
    if name == "PATH" and not value.startswith(("$PATH:", "${PATH}:")):
        scan.path_change = f"`{_q([assignment], 60)}` changes PATH"
    elif name in SESSION_VARS or name.startswith("KUBECTL_"):
        scan.path_change = f"`{_q([assignment], 60)}` sets {name}"


def _simple(words: list[str], redirs: list[tuple[str, str]], scan: Scan, depth: int) -> None:
    """One simple command: reserved words and assignments first, then the program."""
    while words and words[0] in RESERVED:
        words = words[1:]
    if not words or words[0] in ("for", "select", "case"):
        return  # loop and case headers are data
    if words[0] == "function":
        if len(words) > 1:
            _function(words[1], scan)
        return
    assignments: list[str] = []
    while words and _ASSIGNMENT.match(words[0]):
        assignments.append(words[0])
        words = words[1:]
    if not words:
        for assignment in assignments:
            _note_assignment(assignment, scan)
        return
    run_argv(words, redirs, scan, depth, assignments, shown=[*assignments, *words])


def _problem_for_assignments(assignments: list[str], call: str) -> str | None:
    for assignment in assignments:
        name = assignment.partition("=")[0].rstrip("+")
        if name == "PATH":
            return f"`{call}` changes PATH, so `kubectl` may not be kro's session kubectl"
        if name in SESSION_VARS or name.startswith("KUBECTL_"):
            return f"`{call}` sets {name} for kubectl; the kro session decides kubeconfig, context and proxy"
    return None


def run_argv(
    words: list[str],
    redirs: list[tuple[str, str]],
    scan: Scan,
    depth: int,
    assignments: list[str],
    shown: list[str],
    *,
    stdin_args: bool = False,
    wrapper_problem: str | None = None,
) -> None:
    """Decide what `words` runs: a kubectl call, a wrapper around one, a shell, or something inert."""
    program, args = words[0], words[1:]
    name = os.path.basename(program)
    lower = name.lower()
    tool = tool_of(program)
    if tool:
        _record(tool, program, args, scan, assignments, shown, stdin_args, wrapper_problem)
        return
    if lower == "kubectl-ro":
        return  # kro's own plugin: it applies the same policy
    if lower.startswith(("kubectl-", "kubectl_")):
        scan.problems.append(f"`{_q(shown)}` runs a kubectl plugin binary, which kro's policy does not cover")
        return
    if _expanding(program):
        what = f"`{_q(shown)}` runs a program named by a shell expansion; kro cannot tell if it is kubectl"
        if "$(" in program or "`" in program or scan.in_code:  # the name is another command's output
            scan.hidden.append(what)
        elif scan.mentions:
            scan.problems.append(what)
        return
    handler = WRAPPERS.get(lower)
    if handler is not None:
        handler(Wrapped(args, redirs, scan, depth, assignments, shown, wrapper_problem))
        return
    if lower in SHELLS:
        _shell(args[1:] if lower == "busybox" else args, redirs, scan, depth, shown)
    elif lower == "eval":
        _code(" ".join(args), scan, depth + 1)
    elif lower in PRIVILEGED:
        if _mention_in(args):
            scan.problems.append(
                f"`{_q(shown)}` runs kubectl as another user with a reset PATH, outside kro's session"
            )
    elif lower in REMOTE:
        if _mention_in(args):
            scan.problems.append(f"`{_q(shown)}` runs kubectl somewhere else (another host or a container)")
    elif lower in RUNNERS or _PYTHON.match(lower):
        if (lower in ("source", ".") and not args) or any("$(" in a or "`" in a for a in args):
            scan.hidden.append(f"`{_q(shown)}` runs code that only exists once the command runs")
        elif scan.mentions:
            scan.problems.append(
                f"`{_q(shown)}` runs code kro cannot see while the command mentions kubectl; "
                "kro only checks kubectl calls written as shell commands"
            )
    elif lower == "alias":
        _alias(args, scan)
    elif lower in ("export", "declare", "typeset", "local", "readonly"):
        for arg in args:
            if _ASSIGNMENT.match(arg):
                _note_assignment(arg, scan)
    elif lower == "unset" and "PATH" in args:
        scan.path_change = "`unset PATH` empties PATH"
    elif lower == "hash" and any(tool_of(a) for a in args):
        scan.problems.append(f"`{_q(shown)}` changes which kubectl binary the shell runs")
    elif lower not in INERT and any(tool_of(a) for a in args):
        scan.problems.append(f"kro cannot tell how `{_q(shown)}` runs kubectl")


def _mention_in(args: list[str]) -> bool:
    return any(tool in arg.lower() for arg in args for tool in TOOLS)


def _alias(args: list[str], scan: Scan) -> None:
    for arg in args:
        alias_name, eq, value = arg.partition("=")
        if eq and (tool_of(alias_name) or _mention_in([value])):
            scan.problems.append(
                f"`alias {_q([arg], 60)}` hides kubectl behind an alias, so later calls could not be checked"
            )


def _record(
    tool: str,
    program: str,
    args: list[str],
    scan: Scan,
    assignments: list[str],
    shown: list[str],
    stdin_args: bool,
    wrapper_problem: str | None,
) -> None:
    call = _q(shown)
    skips = wrapper_problem or _problem_for_assignments(assignments, call)
    if skips is None and scan.path_change:
        skips = f"{scan.path_change} before `{call}`, so `{tool}` may not be kro's session {tool}"
    if skips is None and _VERSIONED.match(os.path.basename(program).lower()):
        skips = f"`{call}` runs a real {tool} binary directly, skipping kro's session"
    if skips is None and "/" in program and not _is_shim(program, scan.cwd):
        skips = (
            f"`{call}` runs a {tool} binary by path, skipping kro's session "
            "(no policy check, no pinned context, no audit)"
        )
    problem = f"{skips}; run it as plain `{_q([tool, *args])}`" if skips else None
    unchecked = None
    expanded = [a for a in args if _expanding(a)]
    if expanded:
        unchecked = (
            f"`{call}` passes shell expansions ({_q(expanded, 40)}) that kro cannot check before "
            "they run; write the values out"
        )
    elif stdin_args and not args:
        unchecked = (
            f"`{call}` takes {tool}'s command from stdin, which kro cannot check; "
            f"name it, e.g. `xargs {tool} get …`"
        )
    scan.calls.append(Call(tool, program, tuple(args), call, problem, unchecked))


def _shell(args: list[str], redirs: list[tuple[str, str]], scan: Scan, depth: int, shown: list[str]) -> None:
    """sh/bash/zsh …: walk the -c string or the here-doc/here-string; a script file is opaque."""
    has_c = login = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--", "-"):
            i += 1
            break
        if arg in ("--rcfile", "--init-file"):
            i += 2
            continue
        if arg.startswith("--"):
            login = login or arg == "--login"
            i += 1
            continue
        if arg[:1] in "-+" and len(arg) > 1:
            has_c = has_c or "c" in arg[1:]
            login = login or (arg[0] == "-" and "l" in arg[1:])
            i += 2 if ("o" in arg[1:] or "O" in arg[1:]) else 1
            continue
        break
    rest = args[i:]
    if has_c:
        if rest:
            outer, reset = scan.path_change, None
            if login:  # /etc/profile and ~/.profile rebuild PATH before the -c string runs
                reset = f"`{_q(shown, 60)}` starts a login shell, whose start-up files reset PATH,"
                scan.path_change = reset
            _code(rest[0], scan, depth + 1)
            if reset is not None and scan.path_change == reset:
                scan.path_change = outer
        return
    stdin = [target for op, target in redirs if op in ("<<", "<<<")]
    if not rest and stdin:
        for script in stdin:
            _code(script, scan, depth + 1)
        return
    if not rest:  # piped in or from <( ): text made while the command runs, never seen here
        scan.hidden.append(f"`{_q(shown)}` runs a script from stdin, which kro cannot see")
        return
    if scan.mentions:
        what = "a script file"
        scan.problems.append(
            f"`{_q(shown)}` runs {what} that kro cannot see while the command mentions kubectl; "
            "run the kubectl calls as shell commands of their own"
        )


def _code(text: str, scan: Scan, depth: int) -> None:
    """Walk text a shell runs as code (eval, sh -c, a here-doc fed to a shell)."""
    scan.in_code += 1
    try:
        walk(text, scan, depth)
    finally:
        scan.in_code -= 1


@dataclass
class Wrapped:
    """A wrapper command's arguments and the walk's state, handed to its unwrapper."""

    args: list[str]
    redirs: list[tuple[str, str]]
    scan: Scan
    depth: int
    assignments: list[str]
    shown: list[str]
    problem: str | None

    def run(self, inner: list[str], *, stdin_args: bool = False, problem: str | None = None) -> None:
        """Continue with the command the wrapper runs."""
        if inner:
            run_argv(
                inner, self.redirs, self.scan, self.depth, self.assignments, self.shown,
                stdin_args=stdin_args, wrapper_problem=self.problem or problem,
            )  # fmt: skip


def _skip_options(
    args: list[str], with_value: str = "", long_with_value: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """Split leading options off `args`; returns (options, rest). Knows which ones take a value."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1 :]
        if not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            i += 2 if (arg in long_with_value and "=" not in arg) else 1
            continue
        letters = arg[1:]
        takes = next((k for k, ch in enumerate(letters) if ch in with_value), None)
        i += 2 if takes is not None and takes == len(letters) - 1 else 1
    return args[:i], args[i:]


def _command(w: Wrapped) -> None:
    opts, rest = _skip_options(w.args)
    letters = "".join(o[1:] for o in opts if not o.startswith("--"))
    if "v" in letters or "V" in letters:
        return  # command -v kubectl only prints where it is
    bypass = f"`{_q(w.shown)}` searches a default PATH, not the session's" if "p" in letters else None
    w.run(rest, problem=bypass)


def _env(w: Wrapped) -> None:
    args, i, problem = w.args, 0, None
    while i < len(args):
        arg = args[i]
        name, eq, attached = arg.partition("=")
        if arg in ("-i", "--ignore-environment", "-"):
            problem = f"`{_q(w.shown)}` clears the environment (and PATH)"
        elif arg in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string"):
            value = args[i + 1]
            i += 1
            if arg in ("-u", "--unset") and value == "PATH":
                problem = f"`{_q(w.shown)}` unsets PATH"
            if arg in ("-S", "--split-string"):
                w.run([*shlex.split(value), *args[i + 1 :]], problem=problem)
                return
        elif (arg.startswith("-u") and not arg.startswith("--")) or (name == "--unset" and eq):
            if (attached if eq else arg[2:]) == "PATH":
                problem = f"`{_q(w.shown)}` unsets PATH"
        elif (arg.startswith("-S") and not arg.startswith("--")) or (name == "--split-string" and eq):
            w.run([*shlex.split(attached if eq else arg[2:]), *args[i + 1 :]], problem=problem)
            return
        elif arg == "--":
            i += 1
            break
        elif _ASSIGNMENT.match(arg):
            w.assignments = [*w.assignments, arg]
        elif not arg.startswith("-"):
            break
        i += 1
    w.run(args[i:], problem=problem)


def _passthrough(
    with_value: str = "", long_with_value: tuple[str, ...] = (), positionals: int = 0
) -> Callable[[Wrapped], None]:
    """An unwrapper for `WRAPPER [options] [N positionals] COMMAND ARGS...`."""

    def unwrap(w: Wrapped) -> None:
        _, rest = _skip_options(w.args, with_value, long_with_value)
        w.run(rest[positionals:])

    return unwrap


def _xargs(w: Wrapped) -> None:
    opts, rest = _skip_options(
        w.args,
        "adEILnPs",
        ("--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars", "--process-slot-var",
         "--max-lines", "--replace", "--eof"),
    )  # fmt: skip
    replacing = any(o.startswith(("-I", "-i", "--replace")) for o in opts)
    w.run(rest, stdin_args=not replacing)


def _watch(w: Wrapped) -> None:
    _, rest = _skip_options(w.args, "nq", ("--interval", "--equexit"))
    if rest:
        _code(" ".join(rest), w.scan, w.depth + 1)  # watch hands its words to sh -c


def _find(w: Wrapped) -> None:
    args = w.args
    for i, arg in enumerate(args):
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            inner = []
            for word in args[i + 1 :]:
                if word in (";", "+"):
                    break
                inner.append(word)
            w.run(inner)


def _flock(w: Wrapped) -> None:
    opts, rest = _skip_options(w.args, "cEw", ("--command", "--conflict-exit-code", "--timeout", "--wait"))
    for k, opt in enumerate(opts):
        if opt in ("-c", "--command") and k + 1 < len(opts):
            _code(opts[k + 1], w.scan, w.depth + 1)
        elif opt.startswith("--command="):
            _code(opt.split("=", 1)[1], w.scan, w.depth + 1)
    w.run(rest[1:])


WRAPPERS: dict[str, Callable[[Wrapped], None]] = {
    "command": _command,
    "builtin": _passthrough(),
    "exec": _passthrough("a"),
    "env": _env,
    "nohup": _passthrough(),
    "nice": _passthrough("n", ("--adjustment",)),
    "time": _passthrough("fo", ("--format", "--output")),
    "timeout": _passthrough("sk", ("--signal", "--kill-after"), positionals=1),
    "gtimeout": _passthrough("sk", ("--signal", "--kill-after"), positionals=1),
    "stdbuf": _passthrough("ioe", ("--input", "--output", "--error")),
    "setsid": _passthrough(),
    "ionice": _passthrough("cnp", ("--class", "--classdata", "--pid")),
    "taskset": _passthrough("", (), positionals=1),
    "chrt": _passthrough("T", (), positionals=1),
    "caffeinate": _passthrough("tw"),
    "unbuffer": _passthrough(),
    "xargs": _xargs,
    "watch": _watch,
    "find": _find,
    "flock": _flock,
}
