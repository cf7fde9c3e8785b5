"""``fusionlab analyze`` of several files and folders in one process (issue 9, item 7):
one report per model, the summary table, the worst exit code, the combined JSON / SARIF
and ``-o`` outputs, and a bad model among good ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fusionlab import Report, analyze
from fusionlab.batch import model_paths

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
RESNET, BERT = MODELS / "resnet18.onnx", MODELS / "bert_tiny.onnx"


@pytest.fixture(scope="module")
def expected():
    """Each shipped model's report, analyzed alone."""
    return {p.name: analyze(p).to_json() for p in (RESNET, BERT)}


def _table(out: str) -> dict[str, list[str]]:
    """The summary table's rows by their first cell (a model path or ``total ...``)."""
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:5] == ["model", "layers", "errors", "warnings", "infos"])
    rows = {}
    for line in lines[start + 1:]:
        cells = line.split()
        if line.startswith("total"):
            rows["total"] = cells[-4:]
        else:
            rows[cells[0]] = cells[1:]
    return rows


def test_folders_are_searched_for_onnx_files_sorted_and_each_file_once(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.onnx", "a.onnx", "sub/c.onnx"):
        shutil.copy(RESNET, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a model")
    found = model_paths([tmp_path / "b.onnx", tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p, _ in found] == ["b.onnx", "a.onnx", "sub/c.onnx"]
    assert all(err is None for _, err in found)
    (tmp_path / "empty").mkdir()
    ((path, err),) = model_paths([tmp_path / "empty"])
    assert path == tmp_path / "empty" and "folder holds no .onnx file" in err.message


def test_concise_reports_each_model_then_the_summary_table(cli, expected):
    code, out, err = cli("analyze", RESNET, BERT, "--output-format", "concise")
    assert code == 0 and err == ""
    for path in (RESNET, BERT):
        findings = expected[path.name]["findings"]
        assert sum(line.startswith(f"{path}:") for line in out.splitlines()) == len(findings) > 0
    table = _table(out)
    for path in (RESNET, BERT):
        rep = expected[path.name]
        sev = [f["severity"] for f in rep["findings"]]
        assert table[str(path)] == [str(len(rep["layers"])), str(sev.count("error")),
                                    str(sev.count("warning")), str(sev.count("info"))]
    assert int(table["total"][0]) == sum(len(r["layers"]) for r in expected.values())


def test_full_output_ends_with_the_summary_table(cli, expected):
    code, out, _ = cli("analyze", RESNET, BERT, "--output-format", "full")
    assert code == 0
    assert out.count("Predicted engine layers") == 2
    assert _table(out)[str(BERT)][0] == str(len(expected["bert_tiny.onnx"]["layers"]))


def test_json_of_several_models_is_a_list_of_reports(cli, expected):
    code, out, _ = cli("analyze", RESNET, MODELS, "--output-format", "json")
    assert code == 0
    data = json.loads(out)
    shipped = sorted(MODELS.glob("*.onnx"))
    # resnet18 first (named first), then the folder's other models sorted, resnet18 not twice
    assert [d["model"] for d in data] == ["resnet18.onnx"] + [p.name for p in shipped if p != RESNET]
    by_name = {d["model"]: d for d in data}
    assert by_name["resnet18.onnx"] == expected["resnet18.onnx"]
    assert by_name["bert_tiny.onnx"] == expected["bert_tiny.onnx"]
    assert [Report.from_json(d).to_json() for d in data] == data


def test_sarif_of_several_models_is_one_run_holding_every_model(cli, expected):
    import jsonschema

    code, out, _ = cli("analyze", RESNET, BERT, "--output-format", "sarif")
    assert code == 0
    log = json.loads(out)
    (run,) = log["runs"]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    assert len(uris) == 2 and uris[0].endswith("resnet18.onnx") and uris[1].endswith("bert_tiny.onnx")
    for uri, path in zip(uris, (RESNET, BERT)):
        results = [r for r in run["results"]
                   if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri]
        assert len(results) == sum(len(f["codes"]) for f in expected[path.name]["findings"]) > 0
    assert [m["target"] for m in run["properties"]["models"]] == ["tensorrt", "tensorrt"]
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)


def test_a_bad_model_among_several_is_one_error_line_and_exit_2(cli, tmp_path, expected):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00 this is not protobuf")
    code, out, err = cli("analyze", RESNET, bad, BERT, "--output-format", "json")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fusionlab: error: {bad}: not a valid ONNX model")
    assert [d["model"] for d in json.loads(out)] == ["resnet18.onnx", "bert_tiny.onnx"]
    code, out, err = cli("analyze", RESNET, bad, "--output-format", "concise")
    assert code == 2 and _table(out)[str(bad)][0] == "failed"
    assert _table(out)[str(RESNET)][0] == str(len(expected["resnet18.onnx"]["layers"]))


def test_exit_code_is_the_worst_over_models(cli):
    # resnet18's stem conv gives a warning (TRT501); --select TRT60 keeps only parser
    # rejections, of which neither model has any
    assert cli("analyze", RESNET, BERT, "--fail-on", "warning", "--output-format", "concise")[0] == 1
    assert cli("analyze", RESNET, BERT, "--fail-on", "warning", "--select", "TRT60",
               "--output-format", "concise")[0] == 0
    qdq = MODELS / "resnet18_qdq.onnx"  # INT32 biases: severity error
    assert cli("analyze", RESNET, qdq, "--fail-on", "error", "--output-format", "concise")[0] == 1
    assert cli("analyze", RESNET, BERT, "--fail-on", "error", "--output-format", "concise")[0] == 0


def test_output_file_holds_every_model(cli, tmp_path, expected):
    out_file = tmp_path / "all.json"
    code, out, _ = cli("analyze", RESNET, BERT, "--output-format", "json", "-o", out_file)
    assert code == 0 and out == ""
    assert json.loads(out_file.read_text()) == [expected["resnet18.onnx"], expected["bert_tiny.onnx"]]
    text_file = tmp_path / "all.txt"
    assert cli("analyze", RESNET, BERT, "-o", text_file)[0] == 0  # full at 140 columns
    text = text_file.read_text()
    assert text.count("Predicted engine layers") == 2 and str(BERT) in _table(text)


def test_output_file_may_not_overwrite_any_model(cli):
    code, _, err = cli("analyze", RESNET, BERT, "-o", BERT)
    assert code == 2 and err.startswith("fusionlab: error:")


def test_a_baseline_of_several_models_accepts_each_models_findings(cli, tmp_path):
    """--write-baseline over two models writes one file with each model's entries; with
    --baseline every model's accepted findings go, and a finding the file lacks for one
    model comes back for that model only (keys are per model: the same code on the same
    node names in the other model stays accepted there)."""
    base = tmp_path / "b.json"
    code, out, err = cli("analyze", RESNET, BERT, "--baseline", base, "--write-baseline")
    assert code == 0 and out == "" and "of 2 models" in err
    data = json.loads(base.read_text())
    assert [m["model"] for m in data["models"]] == [str(RESNET), str(BERT)]
    code, out, _ = cli("analyze", RESNET, BERT, "--baseline", base, "--format", "json", "--fail-on", "info")
    assert code == 0 and [r["findings"] for r in json.loads(out)] == [[], []]
    dropped = data["models"][1]["entries"].pop(0)
    base.write_text(json.dumps(data))
    code, out, _ = cli("analyze", RESNET, BERT, "--baseline", base, "--format", "json", "--fail-on", "info")
    resnet, bert = json.loads(out)
    assert code == 1 and resnet["findings"] == []
    assert [(f["codes"], f["nodes"]) for f in bert["findings"]] == [([dropped["code"]], dropped["nodes"])]


def test_a_one_model_baseline_accepts_nothing_of_another_model(cli, tmp_path):
    """A baseline written for ResNet-18 alone drops ResNet-18's findings in a run of two
    models, and none of the other's, although the other is a copy of it (same node names,
    so the same keys): the file does not name that model."""
    import shutil

    base = tmp_path / "b.json"
    copy = tmp_path / "copy_of_resnet.onnx"
    shutil.copy(RESNET, copy)
    assert cli("analyze", RESNET, "--baseline", base, "--write-baseline")[0] == 0
    code, out, _ = cli("analyze", RESNET, copy, "--baseline", base, "--format", "json")
    resnet, other = json.loads(out)
    alone = json.loads(cli("analyze", copy, "--format", "json")[1])
    assert code == 0 and resnet["findings"] == [] and other["findings"] == alone["findings"] != []


def test_a_baseline_is_not_written_when_a_model_fails(cli, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    code, _, err = cli("analyze", RESNET, bad, "--baseline", tmp_path / "b.json", "--write-baseline")
    assert code == 2 and err.splitlines()[-1].startswith("fusionlab: error: --write-baseline: 1 of 2 models")
    assert not (tmp_path / "b.json").exists()


def test_one_empty_folder_is_an_error(cli, tmp_path):
    code, out, err = cli("analyze", tmp_path)
    assert code == 2 and out == "" and err == f"fusionlab: error: {tmp_path}: folder holds no .onnx file\n"


def test_one_model_output_is_unchanged(cli, expected):
    code, out, _ = cli("analyze", RESNET, "--output-format", "json")
    assert code == 0 and json.loads(out) == expected["resnet18.onnx"]
