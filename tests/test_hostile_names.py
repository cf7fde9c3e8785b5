"""Hostile names (issue 10): node and tensor names are data, never terminal codes or markup.

Every case names the Conv, the Relu and the model's second output of a real Conv-Relu
model with a string an attacker controls. The text reports of analyze, rewrite and
verify --layer-info must show it escaped (no raw control or bidi character, no forged
``fusionlab: error:`` line, no rich markup interpreted or crashing), exit 0, and the JSON
reports must carry the exact names.
"""

from __future__ import annotations

import json
import re

import onnx
import pytest

from fusionlab.testing import GraphBuilder

HOSTILE = {
    "csi": "conv\x1b[31mred\x1b[0m",
    "osc": "conv\x1b]8;;https://example.invalid/\x07link\x1b]8;;\x07",
    "osc-title": "conv\x1b]0;pwned\x1b\\",
    "forged-line": "conv\n fusionlab: error: forged",
    "carriage-return": "conv\rfusionlab: error: forged",
    "rlo": "conv\u202egpj.exe",
    "nul": "conv\x00tail",
    "c1-csi": "conv\x9b31mred",
    "rich-link": "[link=https://example.invalid/]click[/link]",
    "rich-close": "conv[/bold]",
    "rich-close-all": "conv[/]",
}

#: C0 controls except LF, DEL, C1 controls, bidi controls and line separators.
RAW_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def hostile_model(name: str) -> onnx.ModelProto:
    """``x -> conv -> relu`` with the Conv's output also a graph output (so TRT101 is a
    missed fusion, named in every report), all three names built from ``name``."""
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name=name)
    r = g.node("Relu", [y], name=name + "_relu")
    model = g.model([r, y])
    for node in model.graph.node:  # the conv's output tensor gets the hostile name too
        node.output[:] = [name + "_out" if o == y else o for o in node.output]
        node.input[:] = [name + "_out" if i == y else i for i in node.input]
    for out in model.graph.output:
        if out.name == y:
            out.name = name + "_out"
    return model


def assert_safe(text: str) -> None:
    bad = RAW_UNSAFE.findall(text)
    assert not bad, f"raw control characters reached the output: {bad!r}"
    for line in text.splitlines():
        assert not line.lstrip().startswith("fusionlab: error:"), line
    assert "Traceback" not in text


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_analyze_text_escapes_and_json_is_exact(cli, save_model, case):
    name = HOSTILE[case]
    path = save_model(hostile_model(name))
    code, out, err = cli("analyze", path)
    assert code == 0, err
    assert_safe(out + err)
    assert "TRT101" in out  # the missed fusion's row (with the escaped names) is printed
    code, out, err = cli("analyze", path, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    names = {n for layer in data["layers"] for n in layer["nodes"]}
    assert {name, name + "_relu"} <= names
    missed = [d for d in data["diagnostics"] if d["status"] == "missed"]
    assert any(name in d["nodes"] for d in missed)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_rewrite_text_escapes_and_json_is_exact(cli, save_model, tmp_path, case):
    name = HOSTILE[case]
    path = save_model(hostile_model(name))
    out_model = tmp_path / "out.onnx"
    code, out, err = cli("rewrite", path, "-o", out_model)
    assert code == 0, err
    assert_safe(out + err)
    assert not out_model.exists()  # no pass applies: nothing to rewrite, nothing written
    assert f"fusionlab: nothing to rewrite: {path} unchanged; {out_model} not written" in err.splitlines()
    code, out, err = cli("rewrite", path, "--dry-run", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [d["nodes"] for d in data["missed_after"]] == [[name, name + "_relu"]]
    assert [o["name"] for o in data["equivalence"]["outputs"]] == [name + "_relu_out", name + "_out"]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_verify_layer_info_text_escapes_and_json_is_exact(cli, save_model, tmp_path, case):
    name = HOSTILE[case]
    path = save_model(hostile_model(name))
    info = tmp_path / "layers.json"
    info.write_text(json.dumps({"Layers": [
        {"Name": name, "LayerType": "CaskConvolution", "Metadata": f"[ONNX Layer: {name}]"},
        {"Name": name + "_relu", "LayerType": "PointWiseV2", "Metadata": f"[ONNX Layer: {name}_relu]"},
    ]}))
    code, out, err = cli("verify", path, "--layer-info", info)
    assert code == 0, err
    assert_safe(out + err)
    assert "fused-edge score" in out
    code, out, err = cli("verify", path, "--layer-info", info, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [layer["nodes"] for layer in data["layers"]] == [[name], [name + "_relu"]]
    assert [(o["name"], o["nodes"]) for o in data["observed_layers"]] == \
        [(name, [name]), (name + "_relu", [name + "_relu"])]


def test_error_line_escapes_a_hostile_path(cli, tmp_path):
    """A file name is data too: the error line stays one line without raw escapes."""
    hostile = tmp_path / "m\x1b[31m\nfusionlab: error: forged.onnx"
    code, out, err = cli("analyze", hostile)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("fusionlab: error: ")
    assert_safe(err.removeprefix("fusionlab: error: "))
