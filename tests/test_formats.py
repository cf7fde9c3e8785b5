"""Output formats (issue 9): concise lines keep node names whole when piped, SARIF 2.1.0
validates against the OASIS schema, GitHub workflow commands parse and are escaped,
findings carry a severity and one finding stands for one node group."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fusionlab.formats.github import escape_data, escape_property
from fusionlab.report import Finding, summary_line

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
ERF = "/encoder/layer.0/intermediate/intermediate_act_fn/Erf"
GITHUB = re.compile(r"^::(warning|error|notice) ((?:[a-z]+=[^,:]*,)*[a-z]+=[^,:]*)::(.*)$")


def run(*args: str) -> subprocess.CompletedProcess:
    """The console entry point in a subprocess: stdout is a pipe, not a terminal."""
    return subprocess.run([sys.executable, "-m", "fusionlab.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def bert_json():
    done = run("analyze", "models/bert_tiny.onnx", "--output-format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_concise_is_the_piped_default_and_keeps_every_node_name_whole(bert_json):
    done = run("analyze", "models/bert_tiny.onnx")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    findings = bert_json["findings"]
    assert len(lines) == len(findings) + 1          # one line per finding, then the summary
    for line, f in zip(lines, findings):
        assert line.startswith(f"models/bert_tiny.onnx:{f['nodes'][0]}: {','.join(f['codes'])} "
                               f"[{','.join(f['rules'])}] ")
        listed = line.rsplit("(nodes: ", 1)[1].rstrip(")").split(", ")
        assert listed == f["nodes"]
    # the grep: every finding that holds the Erf node names it on its one line
    with_erf = [f for f in findings if ERF in f["nodes"]]
    assert sum(ERF in line for line in lines) == len(with_erf) >= 1
    assert lines[-1] == summary_line([Finding(tuple(f["codes"]), tuple(f["rules"]), f["status"],
                                              f["severity"], tuple(f["nodes"]), tuple(f["checks"]),
                                              tuple(f["reasons"]), f["cost"], f["layer"])
                                      for f in findings])


def test_one_finding_per_node_group_lists_every_rule(bert_json):
    diag = [d for d in bert_json["diagnostics"] if d["status"] in ("missed", "lint")]
    groups = {tuple(d["nodes"]) for d in diag}
    assert len(bert_json["findings"]) == len(groups) < len(diag)
    mlp = [f for f in bert_json["findings"] if ERF in f["nodes"]]
    assert len(mlp) == 1 and mlp[0]["codes"] == ["TRT108", "TRT302"]
    assert mlp[0]["rules"] == ["fc-gelu", "mlp"] and len(mlp[0]["reasons"]) == 2
    assert all(d["severity"] in ("error", "warning", "info") for d in diag)
    assert all(d["severity"] is None for d in bert_json["diagnostics"] if d["status"] == "predicted")


def test_severity_error_info_and_fail_on(cli, models_dir):
    code, out, _ = cli("analyze", models_dir / "resnet18_qdq.onnx", "--format", "json")
    data = json.loads(out)
    by_code = {c: f["severity"] for f in data["findings"] for c in f["codes"]}
    assert by_code["TRT402"] == "error"             # INT32 bias DequantizeLinear: parser rejects
    assert by_code["TRT403"] == "warning"
    rtx = models_dir / "resnet18.onnx"
    code, out, _ = cli("analyze", rtx, "--target", "tensorrt-rtx", "--format", "json")
    missed = [f for f in json.loads(out)["findings"] if f["status"] == "missed"]
    assert [(f["codes"], f["severity"]) for f in missed] == [(["TRT111"], "info")]
    assert cli("analyze", rtx, "--target", "tensorrt-rtx", "--fail-on", "missed")[0] == 0
    assert cli("analyze", rtx, "--target", "tensorrt-rtx", "--fail-on", "info")[0] == 1
    assert cli("analyze", rtx, "--fail-on", "missed")[0] == 1  # classic: a fixable missed fusion
    assert cli("analyze", models_dir / "resnet18_qdq.onnx", "--fail-on", "error")[0] == 1
    assert cli("analyze", rtx, "--fail-on", "error")[0] == 0


def test_sarif_validates_against_the_sarif_2_1_0_schema(cli, models_dir, repo_root):
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    path = models_dir / "resnet18_qdq.onnx"
    code, out, err = cli("analyze", path, "--output-format", "sarif")
    assert code == 0, err
    log = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(log)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and "TRT402" in ids
    code, js, _ = cli("analyze", path, "--format", "json")
    findings = json.loads(js)["findings"]
    assert len(run_["results"]) == sum(len(f["codes"]) for f in findings)
    levels = {r["ruleId"]: r["level"] for r in run_["results"]}
    assert levels["TRT402"] == "error" and levels["TRT403"] == "warning"
    for r in run_["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        loc = r["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == path.as_posix()
        assert loc["logicalLocations"] and all(lg["name"] for lg in loc["logicalLocations"])
    # every helpUri is a file of the repository, and its anchor a heading there
    from tests.test_docs import github_anchors

    for r in rules:
        file, _, anchor = r["helpUri"].partition("#")
        text = (repo_root / file).read_text()
        assert not anchor or anchor in github_anchors(text), r["helpUri"]


def test_sarif_note_level_for_info(cli, models_dir):
    code, out, _ = cli("analyze", models_dir / "resnet18.onnx", "--target", "tensorrt-rtx",
                       "--output-format", "sarif")
    levels = {r["ruleId"]: r["level"] for r in json.loads(out)["runs"][0]["results"]}
    assert levels["TRT111"] == "note"


def test_github_lines_parse_and_name_file_and_title(cli, models_dir):
    path = models_dir / "resnet18_qdq.onnx"
    code, out, _ = cli("analyze", path, "--output-format", "github")
    lines = out.splitlines()
    code, js, _ = cli("analyze", path, "--format", "json")
    findings = json.loads(js)["findings"]
    assert len(lines) == len(findings)
    for line, f in zip(lines, findings):
        m = GITHUB.match(line)
        assert m, line
        kind = {"error": "error", "warning": "warning", "info": "notice"}[f["severity"]]
        assert m.group(1) == kind
        props = dict(p.split("=", 1) for p in m.group(2).split(","))
        assert props["file"] == escape_property(str(path))
        assert props["title"] == escape_property(f"{','.join(f['codes'])} {','.join(f['rules'])}")
        assert f["nodes"][0] in m.group(3)


def test_github_escaping():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_summary_plurals():
    def f(status):
        return Finding(("TRT101",), ("conv-relu",), status, "warning", ("a",), (None,), ("r",), 1, None)

    assert summary_line([]) == "No findings."
    assert summary_line([f("missed")]) == "Found 1 missed fusion."
    assert summary_line([f("lint")]) == "Found 1 lint."
    assert summary_line([f("missed")] * 3 + [f("lint")]) == "Found 3 missed fusions and 1 lint."
    assert summary_line([f("missed")] + [f("lint")] * 2) == "Found 1 missed fusion and 2 lints."


def test_full_report_ends_with_the_summary_and_text_is_its_old_name(cli, models_dir):
    full = cli("analyze", models_dir / "bert_tiny.onnx", "--output-format", "full")
    text = cli("analyze", models_dir / "bert_tiny.onnx", "--format", "text")
    assert full[0] == text[0] == 0
    assert full[1].rstrip().splitlines()[-1] == "Found 3 missed fusions and 1 lint."
    assert "3 missed fusions, 1 lint" in full[1]
    assert text[1] == full[1]


def test_a_newline_in_a_node_name_cannot_start_a_line(cli, save_model):
    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()
    x = g.input("x", [1, 3, 8, 8])
    y = g.conv(x, 3, name="conv\n::error file=x::forged")
    path = save_model(g.model([g.node("Relu", [y], name="relu1")]))
    for fmt in ("concise", "github"):
        code, out, err = cli("analyze", path, "--output-format", fmt)
        assert code == 0, err
        assert not any(line.startswith("::error") for line in out.splitlines())
        assert all("forged" not in line or "conv" in line for line in out.splitlines())


def test_rewrite_reports_the_findings_left_in_analyze_formats(cli, models_dir, tmp_path):
    import jsonschema

    src = models_dir / "resnet18_qdq_floatbias.onnx"
    out_model = tmp_path / "out.onnx"
    code, out, err = cli("rewrite", src, "-o", out_model, "--output-format", "sarif")
    assert code == 0, err
    log = json.loads(out)
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    left = json.loads(cli("analyze", out_model, "--format", "json")[1])["findings"]
    assert len(log["runs"][0]["results"]) == sum(len(f["codes"]) for f in left)
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]} <= {out_model.as_posix()}
    code, out, _ = cli("rewrite", src, "--dry-run", "--output-format", "concise")
    assert code == 0 and out.splitlines()[-1].startswith(("Found", "No findings"))
