"""The Python API raises fusionlab's documented error types, each importable from
``fusionlab`` (issue 10: "The Python API raises foreign exceptions (ZeroDivisionError,
MemoryError, RecursionError, OverflowError, ValueError) where the documented `fusionlab`
error types are promised"). One row per foreign exception the issue names, on the API
call that used to raise it."""

from __future__ import annotations

import onnx
import pytest

import fusionlab

from test_attribute_validation import conv_model
from test_odd_files import _external_model


def _conv_group_zero(tmp_path, models_dir):  # was ZeroDivisionError
    return lambda: fusionlab.analyze(conv_model(group=0))


def _input_of_2_40_elements(tmp_path, models_dir):  # was MemoryError
    model = onnx.load(str(models_dir / "bert_tiny.onnx"))
    for v in model.graph.input:
        v.type.tensor_type.shape.dim[0].dim_value = 1 << 34
    return lambda: fusionlab.rewrite(model)


def _deep_layer_info(tmp_path, models_dir):  # was RecursionError
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return lambda: fusionlab.verify(models_dir / "mobilenet_v2.onnx", layer_info=path)


def _timeout_inf(tmp_path, models_dir):  # was OverflowError
    return lambda: fusionlab.verify(models_dir / "mobilenet_v2.onnx", timeout=float("inf"))


def _nul_in_external_data(tmp_path, models_dir):  # was ValueError: embedded null byte
    path = tmp_path / "ext.onnx"
    path.write_bytes(_external_model("a\x00b").SerializeToString())
    return lambda: fusionlab.analyze(path)


def _nul_in_path(tmp_path, models_dir):  # was ValueError: embedded null byte
    return lambda: fusionlab.analyze(str(tmp_path / "a\x00b.onnx"))


def _long_path(tmp_path, models_dir):  # was OSError: File name too long
    return lambda: fusionlab.rewrite(str(tmp_path / ("n" * 300 + ".onnx")))


def _dev_zero(tmp_path, models_dir):  # was MemoryError
    link = tmp_path / "zero.onnx"
    link.symlink_to("/dev/zero")
    return lambda: fusionlab.analyze(link)


# (case id, the call, the documented error type, fragment of its message)
CASES = [
    ("conv-group-zero", _conv_group_zero, "InputError", "group must be an integer >= 1"),
    ("input-2^40-elements", _input_of_2_40_elements, "InputError", "--shape input_ids:DIMS"),
    ("deep-layer-info", _deep_layer_info, "ArtifactError", "nested too deeply"),
    ("timeout-inf", _timeout_inf, "InputError", "timeout"),
    ("nul-in-external-data", _nul_in_external_data, "InputError", "NUL byte"),
    ("nul-in-path", _nul_in_path, "InputError", "NUL byte"),
    ("path-over-NAME_MAX", _long_path, "InputError", "NAME_MAX"),
    ("symlink-to-dev-zero", _dev_zero, "InputError", "character device"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_api_raises_a_documented_error(tmp_path, models_dir, case):
    _, make, kind, fragment = case
    call = make(tmp_path, models_dir)
    error = getattr(fusionlab, kind)  # importable from fusionlab
    with pytest.raises(fusionlab.FusionlabError) as raised:
        call()
    assert isinstance(raised.value, error), type(raised.value)
    assert fragment in raised.value.message
    assert "\n" not in raised.value.message
