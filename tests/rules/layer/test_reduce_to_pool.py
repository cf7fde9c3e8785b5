"""TRT127 reduce-to-pool: ReduceMean over H, W with keepdims=1 on NCHW becomes one Pooling
layer (classic TensorRT); missed with keepdims=0 or other axes; not on TensorRT-RTX."""

import numpy as np
from onnx import numpy_helper

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _gap(axes=(2, 3), keepdims=1, opset=17):
    g = GraphBuilder(opset=opset)
    x = g.input("x", [1, 32, 16, 16])
    if opset >= 18:
        y = g.node("ReduceMean", [x, g.const(np.array(axes, np.int64))], name="mean1", keepdims=keepdims)
    else:
        y = g.node("ReduceMean", [x], name="mean1", axes=list(axes), keepdims=keepdims)
    return g.model([y])


def test_reduce_mean_over_hw_becomes_one_pooling_layer_once():
    report = analyze(_gap())
    layer = report.layer_of("mean1")
    assert layer.nodes == ("mean1",)
    assert layer.kind == "Pooling"
    assert layer.rules == ("TRT127",)
    assert [d.nodes for d in diagnostics(report, "TRT127")] == [("mean1",)]


def test_axes_as_an_input_and_negative_axes_opset_18():
    report = analyze(_gap(axes=(-1, -2), opset=18))
    assert report.layer_of("mean1").kind == "Pooling"


def test_axes_from_a_constant_node_opset_18():
    g = GraphBuilder(opset=18)
    axes = g.node("Constant", [], name="axes", value=numpy_helper.from_array(np.array([2, 3], np.int64)))
    y = g.node("ReduceMean", [g.input("x", [1, 32, 16, 16]), axes], name="mean1", keepdims=1)
    report = analyze(g.model([y]))
    assert report.layer_of("mean1").kind == "Pooling"


def test_missed_with_keepdims_0():
    report = analyze(_gap(keepdims=0))
    (missed,) = diagnostics(report, "TRT127", "missed")
    assert missed.check == "keepdims"
    assert missed.nodes == ("mean1",)
    assert "keepdims=0" in missed.reason
    assert report.layer_of("mean1").kind == "ReduceMean"


def test_missed_over_the_channel_axis():
    report = analyze(_gap(axes=(1,)))
    (missed,) = diagnostics(report, "TRT127", "missed")
    assert missed.check == "axes-hw"
    assert missed.nodes == ("mean1",)
    assert "[1]" in missed.reason
    assert report.layer_of("mean1").kind == "ReduceMean"


def test_rtx_keeps_the_reduce_mean():
    report = analyze(_gap(), target="tensorrt-rtx")
    assert report.layer_of("mean1").kind == "ReduceMean"
    assert not diagnostics(report, "TRT127")
