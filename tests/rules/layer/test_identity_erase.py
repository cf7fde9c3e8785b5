"""TRT126 identity-erase: Identity, inference Dropout and a same-dtype Cast are erased;
kept when copying a network input to a network output; missed for a training Dropout."""

import numpy as np
from onnx import TensorProto

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _conv_node_relu(op_type, extra=(), **attrs):
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node(op_type, [y, *[e(g) for e in extra]], name="node1", **attrs)
    y = g.node("Relu", [y], name="relu1")
    return g.model([y])


def test_identity_is_erased_and_the_relu_reads_the_conv_output():
    report = analyze(_conv_node_relu("Identity"))
    assert report.absorbed == ["node1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")
    (erased,) = diagnostics(report, "TRT126", "absorbed")
    assert erased.nodes == ("node1",)
    assert "conv1_out" in erased.reason


def test_inference_dropout_is_erased():
    ratio = lambda g: g.const(np.float32(0.1))  # noqa: E731
    off = lambda g: g.const(np.array(False))  # noqa: E731
    report = analyze(_conv_node_relu("Dropout", [ratio, off]))
    assert report.absorbed == ["node1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")


def test_cast_to_the_same_dtype_is_erased_and_a_real_cast_is_not():
    report = analyze(_conv_node_relu("Cast", to=TensorProto.FLOAT))
    assert report.absorbed == ["node1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Cast", [y], name="cast1", to=TensorProto.FLOAT16)
    report = analyze(g.model([y], output_dtype=TensorProto.FLOAT16))
    assert "cast1" not in report.absorbed
    assert not diagnostics(report, "TRT126")


def test_identity_to_a_network_output_from_an_internal_tensor_is_erased():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Identity", [y], name="id1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["id1"]


def test_missed_when_copying_a_network_input_to_a_network_output():
    g = GraphBuilder()
    y = g.node("Identity", [g.input("x", [1, 32, 16, 16])], name="id1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT126", "missed")
    assert missed.check == "not-network-io"
    assert missed.nodes == ("id1",)
    assert "network input x" in missed.reason and "network output id1_out" in missed.reason
    assert report.layer_of("id1").nodes == ("id1",)


def test_missed_for_a_dropout_in_training_mode():
    ratio = lambda g: g.const(np.float32(0.1))  # noqa: E731
    on = lambda g: g.const(np.array(True))  # noqa: E731
    report = analyze(_conv_node_relu("Dropout", [ratio, on]))
    (missed,) = diagnostics(report, "TRT126", "missed")
    assert missed.check == "inference-mode"
    assert missed.nodes == ("node1",)
    assert "node1" not in report.absorbed


# ---------------------------------------------------------------- rewrite: erase
from fusionlab import rewrite  # noqa: E402


def test_rewrite_erases_identity_dropout_and_same_type_cast():
    g = GraphBuilder()
    x = g.input("x", [1, 4, 8, 8])
    y = g.node("Relu", [x], name="relu0")
    y = g.node("Identity", [y], name="id1")
    y = g.node("Dropout", [y], name="drop1")
    y = g.node("Cast", [y], name="cast1", to=TensorProto.FLOAT)
    y = g.node("Relu", [y], name="relu1")
    y = g.node("Identity", [y], name="id_out")  # the graph output: its producer takes the name
    model = g.model([y])
    out, report = rewrite(model, passes=["identity-erase"])
    assert [n.name for n in out.graph.node] == ["relu0", "relu1"]
    assert out.graph.output[0].name == model.graph.output[0].name
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_an_input_to_output_copy():
    g = GraphBuilder()
    y = g.node("Identity", [g.input("x", [2, 3])], name="id1")
    out, report = rewrite(g.model([y]), passes=["identity-erase"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["not-network-io"]
