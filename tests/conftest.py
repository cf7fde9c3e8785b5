"""Shared test configuration: markers, options, paths and small builders.

Markers (registered here; pyproject's ``addopts`` has ``--strict-markers``, so a typo in a
marker name is a collection error):
    needs_rtx: the test builds with TensorRT-RTX (the ``tensorrt_rtx`` module, which
        builds on the CPU); skipped, with that reason, where the package is absent.
        That is the only skip allowed: any other skip (a missing data file...) is
        turned into a failure (``ALLOWED_SKIPS``).

Options:
    --snapshot-update: write the per-rule-test snapshots of ``report.to_json()`` (see
        tests/rules/conftest.py) instead of failing on a missing or different one.

Fixtures:
    repo_root, models_dir, trt_artifacts: the checkout, ``models/`` and the copies of real
        TensorRT outputs in ``tests/data/trt-artifacts`` (see its SOURCES.md).
    cli: run ``fusionlab`` in-process; returns ``(exit code, stdout, stderr)``.
    conv_relu_model: the smallest model with a fusion, ``x -> conv1 -> relu1``.
    save_model: save a ModelProto under ``tmp_path``; returns the path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

#: The checkout (tests/ is one level below it).
REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
#: Copies of real TensorRT outputs (trtexec logs, layer info, profiles) the tests read.
TRT_ARTIFACTS = REPO / "tests" / "data" / "trt-artifacts"

HAVE_RTX = importlib.util.find_spec("tensorrt_rtx") is not None

MARKERS = {
    "needs_rtx": "the test builds with TensorRT-RTX (tensorrt_rtx); skipped where it is not installed",
}


def pytest_addoption(parser):
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="write tests/rules/<family>/snapshots/... instead of comparing")


def pytest_configure(config):
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


#: The only reasons a test may skip: an optional package is not installed.
ALLOWED_SKIPS = ("tensorrt_rtx is not installed",)


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_rtx") is not None and not HAVE_RTX:
        pytest.skip(ALLOWED_SKIPS[0])


def _forbid_skip(report, nodeid: str):
    """Turn a skip for a reason outside ALLOWED_SKIPS into a failure."""
    if report.skipped and not hasattr(report, "wasxfail") and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if reason not in ALLOWED_SKIPS:
            report.outcome = "failed"
            report.longrepr = (f"{nodeid} skipped ({reason!r}); tests may skip only because "
                               f"an optional package is missing (tests/conftest.py ALLOWED_SKIPS)")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip for any other reason (a missing file, a case that does not apply) fails:
    a clone runs every test, and a test that does not apply is not collected."""
    return _forbid_skip((yield), item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at import (``pytest.importorskip``...)."""
    return _forbid_skip((yield), collector.nodeid)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS


@pytest.fixture(scope="session")
def trt_artifacts() -> Path:
    return TRT_ARTIFACTS


@pytest.fixture
def cli(capsys):
    """``cli("analyze", path, "--format", "json") -> (code, out, err)`` (arguments str()'d)."""
    from fusionlab.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def conv_relu_model():
    """``x [1, 32, 8, 8] -> conv1 (3x3, 32 channels) -> relu1``: TRT101's one fusion."""
    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name="conv1")
    return g.model([g.node("Relu", [y], name="relu1")])


@pytest.fixture
def save_model(tmp_path):
    """``save_model(model, "m.onnx") -> Path`` under the test's ``tmp_path``."""
    import onnx

    def save(model, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        onnx.save(model, str(path))
        return path

    return save


@pytest.fixture
def names_cleared():
    """``names_cleared(src, dest) -> dest``: a copy of the model at ``src`` with every
    node's name emptied (as exporters that name nothing write it), saved at ``dest``."""
    import onnx

    def clear(src: Path, dest: Path) -> Path:
        model = onnx.load(str(src))
        for node in model.graph.node:
            node.name = ""
        onnx.save(model, str(dest))
        return dest

    return clear
