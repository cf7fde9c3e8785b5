"""TRT105 pad-conv: fires on Pad -> Conv / ConvTranspose (pads from a constant input, a
Constant node, the opset-18 axes form, or the old attribute); missed on each check."""

import numpy as np
from onnx import helper, numpy_helper

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def pads(g, values):
    return g.const(np.array(values, dtype=np.int64))


def pad_conv(pad_values=(0, 0, 1, 1, 0, 0, 1, 1), opset=17, **attrs):
    g = GraphBuilder(opset=opset)
    x = g.input("x", [1, 32, 16, 16])
    y = g.node("Pad", [x, pads(g, list(pad_values))], name="pad1", **attrs)
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    return g, y


def test_pad_conv_fuses_into_the_convolution():
    g, y = pad_conv()
    report = analyze(g.model([y]))
    layer = report.layer_of("conv1")
    assert layer.nodes == ("pad1", "conv1")
    assert layer.name == "pad1 + conv1"
    assert layer.kind == "Conv"
    assert diagnostics(report, "TRT105", "predicted")[0].nodes == ("pad1", "conv1")


def test_pad_conv_relu_is_one_layer():
    g, y = pad_conv()
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert [layer.name for layer in report.layers] == ["pad1 + conv1 + relu1"]
    assert report.layer_of("relu1").nodes == ("pad1", "conv1", "relu1")


def test_pads_from_a_constant_node_and_the_old_attribute_form():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    g.nodes.append(helper.make_node("Constant", [], ["p"], name="pads_const", value=numpy_helper.from_array(
        np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64))))
    y = g.node("Pad", [x, "p"], name="pad1")
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    assert analyze(g.model([y])).layer_of("conv1").nodes == ("pad1", "conv1")

    g = GraphBuilder(opset=10)
    y = g.node("Pad", [g.input("x", [1, 32, 16, 16])], name="pad1", pads=[0, 0, 1, 1, 0, 0, 1, 1])
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    assert analyze(g.model([y])).layer_of("conv1").nodes == ("pad1", "conv1")


def test_opset_18_axes_pad_h_and_w_only():
    g = GraphBuilder(opset=18)
    x = g.input("x", [1, 32, 16, 16])
    y = g.node("Pad", [x, pads(g, [1, 1, 1, 1]), "", pads(g, [2, 3])], name="pad1")
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    assert analyze(g.model([y])).layer_of("conv1").nodes == ("pad1", "conv1")


def test_pad_conv_transpose_fuses_on_classic_tensorrt_only():
    g = GraphBuilder()
    y = g.node("Pad", [g.input("x", [1, 32, 8, 8]), pads(g, [0, 0, 1, 1, 0, 0, 1, 1])], name="pad1")
    y = g.node("ConvTranspose", [y, g.weight([32, 16, 2, 2])], name="deconv1", strides=[2, 2])
    model = g.model([y])
    assert analyze(model).layer_of("deconv1").nodes == ("pad1", "deconv1")
    report = analyze(model, target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT105", "missed")
    assert missed.check == "not-conv-transpose"
    assert missed.nodes == ("pad1", "deconv1")
    assert report.layer_of("deconv1").nodes == ("deconv1",)


def test_missed_on_reflect_mode():
    g, y = pad_conv(mode="reflect")
    (missed,) = diagnostics(analyze(g.model([y])), "TRT105", "missed")
    assert missed.check == "constant-mode"
    assert missed.nodes == ("pad1", "conv1")
    assert "'reflect'" in missed.reason


def test_missed_on_a_nonzero_pad_value():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.node("Pad", [x, pads(g, [0, 0, 1, 1, 0, 0, 1, 1]), g.const(np.float32(-1.0))], name="pad1")
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    (missed,) = diagnostics(analyze(g.model([y])), "TRT105", "missed")
    assert missed.check == "constant-mode"
    assert "-1" in missed.reason


def test_missed_when_pads_are_computed_at_runtime():
    g = GraphBuilder()
    y = g.node("Pad", [g.input("x", [1, 32, 16, 16]), g.input("p", [8], dtype=7)], name="pad1")
    y = g.conv(y, 32, name="conv1", pads=[0, 0, 0, 0])
    (missed,) = diagnostics(analyze(g.model([y], check=False)), "TRT105", "missed")
    assert missed.check == "pads-constant"
    assert missed.nodes == ("pad1", "conv1")


def test_missed_on_negative_pads():
    g, y = pad_conv((0, 0, -1, 0, 0, 0, 0, -2))
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT105", "missed")
    assert missed.check == "pads-nonnegative"
    assert missed.nodes == ("pad1", "conv1")
    assert "[-1, -2]" in missed.reason
    assert report.layer_of("pad1").nodes == ("pad1",)


def test_missed_when_padding_the_channel_dimension():
    g = GraphBuilder()
    y = g.node("Pad", [g.input("x", [1, 30, 16, 16]), pads(g, [0, 1, 0, 0, 0, 1, 0, 0])], name="pad1")
    y = g.conv(y, 32, name="conv1")
    (missed,) = diagnostics(analyze(g.model([y])), "TRT105", "missed")
    assert missed.check == "spatial-pads-only"
    assert "C 1/1" in missed.reason


def test_missed_when_pad_output_has_a_second_consumer():
    g, y = pad_conv()
    other = g.node("Relu", ["pad1_out"], name="relu_side")
    report = analyze(g.model([y, other]))
    (missed,) = diagnostics(report, "TRT105", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("pad1", "conv1")


# ---------------------------------------------------------------- rewrite: fold into pads
from fusionlab import rewrite  # noqa: E402


def padded(op_type="Conv", pads=(0, 0, 1, 2, 0, 0, 3, 1), strides=(1, 1), conv_pads=(1, 1, 1, 1)):
    g = GraphBuilder()
    x = g.input("x", [1, 8, 10, 10])
    p = g.node("Pad", [x, g.const(np.array(pads, np.int64))], name="pad1")
    w = g.weight([8, 8, 3, 3])
    y = g.node(op_type, [p, w, g.weight([8])], name="conv1", kernel_shape=[3, 3],
               pads=list(conv_pads), strides=list(strides))
    return g.model([g.node("Relu", [y], name="relu1")])


def test_rewrite_folds_pad_into_conv_pads():
    out, report = rewrite(padded(), passes=["pad-conv"])
    assert [n.op_type for n in out.graph.node] == ["Conv", "Relu"]
    conv = out.graph.node[0]
    assert [list(a.ints) for a in conv.attribute if a.name == "pads"] == [[2, 3, 4, 2]]
    assert report.equivalence.passed and report.equivalence.max_abs < 1e-5


def test_rewrite_folds_pad_into_conv_transpose_when_its_pads_allow():
    out, report = rewrite(padded("ConvTranspose", pads=(0, 0, 1, 1, 0, 0, 1, 1), strides=(1, 1),
                                 conv_pads=(2, 2, 2, 2)), target="tensorrt-rtx", passes=["pad-conv"])
    assert {d.check for d in diagnostics(report.before, "TRT105", "missed")} == {"not-conv-transpose"}
    assert [n.op_type for n in out.graph.node] == ["ConvTranspose", "Relu"]
    assert report.equivalence.passed


def test_rewrite_refuses_conv_transpose_pads_that_would_go_negative():
    _, report = rewrite(padded("ConvTranspose", pads=(0, 0, 1, 1, 0, 0, 1, 1), strides=(2, 2),
                               conv_pads=(1, 1, 1, 1)), target="tensorrt-rtx", passes=["pad-conv"])
    assert not report.changed
    assert "negative pads" in report.refused[0].reason


def test_rewrite_refuses_a_negative_pad():
    _, report = rewrite(padded(pads=(0, 0, -1, 0, 0, 0, 0, 0)), passes=["pad-conv"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["pads-nonnegative"]
