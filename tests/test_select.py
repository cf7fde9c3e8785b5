"""--select / --ignore validation and the API's select and sm values (issue 9)."""

from __future__ import annotations

import json

import pytest

import fusionlab
from fusionlab.errors import InputError


def _codes(out: str) -> set[str]:
    return {d["code"] for d in json.loads(out)["diagnostics"]}


def test_select_is_case_insensitive(cli, models_dir):
    bert = models_dir / "bert_tiny.onnx"
    lower = cli("analyze", bert, "--select", "trt108", "--format", "json")
    upper = cli("analyze", bert, "--select", "TRT108", "--format", "json")
    assert lower[0] == upper[0] == 0
    assert _codes(lower[1]) == _codes(upper[1]) == {"TRT108"}


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_code_or_prefix_is_exit_2(cli, models_dir, option):
    code, out, err = cli("analyze", models_dir / "bert_tiny.onnx", option, "TRT1,NOPE")
    assert code == 2 and out == ""
    assert err == "fusionlab: error: unknown rule code or prefix NOPE\n"


def test_api_select_string_is_one_prefix(models_dir):
    bert = models_dir / "bert_tiny.onnx"
    one = fusionlab.analyze(bert, select="TRT1")
    everything = fusionlab.analyze(bert)
    assert {d.code for d in one.diagnostics} == {d.code for d in everything.diagnostics
                                                  if d.code.startswith("TRT1")}
    assert len(one.diagnostics) < len(everything.diagnostics)
    with pytest.raises(InputError, match="unknown rule code or prefix TRT9"):
        fusionlab.analyze(bert, ignore="TRT9")


def test_api_sm_string_is_accepted_and_bad_sm_is_input_error(models_dir):
    resnet = models_dir / "resnet18.onnx"
    as_text = fusionlab.analyze(resnet, sm="8.6")
    as_float = fusionlab.analyze(resnet, sm=8.6)
    assert as_text.sm == 8.6 and as_text.to_json()["layers"] == as_float.to_json()["layers"]
    for bad in ("eight", True, 0, float("nan"), None):
        with pytest.raises(InputError, match="sm must be a GPU compute capability"):
            fusionlab.analyze(resnet, sm=bad)
