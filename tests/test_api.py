"""The Python API for pipelines (issue 9, item 8): ``fusionlab.analyze`` on every kind of
in-memory model, ``Report.from_json``, and every exception importable from ``fusionlab``."""

from __future__ import annotations

import ast
import shutil
import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

import fusionlab
from fusionlab import InputError, Report, analyze

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.onnx"))
HEAVY = ("onnx", "numpy", "networkx", "onnx_graphsurgeon", "onnxruntime")


@pytest.fixture(scope="module")
def resnet18():
    path = ROOT / "models" / "resnet18.onnx"
    report = analyze(path)
    assert report.model == "resnet18.onnx"
    return path, report.to_json()


class ONNXProgramLike:
    """What fusionlab reads of a ``torch.onnx.ONNXProgram``: its ``model_proto``.

    A stand-in, not torch: the ``test`` extra has no torch because ``pip install torch``
    from PyPI resolves to the CUDA build and about 3 GB of ``nvidia-*`` wheels (the
    192 MB CPU wheel comes only from PyTorch's own index). Checked by hand with torch
    2.13.0+cpu: ``torch.onnx.export(conv_relu, (x,), dynamo=True)`` returns a
    ``torch.onnx.ONNXProgram`` whose report names one layer, ``node_conv2d + node_relu``.
    """

    def __init__(self, proto):
        self.model_proto = proto


@pytest.mark.parametrize("kind", ["ModelProto", "bytes", "bytearray", "memoryview", "ONNXProgram"])
def test_every_in_memory_kind_gives_the_report_of_the_path(resnet18, kind):
    path, expected = resnet18
    proto = onnx.load(str(path))
    model = {"ModelProto": lambda: proto, "bytes": proto.SerializeToString,
             "bytearray": lambda: bytearray(proto.SerializeToString()),
             "memoryview": lambda: memoryview(proto.SerializeToString()),
             "ONNXProgram": lambda: ONNXProgramLike(proto)}[kind]()
    report = analyze(model, name="resnet18.onnx")
    assert report.to_json() == expected
    assert expected["layers"] and expected["diagnostics"]


def test_an_in_memory_model_is_named_after_its_graph(resnet18):
    path, expected = resnet18
    proto = onnx.load(str(path))
    report = analyze(proto.SerializeToString())
    assert report.model == (proto.graph.name or "model") != "resnet18.onnx"
    assert {**report.to_json(), "model": expected["model"]} == expected


def test_bytes_that_are_no_model_are_one_input_error():
    with pytest.raises(InputError, match="bytes are not a serialized ONNX model"):
        analyze(b"\xff\xfe not protobuf \x00\x01")


def test_an_object_that_is_no_model_is_an_input_error():
    with pytest.raises(InputError, match="model must be a path, bytes, an onnx.ModelProto.*got int"):
        analyze(42)
    with pytest.raises(InputError, match="got ONNXProgramLike"):
        analyze(ONNXProgramLike("not a ModelProto"))


def test_external_data_not_loaded_in_memory_is_refused(tmp_path, conv_relu_model):
    path = tmp_path / "m.onnx"
    onnx.save_model(conv_relu_model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.bin", size_threshold=0)
    unloaded = onnx.load(str(path), load_external_data=False)
    for model in (unloaded, unloaded.SerializeToString(), ONNXProgramLike(unloaded)):
        with pytest.raises(InputError, match="keeps its data in the external file 'm.bin'.*pass the model's path"):
            analyze(model)
    # loaded (onnx.load's default), the same model analyzes as its path does
    loaded = analyze(onnx.load(str(path)), name="m.onnx").to_json()
    assert loaded == analyze(path).to_json()
    assert [la["name"] for la in loaded["layers"]] == ["conv1 + relu1"]


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_report_from_json_round_trips_the_cli_json(cli, model):
    code, out, err = cli("analyze", model, "--output-format", "json")
    assert code == 0, err
    data = json.loads(out)
    report = Report.from_json(out)
    assert report.to_json() == data
    assert Report.from_json(data).to_json() == data
    assert len(report.layers) == data["summary"]["layers"] > 0
    assert [f.to_json() for f in report.findings] == data["findings"]


def test_report_from_json_keeps_parser_rejections():
    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()
    y = g.node("FastGelu", [g.input("x", [1, 8, 16, 16])], name="act", domain="com.microsoft")
    report = analyze(g.model([y], domains={"com.microsoft": 1}, check=False), target="tensorrt-rtx")
    assert [d.code for d in report.parser_rejects] == ["TRT605"]
    again = Report.from_json(report.dumps())
    assert again.parser_rejects == report.parser_rejects
    assert again.to_json() == report.to_json()


@pytest.mark.parametrize("bad, message", [
    ("{not json", "invalid JSON"),
    ("[]", "expected a JSON object, got list"),
    ("{}", "key 'diagnostics' is missing"),
])
def test_report_from_json_refuses_what_is_no_report(bad, message):
    with pytest.raises(InputError, match=message):
        Report.from_json(bad)


def test_report_from_json_names_a_key_of_the_wrong_type(resnet18):
    _, data = resnet18
    with pytest.raises(InputError, match="'layers\\[\\].nodes' must be a list of strings"):
        Report.from_json({**data, "layers": [{**data["layers"][0], "nodes": "conv1"}]})


def _exception_classes() -> list[str]:
    """Every exception class defined in a fusionlab module (not the build worker's private
    protocol nor a parser's private helpers, whose names start with ``_``)."""
    found = []
    for path in sorted([*(ROOT / "fusionlab").rglob("*.py"), *(ROOT / "rules").rglob("*.py")]):
        if path.name == "_build_worker.py":
            continue  # runs in a subprocess, standard library only; its failures become BuildError
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and any(
                    isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in found)
                    for b in node.bases):
                found.append(node.name)
    return found


def test_every_exception_class_is_importable_from_fusionlab():
    classes = _exception_classes()
    assert {"FusionlabError", "InputError", "NotRunnable", "EquivalenceError", "BuildError",
            "CannotRewrite", "CyclicMerge"} <= set(classes)
    for name in classes:
        cls = getattr(fusionlab, name)
        assert isinstance(cls, type) and issubclass(cls, Exception), name
        assert name in fusionlab.__all__


def test_importing_every_exception_stays_light():
    names = ", ".join(_exception_classes())
    code = (f"import sys, json\nfrom fusionlab import {names}\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_old_homes_of_the_exceptions_are_the_same_classes():
    from fusionlab.engine import CyclicMerge
    from fusionlab.equivalence import NotRunnable
    from fusionlab.rewriting import CannotRewrite

    assert (NotRunnable, CannotRewrite, CyclicMerge) == (
        fusionlab.NotRunnable, fusionlab.CannotRewrite, fusionlab.CyclicMerge)
    assert issubclass(NotRunnable, InputError) and NotRunnable.exit_code == 2


def _with_ignore(tmp_path, values: dict[str, str]) -> Path:
    """A copy of models/resnet18.onnx whose nodes ``values`` names carry
    ``metadata_props["fusionlab.ignore"]``."""
    proto = onnx.load(str(ROOT / "models" / "resnet18.onnx"))
    for node in proto.graph.node:
        if node.name in values:
            node.metadata_props.add(key="fusionlab.ignore", value=values[node.name])
    path = tmp_path / "resnet18_ignores.onnx"
    onnx.save(proto, str(path))
    return path


def _finding_codes(report) -> list[tuple[str, ...]]:
    return sorted(f.codes for f in report.findings)


def test_node_metadata_ignore_suppresses_those_codes_on_that_node(tmp_path):
    stock = analyze(ROOT / "models" / "resnet18.onnx")
    assert _finding_codes(stock) == [("TRT111",), ("TRT501",)]
    # TRT111's finding spans conv1, relu and maxpool: metadata on any one of them drops it
    path = _with_ignore(tmp_path, {"/maxpool/MaxPool": "trt111"})
    report = analyze(path)
    assert _finding_codes(report) == [("TRT501",)]
    assert report.layers == stock.layers and report.notes == []
    # a prefix works as in --select; the other node's findings stay
    assert _finding_codes(analyze(_with_ignore(tmp_path, {"/conv1/Conv": "TRT5"}))) == [("TRT111",)]
    both = _with_ignore(tmp_path, {"/conv1/Conv": " TRT501 , TRT111 "})
    assert _finding_codes(analyze(both)) == []
    # a node elsewhere in the graph suppresses nothing here
    assert _finding_codes(analyze(_with_ignore(tmp_path, {"/layer1/layer1.0/conv1/Conv": "TRT1,TRT5"}))) \
        == _finding_codes(stock)


def test_node_metadata_ignore_adds_to_per_node_ignores(tmp_path):
    path = _with_ignore(tmp_path, {"/conv1/Conv": "TRT501"})
    report = analyze(path, per_node_ignores={"/maxpool/*": ["TRT111"]})
    assert _finding_codes(report) == []


def test_an_unknown_code_in_node_metadata_is_a_warning_not_a_crash(tmp_path, cli):
    path = _with_ignore(tmp_path, {"/conv1/Conv": "TRT501,NOPE"})
    report = analyze(path)
    assert _finding_codes(report) == [("TRT111",)]
    assert report.notes == ["warning: node '/conv1/Conv': metadata fusionlab.ignore names unknown rule code "
                            "or prefix 'NOPE'; it is ignored"]
    code, out, err = cli("analyze", path, "--output-format", "concise")
    assert code == 0, err
    assert "'/conv1/Conv'" in out and "'NOPE'" in out and "TRT501" not in out


def _pipeline_example() -> str:
    """The ```python block of README's "Lint in a training pipeline" section."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Lint in a training pipeline", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return block


def _baseline_command() -> list[str]:
    """The ``fusionlab analyze ... --write-baseline`` command the section shows."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Lint in a training pipeline", 1)[1].split("```python", 1)[0]
    (command,) = re.findall(r"`(fusionlab analyze [^`]*--write-baseline)`", section.replace("\n", " "))
    return command.split()[1:]


def test_readme_pipeline_example_passes_then_fails_on_a_new_missed_fusion(tmp_path, monkeypatch, cli):
    (tmp_path / "models").mkdir()
    shutil.copy(ROOT / "models" / "resnet18.onnx", tmp_path / "models" / "resnet18.onnx")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*_baseline_command())
    assert code == 0, err
    baseline = json.loads((tmp_path / "fusionlab-baseline.json").read_text())
    assert {e["code"] for e in baseline["models"][0]["entries"]} >= {"TRT111", "TRT501"}

    namespace: dict = {"__name__": "test_fusions"}
    exec(compile(_pipeline_example(), "README.md:test_fusions.py", "exec"), namespace)
    namespace["test_no_new_missed_fusions"]()  # every finding is in the baseline

    # the baseline without TRT111 (conv-pool): the example fails and names it
    baseline["models"][0]["entries"] = [e for e in baseline["models"][0]["entries"] if e["code"] != "TRT111"]
    (tmp_path / "fusionlab-baseline.json").write_text(json.dumps(baseline))
    with pytest.raises(AssertionError, match=r"new missed fusions:\nTRT111 \[conv-pool\] /conv1/Conv: "):
        namespace["test_no_new_missed_fusions"]()
