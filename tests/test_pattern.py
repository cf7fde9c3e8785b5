"""Unit tests of the pattern language (fusionlab.pattern) and of how a rule's bindings
reach the engine (alternatives in preference order, checks bound by name)."""

import numpy as np
import pytest

from fusionlab import engine
from fusionlab.engine import LayerState
from fusionlab.graph import Graph
from fusionlab.pattern import ANY, Alt, Bindings, Const, Op, Opt, Ref, Through, Var, op
from fusionlab.rule import Rule, check
from fusionlab.testing import GraphBuilder, dq, q


def state_of(g: GraphBuilder, outputs) -> LayerState:
    graph = Graph(g.model(outputs), None)
    graph.infer_shapes()
    return LayerState(graph)


def bindings(pattern, state, anchor_node):
    return list(pattern.match_layer(state.layer_of[anchor_node], state, Bindings()))


def node_names(b):
    return [layer.nodes[0] for layer in b.order]


def test_commutative_inputs_are_tried_in_both_orders():
    g = GraphBuilder()
    x = g.input("x", [1, 8, 4, 4])
    c = g.conv(x, 8, cin=8, name="conv")
    y = g.node("Add", [x, c], name="add")
    s = state_of(g, [y])
    found = bindings(op.Add(op.Conv(name="conv"), Var("other"), name="add"), s, "add")
    assert [(b.layers["conv"].nodes, b.tensors["other"]) for b in found] == [(["conv"], "x")]
    # not commutative when told so
    assert bindings(Op("Add", op.Conv(), Var(), commute=False), s, "add") == []


def test_a_name_used_twice_binds_the_same_tensor():
    g = GraphBuilder()
    a, b = g.input("a", [4]), g.input("b", [4])
    sq = g.node("Mul", [a, a], name="sq")
    ab = g.node("Mul", [a, b], name="ab")
    s = state_of(g, [sq, ab])
    pattern = op.Mul(Var("x"), Var("x"))
    assert len(bindings(pattern, s, "sq")) == 1
    assert bindings(pattern, s, "ab") == []


def test_a_layer_binds_once_per_match():
    g = GraphBuilder()
    r = g.node("Relu", [g.input("x", [4])], name="relu")
    y = g.node("Add", [r, r], name="add")
    s = state_of(g, [y])
    # two distinct Relu bindings cannot both take the one Relu layer
    assert bindings(op.Add(op.Relu(name="a"), op.Relu(name="b")), s, "add") == []
    assert len(bindings(op.Add(op.Relu(name="a"), Var()), s, "add")) == 1


def test_const_value_within_tolerance():
    g = GraphBuilder()
    x = g.input("x", [4])
    y = g.node("Mul", [x, g.const(0.5001)], name="half")
    z = g.node("Mul", [x, g.const(0.6)], name="other")
    s = state_of(g, [y, z])
    pattern = op.Mul(Var("x"), Const("c", value=0.5))
    assert [b.tensors["x"] for b in bindings(pattern, s, "half")] == ["x"]
    assert bindings(pattern, s, "other") == []


def _qdq_conv_through_reshape():
    g = GraphBuilder()
    x = g.input("x", [1, 8, 4, 4])
    d = dq(g, q(g, x, "q"), "dq")
    r = g.node("Identity", [d], name="ident")
    t = g.node("Relu", [r], name="relu")
    y = g.conv(t, 8, cin=8, name="conv")
    return state_of(g, [y])


def test_through_walks_a_bounded_path_shortest_first_and_binds_it():
    s = _qdq_conv_through_reshape()
    inner = op.DequantizeLinear(Var("xq"), name="dq")
    two = Op("Conv", Through(("Identity", "Relu"), inner, max_hops=2, name="path"), name="conv")
    (b,) = bindings(two, s, "conv")
    assert [layer.nodes[0] for layer in b.paths["path"]] == ["relu", "ident"]
    assert node_names(b) == ["conv", "dq"]  # the path is bound, not fused
    one = Op("Conv", Through(("Identity", "Relu"), inner, max_hops=1), name="conv")
    assert bindings(one, s, "conv") == []
    joined = Op("Conv", Through(("Identity", "Relu"), inner, max_hops=3, join=True), name="conv")
    (b,) = bindings(joined, s, "conv")
    assert node_names(b) == ["conv", "relu", "ident", "dq"]


def test_through_tries_every_length_and_stops_at_other_kinds():
    s = _qdq_conv_through_reshape()
    found = bindings(Op("Conv", Through(("Identity", "Relu"), Var("t"), max_hops=5), name="conv"), s, "conv")
    # zero hops (the Conv's own input), one, two; the DequantizeLinear ends the path
    assert [b.tensors["t"] for b in found] == ["relu_out", "ident_out", "dq_out"]
    assert len(bindings(Op("Conv", Through("Relu", Var("t"), max_hops=5, min_hops=1)), s, "conv")) == 1


def test_through_inside_steps_over_q_dq_nodes_a_bound_layer_absorbed():
    g = GraphBuilder()
    x = g.input("x", [1, 8, 4, 4])
    r = g.node("Relu", [x], name="relu")
    d = dq(g, q(g, r, "q"), "dq")
    y = g.conv(d, 8, cin=8, name="conv")
    s = state_of(g, [y])
    s.merge([s.layer_of["dq"], s.layer_of["conv"]], "Conv", "conv", _Tagger())  # an INT8 conv layer
    inner = op.Relu(name="relu")

    def conv(max_hops, inside):
        return Op("Conv", Through(("QuantizeLinear", "DequantizeLinear"), inner, max_hops=max_hops,
                                  name="path", join=True, inside=inside), name="conv")

    assert bindings(conv(3, inside=False), s, "conv") == []  # the DQ is the conv's own layer
    (b,) = bindings(conv(3, inside=True), s, "conv")
    assert [layer.nodes[0] for layer in b.paths["path"]] == ["q"]  # the DQ step binds nothing
    assert [layer.nodes[-1] for layer in b.order] == ["conv", "q", "relu"]
    assert bindings(conv(1, inside=True), s, "conv") == []  # the inside step counts as a hop


def test_anywhere_and_rest_match_the_only_non_constant_input_at_any_position():
    g = GraphBuilder()
    x = g.input("x", [4])
    c = g.const(np.ones(4, np.float32))
    r = g.node("Relu", [x], name="relu")
    g.node("Add", [c, r], name="add_cr")
    g.node("Add", [r, r], name="add_rr")
    s2 = g.node("Sigmoid", [x], name="sig")
    y = g.node("Add", [r, s2], name="add_rs")
    s = state_of(g, [y, "add_cr_out", "add_rr_out"])

    def reads(name, **kw):
        return bindings(Op("Add", op.Relu(name="r"), name="a", **kw), s, name)

    assert len(reads("add_cr", anywhere=True, rest=Const())) == 1  # the Relu is input 1
    assert reads("add_cr", commute=False) == []  # positional: input 0 only
    assert len(reads("add_rr", anywhere=True, rest=Const())) == 1  # the Relu's tensor twice
    assert reads("add_rs", anywhere=True, rest=Const()) == []  # the Sigmoid is not constant
    assert len(reads("add_rs", anywhere=True)) == 1
    (b,) = bindings(Op("Add", op.Relu(), rest=op.Sigmoid(name="other")), s, "add_rs")
    assert b.layers["other"].nodes == ["sig"]


def test_opt_matches_with_and_without_the_node():
    g = GraphBuilder()
    x = g.input("x", [4])
    c = g.node("Cast", [x], name="cast", to=1)
    a = g.node("Relu", [c], name="with_cast")
    b = g.node("Relu", [x], name="plain")
    s = state_of(g, [a, b])
    pattern = op.Relu(Opt(op.Cast(Var("x"), name="cast")), name="act")
    with_cast, skipped = bindings(pattern, s, "with_cast")  # the node first, then without it
    assert with_cast.layers["cast"].nodes == ["cast"] and with_cast.tensors["x"] == "x"
    assert "cast" not in skipped.layers and skipped.tensors["x"] == "cast_out"
    (plain,) = bindings(pattern, s, "plain")
    assert "cast" not in plain.layers and plain.tensors["x"] == "x"
    with pytest.raises(TypeError):
        Opt(Var("x"))


def test_attribute_and_where_predicates():
    g = GraphBuilder()
    x = g.input("x", [1, 8, 4, 4])
    dw = g.conv(x, 8, cin=8, group=8, name="depthwise")
    y = g.conv(dw, 8, cin=8, name="dense")
    s = state_of(g, [y])
    assert bindings(Op("Conv", attrs={"group": 1}), s, "dense")
    assert not bindings(Op("Conv", attrs={"group": 1}), s, "depthwise")
    assert bindings(Op("Conv", attrs={"group": lambda v: v and v > 1}), s, "depthwise")
    assert bindings(Op("Conv", attrs={"dilations": None}), s, "dense")  # missing = None
    assert not bindings(Op("Conv", where=lambda n: n.name.startswith("dep")), s, "dense")
    rank4 = Var("t", where=lambda t, v: len(v.graph.shape(t) or ()) == 4)
    assert bindings(Op("Conv", rank4), s, "dense")
    assert not bindings(Op("Conv", Var(where=lambda t, v: False)), s, "dense")


class _Tagger(Rule):
    code, name, tags = "TST901", "tagger", ("int8",)
    pattern = op.Relu(name="r")


def test_tags_of_a_merge_are_matched_by_tagged_and_untagged():
    g = GraphBuilder()
    r = g.node("Relu", [g.input("x", [4])], name="relu")
    y = g.node("Sigmoid", [r], name="sig")
    s = state_of(g, [y])
    relu = s.layer_of["relu"]
    assert bindings(Op("Relu", untagged="int8"), s, "relu")
    merged = s.merge([relu], "Relu", "relu", _Tagger())
    assert merged.tags == frozenset({"int8"})
    assert bindings(Op("Relu", tagged="int8"), s, "relu")
    assert not bindings(Op("Relu", untagged="int8"), s, "relu")
    assert list(op.Sigmoid(Op("Relu", tagged="int8")).match_layer(s.layer_of["sig"], s, Bindings()))


def test_alt_produces_every_option_in_order():
    g = GraphBuilder()
    x = g.input("x", [4])
    y = g.node("Relu", [g.node("Sigmoid", [x], name="sig")], name="relu")
    s = state_of(g, [y])
    found = bindings(op.Relu(op.Sigmoid(Var("a"), name="s") | Var("b")), s, "relu")
    assert [sorted(b.names()) for b in found] == [["a", "s"], ["b"]]
    assert isinstance(op.Relu() | op.Sigmoid() | op.Tanh(), Alt)
    assert len((op.Relu() | op.Sigmoid() | op.Tanh()).options) == 3


# --------------------------------------------------------------- rules and the engine
def _two_convs_into_add():
    """conv_a (two readers) and conv_b (one reader) both feed one Add."""
    g = GraphBuilder()
    x = g.input("x", [1, 8, 4, 4])
    a = g.conv(x, 8, cin=8, name="conv_a")
    b = g.conv(x, 8, cin=8, name="conv_b")
    y = g.node("Add", [a, b], name="add")
    z = g.node("Relu", [a], name="other_reader")
    return Graph(g.model([y, z]), None)


class _ConvAdd(Rule):
    """Conv + Add, test rule: prefers the later convolution."""

    code, name = "TST902", "conv-add"
    pattern = op.Add(op.Conv(name="conv"), Var("other"), name="add")
    host = "conv"

    def prefer(self, b, state):
        return b.layers["conv"].index

    @check("single-consumer")
    def single(self, conv, ctx):
        readers = ctx.graph.consumers[conv.outputs[0]]
        return None if len(readers) == 1 else f"{conv.name} has {len(readers)} readers"


def test_find_orders_every_binding_by_prefer():
    graph = _two_convs_into_add()
    (m,) = list(_ConvAdd().find(LayerState(graph)))
    assert m.node("conv").name == "conv_b"
    assert [alt.node("conv").name for alt in m.alternatives] == ["conv_a"]


def test_engine_applies_the_first_binding_whose_checks_hold():
    class PreferFirst(_ConvAdd):
        code = "TST903"

        def prefer(self, b, state):
            return -b.layers["conv"].index  # conv_a first: it fails single-consumer

    result = engine.run(_two_convs_into_add(), rules=[PreferFirst])
    fused = [layer.nodes for layer in result.layers if len(layer.nodes) > 1]
    assert fused == [["conv_b", "add"]]
    assert [d.status for d in result.diagnostics] == ["predicted"]


def test_engine_reports_the_preferred_binding_when_every_binding_fails():
    class Never(_ConvAdd):
        code = "TST904"

        @check("never")
        def never(self, conv, add):
            return f"{conv.name} -> {add.name} refused"

    (d,) = engine.run(_two_convs_into_add(), rules=[Never]).diagnostics
    # conv_b (preferred) passes single-consumer and fails never; conv_a fails both
    assert (d.status, d.check, d.nodes) == ("missed", "never", ("conv_b", "add"))
    assert d.reason == "conv_b -> add refused"


def test_check_parameters_name_bindings():
    class Typo(_ConvAdd):
        code = "TST905"

        @check("typo")
        def typo(self, convv):
            return None

    with pytest.raises(TypeError, match="convv"):
        Typo.checks()


def test_any_kind_anchors_on_every_layer():
    g = GraphBuilder()
    x = g.input("x", [4])
    y = g.node("Tanh", [g.node("Relu", [x], name="relu")], name="tanh")
    s = state_of(g, [y])
    assert [layer.nodes for layer in s.layers_of_kinds({ANY})] == [["relu"], ["tanh"]]
    assert bindings(Op(ANY, where=lambda n: n.op_type == "Tanh"), s, "tanh")
    assert not bindings(Op(ANY, where=lambda n: n.op_type == "Tanh"), s, "relu")


def test_through_data_inputs_and_ref_binds_without_joining():
    g = GraphBuilder()
    x = g.input("x", [2, 4])
    r = g.node("ReduceMean", [x], name="mean", axes=[1], keepdims=1)
    d = g.node("Sub", [x, r], name="sub")           # the reduction is input 1
    e = g.node("Expand", [d, g.const(np.array([2, 4], dtype=np.int64))], name="expand")
    s = LayerState(Graph(g.model([e]), None))
    view = s.node_view()
    path = Through(("Sub", "Relu"), op.ReduceMean(name="reduction"), max_hops=2, via="data")
    pattern = Op("Expand", Ref(path), name="expand")
    (b,) = list(pattern.match_layer(view.layers_of_kinds({"Expand"})[0], view, Bindings()))
    assert b.layers["reduction"].nodes == ["mean"] and node_names(b) == ["expand"]
    # along input 0 only, the Sub leads to x, not to the reduction
    input0 = Op("Expand", Through(("Sub",), op.ReduceMean(), max_hops=2))
    assert list(input0.match_layer(view.layers_of_kinds({"Expand"})[0], view, Bindings())) == []
