"""TRT407 qdq-insert: fires on DQ -> MaxPool -> float and float -> MaxPool -> Q (TensorRT
inserts the missing pair); missed on an AveragePool (max(abs(x)) not preserved)."""


from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def test_dq_maxpool_with_a_float_reader_runs_in_int8():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = g.node("Sigmoid", [y], name="sig")
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("pool")
    assert layer.nodes == ("dq_in", "pool")
    assert layer.kind == "MaxPool" and layer.rules == ("TRT407",)
    (pred,) = diagnostics(report, "TRT407", "predicted")
    assert "inserts the missing Q/DQ pair after pool" in pred.reason


def test_float_maxpool_followed_by_q_runs_in_int8():
    g = GraphBuilder()
    y = g.node("GlobalMaxPool", [g.input("x", [1, 16, 8, 8])], name="gmp")
    y = dq(g, q(g, y, "q_out"), "dq_out")
    report = analyze(g.model([g.node("Sigmoid", [y], name="sig")]), precision="int8")
    assert report.layer_of("gmp").nodes == ("gmp", "q_out")


def test_missed_on_an_average_pool_with_a_dq_only():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("AveragePool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    report = analyze(g.model([g.node("Sigmoid", [y], name="sig")]), precision="int8")
    (missed,) = diagnostics(report, "TRT407", "missed")
    assert missed.check == "max-abs-preserved"
    assert missed.nodes == ("dq_in", "pool")
    assert "AveragePool" in missed.reason and "no QuantizeLinear on its output" in missed.reason
    assert report.layer_of("pool").nodes == ("pool",)


# ---------------------------------------------------------------- rewrite: insert the pair
from fusionlab import rewrite  # noqa: E402


def test_rewrite_runs_the_pool_on_int8_after_a_dq():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = g.node("Sigmoid", [y], name="sig")
    out, report = rewrite(g.model([y]), precision="int8", passes=["qdq-insert"])
    assert [n.op_type for n in out.graph.node] == ["QuantizeLinear", "MaxPool", "DequantizeLinear", "Sigmoid"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_inserts_the_pair_before_a_float_pool_followed_by_q():
    g = GraphBuilder()
    y = g.node("MaxPool", [g.input("x", [1, 16, 8, 8])], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = dq(g, q(g, y, "q_out"), "dq_out")
    out, report = rewrite(g.model([g.node("Sigmoid", [y], name="sig")]), precision="int8",
                          passes=["qdq-insert"])
    assert [n.op_type for n in out.graph.node][:3] == ["QuantizeLinear", "DequantizeLinear", "MaxPool"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_an_average_pool():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in")
    y = g.node("AveragePool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    _, report = rewrite(g.model([g.node("Sigmoid", [y], name="sig")]), precision="int8",
                        passes=["qdq-insert"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["max-abs-preserved"]


# ---------------------------------------------------------------- TensorRT-RTX
def test_tensorrt_rtx_inserts_nothing_around_a_maxpool():
    # Live TensorRT-RTX 1.7: kgen [q_in], maxpool [pool], kgen [dq_in, sig]
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 16, 16]), "q_in"), "dq_in")
    y = g.node("MaxPool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    report = analyze(g.model([g.node("Sigmoid", [y], name="sig")]), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT407", "missed")
    assert missed.check == "pool-separate-on-rtx"
    assert missed.nodes == ("dq_in", "pool")
    assert "own maxpool kernel and dq_in in another kernel" in missed.reason
    assert report.layer_of("pool").nodes == ("pool",)


def test_tensorrt_rtx_keeps_the_q_after_a_float_maxpool_apart():
    # Live TensorRT-RTX 1.7: maxpool [pool], kgen [q_out], correlation [conv1, dq_out, conv1_wdq]
    g = GraphBuilder()
    y = g.node("MaxPool", [g.input("x", [1, 16, 16, 16])], name="pool", kernel_shape=[2, 2],
               strides=[2, 2])
    y = dq(g, q(g, y, "q_out"), "dq_out")
    report = analyze(g.model([qconv(g, y, 16, 16, "conv1")]), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT407", "missed")
    assert missed.check == "pool-separate-on-rtx"
    assert missed.nodes == ("pool", "q_out")
    assert report.layer_of("q_out").nodes == ("q_out",)


def test_tensorrt_rtx_global_max_pool_takes_its_q():
    # Live TensorRT-RTX 1.7: one kgen [gmp, q_out, dq_out, sig]: the Q and the DQ between
    # two kgen layers run inside the kernel (TRT310 takes dq_out and sig with them)
    g = GraphBuilder()
    y = g.node("GlobalMaxPool", [g.input("x", [1, 16, 8, 8])], name="gmp")
    y = dq(g, q(g, y, "q_out"), "dq_out")
    report = analyze(g.model([g.node("Sigmoid", [y], name="sig")]), target="tensorrt-rtx")
    assert report.layer_of("gmp").nodes == ("gmp", "q_out", "dq_out", "sig")
    assert not diagnostics(report, "TRT407", "missed")
