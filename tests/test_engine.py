"""Unit tests of the rule engine (fusionlab.engine) on small real graphs: overlap winners
and ``no-overlap`` losers, incremental rounds, MAX_ROUNDS and the partition invariant."""

from __future__ import annotations

import pytest

from fusionlab import engine
from fusionlab.analysis import analyze
from fusionlab.graph import Graph
from fusionlab.pattern import op
from fusionlab.rule import Rule
from fusionlab.testing import GraphBuilder


def _graph(g: GraphBuilder, outputs) -> Graph:
    graph = Graph(g.model(outputs), None)
    graph.infer_shapes()
    return graph


def _chain(*ops: str) -> Graph:
    g = GraphBuilder()
    y = g.input("x", [4])
    for i, kind in enumerate(ops):
        y = g.node(kind, [y], name=f"{kind.lower()}{i}")
    return _graph(g, [y])


class SigmoidTanh(Rule):
    """Test rule: Tanh(Sigmoid) is one layer."""
    code, name = "TST801", "sigmoid-tanh"
    pattern = op.Tanh(op.Sigmoid(name="s"), name="t")
    result_kind = "PointWise"


class TanhRelu(Rule):
    """Test rule: Relu(Tanh) is one layer (overlaps SigmoidTanh on the Tanh)."""
    code, name = "TST802", "tanh-relu"
    pattern = op.Relu(op.Tanh(name="t"), name="r")
    result_kind = "PointWise"


class SigmoidTanhRelu(Rule):
    """Test rule: the three-node chain (larger: applies first)."""
    code, name = "TST803", "sigmoid-tanh-relu"
    pattern = op.Relu(op.Tanh(op.Sigmoid()), name="r")
    result_kind = "PointWise"


def _layers(result):
    return [layer.nodes for layer in result.layers]


def test_every_node_is_in_exactly_one_layer_or_absorbed():
    for path in ("models/resnet18.onnx", "models/bert_tiny.onnx", "models/resnet18_qdq.onnx"):
        report = analyze(path)
        placed = [n for layer in report.layers for n in layer.nodes] + list(report.absorbed)
        assert len(placed) == len(set(placed)) == report.nodes, path


def test_the_larger_match_wins_an_overlap_and_the_loser_is_no_overlap():
    result = engine.run(_chain("Sigmoid", "Tanh", "Relu"), rules=[SigmoidTanh, TanhRelu, SigmoidTanhRelu])
    assert _layers(result) == [["sigmoid0", "tanh1", "relu2"]]
    # the two-node matches are subsumed by the winner: their nodes ended in one layer
    assert [d.code for d in result.diagnostics if d.status == "missed"] == []


def test_an_overlap_loser_whose_nodes_end_apart_is_reported_no_overlap():
    # equal sizes: the earlier anchor (sigmoid-tanh, anchored on tanh1) wins tanh1
    result = engine.run(_chain("Sigmoid", "Tanh", "Relu"), rules=[SigmoidTanh, TanhRelu])
    assert _layers(result) == [["sigmoid0", "tanh1"], ["relu2"]]
    (loser,) = [d for d in result.diagnostics if d.status == "missed"]
    assert (loser.code, loser.check, loser.nodes) == ("TST802", "no-overlap", ("tanh1", "relu2"))
    assert "TST801" in loser.reason


class ReluAfterFused(Rule):
    """Test rule: a Relu after a PointWise layer joins it (possible only after a merge)."""
    code, name = "TST804", "pointwise-relu"
    pattern = op.Relu(op.PointWise(name="p"), name="r")
    result_kind = "PointWise"


def test_a_fusion_that_a_merge_enables_happens_in_a_later_round():
    result = engine.run(_chain("Sigmoid", "Tanh", "Relu", "Relu"), rules=[SigmoidTanh, ReluAfterFused])
    assert _layers(result) == [["sigmoid0", "tanh1", "relu2", "relu3"]]
    # relu2 joins in one round, relu3 in the next: one finding covers the grown layer
    assert [d.code for d in result.diagnostics] == ["TST801", "TST804"]
    assert set(result.diagnostics[1].nodes) >= {"relu2", "relu3"}


def test_later_rounds_anchor_only_downstream_of_a_change(monkeypatch):
    seen: list[set | None] = []
    original = engine.LayerState.layers_of_kinds

    def spy(self, kinds):
        seen.append(None if self.candidates is None else set(self.candidates))
        return original(self, kinds)

    monkeypatch.setattr(engine.LayerState, "layers_of_kinds", spy)
    g = GraphBuilder()
    x = g.input("x", [4])
    a = g.node("Tanh", [g.node("Sigmoid", [x], name="s1")], name="t1")
    b = g.node("Exp", [g.node("Exp", [x], name="e1")], name="e2")  # a branch nothing changes
    result = engine.run(_graph(g, [a, b]), rules=[SigmoidTanh])
    assert seen[0] is None                      # round 1: every layer
    later = [c for c in seen[1:] if c is not None]
    state_layers = {id(layer): layer for layer in result.layers}
    assert later and all(not any(state_layers.get(i) and state_layers[i].nodes[0].startswith("e")
                                 for i in c) for c in later)


class GrowForever(Rule):
    """Test rule: every Relu layer absorbs its input's producer, whatever it is (a chain
    longer than MAX_ROUNDS takes more rounds than the engine allows)."""
    code, name = "TST805", "grow"
    pattern = op.Relu(op.Relu(name="a"), name="r")


def test_max_rounds_bounds_the_rounds_of_a_phase(monkeypatch):
    monkeypatch.setattr(engine, "MAX_ROUNDS", 2)
    # Relu chain of 9: round 1 merges pairs from the end, later rounds merge pairs of layers
    result = engine.run(_chain(*["Relu"] * 9), rules=[GrowForever])
    assert len(result.layers) > 1  # stopped after two rounds, not at a fixpoint
    monkeypatch.setattr(engine, "MAX_ROUNDS", 64)
    assert len(engine.run(_chain(*["Relu"] * 9), rules=[GrowForever]).layers) == 1


def test_unknown_target_and_precision_are_input_errors():
    from fusionlab.errors import InputError

    with pytest.raises(InputError, match="unknown target"):
        engine.run(_chain("Relu"), target="tensorrt-llm")
    with pytest.raises(InputError, match="unknown precision"):
        engine.run(_chain("Relu"), precision="int4")
