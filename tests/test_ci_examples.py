"""README's CI examples (issue 9, "Done when"): the GitHub Actions job that uploads the
SARIF log and the ``.pre-commit-config.yaml`` that runs the hook. Both YAML blocks are
parsed (pyyaml); the workflow's ``fusionlab`` commands run on the shipped model and must
leave the SARIF file ``upload-sarif`` uploads, valid against the SARIF 2.1.0 schema; the
pre-commit config's hook must exist in ``.pre-commit-hooks.yaml`` and its entry with the
config's args must run on a shipped model."""

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
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"


def yaml_blocks() -> list:
    """Every ```yaml block of README.md, parsed."""
    text = (ROOT / "README.md").read_text()
    return [yaml.safe_load(b) for b in re.findall(r"^```yaml\n(.*?)^```$", text, flags=re.M | re.S)]


def _workflow() -> dict:
    found = [b for b in yaml_blocks() if isinstance(b, dict) and "jobs" in b]
    assert len(found) == 1, "README shows one GitHub Actions workflow"
    return found[0]


def _pre_commit_config() -> dict:
    found = [b for b in yaml_blocks() if isinstance(b, dict) and "repos" in b]
    assert len(found) == 1, "README shows one .pre-commit-config.yaml"
    return found[0]


def _steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_workflow_has_the_structure_github_expects():
    wf = _workflow()
    assert wf["name"] and set(wf[True] if True in wf else wf["on"]) >= {"push", "pull_request"}  # yaml 1.1: on = True
    assert wf["permissions"]["security-events"] == "write"  # upload-sarif needs it
    (job,) = wf["jobs"].values()
    assert job["runs-on"].startswith("ubuntu")
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step  # each step runs a command or an action
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses[0] == "actions/checkout"
    assert uses[-1] == "github/codeql-action/upload-sarif"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert any("pip install" in r for r in runs)


def test_upload_sarif_uploads_the_file_analyze_writes():
    steps = _steps(_workflow())
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    analyze = [shlex.split(s["run"], comments=True) for s in steps if s.get("run", "").startswith("fusionlab ")]
    assert analyze, "the workflow runs fusionlab"
    sarif_outputs = [a[a.index("-o") + 1] for a in analyze
                     if a[1] == "analyze" and "-o" in a and a[a.index("--output-format") + 1] == "sarif"]
    assert sarif_outputs == [upload["with"]["sarif_file"]]
    assert steps.index(upload) > max(i for i, s in enumerate(steps) if s.get("run", "").startswith("fusionlab "))


def test_workflow_commands_run_and_write_a_valid_sarif_log(tmp_path):
    import jsonschema

    steps = _steps(_workflow())
    (tmp_path / "models").symlink_to(ROOT / "models")  # the workflow runs in a checkout holding models/
    for step in steps:
        if not step.get("run", "").startswith("fusionlab "):
            continue
        argv = shlex.split(step["run"], comments=True)
        done = subprocess.run([sys.executable, "-m", "fusionlab.cli", *argv[1:]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    log = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "fusionlab"
    assert run["results"], "resnet18 has findings"
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {
        "models/resnet18.onnx"}


def _manifest() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_pre_commit_config_uses_a_hook_the_repository_defines(tmp_path):
    """README's config is pre-commit-valid (its own schema) and its local hook is the one
    ``.pre-commit-hooks.yaml`` defines: same id, entry and files."""
    from pre_commit.clientlib import load_config, load_manifest

    manifest = load_manifest(ROOT / ".pre-commit-hooks.yaml")  # pre-commit's own schema check
    config_file = tmp_path / ".pre-commit-config.yaml"
    config_file.write_text(yaml.safe_dump(_pre_commit_config()))
    config = load_config(config_file)
    hooks = [h for repo in config["repos"] for h in repo["hooks"]]
    assert [h["id"] for h in hooks] == ["fusionlab"]
    (defined,) = [h for h in manifest if h["id"] == "fusionlab"]
    assert (hooks[0]["entry"], hooks[0]["files"]) == (defined["entry"], defined["files"])


def test_pre_commit_runs_readmes_config(tmp_path):
    """``pre-commit run --all-files`` with README's config, as shown, in a git repository
    holding shipped models (fusionlab on PATH, as the config's ``language: system`` asks):
    BERT has warnings, so the config's ``--fail-on warning`` fails the hook and prints its
    concise findings; the float-bias INT8 ResNet-18 on its own passes only when it has no
    warning on TensorRT-RTX (checked against analyze)."""
    from fusionlab.analysis import analyze

    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    block = re.search(r"^```yaml\n(# \.pre-commit-config\.yaml\n.*?)^```$", (ROOT / "README.md").read_text(),
                      flags=re.M | re.S).group(1)
    for name in ("bert_tiny.onnx", "resnet18_qdq_floatbias.onnx"):
        repo = tmp_path / name
        repo.mkdir()
        shutil.copy(ROOT / "models" / name, repo / name)
        (repo / ".pre-commit-config.yaml").write_text(block)  # the block, byte for byte
        for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "m"]):
            subprocess.run(cmd, cwd=repo, check=True, env=env, capture_output=True, timeout=120)
        done = subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        warned = any(f.severity in ("error", "warning")
                     for f in analyze(ROOT / "models" / name, target="tensorrt-rtx").findings)
        assert done.returncode == (1 if warned else 0), done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        if warned:
            assert f"{name}:" in done.stdout and "Failed" in done.stdout
        else:
            assert "Passed" in done.stdout


@pytest.mark.parametrize("model", ["resnet18.onnx", "mobilenet_v2.onnx", "bert_tiny.onnx"])
def test_pre_commit_config_args_run_with_the_hooks_entry(cli, models_dir, model):
    """What pre-commit runs for README's config: the hook's ``entry``, the config's ``args``
    (they replace the hook's), then the file names; it fails when a finding is a warning
    (the config's ``--fail-on warning``) on the config's target."""
    from fusionlab.analysis import analyze

    (hook,) = [h for h in _manifest() if h["id"] == "fusionlab"]
    (cfg,) = [h for r in _pre_commit_config()["repos"] for h in r["hooks"]]
    args = cfg.get("args", hook.get("args", []))
    argv = [*shlex.split(hook["entry"]), *args, str(models_dir / model)]
    assert argv[0] == "fusionlab"
    status, out, err = cli(*argv[1:])
    target = args[args.index("--target") + 1] if "--target" in args else "tensorrt"
    findings = analyze(models_dir / model, target=target).findings
    assert status == (1 if any(f.severity in ("error", "warning") for f in findings) else 0), err
    assert out.splitlines()[-1].startswith("Found " if findings else "No findings")
    assert len(out.splitlines()) == len(findings) + 1
    assert all(line.startswith(f"{models_dir / model}:") for line in out.splitlines()[:-1])
