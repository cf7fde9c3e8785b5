"""Output files get the user's umask (issue 9, item 7): a new report or rewritten model
has ``0o666 & ~umask`` (``tempfile.mkstemp`` alone would leave 0600), as ``open(path,
"w")`` gives; a file written over keeps its mode. Checked for ``analyze -o`` and
``rewrite -o`` (the model and its external-data file)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import onnx
import pytest


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """``umask(0o077)`` sets the process umask for the test; the old one comes back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda value: os.umask(value)
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_analyze_output_gets_the_umask(cli, tmp_path, models_dir, umask, mask):
    umask(mask)
    out = tmp_path / "report.sarif"
    code, _, err = cli("analyze", models_dir / "resnet18.onnx", "--output-format", "sarif", "-o", out)
    assert code == 0, err
    assert _mode(out) == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_rewrite_output_gets_the_umask(cli, tmp_path, models_dir, umask, mask):
    umask(mask)
    out = tmp_path / "bert.onnx"
    report = tmp_path / "rewrite.json"
    code, _, err = cli("rewrite", models_dir / "bert_tiny.onnx", "-o", out, "--report", report,
                       "--output-format", "json")
    assert code == 0, err
    assert _mode(out) == 0o666 & ~mask and _mode(report) == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_rewrite_external_data_gets_the_umask(cli, tmp_path, models_dir, umask, mask):
    src = tmp_path / "in" / "bert.onnx"
    src.parent.mkdir()
    onnx.save_model(onnx.load(str(models_dir / "bert_tiny.onnx")), str(src), save_as_external_data=True,
                    location="bert.onnx.data", size_threshold=1024)
    umask(mask)
    out = tmp_path / "out.onnx"
    code, _, err = cli("rewrite", src, "-o", out)
    assert code == 0, err
    data = tmp_path / "out.onnx.data"
    assert data.is_file()
    assert _mode(out) == 0o666 & ~mask and _mode(data) == 0o666 & ~mask


def test_a_file_written_over_keeps_its_mode(cli, tmp_path, models_dir, umask):
    umask(0o022)
    out = tmp_path / "report.txt"
    out.write_text("old report\n")
    out.chmod(0o640)
    code, _, err = cli("analyze", models_dir / "resnet18.onnx", "-o", out)
    assert code == 0, err
    assert "old report" not in out.read_text()
    assert _mode(out) == 0o640
    rewritten = tmp_path / "bert.onnx"
    rewritten.write_bytes(b"")
    rewritten.chmod(0o600)
    code, _, err = cli("rewrite", models_dir / "bert_tiny.onnx", "-o", rewritten)
    assert code == 0, err
    assert onnx.load(str(rewritten)).graph.node and _mode(rewritten) == 0o600
