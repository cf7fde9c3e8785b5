"""``verify --corpus DIR``: the read and output policies per model (issue 10: "A FIFO ...
inside a `--corpus` folder blocks forever"; outputs written over files the user did not
name).

* A corpus ``.onnx`` that is a FIFO, a device, a symlink out of the folder or too large is
  refused unopened as that model's failure (exit code 2 in its row); the rest still runs.
* An output may not be a corpus model or one of its external-data files, may not end in
  ``.onnx`` inside the folder (the next run would read it as a model), and the options
  that write or read one model's files (``--save-log``...) are refused with ``--corpus``.

Runs in a subprocess with a timeout (tests/test_read_policy.py's run_cli): a regression
that opens the FIFO fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os

import onnx
import pytest

from fusionlab.files import MODEL_LIMIT

from test_bad_input import assert_one_line_error
from test_read_policy import run_cli


def _fifo(corpus, outside):
    os.mkfifo(corpus / "pipe.onnx")


def _device(corpus, outside):
    (corpus / "null.onnx").symlink_to("/dev/null")


def _symlink_out(corpus, outside):
    (corpus / "escape.onnx").symlink_to(outside)


def _nested_symlink_out(corpus, outside):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "deep.onnx").symlink_to(os.path.relpath(outside, corpus / "sub"))


def _oversized(corpus, outside):
    with open(corpus / "huge.onnx", "wb") as f:  # sparse: no disk space used
        f.truncate(MODEL_LIMIT + 1)


# (case id, how the bad entry is made, its path in the corpus, fragment of its error)
REFUSED = [
    ("fifo", _fifo, "pipe.onnx", "is a FIFO"),
    ("device", _device, "null.onnx", "is a character device"),
    ("symlink-out-of-folder", _symlink_out, "escape.onnx", "outside the --corpus folder"),
    ("nested-symlink-out", _nested_symlink_out, "sub/deep.onnx", "outside the --corpus folder"),
    ("oversized", _oversized, "huge.onnx", "larger than the 4.0 GiB limit"),
]


def _good_model(path, conv_relu_model, external=False):
    onnx.save(conv_relu_model, str(path), save_as_external_data=external, all_tensors_to_one_file=True,
              location=f"{path.name}.data", size_threshold=0)


@pytest.fixture(scope="module")
def refused_run(tmp_path_factory):
    """One live corpus run over a good model plus every REFUSED entry."""
    from fusionlab.testing import GraphBuilder

    tmp = tmp_path_factory.mktemp("corpus_refused")
    corpus = tmp / "corpus"
    corpus.mkdir()
    g = GraphBuilder()  # the conv_relu_model fixture's graph (a module-scoped fixture cannot use it)
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name="conv1")
    model = g.model([g.node("Relu", [y], name="relu1")])
    _good_model(corpus / "a.onnx", model)
    outside = tmp / "outside.onnx"
    _good_model(outside, model)
    for _, make_entry, _, _ in REFUSED:
        make_entry(corpus, outside)
    code, out, err = run_cli("verify", "--corpus", corpus, "--target", "tensorrt-rtx", "--format", "json")
    return corpus, code, json.loads(out), err


@pytest.mark.needs_rtx
@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_corpus_entry_is_that_models_failure(refused_run, case):
    corpus, code, data, err = refused_run
    _, _, name, fragment = case
    row = data["models"][str(corpus / name)]
    assert row["exit_code"] == 2 and fragment in row["error"], row
    assert "Traceback" not in err
    assert code == 2  # the worst model's exit code: bad input


@pytest.mark.needs_rtx
def test_the_rest_of_the_corpus_still_runs(refused_run):
    corpus, _, data, _ = refused_run
    assert data["models"][str(corpus / "a.onnx")]["f1"] == 1.0
    assert [r["code"] for r in data["rules"]] == ["TRT101"]
    assert len(data["models"]) == 1 + len(REFUSED)


@pytest.fixture
def corpus(tmp_path, conv_relu_model):
    folder = tmp_path / "corpus"
    folder.mkdir()
    _good_model(folder / "a.onnx", conv_relu_model)
    _good_model(folder / "ext.onnx", conv_relu_model, external=True)
    (folder / "link.txt").symlink_to("a.onnx")
    return folder


def _snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# (case id, extra arguments (CORPUS = the folder), fragments of the one error line)
OUTPUT_CASES = [
    ("o-onto-a-model", ["-o", "CORPUS/a.onnx"], ["CORPUS/a.onnx", "is the input file"]),
    ("o-onto-external-data", ["-o", "CORPUS/ext.onnx.data"], ["ext.onnx.data", "is the input file"]),
    ("o-onto-a-model-through-dotdot", ["-o", "CORPUS/../corpus/a.onnx"], ["is the input file"]),
    ("o-onto-a-symlink-to-a-model", ["-o", "CORPUS/link.txt"], ["link.txt", "is the input file"]),
    ("o-new-onnx-inside-the-folder", ["-o", "CORPUS/report.onnx"], ["report.onnx", "would be read as a model"]),
    ("save-log", ["--save-log", "CORPUS/a.onnx"], ["--save-log applies to one MODEL"]),
    ("save-engine", ["--save-engine", "CORPUS/a.onnx"], ["--save-engine applies to one MODEL"]),
    ("timing-cache", ["--timing-cache", "CORPUS/a.onnx"], ["--timing-cache applies to one MODEL"]),
    ("layer-info", ["--layer-info", "CORPUS/a.onnx"], ["--layer-info applies to one MODEL"]),
]


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_corpus_outputs_never_touch_the_corpus(corpus, case):
    _, args, fragments = case
    before = _snapshot(corpus)
    args = [a.replace("CORPUS", str(corpus)) for a in args]
    code, _, err = run_cli("verify", "--corpus", corpus, "--target", "tensorrt-rtx", *args)
    assert_one_line_error(code, err, *[f.replace("CORPUS", str(corpus)) for f in fragments])
    assert _snapshot(corpus) == before


@pytest.mark.needs_rtx
def test_a_report_inside_the_folder_is_not_read_as_a_model(corpus):
    """``-o DIR/report.json`` is written, and the next run does not pick it up."""
    for _ in range(2):
        code, _, err = run_cli("verify", "--corpus", corpus, "--target", "tensorrt-rtx", "--format", "json",
                               "-o", corpus / "report.json")
        assert code == 0, err
        data = json.loads((corpus / "report.json").read_text())
        assert sorted(data["models"]) == [str(corpus / "a.onnx"), str(corpus / "ext.onnx")]
