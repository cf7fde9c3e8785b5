"""Equivalence checks of rewrites (fusionlab.equivalence) on real ONNX Runtime runs."""

import numpy as np

import fusionlab
from fusionlab import equivalence
from fusionlab.testing import GraphBuilder


def _nan_model(identity: bool):
    """x + [NaN, 1, 2, 3]: the original output already holds a NaN in column 0."""
    g = GraphBuilder()
    x = g.input("x", [2, 4])
    nan = g.const(np.array([np.nan, 1, 2, 3], dtype=np.float32))
    if identity:
        y = g.node("Identity", [g.node("Add", [x, nan], name="add")], name="ident", outputs=["y"])
    else:
        y = g.node("Add", [x, nan], name="add", outputs=["y"])
    return g.model([y])


def test_nan_in_the_same_place_in_both_outputs_is_equal():
    ref = equivalence.reference(_nan_model(identity=True))
    result = ref.compare(_nan_model(identity=False))
    assert result.passed and result.max_abs == 0.0


def test_nan_where_the_original_has_a_number_is_a_difference():
    g = GraphBuilder()
    x = g.input("x", [2, 4])
    y = g.node("Add", [x, g.const(np.array([0, 1, 2, 3], dtype=np.float32))], name="add", outputs=["y"])
    ref = equivalence.reference(g.model([y]))
    result = ref.compare(_nan_model(identity=False))
    assert not result.passed and result.first_failure().max_abs == float("inf")


def test_rewrite_of_a_model_whose_output_holds_nan_succeeds():
    model, report = fusionlab.rewrite(_nan_model(identity=True))
    assert [n.op_type for n in model.graph.node] == ["Add"]
    assert report.equivalence.passed
