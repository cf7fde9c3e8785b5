"""The pre-commit hook (issue 9, item 7): ``pre-commit try-repo`` installs this checkout
the way a user's pre-commit does (a virtualenv with ``pip install`` of the repository,
``language: python``) and runs the ``fusionlab`` hook of ``.pre-commit-hooks.yaml`` on a
git repository holding shipped models. With the hook's default ``--fail-on error`` the
INT8 ResNet-18 whose biases are INT32 DequantizeLinear (TRT402, the parser rejects it)
stops the commit; the float-bias one and BERT (warnings only) pass.

try-repo builds that environment for each run of a checkout with uncommitted changes
(one to two minutes under load, PyPI access for onnx, onnxruntime... as any pre-commit
install needs), so it runs once, on a repository holding a failing and a passing model
(pre-commit hands both to one ``fusionlab analyze``); the models also run alone through
the hook's ``entry`` and ``args`` as parsed from ``.pre-commit-hooks.yaml``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fusionlab.analysis import analyze

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def _git_repo(folder: Path, *models: Path) -> Path:
    folder.mkdir()
    for model in models:
        shutil.copy(model, folder / model.name)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "model"]):
        subprocess.run(cmd, cwd=folder, check=True, env=env, capture_output=True, timeout=120)
    return folder


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run([*PRE_COMMIT, "try-repo", str(ROOT), "fusionlab", "--all-files", "--verbose"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1200,
                          stdin=subprocess.DEVNULL)


def test_try_repo_stops_a_commit_of_a_model_the_parser_rejects(tmp_path, models_dir):
    assert shutil.which("git"), "pre-commit needs git"
    names = ["resnet18_qdq.onnx", "resnet18_qdq_floatbias.onnx"]
    repo = _git_repo(tmp_path / "models", *(models_dir / n for n in names))
    done = _try_repo(repo, tmp_path / "pre-commit-home")
    assert "Traceback" not in done.stdout + done.stderr
    assert "- hook id: fusionlab" in done.stdout
    rejected = False
    for name in names:
        findings = analyze(models_dir / name).findings
        rejected = rejected or any(f.severity == "error" for f in findings)
        lines = [line for line in done.stdout.splitlines() if line.startswith(f"{name}:")]
        assert len(lines) == len(findings)  # concise: one line per finding, the file as pre-commit names it
        assert sum(" TRT402 " in line for line in lines) == sum("TRT402" in f.codes for f in findings)
    assert rejected  # resnet18_qdq's INT32 biases
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout
    assert "total (2 models)" in done.stdout  # one analyze call for both files, its summary table


def _hook() -> dict:
    from pre_commit.clientlib import load_manifest

    (hook,) = [h for h in load_manifest(ROOT / ".pre-commit-hooks.yaml") if h["id"] == "fusionlab"]
    return hook


def test_hook_selects_onnx_files_only():
    import re

    hook = _hook()
    assert hook["language"] == "python" and hook["entry"].split()[:2] == ["fusionlab", "analyze"]
    files = re.compile(hook["files"])
    assert files.search("models/resnet18.onnx") and files.search("a b/x.onnx")
    assert not files.search("model.onnx.data") and not files.search("export.py") and not files.search("x.onnxx")


@pytest.mark.parametrize("name", ["resnet18_qdq_floatbias.onnx", "resnet18_qdq.onnx", "bert_tiny.onnx"])
def test_hook_entry_and_args_fail_only_on_errors(cli, models_dir, name):
    """``entry`` + ``args`` + the file name, as pre-commit calls it."""
    import shlex

    hook = _hook()
    argv = [*shlex.split(hook["entry"]), *hook["args"], str(models_dir / name)]
    code, out, err = cli(*argv[1:])
    findings = analyze(models_dir / name).findings
    assert code == (1 if any(f.severity == "error" for f in findings) else 0), err
    assert len(out.splitlines()) == len(findings) + 1  # concise: a line per finding and the summary
