"""TRT605 op-not-imported: a com.microsoft op that is no ONNX op (FastGelu) has no
importer in the parser (live: "Plugin not found"); com.microsoft Gelu is imported as
ONNX Gelu and builds."""

import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def ms_model(op_type):
    g = GraphBuilder()
    y = g.node(op_type, [g.input("x", [1, 8, 16, 16])], name="act", domain="com.microsoft")
    return g.model([y], domains={"com.microsoft": 1}, check=False)


def test_fastgelu_has_no_importer():
    report = analyze(ms_model("FastGelu"), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT605", "lint")
    assert lint.check == "has-importer" and lint.nodes == ("act",)
    assert "FastGelu of domain com.microsoft" in lint.reason and "plugin" in lint.reason
    assert report.parser_rejects == [lint]
    assert any("has no importer" in n for n in report.notes)


def test_gelu_of_another_domain_is_imported_as_onnx_gelu():
    report = analyze(ms_model("Gelu"), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT605")
    assert any("imports it as the ONNX op Gelu" in n for n in report.notes)


@pytest.mark.needs_rtx
def test_live_parser_rejects_fastgelu_and_builds_gelu(live_parser):
    message = live_parser.rejects(ms_model("FastGelu"), "ms_fastgelu.onnx")
    assert "Plugin not found" in message and "TRT605" in message
    assert live_parser.builds(ms_model("Gelu"), "ms_gelu.onnx")
