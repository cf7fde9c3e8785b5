"""fusionlab rewrite on the real exports in models/: equivalent, no more missed fusions, and
TensorRT-RTX builds the result into no more engine layers than the original (live builds,
about 2 s each; skipped when tensorrt_rtx is not installed).

resnet18_qdq.onnx (onnxruntime.quantization's QDQ format) keeps its biases as INT32
initializers behind DequantizeLinear, which TensorRT-RTX's parser rejects: the original
does not build at all, and the rewritten model must.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

import fusionlab
from fusionlab.rewriting import build_count

MODELS = Path(__file__).resolve().parents[1] / "models"
NAMES = ["resnet18.onnx", "mobilenet_v2.onnx", "bert_tiny.onnx", "resnet18_qdq.onnx"]


@pytest.fixture(scope="module", params=NAMES)
def rewritten(request):
    path = MODELS / request.param
    model, report = fusionlab.rewrite(path, target="tensorrt-rtx")
    return path, model, report


def test_rewrite_is_equivalent_and_misses_no_more(rewritten):
    path, model, report = rewritten
    assert report.equivalence is not None and report.equivalence.passed
    assert report.checker == "full"
    onnx.checker.check_model(model, full_check=True)
    assert len(report.after.missed) <= len(report.before.missed)
    original = onnx.load(str(path), load_external_data=False)
    assert [i.name for i in model.graph.input] == [i.name for i in original.graph.input]
    assert [o.name for o in model.graph.output] == [o.name for o in original.graph.output]
    assert model.ir_version == original.ir_version
    assert list(model.opset_import) == list(original.opset_import)


@pytest.mark.parametrize("rewritten", ["resnet18_qdq.onnx"], indirect=True)
def test_qdq_resnet_biases_become_float(rewritten):
    path, model, report = rewritten
    assert report.counts().get("qdq-bias-int32") == 21
    assert not [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                and n.input[0].endswith("_quantized") and "bias" in n.input[0]]
    assert report.equivalence.max_abs == 0.0  # every Q/DQ rewrite here is exact


@pytest.mark.needs_rtx
def test_tensorrt_rtx_builds_no_more_layers(rewritten, tmp_path):
    path, model, report = rewritten
    before = build_count(path, "tensorrt-rtx")
    after = build_count(model, "tensorrt-rtx")
    assert after.error is None, after.error
    if path.name == "resnet18_qdq.onnx":
        assert before.error is not None and "Int32" in before.error  # the parser rejects the input
        return
    assert before.error is None, before.error
    assert after.layers <= before.layers
    assert after.layers_with_nodes <= before.layers_with_nodes
