"""Deep or odd files and models (issue 10: "A 100k-deep nested JSON as `--layer-info`
(RecursionError), a profile whose `count` is NaN or 1e999 ..., a sequence-typed graph input
in rewrite: all exit 70"; "a NUL byte or 5000 characters in an external-data location";
"a model ONNX Runtime cannot run in float64 is refused by rewrite although nothing needed
changing"). Each is one line and exit 2, or a clean run, never exit 70."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from test_bad_input import assert_one_line_error

MOBILENET = "fuzzylabs_trtexec_trt10.4/mobilenet_v2"


def _deep(tmp_path, trt_artifacts):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def _profile_with_count(value):
    def make(tmp_path, trt_artifacts):
        data = json.loads((trt_artifacts / MOBILENET / "mobilenet_v2_fp16.profile.json").read_text())
        for record in data:
            if isinstance(record, dict) and "count" in record:
                record["count"] = value
        path = tmp_path / "profile.json"
        path.write_text(json.dumps(data).replace("Infinity", "1e999"))
        return path
    return make


# (case id, extra verify options with FILE for the made file, how FILE is made, fragments)
ARTIFACT_CASES = [
    ("deep-json-layer-info", ["--layer-info", "FILE"], _deep, ["deep.json", "nested too deeply"]),
    ("deep-json-log", ["--log", "FILE"], _deep, ["deep.json", "nested too deeply"]),
    ("profile-count-nan", ["--layer-info", "INFO", "--profile", "FILE"], _profile_with_count(float("nan")),
     ["profile.json", '"count": nan', "whole number >= 0"]),
    ("profile-count-1e999", ["--layer-info", "INFO", "--profile", "FILE"], _profile_with_count(float("inf")),
     ["profile.json", '"count": inf']),
    ("profile-count-negative", ["--layer-info", "INFO", "--profile", "FILE"], _profile_with_count(-1),
     ["profile.json", '"count": -1']),
    ("profile-count-fraction", ["--layer-info", "INFO", "--profile", "FILE"], _profile_with_count(2.5),
     ["profile.json", '"count": 2.5']),
]


@pytest.mark.parametrize("case", ARTIFACT_CASES, ids=[c[0] for c in ARTIFACT_CASES])
def test_odd_artifact_is_one_line_exit_2(cli, models_dir, trt_artifacts, tmp_path, case):
    _, options, make, fragments = case
    made = make(tmp_path, trt_artifacts)
    info = trt_artifacts / MOBILENET / "mobilenet_v2_fp16.graph.json"
    subst = {"FILE": str(made), "INFO": str(info)}
    code, _, err = cli("verify", models_dir / "mobilenet_v2.onnx", *[subst.get(o, o) for o in options])
    assert_one_line_error(code, err, *fragments)


def _external_model(location: str) -> onnx.ModelProto:
    """A MatMul whose weight's external data sits at ``location``."""
    weight = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


LOCATIONS = [("nul", "a\x00b.data", "NUL byte"), ("5000-characters", "x" * 5000, "(PATH_MAX)"),
             ("300-character-name", "x" * 300, "(NAME_MAX)")]
COMMANDS = [("analyze",), ("rewrite", "--dry-run"), ("rewrite", "-o", "OUT"), ("verify", "--log", "LOG")]
LOCATION_CASES = [(loc, cmd) for loc in LOCATIONS for cmd in COMMANDS]


@pytest.mark.parametrize("case", LOCATION_CASES, ids=[f"{c[0][0]}:{' '.join(c[1])}" for c in LOCATION_CASES])
def test_unusable_external_data_location(cli, tmp_path, trt_artifacts, case):
    (_, location, fragment), command = case
    path = tmp_path / "ext.onnx"
    path.write_bytes(_external_model(location).SerializeToString())
    log = next((trt_artifacts / MOBILENET).parent.parent.rglob("*.log"))
    subst = {"OUT": str(tmp_path / "out.onnx"), "LOG": str(log)}
    code, _, err = cli(command[0], path, *[subst.get(a, a) for a in command[1:]])
    assert_one_line_error(code, err, "external data location of initializer 'w'", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ext.onnx"]


def _sequence_input() -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node("SequenceAt", ["s", "i"], ["y"], name="at")], "g",
                              [helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [2, 2]),
                               helper.make_tensor_value_info("i", TensorProto.INT64, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _float64_erf() -> onnx.ModelProto:
    """ONNX Runtime has no float64 Erf kernel: the original cannot run."""
    graph = helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="erf")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2, 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# (case id, model ONNX Runtime cannot run on random tensors) -- nothing to rewrite in either
UNRUNNABLE = [("sequence-typed-input", _sequence_input), ("float64-erf", _float64_erf)]


@pytest.mark.parametrize("case", UNRUNNABLE, ids=[c[0] for c in UNRUNNABLE])
def test_unrunnable_model_with_nothing_to_rewrite_is_not_written(cli, tmp_path, case):
    _, make = case
    path = tmp_path / "m.onnx"
    onnx.save(make(), str(path))
    out = tmp_path / "out.onnx"
    code, stdout, err = cli("rewrite", path, "-o", out, "--format", "json")
    assert code == 0, err
    assert "internal error" not in err and "Traceback" not in err
    assert json.loads(stdout)["changes"] == []
    assert not out.exists()  # nothing to rewrite: no copy of the input (issue 9, item 7)
    assert f"fusionlab: nothing to rewrite: {path} unchanged; {out} not written" in err.splitlines()


def test_sequence_input_refused_by_the_check_names_the_input():
    from fusionlab import equivalence

    with pytest.raises(equivalence.NotRunnable, match="input s is sequence-typed"):
        equivalence.reference(_sequence_input())
