"""TRT311 horizontal-gemm (TensorRT-RTX): GEMMs with constant weights reading one tensor merge."""

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def qkv(runtime_weight=False):
    g = GraphBuilder()
    x = g.input("x", [64, 32])
    w = g.input("w", [32, 32]) if runtime_weight else g.weight([32, 32])
    outs = [g.node("MatMul", [x, w], name="query"),
            g.node("MatMul", [x, g.weight([32, 32])], name="key"),
            g.node("MatMul", [x, g.weight([32, 32])], name="value")]
    return g.model(outs)


def test_query_key_value_projections_are_one_gemm_on_rtx():
    report = analyze(qkv(), target="tensorrt-rtx")
    assert report.layer_of("key").nodes == ("query", "key", "value")
    (pred,) = diagnostics(report, "TRT311", "predicted")
    assert pred.nodes == ("query", "key", "value")
    classic = analyze(qkv(), target="tensorrt")
    assert classic.layer_of("key").nodes == ("key",)


def test_a_runtime_weight_is_not_merged():
    report = analyze(qkv(runtime_weight=True), target="tensorrt-rtx")
    assert report.layer_of("query").nodes == ("query",)
    assert report.layer_of("key").nodes == ("key", "value")
