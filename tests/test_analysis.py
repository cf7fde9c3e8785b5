"""analyze's results: the Report holds names only; analyze_matches gives the matches."""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from fusionlab.analysis import analyze, analyze_matches
from fusionlab.rule import Match
from fusionlab.testing import GraphBuilder

ROOT = Path(__file__).resolve().parents[1]
RESNET18 = ROOT / "models" / "resnet18.onnx"


def _reaches_proto(obj, seen=None, depth=0) -> bool:
    """Whether ``obj`` holds (through attributes, lists, dicts, tuples) a protobuf message."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return False
    seen.add(id(obj))
    if isinstance(obj, (onnx.ModelProto, onnx.GraphProto, onnx.TensorProto, onnx.NodeProto)):
        return True
    if isinstance(obj, dict):
        children = list(obj.keys()) + list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        return False
    return any(_reaches_proto(c, seen, depth + 1) for c in children)


def test_report_of_resnet18_pickles_under_1_mb_and_holds_no_proto():
    report = analyze(RESNET18)
    size = len(pickle.dumps(report))
    # resnet18.onnx is 46.8 MB of weights; a report of names is a few KB
    assert size < 1_000_000, f"pickled report is {size} bytes"
    assert not _reaches_proto(report)
    assert pickle.loads(pickle.dumps(report)).to_json() == report.to_json()


def test_analyze_matches_pairs_each_diagnostic_with_its_match():
    report, pairs = analyze_matches(RESNET18)
    assert report.to_json() == analyze(RESNET18).to_json()
    assert [d for d, _ in pairs] == report.diagnostics
    for d, m in pairs:
        assert isinstance(m, Match)
        assert m.rule.code == d.code
        # a check may report a subset of the match (no-overlap names the match's nodes)
        assert set(d.nodes) <= set(m.nodes) | {n for layer in m.order for n in layer.nodes}


def test_analyze_matches_respects_select():
    report, pairs = analyze_matches(RESNET18, select=["TRT101"])
    assert report.diagnostics and {d.code for d in report.diagnostics} == {"TRT101"}
    assert [d for d, _ in pairs] == report.diagnostics


# ------------------------------------------------------------------ external weights
_OPENED: list[str] | None = None  # paths opened while a test records (None: not recording)


def _audit(event: str, args: tuple) -> None:
    """Record every file Python opens (``open``, ``io.open``, ``os.open``, ``os.fdopen``: a
    descriptor is resolved through /proc, as onnx opens external data with ``os.fdopen``)."""
    if event != "open" or _OPENED is None:
        return
    target = args[0]
    if isinstance(target, int):
        try:
            target = os.readlink(f"/proc/self/fd/{target}")
        except OSError:
            target = str(target)
    _OPENED.append(os.fsdecode(target))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it records only inside _opened()


@contextlib.contextmanager
def _opened():
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


def _save_external(model: onnx.ModelProto, path: Path, threshold: int) -> Path:
    model = onnx.ModelProto.FromString(model.SerializeToString())  # saving moves the data out
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=threshold)
    return path


@pytest.mark.parametrize("threshold", [1024, 0])
def test_analyze_never_opens_external_weights_no_check_needs(tmp_path, threshold):
    # no resnet18 rule reads a weight's value (shapes come from the initializers' dims)
    path = _save_external(onnx.load(RESNET18), tmp_path / "resnet18.onnx", threshold)
    data = str(tmp_path / "resnet18.onnx.data")
    with _opened() as opened:
        report = analyze(path)
    assert str(path) in opened  # the recorder sees the model file itself
    assert data not in opened
    assert report.to_json()["layers"] == analyze(RESNET18).to_json()["layers"]
    assert report.to_json()["diagnostics"] == analyze(RESNET18).to_json()["diagnostics"]


def test_analyze_reads_an_external_value_a_check_needs(tmp_path):
    # scale-noop (TRT125) needs the values of Add(x, c) to see whether c is all zeros: here
    # c is a 2048-element zero tensor kept in the .data file
    g = GraphBuilder()
    x = g.input("x", [1, 2048])
    y = g.node("Relu", [x], name="relu")
    y = g.node("Add", [y, g.const(np.zeros([2048], np.float32), "zeros")], name="add")
    y = g.node("Sigmoid", [y], name="sig")
    model = g.model(outputs=[y])
    path = _save_external(model, tmp_path / "m.onnx", 1024)
    with _opened() as opened:
        report = analyze(path)
    assert opened.count(str(tmp_path / "m.onnx.data")) == 1  # read once, for that value
    assert report.absorbed == ["add"]
    assert report.to_json() | {"model": None} == analyze(model).to_json() | {"model": None}
