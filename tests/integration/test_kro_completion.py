"""`kro completion`: bash sources the script and completes kro's subcommands, options and kro-run's."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from kro_testing import BIN

KRO = str(BIN / "kro")


def _bash(script: str) -> str:
    """Run bash with `kro completion bash` sourced (kro on PATH); stdout."""
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f'source <("{KRO}" completion bash)\n{script}'],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def _complete(function: str, *words: str) -> list[str]:
    """What the completion function offers for the last word of `words`."""
    array = " ".join(f"'{w}'" for w in words)
    out = _bash(
        f'COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; {function}; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    return [line for line in out.splitlines() if line]


def test_bash_registers_kro_and_kro_run() -> None:
    out = _bash("complete -p kro; complete -p kro-run")
    assert "complete -o default -F _kro_complete kro" in out
    assert "complete -o default -F _kro_run_complete kro-run" in out


@pytest.mark.parametrize(
    ("function", "words", "expected"),
    [
        pytest.param(
            "_kro_complete",
            ("kro", ""),
            {"audit", "check", "doctor", "completion", "serve"},
            id="completion.subcommands",
        ),
        pytest.param("_kro_complete", ("kro", "au"), {"audit"}, id="completion.subcommand-prefix"),
        pytest.param(
            "_kro_complete",
            ("kro", "audit", "--"),
            {"--api", "--session", "--tool", "--follow"},
            id="completion.audit-options",
        ),
        pytest.param("_kro_complete", ("kro", "audit", ""), {"show", "verify"}, id="completion.audit-words"),
        pytest.param(
            "_kro_complete", ("kro", "completion", ""), {"bash", "zsh", "fish"}, id="completion.shells"
        ),
        pytest.param(
            "_kro_complete",
            ("kro", "serve", "--transport", ""),
            {"stdio", "http"},
            id="completion.option-choices",
        ),
        pytest.param(
            "_kro_run_complete", ("kro-run", "--out"), {"--output"}, id="completion.kro-run-options"
        ),
        pytest.param(
            "_kro_run_complete",
            ("kro-run", "--output", ""),
            {"envelope", "plain"},
            id="completion.kro-run-choices",
        ),
        pytest.param(
            "_kro_run_complete", ("kro-run", "--demo", "--", "bas"), {"bash"}, id="completion.kro-run-command"
        ),
    ],
)
def test_bash_completes(function: str, words: tuple[str, ...], expected: set[str]) -> None:
    offered = set(_complete(function, *words))
    assert expected <= offered, offered


def test_bash_completes_only_what_matches() -> None:
    assert _complete("_kro_complete", "kro", "au") == ["audit"]
    assert _complete("_kro_run_complete", "kro-run", "--", "ls", "") == []  # the command's own args: files


def _script(shell: str) -> str:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    return subprocess.run([KRO, "completion", shell], capture_output=True, text=True, check=True).stdout


def test_zsh_registers_both_commands() -> None:
    """zsh (after compinit) maps kro and kro-run to their completion functions."""
    script = _script("zsh")
    zsh = (
        'autoload -U compinit; compinit -u; eval "$KRO_COMPLETION"; print -r -- $_comps[kro] $_comps[kro-run]'
    )
    done = subprocess.run(["zsh", "-f", "-c", zsh], env={"KRO_COMPLETION": script, "HOME": "/tmp"},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.stdout.split() == ["_kro_complete", "_kro_run_complete"], done.stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("kro au", "audit", id="completion.fish-subcommand"),
        pytest.param("kro audit --se", "--session", id="completion.fish-option"),
        pytest.param("kro-run --output ", "plain", id="completion.fish-choice"),
    ],
)
def test_fish_completes(line: str, expected: str) -> None:
    script = _script("fish")
    done = subprocess.run(["fish", "--no-config", "-c", f'eval $KRO_COMPLETION; complete -C "{line}"'],
                          env={"KRO_COMPLETION": script, "HOME": "/tmp", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert expected in [x.split("\t")[0] for x in done.stdout.splitlines()], done.stdout + done.stderr
