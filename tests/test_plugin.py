"""A rule pack installed as a package adds a rule that ``fusionlab rules`` lists and
``fusionlab analyze`` applies (issue 7: "a plugin package adds a rule", tested).

``tests/data/plugin_pack`` is a real distribution (pyproject with
``[project.entry-points."fusionlab.rules"]``, one module with one Rule subclass, XMP001
``pool-flatten``). It is installed with pip into a temporary folder with ``--target``,
and that folder goes on ``PYTHONPATH`` of fresh ``python -m fusionlab.cli`` processes, so
the pack is found the way an installed one is: through its ``.dist-info/entry_points.txt``
(``fusionlab.registry.pack_entry_points``).

The build: ``--no-build-isolation`` (offline) when this interpreter can build a wheel
(setuptools >= 70.1, or setuptools with the ``wheel`` package); otherwise pip's default
isolated build, which fetches setuptools from the package index (a fresh Python 3.11 venv
has setuptools 65.5 and no ``wheel``, so ``bdist_wheel`` is missing there). A failed
install fails the test with pip's output.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "tests" / "data" / "plugin_pack"
RESNET18 = ROOT / "models" / "resnet18.onnx"


def can_build_wheels_offline() -> bool:
    """Whether this interpreter's setuptools builds a wheel without downloading anything."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("setuptools")) >= Version("70.1")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The folder pip installed the pack into (a copy is built, so tests/data stays clean)."""
    work = tmp_path_factory.mktemp("plugin")
    src = shutil.copytree(PACK, work / "src", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(src)]
    if can_build_wheels_offline():
        cmd[4:4] = ["--no-build-isolation", "--no-index"]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    (dist,) = target.glob("xmp_fusionlab_rules-*.dist-info")
    assert "[fusionlab.rules]\nxmp = xmp_rules" in (dist / "entry_points.txt").read_text()
    return target


def fusionlab(*args: str, site: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m fusionlab.cli ARGS`` in a fresh process, from the checkout's root, with
    the installed pack on PYTHONPATH when ``site`` is given."""
    env = dict(os.environ)
    paths = ([str(site)] if site else []) + [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.run([sys.executable, "-m", "fusionlab.cli", *args], cwd=ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=300)


def test_rules_lists_the_plugin_rule(site):
    text = fusionlab("rules", site=site)
    assert text.returncode == 0, text.stderr
    rows = [line for line in text.stdout.splitlines() if line.startswith("| XMP001 |")]
    assert rows and rows[0].startswith("| XMP001 | `pool-flatten` | lint | `no-flatten-after-pool` | "
                                       "A global pooling followed by a Flatten")
    assert "| TRT101 | `conv-relu` |" in text.stdout and "| TRT507 |" in text.stdout   # the built-in pack too


def test_analyze_applies_the_plugin_rule_to_a_shipped_model(site):
    done = fusionlab("analyze", str(RESNET18), "--format", "json", site=site)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (lint,) = [d for d in report["diagnostics"] if d["code"] == "XMP001"]
    assert lint["rule"] == "pool-flatten" and lint["status"] == "lint"
    assert lint["nodes"] == ["/avgpool/GlobalAveragePool", "/Flatten"]
    assert lint["check"] == "no-flatten-after-pool"
    assert "/Flatten flattens the [1, 512, 1, 1] output of /avgpool/GlobalAveragePool" in lint["reason"]


def test_without_the_pack_the_rule_is_absent():
    rules = fusionlab("rules", "--format", "json")
    assert rules.returncode == 0, rules.stderr
    codes = {r["code"] for r in json.loads(rules.stdout)}
    assert "TRT101" in codes and "XMP001" not in codes
