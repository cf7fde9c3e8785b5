"""TRT411 qdq-scalar-constant (TensorRT-RTX): a DequantizeLinear of a rank-0 INT8 constant
stops the build."""

import numpy as np
import pytest

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def scaled(shape):
    """``Mul(Relu(x), DequantizeLinear(c))`` with ``c`` an INT8 constant of ``shape``, as
    onnxruntime.quantization writes a quantized scalar constant (GELU's 0.5)."""
    g = GraphBuilder()
    c = g.const(np.full(shape, 42, np.int8), name="c_quantized")
    k = g.node("DequantizeLinear", [c, g.const(np.float32(0.01)), g.const(np.array(0, np.int8))], name="c_dq")
    y = g.node("Relu", [g.input("x", [1, 16, 8, 8])], name="relu")
    return g.model([g.node("Mul", [y, k], name="mul")])


def test_a_scalar_quantized_constant_is_a_build_error_on_rtx():
    report = analyze(scaled(()), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT411")
    assert lint.check == "constant-not-scalar" and lint.nodes == ("c_dq",)
    assert "c_quantized" in lint.reason and "give it shape [1]" in lint.reason
    assert [r["code"] if isinstance(r, dict) else r.code for r in report.parser_rejects] == ["TRT411"]


@pytest.mark.parametrize("shape", [(1,), (16, 1, 1), (1, 16, 8, 8)])
def test_a_quantized_constant_with_dimensions_is_accepted(shape):
    assert not diagnostics(analyze(scaled(shape), target="tensorrt-rtx"), "TRT411")


def test_classic_tensorrt_does_not_report_it():
    assert not diagnostics(analyze(scaled(()), target="tensorrt"), "TRT411")


@pytest.mark.needs_rtx
def test_live_builder_rejects_the_scalar_and_builds_the_channel_constant(tmp_path):
    import onnx

    from fusionlab.errors import BuildError
    from fusionlab.verification import verify

    rejected, accepted = tmp_path / "scalar.onnx", tmp_path / "channel.onnx"
    onnx.save(scaled(()), rejected)
    onnx.save(scaled((16, 1, 1)), accepted)
    with pytest.raises(BuildError) as err:
        verify(rejected, target="tensorrt-rtx", timeout=300)
    assert "Quantized constant (c_quantized) is only allowed before DQ" in err.value.message
    assert verify(accepted, target="tensorrt-rtx", timeout=300).observed
