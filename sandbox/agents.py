"""Agent profiles: what `kro-run` sets up for the agent CLIs it knows (Claude Code, Codex, Gemini CLI).

Each profile adds only what the agent's own configuration allows, in files of the session dir
(nothing in the user's home is touched), and says what it did so `--dry-run` and `kro doctor` can show
it. `--no-agent-setup` turns all of it off.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kro.sandbox import session_dir
from kro.shims.errors import UsageError
from kro.shims.session import Session

AGENT_FILE = "agent.json"  # in the session dir: what the profile set up, for `kro doctor`
# What people type, and the npm packages `npx`/`bunx`/`pnpm dlx` run, by agent.
NAMES = {
    "claude": "claude-code", "@anthropic-ai/claude-code": "claude-code",
    "codex": "codex", "@openai/codex": "codex",
    "gemini": "gemini", "@google/gemini-cli": "gemini",
}  # fmt: skip
TITLES = {"claude-code": "Claude Code", "codex": "Codex CLI", "gemini": "Gemini CLI"}
RUNNERS = frozenset({"npx", "bunx", "pnpx"})
# Claude Code subcommands that take no session flags (`claude mcp add …`, `claude doctor`).
CLAUDE_SUBCOMMANDS = frozenset(
    {"mcp", "config", "doctor", "update", "install", "migrate-installer", "setup-token", "plugin", "auth"}
)
HOOK_TEMPLATE = """# kro: the session's Claude Code PreToolUse hook (kro hook claude-code), run by python -IS.
{prelude}from kro.hooks.claude_code import main
raise SystemExit(main(sys.argv[1:]))
"""
PREFIX_TEMPLATE = """#!/bin/sh
# kro: CLAUDE_CODE_SHELL_PREFIX. Claude Code runs each Bash command as `PREFIX 'COMMAND'`, in a login
# shell when it has no shell snapshot (/etc/profile and ~/.profile rebuild PATH there). Run COMMAND
# with the session's bin/ first on PATH, set inside COMMAND's own shell: an assignment before `exec`
# would not survive ~/.bashrc, which bash reads for -c when stdin is a socket.
kro_setup={setup}
{run}"""
# COMMAND is written for Claude Code's shell: $CLAUDE_CODE_SHELL or $SHELL when bash or zsh, else bash.
RUN_IN_SHELL = """case "${CLAUDE_CODE_SHELL:-${SHELL:-}}" in
  */bash|*/zsh|bash|zsh) kro_shell=${CLAUDE_CODE_SHELL:-$SHELL} ;;
  *) kro_shell=$(command -v bash || command -v zsh || echo /bin/sh) ;;
esac
exec "$kro_shell" -c "$kro_setup
$1"
"""
RUN_USER_PREFIX = """exec {prefix} "$kro_setup
$1"
"""


@dataclass(frozen=True)
class Visible:
    """Where the agent sees the session dir, bin/, kubeconfig and the profile's files (--confine: the box)."""

    dir: str
    bin: str
    kubeconfig: str | None
    files: str


@dataclass(frozen=True)
class Setup:
    """What a profile set up: the command to run, variables to set, files written, and why each."""

    agent: str | None
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    items: list[tuple[str, str]] = field(default_factory=list)  # (what was set, what it does)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # kro-run prints these on stderr

    def as_dict(self) -> dict[str, object]:
        """The record `kro doctor` reads from the session dir."""
        return {"agent": self.agent, "title": TITLES.get(self.agent or ""), "argv": self.argv,
                "env": self.env, "items": [list(i) for i in self.items], "notes": self.notes}  # fmt: skip


def agent_of(cmd: list[str]) -> tuple[str | None, int]:
    """Which known agent `cmd` starts, and the index of the word naming it (npx PKG counts as PKG)."""
    if not cmd:
        return None, 0
    first = os.path.basename(cmd[0])
    if first in NAMES:
        return NAMES[first], 0
    words = cmd[1:]
    if first in ("pnpm", "yarn", "npm") and words[:1] in (["dlx"], ["exec"]):
        words, offset = words[1:], 2
    elif first in RUNNERS:
        offset = 1
    else:
        return None, 0
    for i, word in enumerate(words):
        if word in ("-p", "--package"):
            return None, 0  # `npx -p PKG CMD`: too many shapes to guess at
        if word.startswith("-"):
            continue
        name = word.split("@")[0] if not word.startswith("@") else "@" + word[1:].split("@")[0]
        agent = NAMES.get(name)
        return (agent, offset + i) if agent else (None, 0)
    return None, 0


def system_prompt(session: Session) -> str:
    """The short text appended to the agent's system prompt."""
    where = f"context {session.context}"
    if session.namespaces:
        where += f", namespaces {', '.join(session.namespaces)} only"
    if session.output == "plain":
        output = "kubectl prints its own output; a call kro refuses prints `✘ BLOCKED: <reason>` (exit 77)."
    else:
        output = (
            "Each kubectl call prints exactly one JSON envelope: status ok with `content`, or status error "
            "with `kind` and `message`. Bulk output is in the file `agent_context` names: read that file "
            "with jq (e.g. jq -r '.items[].metadata.name' FILE). A pipe, $(…) or redirect gets the envelope, "
            "not kubectl's output: to pipe or capture kubectl's own output (redacted, same policy) prefix "
            "the call with KRO_RAW=1, e.g. KRO_RAW=1 kubectl get pods -o json | jq '.items[]'."
        )
    return (
        f"This is a read-only Kubernetes session through kro ({where}): run kubectl as plain `kubectl …`. "
        f"{output} A call kro blocks (kind policy) is not to be worked around: tell the user what you "
        "wanted to run and ask them to run it if it is needed."
    )


def shell_setup(visible: Visible) -> str:
    """Shell statements putting the session first again inside a command's own shell."""
    parts = [f'PATH={shlex.quote(visible.bin)}:"$PATH"', "KUBERC=off"]
    parts.append(f"KRO_SESSION={shlex.quote(visible.dir)}")
    if visible.kubeconfig:
        parts.append(f"KUBECONFIG={shlex.quote(visible.kubeconfig)}")
    names = " ".join(p.split("=", 1)[0] for p in parts)
    return "; ".join(parts) + f"; export {names};"


def chained(prefix: str) -> str:
    """How Claude Code itself would call the user's own CLAUDE_CODE_SHELL_PREFIX (flags after ' -' kept)."""
    cut = prefix.rfind(" -")
    if cut > 0:
        return f"{shlex.quote(prefix[:cut])} {prefix[cut + 1 :]}"
    return shlex.quote(prefix)


def prefix_script(visible: Visible, user_prefix: str | None) -> str:
    """The text of the session's CLAUDE_CODE_SHELL_PREFIX script."""
    run = RUN_USER_PREFIX.format(prefix=chained(user_prefix)) if user_prefix else RUN_IN_SHELL
    return PREFIX_TEMPLATE.format(setup=shlex.quote(shell_setup(visible)), run=run)


def hook_settings(hook: str, user: str | None) -> dict[str, object]:
    """Claude Code settings registering the hook command, merged into the user's --settings (file or JSON)."""
    settings: dict[str, object] = {}
    if user:
        try:
            loaded = json.loads(Path(user).read_text() if not user.lstrip().startswith("{") else user)
        except (OSError, ValueError) as exc:
            raise UsageError(f"claude --settings {user}: cannot be read as JSON ({exc}); kro-run merges its "
                             "hook into it (or use --no-agent-setup)") from exc  # fmt: skip
        if not isinstance(loaded, dict):
            raise UsageError(f"claude --settings {user}: not a JSON object")
        settings = loaded
    hooks = settings.setdefault("hooks", {})
    assert isinstance(hooks, dict)
    pre = hooks.setdefault("PreToolUse", [])
    assert isinstance(pre, list)
    entry = {"type": "command", "command": hook, "timeout": 30}
    pre.append({"matcher": "Bash", "hooks": [entry]})
    return settings


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    os.chmod(path, mode)


def _take_option(argv: list[str], name: str) -> tuple[list[str], str | None]:
    """argv without `name VALUE` / `name=VALUE` (the last value given, if any)."""
    out: list[str] = []
    value = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out += argv[i:]
            break
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
            continue
        if arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
            i += 1
            continue
        out.append(arg)
        i += 1
    return out, value


def claude_code(cmd: list[str], at: int, session: Session, env: dict[str, str], files: Path,
                visible: Visible, sources: list[Path] | None = None) -> Setup:  # fmt: skip
    """Claude Code: shell prefix, the PreToolUse hook and its own sandbox via --settings, the system prompt.

    `sources` (the kubeconfigs kro-run read) turns Claude Code's sandbox on; None leaves it off.
    """
    shown = visible.files
    items: list[tuple[str, str]] = []
    user_prefix = env.get("CLAUDE_CODE_SHELL_PREFIX")
    _write(files / "claude-shell-prefix", prefix_script(visible, user_prefix), 0o700)
    prefix = f"{shown}/claude-shell-prefix"
    what = "puts the session's bin/ first on PATH inside each Bash command's own shell"
    items.append((f"CLAUDE_CODE_SHELL_PREFIX={prefix}", what + (f", then runs your prefix {user_prefix}"
                                                                    if user_prefix else "")))  # fmt: skip
    head, rest = cmd[: at + 1], cmd[at + 1 :]
    if rest[:1] and rest[0] in CLAUDE_SUBCOMMANDS:
        management = [f"`claude {rest[0]}` is a management command: no --settings or system prompt added"]
        return Setup("claude-code", cmd, {"CLAUDE_CODE_SHELL_PREFIX": prefix}, items, management)
    rest, user_settings = _take_option(rest, "--settings")
    rest, user_prompt = _take_option(rest, "--append-system-prompt")
    _write(files / "kro-hook.py", _hook_script(), 0o600)
    hook = shlex.join([sys.executable, "-IS", f"{shown}/kro-hook.py", "claude-code"])
    settings = hook_settings(hook, user_settings)
    warnings: list[str] = []
    what = "registers the PreToolUse hook (kro hook claude-code) for Bash"
    if sources is not None:
        from kro.sandbox import agent_sandbox

        box = agent_sandbox.spec(session, sources, env)
        warnings = agent_sandbox.claude_settings(settings, box)
        agent_sandbox.route_inside(session)
        what += (f" and turns on Claude Code's own sandbox (--no-agent-sandbox: off): {len(box.deny_read)} "
                 "credential paths unreadable (kubeconfigs, the files they name, ~/.kube, cloud "
                 f"credentials), the API proxy reachable as {box.allowed_hosts[0]}")  # fmt: skip
    _write(files / "claude-settings.json", json.dumps(settings, indent=2) + "\n", 0o600)
    merged = f", merged with your --settings {user_settings}" if user_settings else ""
    items.append((f"--settings {shown}/claude-settings.json", what + merged))
    prompt = system_prompt(session) + (f"\n\n{user_prompt}" if user_prompt else "")
    items.append(("--append-system-prompt", json.dumps(system_prompt(session), ensure_ascii=False)))
    argv = [*head, "--settings", f"{shown}/claude-settings.json", "--append-system-prompt", prompt, *rest]
    return Setup("claude-code", argv, {"CLAUDE_CODE_SHELL_PREFIX": prefix}, items, list(warnings), warnings)


def setup(cmd: list[str], session: Session, env: dict[str, str], files: Path, visible: Visible,
          sources: list[Path] | None = None) -> Setup:  # fmt: skip
    """The profile for `cmd` (files written under `files`), or the command unchanged for other programs."""
    agent, at = agent_of(cmd)
    if agent == "claude-code":
        files.mkdir(mode=0o700, parents=True, exist_ok=True)
        return claude_code(cmd, at, session, env, files, visible, sources)
    if agent == "codex":
        return codex(cmd, at, session, env, visible, sources)
    if agent == "gemini":
        return gemini(cmd)
    return Setup(None, cmd)


def gemini(cmd: list[str]) -> Setup:
    """Gemini CLI: its shell keeps kro-run's PATH; its hooks load only from ~/.gemini or .gemini settings."""
    notes = [
        "its shell tool keeps the session's PATH: nothing to set",
        "hook (not installed by kro-run; Gemini CLI reads hooks only from ~/.gemini/settings.json or "
        ".gemini/settings.json): see contrib/gemini/settings.json, which runs `kro hook gemini`",
        "do not add Gemini CLI's container sandbox (-s): the container has neither shims nor session",
    ]
    return Setup("gemini", cmd, {}, [], notes)


def _hook_script() -> str:
    return HOOK_TEMPLATE.format(prelude=session_dir.prelude())


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


CODEX_WHY = {
    "PATH": "the session's bin/ first on every command's PATH (codex's exec tool otherwise drops it)",
    "KRO_SESSION": "the session dir, for the shims and `kro doctor`",
    "KUBERC": "no kuberc",
    "KUBECONFIG": "the session's kubeconfig",
    "allow_login_shell": "commands never run as login shells (their start-up files reset PATH)",
    "developer_instructions": "the read-only session's rules, as developer instructions",
    "default_permissions": "Codex's own sandbox with kro's permission profile (--no-agent-sandbox: off)",
    "extends": "the profile starts from :workspace (writes in the working dir)",
    "filesystem": "the kubeconfigs kro-run read, the files they name, ~/.kube and cloud credentials "
    "unreadable; the audit log's dir and kro's cache writable for the shims",
    "network": "the network on, so kubectl reaches the session's API proxy",
}


# Codex options choosing a legacy sandbox mode, which takes the place of a permission profile
CODEX_OWN_SANDBOX = frozenset(
    {"-s", "--sandbox", "--full-auto", "--dangerously-bypass-approvals-and-sandbox"}
)


def codex(cmd: list[str], at: int, session: Session, env: dict[str, str], visible: Visible,
          sources: list[Path] | None = None) -> Setup:  # fmt: skip
    """Codex CLI: its exec tool rebuilds PATH without the session's bin/, so set the session per command.

    `sources` (the kubeconfigs kro-run read) turns on a Codex permission profile that leaves them, the
    files they name and the credential dirs unreadable (Codex's own sandbox, with the network on).
    """
    pairs = [("PATH", f"{visible.bin}:{env.get('PATH', '/usr/bin:/bin')}"), ("KRO_SESSION", visible.dir),
             ("KUBERC", "off")]  # fmt: skip
    if visible.kubeconfig:
        pairs.append(("KUBECONFIG", visible.kubeconfig))
    overrides = [(f"shell_environment_policy.set.{k}", _toml(v), k) for k, v in pairs]
    overrides.append(("allow_login_shell", "false", "allow_login_shell"))
    overrides.append(("developer_instructions", _toml(system_prompt(session)), "developer_instructions"))
    head, rest = cmd[: at + 1], cmd[at + 1 :]
    warnings = []
    if sources is not None:
        own = [w for w in rest if w.split("=", 1)[0] in CODEX_OWN_SANDBOX]
        if own:
            warnings.append(f"codex {own[0]} replaces kro's permission profile: Codex's commands can read "
                            "your kubeconfig and credential files (drop it, or use --confine)")  # fmt: skip
        else:
            overrides += _codex_profile(session, sources, env)
    items = [(f"-c {key}", CODEX_WHY[why]) for key, _, why in overrides]
    flags = [w for key, value, _ in overrides for w in ("-c", f"{key}={value}")]
    notes = ["codex's legacy sandbox modes (-s read-only, workspace-write) deny network: kubectl cannot "
             "reach the cluster there; see README (Codex)", *warnings]  # fmt: skip
    return Setup("codex", [*head, *flags, *rest], {}, items, notes, warnings)


def _codex_profile(session: Session, sources: list[Path], env: dict[str, str]) -> list[tuple[str, str, str]]:
    """The -c overrides of Codex's permission profile `kro`: credentials unreadable, network on."""
    from kro.sandbox import agent_sandbox

    box = agent_sandbox.spec(session, sources, env)
    paths = [*((p, "none") for p in box.deny_read), *((p, "write") for p in box.allow_write)]
    table = "{" + ", ".join(f"{_toml(p)} = {_toml(mode)}" for p, mode in paths) + "}"
    return [
        ("default_permissions", _toml("kro"), "default_permissions"),
        ("permissions.kro.extends", _toml(":workspace"), "extends"),
        ("permissions.kro.filesystem", table, "filesystem"),
        ("permissions.kro.network.enabled", "true", "network"),
    ]


def prepare(cmd: list[str], session: Session, env: dict[str, str], confined: bool,
            sources: list[Path] | None = None) -> Setup:  # fmt: skip
    """Set the agent in `cmd` up for this session (under --confine, as the sandbox sees it).

    `sources` (the kubeconfigs kro-run read) asks for the agent's own sandbox where it has one; it is not
    used under --confine (the agent is in kro's sandbox already) nor with --direct (no API proxy).
    """
    if confined:
        from kro.sandbox.confine_env import BOX

        files = Path(session.dir) / "box" / "agent"
        visible = Visible(BOX, f"{BOX}/bin", None, f"{BOX}/agent")
    else:
        files = Path(session.dir) / "agent"
        visible = Visible(session.dir, str(Path(session.dir) / "bin"), session.kubeconfig, str(files))
    sources = None if confined or not session.proxy else sources
    done = setup(cmd, session, env, files, visible, sources)
    if done.agent:
        record(files.parent, done)
    return done


def record(path: Path, done: Setup) -> None:
    """Write what the profile set up beside session.json (read by `kro doctor`)."""
    _write(path / AGENT_FILE, json.dumps(done.as_dict(), indent=2) + "\n", 0o600)
