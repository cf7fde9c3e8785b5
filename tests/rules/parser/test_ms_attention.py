"""TRT603 ms-attention: ONNX Runtime's com.microsoft Attention is imported by the parser
as ONNX Attention and rejected (live build); an Attention of the ONNX domain is not."""

import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def attention_model(domain="com.microsoft"):
    g = GraphBuilder()
    x = g.input("x", [1, 4, 16])
    if domain == "com.microsoft":
        y = g.node("Attention", [x, g.weight([16, 48]), g.weight([48])], name="attn",
                   domain="com.microsoft", num_heads=2)
        return g.model([y], domains={"com.microsoft": 1}, check=False)
    g.opset = 23
    y = g.node("Attention", [x, x, x], name="attn")
    return g.model([y], check=False)


def test_com_microsoft_attention_is_a_parser_rejection():
    report = analyze(attention_model(), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT603", "lint")
    assert lint.check == "onnx-domain" and lint.nodes == ("attn",)
    assert "imports it as ONNX Attention" in lint.reason
    assert report.to_json()["parser_rejects"][0]["code"] == "TRT603"


def test_onnx_attention_is_not_reported():
    report = analyze(attention_model(domain=""), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT603")
    # the FP32 ONNX Attention is TRT606's (no FP32 kernel), not a parser import error
    assert [r["code"] for r in report.to_json()["parser_rejects"]] == ["TRT606"]


@pytest.mark.needs_rtx
def test_live_parser_rejects_com_microsoft_attention(live_parser):
    message = live_parser.rejects(attention_model(), "ms_attention.onnx")
    assert "Q, K, and V inputs must have the same number of dimensions" in message
    assert "analyze predicted this parser rejection: TRT603" in message


def test_analyze_text_and_json_say_the_parser_will_reject_the_model(cli, tmp_path):
    import json

    import onnx

    path = tmp_path / "ms_attention.onnx"
    onnx.save(attention_model(), path)
    code, out, err = cli("analyze", path, "--target", "tensorrt-rtx", "--output-format", "full")
    assert code == 0, err
    assert "error: the parser will reject this model (1 parser rejection)" in " ".join(out.split())
    code, out, _ = cli("analyze", path, "--target", "tensorrt-rtx", "--format", "json")
    (reject,) = json.loads(out)["parser_rejects"]
    assert (reject["code"], reject["nodes"]) == ("TRT603", ["attn"])
    code, out, _ = cli("analyze", tmp_path / "ms_attention.onnx", "--target", "tensorrt-rtx", "--fail-on", "lint")
    assert code == 1
