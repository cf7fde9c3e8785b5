"""Live TensorRT-RTX builds of the models in models/: the prediction is scored against
the builder's own `Layers:` dump (CI installs tensorrt-rtx; skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionlab.cli import main
from fusionlab.errors import BuildError
from fusionlab.verification import verify

pytest.importorskip("tensorrt_rtx")

ROOT = Path(__file__).resolve().parents[1]

#: The fused-edge F1 of analyze --target tensorrt-rtx on each shipped model, as measured
#: by live TensorRT-RTX 1.7 builds; the floor the prediction must keep.
F1_FLOOR = {"resnet18.onnx": 1.0, "mobilenet_v2.onnx": 1.0, "bert_tiny.onnx": 0.95}


@pytest.mark.parametrize("name", sorted(F1_FLOOR))
def test_live_build_confirms_the_prediction(name):
    v = verify(ROOT / "models" / name, target="tensorrt-rtx", timeout=300)
    assert v.mapping == "metadata"
    assert v.observed and all(o.nodes or o.type in ("kgen", "signal", "wait") for o in v.observed)
    assert v.comparison.score.edges > 40
    assert v.comparison.score.f1 >= F1_FLOOR[name], v.comparison.edge_errors
    assert not v.comparison.unknown_nodes


def test_resnet18_block_is_one_conv_kernel_with_its_add_and_relu():
    v = verify(ROOT / "models" / "resnet18.onnx", target="tensorrt-rtx", timeout=300)
    kernel = next(o for o in v.observed if "/layer1/layer1.0/Add" in o.nodes)
    assert {"/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/relu_1/Relu"} <= set(kernel.nodes)
    assert ("confirmed", ("/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add",
                          "/layer1/layer1.0/relu_1/Relu"),
            "/layer1/layer1.0/conv2/Conv + /layer1/layer1.0/Add + /layer1/layer1.0/relu_1/Relu") \
        in v.comparison.fusions


def test_int32_bias_dequantize_is_a_parser_rejection_naming_the_node(capsys):
    with pytest.raises(BuildError) as err:
        verify(ROOT / "models" / "resnet18_qdq.onnx", target="tensorrt-rtx", timeout=300)
    assert "DequantizeLinear" in err.value.message and "Int32" in err.value.message
    code = main(["verify", str(ROOT / "models" / "resnet18_qdq.onnx"), "--target", "tensorrt-rtx"])
    assert code == 3
    assert "Traceback" not in capsys.readouterr().err


def test_cli_prints_the_score_and_writes_the_log(capsys, tmp_path):
    log = tmp_path / "build.log"
    code = main(["verify", str(ROOT / "models" / "resnet18.onnx"), "--target", "tensorrt-rtx",
                 "--save-log", str(log)])
    out = capsys.readouterr().out
    assert code == 0
    assert "fused-edge score: precision 1.000, recall 1.000, F1 1.000" in out
    assert "Layers:" in log.read_text()
