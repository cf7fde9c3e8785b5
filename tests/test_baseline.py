"""--baseline / --write-baseline (issue 9): accepted findings are dropped, new ones stay."""

from __future__ import annotations

import json




def test_write_then_apply_reports_only_new_findings(cli, models_dir, tmp_path):
    bert = models_dir / "bert_tiny.onnx"
    base = tmp_path / "baseline.json"
    code, out, err = cli("analyze", bert, "--baseline", base, "--write-baseline")
    assert code == 0 and out == "" and "baseline" in err
    data = json.loads(base.read_text())
    (entry,) = data["models"]
    assert entry["model"] == str(bert)
    full = json.loads(cli("analyze", bert, "--format", "json")[1])
    assert len(entry["entries"]) == sum(d["status"] in ("missed", "lint") for d in full["diagnostics"])
    code, out, _ = cli("analyze", bert, "--baseline", base, "--format", "json", "--fail-on", "info")
    assert code == 0 and json.loads(out)["findings"] == []
    # a baseline without the pooler's entries: exactly those come back
    entry["entries"] = [e for e in entry["entries"] if not e["nodes"][0].startswith("/pooler/")]
    base.write_text(json.dumps(data))
    code, out, _ = cli("analyze", bert, "--baseline", base, "--format", "json", "--fail-on", "warning")
    back = json.loads(out)["findings"]
    assert code == 1 and back and all(f["nodes"][0].startswith("/pooler/") for f in back)


def test_bad_baseline_is_exit_2(cli, models_dir, tmp_path):
    bert = models_dir / "bert_tiny.onnx"
    code, _, err = cli("analyze", bert, "--baseline", tmp_path / "none.json")
    assert code == 2 and "baseline file does not exist" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"entries": 3}')
    code, _, err = cli("analyze", bert, "--baseline", bad)
    assert code == 2 and "not a fusionlab baseline" in err
    code, _, err = cli("analyze", bert, "--write-baseline")
    assert code == 2 and "--write-baseline needs --baseline FILE" in err
    code, _, err = cli("analyze", bert, "--baseline", tmp_path / "no" / "b.json", "--write-baseline")
    assert code == 2 and not (tmp_path / "no").exists()


def test_a_flat_one_model_baseline_is_still_read(cli, models_dir, tmp_path):
    """The first form of the file ({"model", "entries"}) applies to its one model."""
    bert = models_dir / "bert_tiny.onnx"
    base = tmp_path / "baseline.json"
    assert cli("analyze", bert, "--baseline", base, "--write-baseline")[0] == 0
    (entry,) = json.loads(base.read_text())["models"]
    base.write_text(json.dumps({"fusionlab-baseline": 1, "model": "elsewhere/bert_tiny.onnx",
                                "entries": entry["entries"]}))
    code, out, _ = cli("analyze", bert, "--baseline", base, "--format", "json", "--fail-on", "info")
    assert code == 0 and json.loads(out)["findings"] == []
