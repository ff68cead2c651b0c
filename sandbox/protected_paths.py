"""What a confined agent may not change although it sits in a writable place: files that run later, outside.

A pure function of the writable roots (the working dir, the agents' home dirs, --rw paths), $HOME and the
git layout found on disk, to a list of (path, how) entries. bubblewrap (sandbox/confine.py) and a Seatbelt
profile use the same list. The reference for the list is Anthropic's sandbox-runtime
(src/sandbox/mandatory-deny-paths.ts): git's hooks, config, commondir and config.worktree, for linked
worktrees and submodules too, with stand-ins where a file is absent so that it cannot be created.

`how` is one of:
- PIN: an existing directory bound onto itself, writable, so that it cannot be renamed or replaced (a
  mount point cannot be moved): `mv .git .git-old && mkdir .git` fails.
- READ_ONLY: an existing file or directory bound read-only onto itself (no write, no rename over it).
- PLACEHOLDER: an absent file (`content`) or directory (`is_dir`) stood in for, read-only, so that it cannot
  be created; the stand-in holds what git or the agent reads when the path is absent. The mount point the
  sandbox leaves on the host is removed when the session ends.
- PRIVATE: a fresh, empty, writable directory inside (a tmpfs), or for a file a writable copy made for
  the session; writes never reach the host (npx's cache; Claude Code's ~/.claude.json, which it rewrites
  as it runs and which names MCP servers it starts).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PIN = "pin"
READ_ONLY = "read-only"
PLACEHOLDER = "placeholder"
PRIVATE = "private"

# What git reads in a git dir that makes a write there run code or send git elsewhere, with the stand-in
# for an absent one: "." makes git take the git dir as its own common dir; an empty config reads as none.
GIT_FILES: tuple[tuple[str, str], ...] = (("config", ""), ("config.worktree", ""), ("commondir", ".\n"))
GIT_DIRS = ("hooks", "info")
# Project files in a writable root that an agent or editor started there later reads as its own settings
# (hooks, MCP servers, commands): kept as they are when they exist (no stand-ins in the project).
PROJECT_FILES: tuple[tuple[str, str], ...] = (
    (".mcp.json", "{}\n"), (".claude/settings.json", "{}\n"), (".claude/settings.local.json", "{}\n"),
    (".gemini/settings.json", "{}\n"), (".codex/config.toml", ""), (".gitmodules", ""),
)  # fmt: skip
PROJECT_DIRS = (".claude/hooks", ".claude/commands", ".claude/agents", ".vscode", ".idea")
# The agents' own settings and hook files under $HOME, read by the agent the user starts next outside kro.
HOME_FILES: tuple[tuple[str, str], ...] = (
    (".claude/settings.json", "{}\n"), (".claude/settings.local.json", "{}\n"), (".codex/config.toml", ""),
    (".gemini/settings.json", "{}\n"), (".config/opencode/opencode.json", "{}\n"),
    (".cursor/mcp.json", "{}\n"),
)  # fmt: skip
HOME_DIRS = (
    ".claude/hooks", ".claude/plugins", ".claude/commands", ".claude/agents", ".claude/skills",
    ".gemini/extensions", ".gemini/commands", ".codex/prompts", ".config/opencode/plugin",
)  # fmt: skip
# Caches of code run later (npx runs what it finds there): private inside.
HOME_PRIVATE = (".npm/_npx",)
# Files an agent rewrites as it runs and that name code it starts later (mcpServers): a copy inside.
HOME_PRIVATE_FILES = (".claude.json",)
_MAX_POINTER = 1024 * 1024  # git reads a .git file or commondir up to this size
MAX_SUBMODULES = 128  # each costs about six mounts; more make .git/modules read-only whole


@dataclass(frozen=True)
class Protected:
    """One protected path and how the sandbox protects it."""

    path: str
    how: str
    why: str
    is_dir: bool = False
    content: str = ""  # a PLACEHOLDER file's stand-in text


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _read_pointer(path: str, prefix: str = "") -> str | None:
    """The path a .git file (`gitdir: X`) or a commondir names, read as git reads it; None if none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_POINTER:
            return None
        data = os.read(fd, _MAX_POINTER + 1)
    finally:
        os.close(fd)
    if not data.startswith(prefix.encode()):
        return None
    text = data[len(prefix) :].rstrip(b"\r\n").split(b"\0", 1)[0]
    if not text:
        return None
    return os.path.normpath(os.path.join(os.path.dirname(path), os.fsdecode(text)))


def _entry(path: str, why: str, *, is_dir: bool, content: str = "") -> Protected | None:
    """READ_ONLY when `path` exists, else a PLACEHOLDER: for `path`, or for its outermost absent ancestor
    (an empty directory, so that nothing below it can be made); None when nothing above it exists."""
    if os.path.lexists(path):
        return Protected(path, READ_ONLY, why, os.path.isdir(path))
    parent = os.path.dirname(path)
    if os.path.isdir(parent):
        return Protected(path, PLACEHOLDER, why, is_dir, content)
    while parent != os.path.dirname(parent) and not os.path.lexists(os.path.dirname(parent)):
        parent = os.path.dirname(parent)
    if os.path.isdir(os.path.dirname(parent)) and not os.path.lexists(parent):
        return Protected(parent, PLACEHOLDER, why, True)
    return None


def git_dir_entries(git_dir: str, why: str) -> list[Protected]:
    """A git dir's entries: pinned, its config/config.worktree/commondir/hooks/info kept as they are."""
    found: list[Protected | None] = [Protected(git_dir, PIN, f"{why}: cannot be renamed or replaced", True)]
    found += [_entry(os.path.join(git_dir, n), f"{why}: git reads {n}", is_dir=False, content=c)
              for n, c in GIT_FILES]  # fmt: skip
    found += [
        _entry(os.path.join(git_dir, n), f"{why}: git runs or reads {n}/", is_dir=True) for n in GIT_DIRS
    ]
    return [e for e in found if e is not None]


def _submodule_dirs(git_dir: str, limit: int = 256) -> list[str]:
    """Submodule git dirs under `git_dir`/modules (nested ones too), sorted; at most `limit`."""
    found: list[str] = []
    pending = [os.path.join(git_dir, "modules")]
    seen: set[str] = set()
    while pending and len(found) < limit:
        directory = pending.pop()
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir():
                continue
            names = set(os.listdir(entry.path)) if os.access(entry.path, os.R_OK) else set()
            if names & {"HEAD", "objects", "config", "hooks"}:
                found.append(entry.path)
                pending.append(os.path.join(entry.path, "modules"))
            else:
                pending.append(entry.path)  # a segment of a nested name (modules/vendor/lib)
    return sorted(found)


def repository_entries(root: str) -> list[Protected]:
    """Everything of the repository checked out at `root` (its .git dir or file) that git runs or follows."""
    dot_git = os.path.join(root, ".git")
    if not os.path.lexists(dot_git):
        # An empty directory git passes over; a new repository with hooks cannot be made here.
        return [Protected(dot_git, PLACEHOLDER, "no repository here: none can be created", True)]
    if not os.path.isdir(dot_git) or os.path.islink(dot_git):
        found = [Protected(dot_git, READ_ONLY, "the .git file names the git dir git uses")]
        target = _read_pointer(dot_git, "gitdir: ")
        if target is None or not os.path.isdir(target):
            return found
        found += git_dir_entries(target, "the git dir this checkout's .git file names")
        common = _read_pointer(os.path.join(target, "commondir"))
        if common is not None and os.path.isdir(common) and common != target:
            found += git_dir_entries(common, "the common git dir of this linked worktree")
        return found
    found = git_dir_entries(dot_git, "the repository's git dir")
    # The linked worktrees' git dirs, whole: their checkouts are elsewhere (git there is the user's, later),
    # and a new one (`git worktree add`) would be a git dir the agent wrote.
    worktrees = _entry(os.path.join(dot_git, "worktrees"), "linked worktrees' git dirs", is_dir=True)
    found += [worktrees] if worktrees is not None else []
    subs = _submodule_dirs(dot_git, MAX_SUBMODULES + 1)
    if len(subs) > MAX_SUBMODULES:  # past what is worth a mount each: the whole tree read-only instead
        found.append(Protected(os.path.join(dot_git, "modules"), READ_ONLY, "submodule git dirs", True))
        return found
    for sub in subs:
        found += git_dir_entries(sub, f"submodule git dir {os.path.relpath(sub, dot_git)}")
    return found


def _fixed(base: str, files: Iterable[tuple[str, str]], dirs: Iterable[str], why: str,
           stand_ins: bool = True) -> list[Protected]:  # fmt: skip
    found = [_entry(os.path.join(base, n), f"{why} {n}", is_dir=False, content=c) for n, c in files]
    found += [_entry(os.path.join(base, n), f"{why} {n}/", is_dir=True) for n in dirs]
    return [e for e in found if e is not None and (stand_ins or e.how != PLACEHOLDER)]


def protected(writable: Sequence[str], home: str) -> list[Protected]:
    """Every protected path under the writable roots (real paths), outermost first; none outside them."""
    found: list[Protected] = []
    for root in writable:
        if os.path.isdir(root):
            found += repository_entries(root)
            # Existing ones only: a stand-in in the project would show up in `git status` and `git add -A`.
            found += _fixed(root, PROJECT_FILES, PROJECT_DIRS, "an agent started here later reads", False)
    found += _fixed(home, HOME_FILES, HOME_DIRS, "the agent the user starts next reads")
    found += [Protected(os.path.join(home, p), PRIVATE, f"npx runs what it finds in ~/{p}", True)
              for p in HOME_PRIVATE if os.path.isdir(os.path.join(home, p))]  # fmt: skip
    found += [Protected(os.path.join(home, p), PRIVATE, f"~/{p} names MCP servers the agent starts", False)
              for p in HOME_PRIVATE_FILES if os.path.isfile(os.path.join(home, p))]  # fmt: skip
    kept: dict[str, Protected] = {}
    for entry in found:
        path = os.path.realpath(entry.path) if os.path.lexists(entry.path) else entry.path
        if any(_under(path, root) for root in writable) and path not in kept:
            kept[path] = Protected(path, entry.how, entry.why, entry.is_dir, entry.content)
    return sorted(kept.values(), key=lambda e: (e.path.count("/"), e.path))
