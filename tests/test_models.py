"""analyze on the real exports in models/ and on the real TensorRT 10.4 layer info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionlab.analysis import analyze
from fusionlab.cli import main
from fusionlab.verification import verify

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.onnx"))
ARTIFACTS = ROOT / "tests" / "data" / "trt-artifacts"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
def test_every_node_is_in_exactly_one_layer_or_absorbed(path, target):
    report = analyze(path, target=target)
    placed = [n for layer in report.layers for n in layer.nodes] + list(report.absorbed)
    assert len(placed) == len(set(placed)), "a node is in two layers"
    assert len(placed) == report.nodes
    assert len(report.layers) < report.nodes


def test_resnet18_convolutions_absorb_relu_and_residual_add():
    report = analyze(ROOT / "models" / "resnet18.onnx")
    layer = report.layer_of("/layer1/layer1.0/Add")
    assert layer.nodes == ("/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add", "/layer1/layer1.0/relu_1/Relu")
    assert layer.name == " + ".join(layer.nodes)
    assert report.layer_of("/layer1/layer1.0/relu/Relu").nodes == (
        "/layer1/layer1.0/conv1/Conv", "/layer1/layer1.0/relu/Relu")
    # in a downsampling block the Add fuses into one of its two convolutions, the other
    # stays a layer of its own
    add = report.layer_of("/layer2/layer2.0/Add")
    convs = {"/layer2/layer2.0/downsample/downsample.0/Conv", "/layer2/layer2.0/conv2/Conv"}
    assert len(convs & set(add.nodes)) == 1
    (other,) = convs - set(add.nodes)
    assert report.layer_of(other).nodes == (other,)


def test_mobilenet_v2_relu6_clips_fuse_and_constants_fold():
    report = analyze(ROOT / "models" / "mobilenet_v2.onnx")
    clip = "/features/features.0/features.0.2/Clip"
    assert report.layer_of(clip).nodes == ("/features/features.0/features.0.0/Conv", clip)
    assert "/features/features.0/features.0.2/Constant" in report.absorbed


def test_qdq_model_flags_the_int32_bias_that_tensorrt_rejects():
    report = analyze(ROOT / "models" / "resnet18_qdq.onnx")
    rejected = [d for d in report.diagnostics if d.check == "bias-unquantized" and d.status == "lint"]
    assert len(rejected) == 21  # 20 Conv biases and the Gemm bias
    assert any("fc.bias" in " ".join(d.nodes) for d in rejected)


def test_bert_gelu_is_recognized_in_the_exporters_form():
    report = analyze(ROOT / "models" / "bert_tiny.onnx")
    erf = "/encoder/layer.0/intermediate/intermediate_act_fn/Erf"
    layer = report.layer_of(erf)
    assert "/encoder/layer.0/intermediate/intermediate_act_fn/Mul_1" in layer.nodes
    assert any(d.code == "TRT201" and d.status == "predicted" and erf in d.nodes for d in report.diagnostics)


def test_json_shape_is_the_documented_one(capsys):
    code = main(["analyze", str(ROOT / "models" / "resnet18.onnx"), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"model", "target", "nodes", "layers", "absorbed", "diagnostics"} <= set(data)
    assert data["model"] == "resnet18.onnx" and data["target"] == "tensorrt" and data["nodes"] == 49
    assert data["layers"] and data["diagnostics"]  # the loops below check something
    for layer in data["layers"]:
        assert set(layer) >= {"name", "nodes", "rules"}
    for d in data["diagnostics"]:
        assert set(d) >= {"code", "rule", "status", "nodes", "check", "reason"}
        assert d["status"] in ("predicted", "missed", "lint", "absorbed")


def test_select_ignore_and_fail_on(capsys, tmp_path):
    model = str(ROOT / "models" / "mobilenet_v2.onnx")
    main(["analyze", model, "--format", "json", "--select", "TRT10"])
    codes = {d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]}
    assert codes and all(c.startswith("TRT10") for c in codes)
    main(["analyze", model, "--format", "json", "--ignore", "TRT1"])
    codes = {d["code"] for d in json.loads(capsys.readouterr().out)["diagnostics"]}
    assert not any(c.startswith("TRT1") for c in codes)
    assert main(["analyze", str(ROOT / "models" / "resnet18_qdq.onnx"), "--fail-on", "lint", "-o",
                 str(tmp_path / "r.txt")]) == 1
    assert (tmp_path / "r.txt").read_text().count("bias-unquantized") >= 1


def test_python_api_takes_a_model_proto():
    import onnx

    import fusionlab

    proto = onnx.load(ROOT / "models" / "resnet18.onnx", load_external_data=False)
    report = fusionlab.analyze(proto, target="tensorrt-rtx")
    assert report.to_json()["layers"] == analyze(ROOT / "models" / "resnet18.onnx", target="tensorrt-rtx").to_json()["layers"]


def test_classic_prediction_matches_tensorrt_10_4_on_mobilenet_v2():
    folder = ARTIFACTS / "fuzzylabs_trtexec_trt10.4" / "mobilenet_v2"
    v = verify(ROOT / "models" / "mobilenet_v2.onnx", target="tensorrt", precision="fp16",
               layer_info=folder / "mobilenet_v2_fp16.graph.json", profile=folder / "mobilenet_v2_fp16.profile.json")
    assert v.mapping == "metadata"
    assert v.comparison.score.edges == 107
    assert v.comparison.score.f1 >= 0.95
    assert abs(v.profile_total_ms - 0.411273) < 1e-4
    confirmed = [f for f in v.comparison.fusions if f[0] == "confirmed"]
    assert any(f[1] == ("/features/features.0/features.0.0/Conv", "/features/features.0/features.0.2/Clip")
               for f in confirmed)
