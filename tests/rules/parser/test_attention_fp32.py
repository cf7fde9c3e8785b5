"""TRT606 attention-fp32 (TensorRT-RTX): ONNX Attention on FP32 tensors stops the build;
in FP16 it builds (live builds)."""

import pytest
from onnx import TensorProto

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def attention(dtype=TensorProto.FLOAT):
    g = GraphBuilder(opset=23)
    ins = [g.input(n, [1, 2, 16, 32], dtype) for n in "qkv"]
    return g.model([g.node("Attention", ins, name="attn")], output_dtype=dtype, check=False)


def test_fp32_attention_is_a_build_error_on_rtx():
    report = analyze(attention(), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT606")
    assert lint.check == "query-not-fp32" and lint.nodes == ("attn",)
    assert "export in FP16, or at opset 22 or lower" in lint.reason
    assert report.to_json()["parser_rejects"][0]["code"] == "TRT606"


def test_fp16_attention_and_classic_tensorrt_are_not_reported():
    assert not diagnostics(analyze(attention(TensorProto.FLOAT16), target="tensorrt-rtx"), "TRT606")
    assert not diagnostics(analyze(attention(), target="tensorrt"), "TRT606")


@pytest.mark.needs_rtx
def test_live_builder_rejects_fp32_attention_and_builds_fp16(live_parser):
    message = live_parser.rejects(attention(), "attention_fp32.onnx")
    assert "Attention operation was not supported by a dedicated kernel" in message
    assert live_parser.builds(attention(TensorProto.FLOAT16), "attention_fp16.onnx")
