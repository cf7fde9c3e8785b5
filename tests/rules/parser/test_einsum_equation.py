"""TRT607 einsum-equation: upper-case Einsum labels are a parser rejection; lower case builds."""

import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def einsum(equation):
    g = GraphBuilder()
    a, b = g.input("a", [2, 4, 8]), g.input("b", [2, 8, 4])
    return g.model([g.node("Einsum", [a, b], name="ein", equation=equation)])


@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
def test_upper_case_labels_are_a_parser_rejection(target):
    report = analyze(einsum("BIJ,BJK->BIK"), target=target)
    (lint,) = diagnostics(report, "TRT607")
    assert lint.check == "lowercase-labels" and lint.nodes == ("ein",)
    assert "'B', 'I', 'J', 'K'" in lint.reason and "'bij,bjk->bik'" in lint.reason
    assert report.to_json()["parser_rejects"][0]["code"] == "TRT607"


def test_lower_case_labels_are_accepted():
    assert not diagnostics(analyze(einsum("bij, bjk -> bik")), "TRT607")


@pytest.mark.needs_rtx
def test_live_parser_rejects_upper_case_and_builds_lower_case(live_parser):
    message = live_parser.rejects(einsum("BIJ,BJK->BIK"), "einsum_upper.onnx")
    assert "Invalid character(s) in Einsum equation: B,I,J,B,J,K,B,I,K" in message
    assert live_parser.builds(einsum("bij,bjk->bik"), "einsum_lower.onnx")
