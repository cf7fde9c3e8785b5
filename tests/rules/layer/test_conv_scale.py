"""TRT106 conv-scale: fires on Conv -> BatchNormalization / per-channel or uniform Mul, Add,
Pow (and FullyConnected -> BatchNormalization); missed on each check."""

import numpy as np
from onnx import TensorProto, helper

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def bn_inputs(g, c):
    return [g.weight([c]), g.weight([c]), g.weight([c]), g.const(np.full(c, 1.5, np.float32))]


def conv_then(op_type, operand, **attrs):
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    ins = [y] + (operand(g) if callable(operand) else [])
    y = g.node(op_type, ins, name="scale1", **attrs)
    y = g.node("Softmax", [y], name="tail", axis=1)
    return g, y


def test_conv_bn_folds_into_the_convolution():
    g, y = conv_then("BatchNormalization", lambda g: bn_inputs(g, 32))
    report = analyze(g.model([y]))
    layer = report.layer_of("scale1")
    assert layer.nodes == ("conv1", "scale1")
    assert layer.name == "conv1 + scale1"
    assert layer.kind == "Conv"
    assert diagnostics(report, "TRT106", "predicted")[0].nodes == ("conv1", "scale1")


def test_conv_bn_relu_is_one_layer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 32), name="bn1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert [layer.name for layer in report.layers] == ["conv1 + bn1 + relu1"]
    assert report.layer_of("relu1").nodes == ("conv1", "bn1", "relu1")


def test_per_channel_mul_then_uniform_add_fold():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Mul", [g.weight([1, 32, 1, 1]), y], name="mul1")
    y = g.node("Add", [y, g.const(np.float32(0.25))], name="add1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    report = analyze(g.model([y]))
    assert report.layer_of("add1").nodes == ("conv1", "mul1", "add1")


def test_pow_with_a_constant_exponent_folds():
    g, y = conv_then("Pow", lambda g: [g.const(np.float32(2.0))])
    assert analyze(g.model([y])).layer_of("scale1").nodes == ("conv1", "scale1")


def test_fully_connected_bn_folds():
    g = GraphBuilder()
    y = g.node("Gemm", [g.input("x", [8, 64]), g.weight([64, 32]), g.weight([32])], name="fc1")
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 32), name="bn1")
    report = analyze(g.model([y]))
    assert report.layer_of("bn1").nodes == ("fc1", "bn1")
    assert report.layer_of("bn1").kind == "FullyConnected"


def test_missed_on_an_elementwise_constant():
    g, y = conv_then("Mul", lambda g: [g.weight([32, 16, 16])])
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT106", "missed")
    assert missed.check == "scale-uniform-or-channel"
    assert missed.nodes == ("conv1", "scale1")
    assert "[32, 16, 16]" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_missed_on_a_runtime_exponent():
    g, y = conv_then("Pow", lambda g: [g.input("p", [])])
    (missed,) = diagnostics(analyze(g.model([y])), "TRT106", "missed")
    assert missed.check == "power-constant"
    assert missed.nodes == ("conv1", "scale1")


def test_missed_on_runtime_batchnorm_statistics():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    p = bn_inputs(g, 32)
    p[2] = g.input("mean", [32])
    y = g.node("BatchNormalization", [y] + p, name="bn1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    (missed,) = diagnostics(analyze(g.model([y])), "TRT106", "missed")
    assert missed.check == "inference-mode"
    assert missed.nodes == ("conv1", "bn1")
    assert "mean" in missed.reason


def test_missed_on_training_mode_batchnorm():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    g.nodes.append(helper.make_node("BatchNormalization", [y] + bn_inputs(g, 32), ["bn_y", "rm", "rv"],
                                    name="bn1", training_mode=1))
    y = g.node("Softmax", ["bn_y"], name="tail", axis=1)
    (missed,) = diagnostics(analyze(g.model([y])), "TRT106", "missed")
    assert missed.check == "inference-mode"
    assert "training_mode=1" in missed.reason


def test_missed_when_conv_output_has_a_second_consumer():
    g, y = conv_then("BatchNormalization", lambda g: bn_inputs(g, 32))
    other = g.node("Sigmoid", ["conv1_out"], name="sig1")
    (missed,) = diagnostics(analyze(g.model([y, other])), "TRT106", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "scale1")


def test_rtx_folds_bn_inside_the_graph_but_not_as_the_graph_output():
    g, y = conv_then("BatchNormalization", lambda g: bn_inputs(g, 32))
    assert analyze(g.model([y]), target="tensorrt-rtx").layer_of("scale1").nodes == ("conv1", "scale1")
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 32), name="bn1")
    report = analyze(g.model([y], output_dtype=TensorProto.FLOAT), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT106", "missed")
    assert missed.check == "inside-graph"
    assert missed.nodes == ("conv1", "bn1")


# ---------------------------------------------------------------- rewrite: fold into weights
from fusionlab import rewrite  # noqa: E402


def ops(model):
    return [n.op_type for n in model.graph.node]


def test_rewrite_folds_bn_into_conv_weights_exactly():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 32), name="bn1")
    y = g.node("Relu", [y], name="relu1")
    out, report = rewrite(g.model([y]), passes=["conv-scale"])
    assert ops(out) == ["Conv", "Relu"]
    assert [c.nodes for c in report.changes] == [("conv1", "bn1")]
    assert report.equivalence.passed and report.equivalence.max_abs < 1e-5
    conv = out.graph.node[0]
    assert {e.key: e.value for e in conv.metadata_props}["fusionlab.rewrite"] == "TRT106"


def test_rewrite_folds_per_channel_mul_then_uniform_add():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Mul", [g.weight([1, 32, 1, 1]), y], name="mul1")
    y = g.node("Add", [y, g.const(np.float32(0.25))], name="add1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    out, report = rewrite(g.model([y]), passes=["TRT106"])
    assert ops(out) == ["Conv", "Softmax"]
    assert report.rounds >= 2 and report.equivalence.passed


def test_rewrite_folds_bn_into_grouped_conv_transpose():
    g = GraphBuilder()
    x = g.input("x", [1, 8, 8, 8])
    y = g.node("ConvTranspose", [x, g.weight([8, 3, 3, 3]), g.weight([6])], name="deconv1",
               kernel_shape=[3, 3], strides=[2, 2], group=2)
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 6), name="bn1")
    y = g.node("Relu", [y], name="relu1")
    out, report = rewrite(g.model([y]), passes=["conv-scale"])
    assert ops(out) == ["ConvTranspose", "Relu"]
    assert report.equivalence.passed


def test_rewrite_fixes_the_rtx_bn_graph_output_miss():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("BatchNormalization", [y] + bn_inputs(g, 32), name="bn1")
    model = g.model([y])
    out, report = rewrite(model, target="tensorrt-rtx", passes=["conv-scale"])
    assert [d.check for d in diagnostics(report.before, "TRT106", "missed")] == ["inside-graph"]
    assert not diagnostics(report.after, "TRT106", "missed")
    assert ops(out) == ["Conv"] and out.graph.output[0].name == model.graph.output[0].name
    assert report.equivalence.passed


def test_rewrite_refuses_a_second_reader_and_an_elementwise_scale():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = g.node("Mul", [y, g.weight([1, 32, 16, 16])], name="mul1")
    b = g.node("Add", [y, g.const(np.float32(1.0))], name="add1")
    out, report = rewrite(g.model([a, b]), passes=["conv-scale"])
    assert not report.changed
    assert sorted(r.check for r in report.refused) == ["scale-uniform-or-channel", "single-consumer"]
