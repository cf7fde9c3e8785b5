"""TRT406 qdq-commute: fires on DQ -> MaxPool / Reshape / Concat (equal scales) -> Q;
missed on a Gather, on Concat inputs with different scales, on a float reader."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, diagnostics


def test_dq_maxpool_q_runs_as_one_int8_maxpool():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = q(g, y, "q_out")
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("pool")
    assert layer.nodes == ("dq_in", "pool", "q_out")
    assert layer.kind == "MaxPool" and layer.rules == ("TRT406",)


def test_reshape_between_dq_and_q_commutes():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 4, 4]), "q_in"), "dq_in")
    y = g.node("Reshape", [x, g.const(np.array([1, 256], np.int64))], name="reshape")
    report = analyze(g.model([q(g, y, "q_out")]), precision="int8")
    assert report.layer_of("reshape").nodes == ("dq_in", "reshape", "q_out")


def test_concat_of_inputs_with_one_scale_runs_in_int8():
    g = GraphBuilder()
    a = dq(g, q(g, g.input("a", [1, 8, 4, 4]), "q_a"), "dq_a", 0.1)
    b = dq(g, q(g, g.input("b", [1, 8, 4, 4]), "q_b"), "dq_b", 0.1)
    y = q(g, g.node("Concat", [a, b], name="cat", axis=1), "q_out", 0.1)
    report = analyze(g.model([y]), precision="int8")
    assert report.layer_of("cat").nodes == ("dq_a", "dq_b", "cat", "q_out")


def test_missed_when_concat_inputs_have_different_scales():
    g = GraphBuilder()
    a = dq(g, q(g, g.input("a", [1, 8, 4, 4]), "q_a", 0.1), "dq_a", 0.1)
    b = dq(g, q(g, g.input("b", [1, 8, 4, 4]), "q_b", 0.2), "dq_b", 0.2)
    y = q(g, g.node("Concat", [a, b], name="cat", axis=1), "q_out", 0.2)
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT406", "missed")
    assert missed.check == "equal-scales"
    assert missed.nodes == ("dq_a", "dq_b", "cat", "q_out")
    assert "scale 0.1" in missed.reason and "scale 0.2" in missed.reason
    assert report.layer_of("cat").nodes == ("cat",)


def test_missed_when_phi_is_a_gather():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 32]), "q_in"), "dq_in")
    y = g.node("Gather", [x, g.input("idx", [4], dtype=7)], name="gather", axis=1)
    report = analyze(g.model([q(g, y, "q_out")]), precision="int8")
    (missed,) = diagnostics(report, "TRT406", "missed")
    assert missed.check == "commutes"
    assert missed.nodes == ("dq_in", "gather", "q_out")
    assert "gather (Gather) does not commute" in missed.reason
    assert not diagnostics(report, "TRT405")  # reported once, by the commute rule


def test_missed_when_the_output_is_also_read_in_float():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    a, b = q(g, y, "q_out"), g.node("Relu", [y], name="relu")
    report = analyze(g.model([a, b]), precision="int8")
    (missed,) = diagnostics(report, "TRT406", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dq_in", "pool", "q_out")
    assert "relu" in missed.reason


# ---------------------------------------------------------------- rewrite: move the DQ
from fusionlab import rewrite  # noqa: E402


def test_rewrite_runs_maxpool_on_int8_and_erases_the_pair_exactly():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = dq(g, q(g, y, "q_out"), "dq_out")
    y = g.node("Sigmoid", [y], name="sig")
    out, report = rewrite(g.model([y]), precision="int8", passes=["qdq-commute", "qdq-erase"])
    assert [n.op_type for n in out.graph.node] == ["QuantizeLinear", "MaxPool", "DequantizeLinear", "Sigmoid"]
    assert [c.pass_name for c in report.changes] == ["qdq-commute", "qdq-erase"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_moves_one_dq_after_a_concat_of_equal_scales():
    g = GraphBuilder()
    a = dq(g, q(g, g.input("a", [1, 8, 4, 4]), "q_a"), "dq_a")
    b = dq(g, q(g, g.input("b", [1, 8, 4, 4]), "q_b"), "dq_b")
    y = g.node("Concat", [a, b], name="cat", axis=1)
    y = g.node("Sigmoid", [dq(g, q(g, y, "q_cat"), "dq_cat")], name="sig")
    out, report = rewrite(g.model([y]), precision="int8", passes=["qdq-commute"])
    cat = next(n for n in out.graph.node if n.name == "cat")
    assert list(cat.input) == ["q_a_out", "q_b_out"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_a_gather():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [4, 8]), "q_in"), "dq_in")
    y = g.node("Gather", [x, g.const(np.array([0, 2], np.int64))], name="gather", axis=0)
    y = g.node("Sigmoid", [dq(g, q(g, y, "q_out"), "dq_out")], name="sig")
    _, report = rewrite(g.model([y]), precision="int8", passes=["qdq-commute"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["commutes"]
