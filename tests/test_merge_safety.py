"""LayerState.merge refuses a merge that would make the layer graph cyclic, and keeps
its topological ranks valid across the merges it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionlab import engine
from fusionlab.engine import CyclicMerge, LayerState
from fusionlab.graph import load_graph
from fusionlab.pattern import Var, op
from fusionlab.rule import Rule
from fusionlab.testing import GraphBuilder

ROOT = Path(__file__).resolve().parents[1]


class _MergeEnds(Rule):
    """Test rule: Relu -> Neg -> Exp, fusing the Relu and the Exp but not the Neg (a bug)."""

    code = "TRT990"
    name = "merge-ends"
    pattern = op.Exp(op.Neg(op.Relu(Var("x"), name="a"), name="b"), name="c")
    result_kind = "PointWise"

    def fused(self, m):
        return [m.layer("a"), m.layer("c")]


class _MergeAll(_MergeEnds):
    """The same chain, fused whole (a valid merge)."""

    code = "TRT991"
    name = "merge-all"

    def fused(self, m):
        return list(m.order)


class _ReluAdd(Rule):
    """Test rule: Add(Relu(x), y) fuses the Relu and the Add (y may come from anywhere)."""

    code = "TRT992"
    name = "relu-add"
    pattern = op.Add(op.Relu(Var("x"), name="a"), Var("y"), name="c")
    result_kind = "PointWise"


def _chain():
    g = GraphBuilder()
    x = g.input("x", [1, 8])
    y = g.node("Relu", [x], name="A")
    y = g.node("Neg", [y], name="B")
    y = g.node("Exp", [y], name="C")
    return load_graph(g.model(outputs=[y]))


def test_merging_a_and_c_around_b_is_refused_naming_the_rule():
    with pytest.raises(CyclicMerge) as info:
        engine.run(_chain(), rules=[_MergeEnds])
    err = info.value
    assert err.code == "TRT990"
    assert err.nodes == ["A", "C"]
    assert err.path == ["A", "B", "C"]
    assert "TRT990 merge-ends" in str(err) and "A -> B -> C" in str(err)


def test_merging_the_whole_chain_is_accepted():
    result = engine.run(_chain(), rules=[_MergeAll])
    assert [layer.nodes for layer in result.layers] == [["A", "B", "C"]]


def test_a_refused_merge_changes_nothing():
    graph = _chain()
    state = LayerState(graph)
    a, b, c = (state.layer_of[n] for n in "ABC")
    with pytest.raises(CyclicMerge):
        state.merge([a, c], "PointWise", None, _MergeEnds())
    assert state.layer_of["A"] is a and state.layer_of["C"] is c
    assert (a.rank, b.rank, c.rank) == (0, 1, 2)


def _ranks_are_topological(state: LayerState) -> list[tuple[str, str]]:
    """Edges of the live layer graph whose ranks are not increasing (empty when valid)."""
    live = state.live_layers()
    assert len({layer.rank for layer in live}) == len(live), "two layers share a rank"
    return [(u.nodes[0], v.nodes[0]) for u in live for v in state._succ(u) if not u.rank < v.rank]


def test_ranks_move_ancestors_below_and_descendants_above_the_merged_layer():
    # file order: A, P, F, C with A -> C, P -> C, A -> F, F -> out, C -> out.
    # Merging A (rank 0) and C (rank 3) moves P (an ancestor of C) below the merged
    # layer and F (a descendant of A) above it.
    g = GraphBuilder()
    x = g.input("x", [1, 8])
    a = g.node("Relu", [x], name="A")
    p = g.node("Sigmoid", [x], name="P")
    f = g.node("Neg", [a], name="F")
    c = g.node("Add", [a, p], name="C")
    out = g.node("Mul", [c, f], name="out")
    graph = load_graph(g.model(outputs=[out]))
    state = LayerState(graph)
    merged = state.merge([state.layer_of["A"], state.layer_of["C"]], "PointWise", None, _ReluAdd())
    assert state.layer_of["P"].rank < merged.rank < state.layer_of["F"].rank < state.layer_of["out"].rank
    assert _ranks_are_topological(state) == []
    # a second merge through the reordered ranks: {A, C} with out around F is a cycle
    with pytest.raises(CyclicMerge) as info:
        state.merge([merged, state.layer_of["out"]], "PointWise", None, _ReluAdd())
    assert info.value.path == ["A", "F", "out"]


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "bert_tiny", "resnet18_qdq"])
@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
def test_ranks_stay_topological_through_every_merge_of_a_real_model(monkeypatch, name, target):
    states: list[LayerState] = []

    class Recording(LayerState):
        def __init__(self, graph):
            super().__init__(graph)
            states.append(self)

    monkeypatch.setattr(engine, "LayerState", Recording)
    result = engine.run(load_graph(ROOT / "models" / f"{name}.onnx"), target=target)
    assert any(len(layer.nodes) > 1 for layer in result.layers)
    assert _ranks_are_topological(states[0]) == []


def test_closes_cycle_answers_what_merge_would_refuse():
    """``LayerState.closes_cycle``: the check rules that join separately found groups make
    before they propose a merge (TRT310's cheap groups, TRT410's epilogues)."""
    state = LayerState(_chain())
    a, b, c = (state.layer_of[n] for n in ("A", "B", "C"))
    assert state.closes_cycle([a, c])
    assert not state.closes_cycle([a, b]) and not state.closes_cycle([b, c])
    assert not state.closes_cycle([a, b, c])
