"""TRT124 shuffle-inverse-pair: two Shuffles that undo each other are erased and their
consumers read the first one's input; kept at network I/O and with a second reader."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _shape(g, dims):
    return g.const(np.array(dims, np.int64))


def test_inverse_transposes_vanish_and_conv_relu_fuses_through_them():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Transpose", [y], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Transpose", [y], name="t2", perm=[0, 3, 1, 2])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["t1", "t2"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")
    (erased,) = diagnostics(report, "TRT124", "absorbed")
    assert erased.nodes == ("t1", "t2")
    assert "conv1_out" in erased.reason


def test_reshape_round_trip_vanishes():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Reshape", [y, _shape(g, [1, 32, 256])], name="r1")
    y = g.node("Reshape", [y, _shape(g, [1, 32, 16, 16])], name="r2")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["r1", "r2"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")


def test_squeeze_unsqueeze_round_trip_vanishes():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 1, name="conv1")
    axes = g.const(np.array([1], np.int64))
    y = g.node("Squeeze", [y, axes], name="sq1")
    y = g.node("Unsqueeze", [y, axes], name="unsq1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.absorbed == ["sq1", "unsq1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")


def test_non_inverse_transposes_are_not_erased():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [1, 32, 16, 8])], name="relu0")
    y = g.node("Transpose", [y], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Transpose", [y], name="t2", perm=[0, 2, 3, 1])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert not diagnostics(report, "TRT124")
    assert report.layer_of("t2").nodes == ("t1", "t2")


def test_missed_when_the_first_shuffle_has_a_second_reader():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu0")
    a = g.node("Transpose", [y], name="t1", perm=[0, 2, 3, 1])
    b = g.node("Transpose", [a], name="t2", perm=[0, 3, 1, 2])
    b = g.node("Relu", [b], name="relu1")
    c = g.node("Sigmoid", [a], name="sig1")
    report = analyze(g.model([b, c]))
    (missed,) = diagnostics(report, "TRT124", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("t1", "t2")
    assert "sig1" in missed.reason
    assert "t1" not in report.absorbed and "t2" not in report.absorbed


def test_missed_at_network_io_and_kept_as_one_shuffle():
    g = GraphBuilder()
    y = g.node("Transpose", [g.input("x", [1, 32, 16, 16])], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Transpose", [y], name="t2", perm=[0, 3, 1, 2])
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT124", "missed")
    assert missed.check == "not-network-io"
    assert missed.nodes == ("t1", "t2")
    assert "network input x" in missed.reason
    layer = report.layer_of("t2")
    assert layer.nodes == ("t1", "t2") and layer.kind == "Shuffle"


# ---------------------------------------------------------------- rewrite: erase
from fusionlab import rewrite  # noqa: E402


def test_rewrite_erases_an_inverse_transpose_pair():
    g = GraphBuilder()
    x = g.input("x", [1, 4, 8, 6])
    y = g.node("Relu", [x], name="relu0")
    y = g.node("Transpose", [y], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Transpose", [y], name="t2", perm=[0, 3, 1, 2])
    y = g.node("Relu", [y], name="relu1")
    out, report = rewrite(g.model([y]), passes=["shuffle-inverse-pair"])
    assert [n.name for n in out.graph.node] == ["relu0", "relu1"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_erases_the_second_shuffle_when_the_first_has_other_readers():
    g = GraphBuilder()
    x = g.input("x", [1, 4, 8, 6])
    y = g.node("Relu", [x], name="relu0")
    r = g.node("Reshape", [y, g.const(np.array([1, 4, 48], np.int64))], name="r1")
    back = g.node("Reshape", [r, g.const(np.array([1, 4, 8, 6], np.int64))], name="r2")
    out1 = g.node("Relu", [back], name="relu1")
    out2 = g.node("Sigmoid", [r], name="sig1")
    out, report = rewrite(g.model([out1, out2]), passes=["shuffle-inverse-pair"])
    assert [n.name for n in out.graph.node] == ["relu0", "r1", "relu1", "sig1"]
    assert report.equivalence.passed
