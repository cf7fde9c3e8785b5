"""``fusionlab rewrite`` on a model no pass changes (issue 9, item 7): nothing is written,
neither the output model nor its external data, and stderr and the report say so. The
stock torchvision ResNet-18 (46.7 MB) has no rewrite on either target: its BatchNorms are
folded at export and nothing in it is a fold or erasure TensorRT would do."""

from __future__ import annotations

import json
import shutil

import pytest

from fusionlab.analysis import analyze


@pytest.fixture(scope="module")
def resnet18(models_dir):
    return models_dir / "resnet18.onnx"


def test_resnet18_has_nothing_to_rewrite(cli, tmp_path, resnet18):
    out = tmp_path / "out.onnx"
    code, stdout, err = cli("rewrite", resnet18, "-o", out, "--output-format", "json")
    assert code == 0, err
    assert not out.exists() and not (tmp_path / "out.onnx.data").exists()
    assert list(tmp_path.iterdir()) == []  # no temp file either
    assert f"fusionlab: nothing to rewrite: {resnet18} unchanged; {out} not written" in err.splitlines()
    data = json.loads(stdout)
    assert data["changed"] is False and data["output"] is None
    assert data["note"] == f"nothing to rewrite: {resnet18} unchanged; {out} not written"


def test_the_text_report_says_so_and_names_no_output(cli, tmp_path, models_dir):
    model = models_dir / "mobilenet_v2.onnx"
    out = tmp_path / "out.onnx"
    code, stdout, err = cli("rewrite", model, "-o", out, "--target", "tensorrt-rtx")
    assert code == 0, err
    assert not out.exists()
    first = " ".join(stdout.split())  # rich may wrap the line on a narrow terminal
    assert first.startswith(f"nothing to rewrite: {model} unchanged; {out} not written")
    assert f"-> {out}" not in first


def test_in_place_leaves_the_file_untouched(cli, tmp_path, models_dir):
    model = shutil.copy(models_dir / "mobilenet_v2.onnx", tmp_path / "m.onnx")
    before = model.stat()
    code, _, err = cli("rewrite", model, "--in-place")
    assert code == 0, err
    assert f"fusionlab: nothing to rewrite: {model} unchanged" in err.splitlines()
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_findings_formats_point_at_the_input_when_nothing_is_written(cli, tmp_path, resnet18):
    out = tmp_path / "out.onnx"
    code, stdout, err = cli("rewrite", resnet18, "-o", out, "--output-format", "concise")
    assert code == 0, err
    assert not out.exists()
    lines = stdout.splitlines()
    assert len(analyze(resnet18).findings) == len(lines) - 1  # one line per finding + the summary
    assert all(line.startswith(f"{resnet18}:") for line in lines[:-1])


def test_a_model_that_changes_is_still_written(cli, tmp_path, models_dir):
    out = tmp_path / "out.onnx"
    code, _, err = cli("rewrite", models_dir / "bert_tiny.onnx", "-o", out)
    assert code == 0, err
    assert out.is_file() and "nothing to rewrite" not in err
