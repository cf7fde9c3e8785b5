"""TRT301 pointwise: groups of adjacent pointwise layers become one PointWise layer
(PWN(...)); a group has one exit; channel-mode Scales and oversized groups are missed."""

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_a_chain_fuses_into_one_pointwise_layer():
    g = GraphBuilder()
    y = g.node("Add", [g.input("x", [1, 64, 56, 56]), g.input("y", [1, 64, 56, 56])], name="add")
    y = g.node("Relu", [y], name="relu")
    y = g.node("Sigmoid", [y], name="sig")
    report = analyze(g.model([y]))
    assert [(l.name, l.kind, l.rules) for l in report.layers] == [
        ("PWN(add, relu, sig)", "PointWise", ("TRT301",))]
    assert diagnostics(report, "TRT301", "predicted")[0].nodes == ("add", "relu", "sig")


def test_a_diamond_is_one_group():
    g = GraphBuilder()
    a = g.node("Add", [g.input("x", [8, 256]), g.input("y", [8, 256])], name="add")
    r = g.node("Relu", [a], name="relu")
    s = g.node("Sigmoid", [a], name="sig")
    y = g.node("Mul", [r, s], name="mul")
    report = analyze(g.model([y]))
    assert [l.nodes for l in report.layers] == [("add", "relu", "sig", "mul")]


def test_the_last_member_may_have_several_readers():
    g = GraphBuilder()
    a = g.node("Add", [g.input("x", [8, 256]), g.input("y", [8, 256])], name="add")
    r = g.node("Relu", [a], name="relu")
    m = g.node("MatMul", [r, g.input("w", [256, 64])], name="matmul")
    n = g.node("Neg", [r], name="neg")
    report = analyze(g.model([m, n]))
    assert report.layer_of("relu").name == "PWN(add, relu)"
    assert report.layer_of("neg").nodes == ("neg",)


def test_a_member_read_outside_the_group_ends_it_and_lone_layers_stay():
    g = GraphBuilder()
    a = g.node("Add", [g.input("x", [8, 256]), g.input("y", [8, 256])], name="add")
    r = g.node("Relu", [a], name="relu")
    m = g.node("MatMul", [a, g.input("w", [256, 64])], name="matmul")
    report = analyze(g.model([r, m]))
    assert [(l.name, l.kind) for l in report.layers] == [
        ("add", "Add"), ("relu", "Relu"), ("matmul", "MatMul")]
    assert diagnostics(report, "TRT301") == []


def test_a_graph_output_is_not_an_interior_member():
    g = GraphBuilder()
    a = g.node("Add", [g.input("x", [8, 256]), g.input("y", [8, 256])], name="add")
    r = g.node("Sigmoid", [a], name="sig")
    report = analyze(g.model([a, r]))
    assert [l.nodes for l in report.layers] == [("add",), ("sig",)]


def test_a_relu_fused_into_a_conv_is_not_a_member():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv")
    y = g.node("Relu", [y], name="relu")
    y = g.node("Mul", [y, g.input("gate", [1, 32, 16, 16])], name="mul")
    y = g.node("Sigmoid", [y], name="sig")
    report = analyze(g.model([y]))
    assert report.layer_of("relu").kind == "Conv"
    assert report.layer_of("sig").nodes == ("mul", "sig")
    assert report.layer_of("sig").kind == "PointWise"


def test_a_uniform_scale_and_a_fused_gelu_are_members():
    g = GraphBuilder()
    x = g.input("x", [8, 512])
    y = g.node("Add", [x, g.input("y", [8, 512])], name="add")
    y = g.node("Mul", [y, g.const(0.5)], name="scale")
    e = g.node("Div", [y, g.const(1.4142135)], name="div")
    e = g.node("Erf", [e], name="erf")
    e = g.node("Add", [e, g.const(1.0)], name="add1")
    e = g.node("Mul", [y, e], name="mul")
    e = g.node("Mul", [e, g.const(0.5)], name="mul_1")
    report = analyze(g.model([e]))
    layer = report.layer_of("erf")
    assert layer.nodes == ("add", "scale", "div", "erf", "add1", "mul", "mul_1")
    assert layer.kind == "PointWise"
    assert "TRT201" in layer.rules and "TRT301" in layer.rules


def channel_scale_graph():
    g = GraphBuilder()
    shape = [1, 8, 16, 16]
    y = g.node("Add", [g.input("x", shape), g.input("y", shape)], name="add")
    y = g.node("Mul", [y, g.weight([8, 1, 1])], name="scale")
    y = g.node("Sub", [y, g.input("z", shape)], name="sub")
    return g.model([y])


def test_missed_when_a_channel_scale_sits_in_the_chain():
    report = analyze(channel_scale_graph())
    (missed,) = diagnostics(report, "TRT301", "missed")
    assert (missed.check, missed.nodes) == ("scale-uniform", ("add", "scale", "sub"))
    assert "[8, 1, 1]" in missed.reason
    assert [l.nodes for l in report.layers] == [("add",), ("scale",), ("sub",)]


def test_tensorrt_rtx_fuses_the_channel_scale():
    report = analyze(channel_scale_graph(), target="tensorrt-rtx")
    assert [l.name for l in report.layers] == ["PWN(add, scale, sub)"]
    assert diagnostics(report, "TRT301", "missed") == []


def test_missed_when_the_group_is_over_the_size_limit_and_split():
    g = GraphBuilder()
    y = g.input("x", [8, 256])
    names = [f"s{i}" for i in range(20)]
    for name in names:
        y = g.node("Sigmoid", [y], name=name)
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT301", "missed")
    assert (missed.check, missed.nodes) == ("size-limit", tuple(names))
    assert "20 nodes" in missed.reason and "at most 16" in missed.reason and "2 layers" in missed.reason
    assert [l.nodes for l in report.layers] == [tuple(names[:16]), tuple(names[16:])]
    assert all(l.kind == "PointWise" for l in report.layers)


def test_rtx_leaves_a_convolutions_only_activation_to_its_epilogue():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 8, 8])
    s = g.node("Sigmoid", [g.conv(x, 32, k=1, name="fc2")], name="gate")
    y = g.node("Mul", [x, s], name="excite")
    model = g.model([y])
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("gate").nodes == ("fc2", "gate")
    assert rtx.layer_of("excite").nodes == ("excite",)
    classic = analyze(model, target="tensorrt")
    assert classic.layer_of("excite").nodes == ("gate", "excite")
