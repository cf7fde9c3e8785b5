"""analyze's results: the Report holds names only; analyze_matches gives the matches."""

from __future__ import annotations

import pickle
from pathlib import Path

import onnx

from fusionlab.analysis import analyze, analyze_matches
from fusionlab.rule import Match

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
