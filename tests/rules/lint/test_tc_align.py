"""TRT501 tc-align: lints conv channels and GEMM K / N that are not multiples of the
Tensor Core alignment of the layer's precision (TF32 4, FP16 8, INT8 32)."""

import numpy as np
from onnx import TensorProto

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def test_stem_conv_with_three_input_channels_is_reported_with_a_note():
    g = GraphBuilder()
    y = g.conv(g.input("image", [1, 3, 32, 32]), 64, cin=3, name="stem")
    report = analyze(g.model([y]), precision="fp16")
    (lint,) = diagnostics(report, "TRT501", "lint")
    assert lint.check == "channels-aligned" and lint.nodes == ("stem",)
    assert "C_in=3 is not (TensorRT pads it to 8)" in lint.reason
    assert "network input image" in lint.reason


def test_fp16_output_channels_not_a_multiple_of_8():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 30, name="conv1")
    report = analyze(g.model([y]), precision="fp16")
    (lint,) = diagnostics(report, "TRT501", "lint")
    assert lint.check == "channels-aligned"
    assert "FP16 Tensor Cores want multiples of 8: C_out=30 is not (TensorRT pads it to 32)" \
        in lint.reason


def test_aligned_fp16_conv_and_depthwise_conv_are_not_reported():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.conv(y, 32, cin=32, group=32, name="dw")
    report = analyze(g.model([y]), precision="fp16")
    assert not diagnostics(report, "TRT501")


def test_int8_conv_behind_q_dq_wants_multiples_of_32():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 48, 8, 8]), "q_in"), "dq_in")
    y = qconv(g, x, 64, 48, "conv1")
    report = analyze(g.model([y]), precision="int8")
    (lint,) = diagnostics(report, "TRT501", "lint")
    assert "INT8 Tensor Cores want multiples of 32: C_in=48 is not (TensorRT pads it to 64)" \
        in lint.reason


def test_gemm_n_not_aligned_in_fp16():
    g = GraphBuilder()
    y = g.node("Gemm", [g.input("x", [8, 64]), g.weight([1001, 64])], name="fc", transB=1)
    report = analyze(g.model([y]), precision="fp16")
    (lint,) = diagnostics(report, "TRT501", "lint")
    assert lint.check == "k-n-aligned" and lint.nodes == ("fc",)
    assert "K=64, N=1001" in lint.reason and "N=1001 is not (TensorRT pads it to 1008)" in lint.reason


def test_fp32_on_turing_has_no_tensor_cores_to_align_for():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 3, 16, 16]), 30, cin=3, name="conv1")
    assert not diagnostics(analyze(g.model([y]), precision="fp32", sm=7.5), "TRT501")
    (lint,) = diagnostics(analyze(g.model([y]), precision="fp32", sm=8.6), "TRT501", "lint")
    assert "TF32 Tensor Cores want multiples of 4" in lint.reason


def test_tensorrt_rtx_uses_the_tensor_type():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16], dtype=TensorProto.FLOAT16)
    w = g.const(np.ones([30, 32, 1, 1], np.float16))
    y = g.node("Conv", [x, w], name="conv1", kernel_shape=[1, 1])
    report = analyze(g.model([y], output_dtype=TensorProto.FLOAT16), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT501", "lint")
    assert "FP16 Tensor Cores want multiples of 8: C_out=30" in lint.reason
