"""TRT130 shuffle-identity: an identity Transpose / Reshape / Flatten is erased; kept at
network I/O and when its input has another reader."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_identity_transpose_is_erased_and_conv_relu_fuses_through_it():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Transpose", [y], name="t1", perm=[0, 1, 2, 3])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["t1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")
    (erased,) = diagnostics(report, "TRT130", "absorbed")
    assert erased.nodes == ("t1",)
    assert "conv1_out" in erased.reason


def test_reshape_to_the_same_shape_and_flatten_of_a_matrix_are_erased():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [8, 64])], name="relu0")
    y = g.node("Reshape", [y, g.const(np.array([8, 64], np.int64))], name="r1")
    y = g.node("Flatten", [y], name="f1", axis=1)
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["r1", "f1"]
    assert report.layer_of("relu1").nodes == ("relu0", "relu1")


def test_a_real_transpose_is_not_matched():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Transpose", [y], name="t1", perm=[0, 1, 3, 2])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert not diagnostics(report, "TRT130")
    assert report.layer_of("t1").nodes == ("t1",)


def test_missed_on_a_network_input():
    g = GraphBuilder()
    y = g.node("Transpose", [g.input("x", [1, 32, 16, 16])], name="t1", perm=[0, 1, 2, 3])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT130", "missed")
    assert missed.check == "not-network-io"
    assert missed.nodes == ("t1",)
    assert "network input x" in missed.reason
    assert report.layer_of("t1").nodes == ("t1",)


def test_missed_on_a_network_input_behind_an_erased_identity():
    g = GraphBuilder()
    y = g.node("Identity", [g.input("x", [1, 32, 16, 16])], name="id1")
    y = g.node("Transpose", [y], name="t1", perm=[0, 1, 2, 3])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["id1"]
    (missed,) = diagnostics(report, "TRT130", "missed")
    assert missed.check == "not-network-io"
    assert missed.nodes == ("t1",)
    assert "network input x" in missed.reason


def test_missed_on_a_network_output():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Reshape", [y, g.const(np.array([1, 32, 16, 16], np.int64))], name="r1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT130", "missed")
    assert missed.check == "not-network-io"
    assert missed.nodes == ("r1",)
    assert "network output r1_out" in missed.reason


def test_missed_when_the_input_has_another_reader():
    g = GraphBuilder()
    a = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Transpose", [a], name="t1", perm=[0, 1, 2, 3])
    y = g.node("Relu", [y], name="relu1")
    z = g.node("Sigmoid", [a], name="sig1")
    report = analyze(g.model([y, z]))
    (missed,) = diagnostics(report, "TRT130", "missed")
    assert missed.check == "input-single-consumer"
    assert missed.nodes == ("t1",)
    assert "sig1" in missed.reason
    assert "t1" not in report.absorbed
