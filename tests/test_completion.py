"""Shell completion (issue 9, item 7): ``fusionlab --show-completion`` prints a script
(typer's ``add_completion``) that bash loads and that completes commands and option
values through the real ``fusionlab`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fusionlab_on_path(tmp_path) -> dict:
    """An environment whose PATH starts with a ``fusionlab`` that runs this checkout's CLI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "fusionlab"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fusionlab.cli "$@"\n')
    exe.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _bash(script: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


def test_show_completion_prints_a_bash_script(fusionlab_on_path):
    assert shutil.which("bash"), "bash is needed to load the completion script"
    # "; true" keeps bash from exec'ing fusionlab, so typer detects bash as the parent shell
    done = _bash("fusionlab --show-completion; true", fusionlab_on_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "complete -o default -F _fusionlab_completion fusionlab" in done.stdout


def _complete(words: list[str], env: dict) -> list[str]:
    """What bash's completion offers for ``words`` (the last one, maybe "", being completed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = ('source <(fusionlab --show-completion; true)\n'
              f'COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n'
              '_fusionlab_completion fusionlab\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = _bash(script, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_completes_commands_and_option_values(fusionlab_on_path):
    assert _complete(["fusionlab", "an"], fusionlab_on_path) == ["analyze"]
    assert set(_complete(["fusionlab", "analyze", "--output-format", ""], fusionlab_on_path)) >= {
        "full", "concise", "json", "sarif", "github"}
    assert "--fail-on" in _complete(["fusionlab", "analyze", "--fail"], fusionlab_on_path)


def test_source_variable_prints_a_script_for_the_shell_named(cli, monkeypatch):
    """click's ``_FUSIONLAB_COMPLETE=source_zsh`` (README's line for a shell typer does not
    detect) names the shell itself."""
    monkeypatch.setenv("_FUSIONLAB_COMPLETE", "source_zsh")
    code, out, err = cli()
    assert code == 0, err
    assert "#compdef fusionlab" in out
    assert "_FUSIONLAB_COMPLETE=complete_zsh" in out
