"""Project settings (issue 9): [tool.fusionlab] / fusionlab.toml found from the model's
folder or given with --config, command-line options over the file, errors exit 2."""

from __future__ import annotations

import json
import shutil

import pytest


@pytest.fixture
def project(tmp_path, models_dir):
    """A project folder holding bert_tiny.onnx in ``models/`` below its pyproject.toml."""
    (tmp_path / "models").mkdir()
    shutil.copy(models_dir / "bert_tiny.onnx", tmp_path / "models" / "bert_tiny.onnx")
    return tmp_path


def _codes(out: str) -> list[str]:
    return [c for f in json.loads(out)["findings"] for c in f["codes"]]


def test_pyproject_found_by_walking_up_and_options_override(cli, project):
    model = project / "models" / "bert_tiny.onnx"
    everything = _codes(cli("analyze", model, "--format", "json")[1])
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.fusionlab]\nselect = ["trt3"]\nextend-select = ["TRT5"]\n'
        'output-format = "json"\n')
    code, out, err = cli("analyze", model)
    assert code == 0, err
    assert sorted(_codes(out)) == sorted(c for c in everything if c.startswith(("TRT3", "TRT5")))
    assert "TRT108" in everything and "TRT108" not in _codes(out)
    code, out, _ = cli("analyze", model, "--select", "TRT108")     # the option replaces select
    assert set(_codes(out)) == {"TRT108", "TRT503"}                # extend-select still adds


def test_fusionlab_toml_per_node_ignores_and_fail_on(cli, project):
    model = project / "models" / "bert_tiny.onnx"
    (project / "fusionlab.toml").write_text(
        'fail-on = "warning"\n[per-node-ignores]\n"/pooler/*" = ["TRT5", "TRT302"]\n')
    code, out, _ = cli("analyze", model, "--format", "json")
    assert code == 1                                               # fail-on from the file
    nodes = [n for f in json.loads(out)["findings"] for n in f["nodes"]]
    assert nodes and not any(n.startswith("/pooler/") for n in nodes)
    assert any(n.startswith("/encoder/") for n in nodes)


@pytest.mark.parametrize("text, message", [
    ("bogus = 1\n", "unknown config key 'bogus'"),
    ('select = ["NOPE"]\n', "unknown rule code or prefix NOPE"),
    ('target = "gpu"\n', "config key 'target' must be one of tensorrt, tensorrt-rtx"),
    ('sm = "x"\n', "config key 'sm' must be a compute capability"),
    ("select = [\n", "not valid TOML"),
])
def test_bad_config_is_one_line_exit_2(cli, project, text, message):
    (project / "fusionlab.toml").write_text(text)
    code, out, err = cli("analyze", project / "models" / "bert_tiny.onnx")
    assert code == 2 and out == ""
    assert err.startswith("fusionlab: error: ") and message in err and err.count("\n") == 1


def test_config_command_prints_what_is_in_force(cli, project, tmp_path):
    given = tmp_path / "other.toml"
    given.write_text('target = "tensorrt-rtx"\nsm = 8.9\n')
    code, out, _ = cli("config", project / "models" / "bert_tiny.onnx", "--config", given)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"# config file: {given}"
    assert 'target = "tensorrt-rtx"  # file' in lines and "sm = 8.9  # file" in lines
    assert 'precision = "fp32"  # default' in lines
    code, out, err = cli("config", "--config", tmp_path / "missing.toml")
    assert code == 2 and "config file does not exist" in err


def test_output_format_html_in_the_config_writes_the_report_to_o(cli, project):
    """``output-format = "html"`` is the HTML report: it needs -o (exit 2 otherwise), and
    with several models it is refused as on the command line."""
    model = project / "models" / "bert_tiny.onnx"
    (project / "fusionlab.toml").write_text('output-format = "html"\n')
    code, out, err = cli("analyze", model)
    assert code == 2 and out == "" and "give -o FILE" in err
    code, _, err = cli("analyze", model, "-o", project / "r.html")
    assert code == 0, err
    html = (project / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "/pooler/dense/Gemm" in html
    shutil.copy(model, project / "models" / "second.onnx")
    code, _, err = cli("analyze", project / "models", "-o", project / "two.html")
    assert code == 2 and "html draws one model, not 2" in err and not (project / "two.html").exists()
