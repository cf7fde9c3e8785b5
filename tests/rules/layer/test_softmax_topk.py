"""TRT129 softmax-topk: a SoftMax (with or without a Log) -> TopK is one layer; missed
when the SoftMax output has a second reader."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _topk(g, y):
    return g.node("TopK", [y, g.const(np.array([5], np.int64))], name="topk1", outputs=2)


def test_softmax_then_topk_is_one_layer():
    g = GraphBuilder()
    y = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    values, indices = _topk(g, y)
    report = analyze(g.model([values, indices]))
    layer = report.layer_of("topk1")
    assert layer.nodes == ("sm1", "topk1")
    assert layer.kind == "TopK"
    assert diagnostics(report, "TRT129", "predicted")[0].nodes == ("sm1", "topk1")


def test_softmax_log_then_topk_is_one_layer():
    g = GraphBuilder()
    y = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    y = g.node("Log", [y], name="log1")
    values, indices = _topk(g, y)
    report = analyze(g.model([values, indices]))
    assert report.layer_of("topk1").nodes == ("sm1", "log1", "topk1")
    assert report.layer_of("topk1").rules == ("TRT128", "TRT129")


def test_log_softmax_then_topk_is_one_layer():
    g = GraphBuilder()
    y = g.node("LogSoftmax", [g.input("x", [8, 1000])], name="lsm1", axis=-1)
    values, indices = _topk(g, y)
    report = analyze(g.model([values, indices]))
    assert report.layer_of("topk1").nodes == ("lsm1", "topk1")


def test_missed_when_the_softmax_output_has_a_second_reader():
    g = GraphBuilder()
    s = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    values, indices = _topk(g, s)
    report = analyze(g.model([values, indices, s]))
    (missed,) = diagnostics(report, "TRT129", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("sm1", "topk1")
    assert "graph output sm1_out" in missed.reason
    assert report.layer_of("topk1").nodes == ("topk1",)
