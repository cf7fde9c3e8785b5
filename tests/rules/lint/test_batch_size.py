"""TRT506 batch-size: lints a MatMul / Gemm batch (rows M) that is not a multiple of 32
in FP16 / INT8, or over 2^16."""

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def matmul(rows_shape):
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", rows_shape + [64]), g.weight([64, 64])], name="mm")
    return g.model([y])


def test_fp16_batch_of_50_rows_is_reported():
    (lint,) = diagnostics(analyze(matmul([1, 50]), precision="fp16"), "TRT506", "lint")
    assert lint.check == "batch-multiple-of-32" and lint.nodes == ("mm",)
    assert "50 rows" in lint.reason and "FP16" in lint.reason and "next: 64" in lint.reason


def test_multiples_of_32_small_batches_and_fp32_are_not_reported():
    assert not diagnostics(analyze(matmul([2, 32]), precision="fp16"), "TRT506")
    assert not diagnostics(analyze(matmul([1, 1]), precision="fp16"), "TRT506")
    assert not diagnostics(analyze(matmul([1, 50]), precision="fp32"), "TRT506")


def test_batch_over_65536_is_reported_in_any_precision():
    lints = diagnostics(analyze(matmul([70000]), precision="fp32"), "TRT506", "lint")
    assert [d.check for d in lints] == ["batch-at-most-65536"]
    assert "70000 rows" in lints[0].reason
