"""TRT408 qdq-erase: fires on Q -> DQ -> Q -> DQ with one scale (the middle pair
vanishes); missed on different scales and on a float reader of the middle DQ."""


from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def chain(g, s1=0.05, s2=0.05):
    y = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q1", s1), "dq1", s1)
    return dq(g, q(g, y, "q2", s2), "dq2", s2)


def test_redundant_middle_pair_is_erased():
    g = GraphBuilder()
    y = qconv(g, chain(g), 16, 16, "conv1")
    report = analyze(g.model([y]), precision="int8")
    assert {"dq1", "q2"} <= set(report.absorbed)
    (absorbed,) = diagnostics(report, "TRT408", "absorbed")
    assert absorbed.nodes == ("dq1", "q2")
    assert report.layer_of("q1").nodes == ("q1",)
    assert report.layer_of("conv1").nodes == ("dq2", "conv1_wdq", "conv1")  # dq2 reads q1's INT8 tensor


def test_missed_when_the_scales_differ():
    g = GraphBuilder()
    y = qconv(g, chain(g, 0.05, 0.1), 16, 16, "conv1")
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT408", "missed")
    assert missed.check == "equal-scales"
    assert missed.nodes == ("dq1", "q2")
    assert "scale 0.05" in missed.reason and "scale 0.1" in missed.reason
    assert not report.absorbed or "q2" not in report.absorbed


def test_missed_when_the_middle_dq_has_a_float_reader():
    g = GraphBuilder()
    y = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q1"), "dq1")
    side = g.node("Sigmoid", [y], name="sig")
    y = dq(g, q(g, y, "q2"), "dq2")
    report = analyze(g.model([y, side]), precision="int8")
    (missed,) = diagnostics(report, "TRT408", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dq1", "q2")
    assert "sig" in missed.reason


# ---------------------------------------------------------------- rewrite: erase the pair
from fusionlab import rewrite  # noqa: E402


def test_rewrite_erases_the_redundant_pair_exactly():
    g = GraphBuilder()
    y = g.node("Relu", [chain(g)], name="relu_out")
    model = g.model([y])
    before = [n.op_type for n in model.graph.node]
    out, report = rewrite(model, precision="int8", passes=["qdq-erase"])
    after = [n.op_type for n in out.graph.node]
    assert before.count("QuantizeLinear") - after.count("QuantizeLinear") == 1
    assert before.count("DequantizeLinear") - after.count("DequantizeLinear") == 1
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_a_requantization():
    g = GraphBuilder()
    y = g.node("Relu", [chain(g, 0.05, 0.1)], name="relu_out")
    _, report = rewrite(g.model([y]), precision="int8", passes=["qdq-erase"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["equal-scales"]
