"""Every command README.md shows runs as shown (issue 9, "Done when").

README's fenced blocks are sorted into kinds, and a block of no known kind fails
:func:`test_every_block_has_a_kind`, so a new example cannot go untested:

* ``top``: the two commands at the top. The first runs byte for byte in a copy of this
  checkout (a fresh ``.venv``, ``pip install .``, ``fusionlab analyze models/resnet18.onnx``);
  the second is ``.ci/run``'s command (CI runs it; ``tests/test_html.py`` keeps them equal).
* ``synopsis``: usage lines with placeholders (``MODEL``, ``[--flag ...]``, ``a|b``): every
  option they show is an option of that subcommand, every ``a|b`` value one its choice takes.
* ``shell``: concrete ``fusionlab ...`` lines: each runs in a workspace holding a copy of
  ``models/`` and exits 0.
* ``python``: run as a script in that workspace (``model.onnx`` there is ResNet-18); the
  pipeline test example is run by pytest after the baseline command the text gives.
* ``toml``: written as the workspace's ``pyproject.toml``; ``fusionlab config`` shows it
  in force.
* ``json-shape``: the JSON report's documented shape: its keys are the keys of a real report.
* ``fuzz``: the first rerun line runs as shown; the long run's variable is the one
  tests/test_fuzz.py reads.
* ``completion``: each line runs in bash with ``HOME`` in a temporary folder.
* ``yaml``: the workflow and the pre-commit config, run by tests/test_ci_examples.py.

Inline ``fusionlab ...`` spans of the prose are synopses too, and the concrete ones (the
models they name exist) run. The fresh-venv install takes one to two minutes (PyPI or the
local wheel cache); every other case a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
SUBCOMMANDS = ("analyze", "verify", "rewrite", "rules", "config")
PLACEHOLDER = re.compile(r"^(?:(?!TRT\d)[A-Z][A-Z0-9_-]*(?:\.\w+)?|~/.*|\S*\.\.\.\S*)$")


def blocks() -> list[tuple[int, str, str]]:
    """``(line, info string, text)`` of every fenced block of README.md."""
    found, lines, i = [], README.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            info, start, body = lines[i][3:].strip(), i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append((start, info, "\n".join(body) + "\n"))
        i += 1
    return found


TOP_LINE = blocks()[0][0]  # the block of README's two top commands


def kind(info: str, text: str, line: int) -> str | None:
    """The kind of one block (see the module doc), ``None`` when it has none."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if line == TOP_LINE:
        return "top"
    if info in ("python", "toml", "yaml"):
        return info
    if info:
        return None
    if first.startswith("{"):
        return "json-shape"
    if first.startswith("FUSIONLAB_FUZZ_"):
        return "fuzz"
    if "completion" in text or "_FUSIONLAB_COMPLETE" in text:
        return "completion"
    if first.startswith("fusionlab "):
        return "shell-or-synopsis"
    return None


def commands(text: str) -> list[str]:
    """The commands of a shell block: a line starting with ``fusionlab`` and the indented
    (or parenthesized) lines that continue it."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.split("  #")[0].rstrip()
        if not line.strip():
            continue
        if line.startswith("fusionlab "):
            out.append(line)
        else:
            out[-1] += " " + line.strip()
    return out


def is_synopsis(command: str) -> bool:
    """A usage line, not a command to run: placeholders, ``[...]`` or ``a|b``, or a bare
    ``fusionlab analyze`` naming the command in prose."""
    words = command.split(" | ")[0].split()
    if len(words) == 2 and words[1] in ("analyze", "verify", "rewrite"):
        return True
    return "[" in command or "|" in command.split(" | ")[0] or any(PLACEHOLDER.match(t) for t in words[2:])


def inline_commands() -> list[str]:
    """Inline code spans of the prose that are fusionlab commands (a span may wrap)."""
    prose = re.sub(r"^```.*?^```$", "", README, flags=re.M | re.S)
    return sorted({" ".join(s.split()) for s in re.findall(r"`(fusionlab [^`]+)`", prose)})


def _click_command(name: str):
    import typer

    from fusionlab.cli import app

    group = typer.main.get_command(app)
    return group.commands[name]


def check_synopsis(command: str) -> None:
    """Every ``--flag`` (and ``-o``) in ``command`` is an option of its subcommand; every
    ``--flag a|b|c`` value is one of the option's choices."""
    words = command.split()
    assert words[0] == "fusionlab" and words[1] in SUBCOMMANDS, command
    cmd = _click_command(words[1])
    options = {o: p for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    options.setdefault("--help", None)
    for flag, value in re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)(?:[ =]([^\s\]\[]+))?", " ".join(words[2:])):
        if flag.startswith("-") and not flag.startswith("--") and len(flag) > 2:
            continue  # a value such as -1, not an option
        assert flag in options, f"README shows {flag} for `fusionlab {words[1]}`, which has no such option"
        param = options[flag]
        if param is None:
            continue
        choices = getattr(param.type_descriptor, "choices", None)
        if value and "|" in value and choices:
            values = {getattr(c, "value", c) for c in choices}
            for choice in value.split("|"):
                assert choice in values, f"{flag} {choice}: not a choice of {sorted(values)}"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder holding a copy of ``models/`` (what README's commands name) and
    ``model.onnx`` (README's stand-in for the user's model: ResNet-18)."""
    ws = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "models", ws / "models", ignore=shutil.ignore_patterns("*.py"))
    for name in ("model.onnx", "m.onnx", "a.onnx", "b.onnx"):
        shutil.copy(ROOT / "models" / "resnet18.onnx", ws / name)
    return ws


def _run(command: str, cwd: Path, timeout: float = 900, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _ok(done: subprocess.CompletedProcess, command: str) -> None:
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr


def test_every_block_has_a_kind():
    untyped = [(line, info, text.splitlines()[0] if text.strip() else "")
               for line, info, text in blocks() if kind(info, text, line) is None]
    assert not untyped, f"README blocks no test runs: {untyped}"


def test_the_yaml_blocks_are_the_ones_test_ci_examples_runs():
    import yaml

    docs = [yaml.safe_load(t) for _, info, t in blocks() if info == "yaml"]
    assert len(docs) == 2 and sum("jobs" in d for d in docs) == 1 and sum("repos" in d for d in docs) == 1


def _shell_blocks() -> list[str]:
    return [c for line, info, t in blocks() if kind(info, t, line) == "shell-or-synopsis" for c in commands(t)]


@pytest.mark.parametrize("command", [c for c in _shell_blocks() + inline_commands() if is_synopsis(c)])
def test_synopsis_names_real_options(command):
    check_synopsis(command.split(" | ")[0])


def _concrete() -> list[str]:
    # an inline span naming the user's file (model.onnx, a.onnx) runs on the workspace's copy
    return sorted({c for c in _shell_blocks() + inline_commands() if not is_synopsis(c)})


@pytest.mark.parametrize("command", _concrete())
def test_concrete_command_runs_as_shown(command, workspace):
    check_synopsis(command.split(" | ")[0])
    done = _run(command, workspace)
    if command.endswith("| grep -F /some/node"):
        assert done.returncode == 1 and done.stderr == ""  # grep found nothing, fusionlab exited 0
        return
    expected = 1 if "--fail-on" in command else 0
    if expected:  # --fail-on exits 1 only when such a finding exists: ask analyze
        from fusionlab.analysis import analyze

        words = shlex.split(command)
        severity = words[words.index("--fail-on") + 1]
        order = ("error", "warning", "info")
        model = next(w for w in words[2:] if w.endswith(".onnx"))
        findings = analyze(workspace / model).findings
        expected = int(any(order.index(f.severity) <= order.index(severity) for f in findings))
    assert done.returncode == expected, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr


def _python_blocks() -> list[tuple[int, str]]:
    return [(line, t) for line, info, t in blocks() if info == "python"]


@pytest.mark.parametrize("line,text", _python_blocks(), ids=[f"line{n}" for n, _ in _python_blocks()])
def test_python_example_runs(line, text, workspace, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(workspace, ws, symlinks=True)
    if "def test_" in text:  # the pipeline example: a pytest file, after the baseline command
        (command,) = re.findall(r"`(fusionlab analyze [^`]*--write-baseline)`", README.replace("\n", " "))
        _ok(_run(command, ws), command)
        (ws / "tests").mkdir()
        (ws / "tests" / "test_fusions.py").write_text(text)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fusions.py"],
                              cwd=ws, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
        return
    script = ws / "example.py"
    script.write_text(text)
    done = subprocess.run([sys.executable, str(script)], cwd=ws, capture_output=True, text=True, timeout=600)
    _ok(done, f"README line {line}")


def test_toml_settings_are_in_force(workspace, tmp_path):
    import tomllib

    ((line, _, text),) = [b for b in blocks() if b[1] == "toml"]
    ws = tmp_path / "ws"
    shutil.copytree(workspace / "models", ws / "models")
    (ws / "pyproject.toml").write_text(text)
    done = _run("fusionlab config models/bert_tiny.onnx", ws)
    _ok(done, "fusionlab config")
    shown = tomllib.loads(text)["tool"]["fusionlab"]
    for key in ("target", "precision", "fail-on", "output-format"):
        assert re.search(rf"^{key}\s*=\s*\"?{re.escape(str(shown[key]))}\"?\s+# file", done.stdout, re.M), \
            (key, done.stdout)


def test_json_shape_is_the_reports(workspace):
    ((_, _, text),) = [b for b in blocks() if kind(b[1], b[2], b[0]) == "json-shape"]
    done = _run("fusionlab analyze models/bert_tiny.onnx --output-format json", workspace)
    _ok(done, "analyze json")
    report = json.loads(done.stdout)
    first, *rest = text.splitlines()
    top = re.findall(r'"(\w+)":', first) + [m.group(1) for line in rest if (m := re.match(r'^ "(\w+)":', line))]
    assert top and set(top) <= set(report), (top, sorted(report))
    for key, sample in (("layers", report["layers"][0]), ("diagnostics", report["diagnostics"][0]),
                        ("findings", report["findings"][0])):
        shown = re.search(rf'"{key}": \[\{{(.*?)\}}\]', text, flags=re.S).group(1)
        assert set(re.findall(r'"(\w+)":', shown)) <= set(sample), key  # "more keys may be added"


def test_fuzz_rerun_line_runs_as_shown():
    ((_, _, text),) = [b for b in blocks() if kind(b[1], b[2], b[0]) == "fuzz"]
    rerun, longer = [line.split("  #")[0] for line in text.splitlines() if line.strip()]
    assert rerun.split()[2].startswith(".venv/bin/python")
    done = _run(rerun.replace(".venv/bin/python", shlex.quote(sys.executable), 1), ROOT, timeout=600)
    assert done.returncode == 0 and " passed" in done.stdout and "failed" not in done.stdout, done.stdout + done.stderr
    source = (ROOT / "tests" / "test_fuzz.py").read_text() + (ROOT / "tests" / "fuzz.py").read_text()
    names = re.findall(r"\b(FUSIONLAB_\w+)=", longer)
    assert names
    for name in names:  # the long run (minutes) is the same command with its knobs read by the fuzzer
        assert f'"{name}"' in source, name


def test_completion_lines_run(tmp_path):
    ((_, _, text),) = [b for b in blocks() if kind(b[1], b[2], b[0]) == "completion"]
    lines = [line.split("  #")[0].strip() for line in text.splitlines() if line.strip()]
    assert len(lines) == 3
    install, show, source = lines
    home = tmp_path / "home"
    home.mkdir()
    done = _run(f"SHELL=/bin/bash {install}", tmp_path, home=home)
    _ok(done, install)
    assert "_FUSIONLAB_COMPLETE" in (home / ".bash_completions" / "fusionlab.sh").read_text() or \
        "fusionlab" in (home / ".bashrc").read_text()
    done = _run(f"SHELL=/bin/bash {show}", tmp_path, home=home)
    _ok(done, show)
    assert "complete" in done.stdout and "fusionlab" in done.stdout
    done = _run(f"{source}; complete -p fusionlab", tmp_path, home=home)
    _ok(done, source)
    assert "fusionlab" in done.stdout


def test_top_commands(tmp_path):
    """README's first line, byte for byte, in a copy of this checkout; the second is
    ``.ci/run``'s test command."""
    _, _, text = blocks()[0]
    first, second = text.strip().splitlines()
    assert second in (ROOT / ".ci" / "run").read_text().splitlines()
    copy = tmp_path / "fusionlab"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info",
                                                               "build", ".pytest_cache", "tests"))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
    done = subprocess.run(["bash", "-c", first], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=1800, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "/conv1/Conv" in done.stdout and "Traceback" not in done.stderr
    # the GitHub Actions workflow's steps (tests/test_ci_examples.py checks what they write)
    import yaml

    (workflow,) = [yaml.safe_load(t) for _, info, t in blocks() if info == "yaml" and "jobs:" in t]
    (job,) = workflow["jobs"].values()
    env["PATH"] = f"{copy / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    for step in job["steps"]:
        if "run" in step:
            done = subprocess.run(["bash", "-c", step["run"]], cwd=copy, env=env, capture_output=True,
                                  text=True, timeout=1800, stdin=subprocess.DEVNULL)
            assert done.returncode == 0, (step["run"], done.stdout[-2000:], done.stderr[-2000:])
    assert json.loads((copy / "fusionlab.sarif").read_text())["version"] == "2.1.0"
