"""Read policy (fusionlab.files.check_readable): a FIFO, a device or an oversized file given
as the model, --layer-info, --log, --profile or inside --corpus is refused before it is
opened: exit 2, one line, no hang.

The command runs in a subprocess with a timeout, so a regression (a read blocking on a
FIFO, or reading /dev/zero until MemoryError) fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from fusionlab.files import MODEL_LIMIT, TEXT_LIMIT

from test_bad_input import assert_one_line_error

#: Generous: start-up imports onnx and numpy; the refusal itself needs no work.
HANG_GUARD_S = 120


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "fusionlab.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=HANG_GUARD_S,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.onnx"
    os.mkfifo(path)
    return path


@pytest.fixture
def model(save_model, conv_relu_model):
    return save_model(conv_relu_model, "m.onnx")


@pytest.mark.parametrize("command", [("analyze",), ("rewrite", "--dry-run"), ("verify", "--log", "LOG")])
def test_fifo_as_model(fifo, tmp_path, command, models_dir):
    log = tmp_path / "build.log"
    log.write_text("[I] TensorRT version: 10.4.0\n")
    args = [a if a != "LOG" else log for a in command[1:]]
    code, _, err = run_cli(command[0], fifo, *args)
    assert_one_line_error(code, err, "pipe.onnx", "a FIFO")


def test_symlink_to_dev_zero_as_model(tmp_path):
    link = tmp_path / "zero.onnx"
    link.symlink_to("/dev/zero")
    code, _, err = run_cli("analyze", link)
    assert_one_line_error(code, err, "zero.onnx", "character device")


@pytest.mark.parametrize("option", ["--layer-info", "--log"])
def test_fifo_as_artifact(model, tmp_path, option):
    pipe = tmp_path / "info.json"
    os.mkfifo(pipe)
    code, _, err = run_cli("verify", model, option, pipe)
    assert_one_line_error(code, err, "info.json", "a FIFO")


def test_fifo_as_profile(tmp_path, repo_root):
    info = repo_root / "tests/data/trt-artifacts/fuzzylabs_trtexec_trt10.4/mobilenet_v2/mobilenet_v2_fp16.graph.json"
    pipe = tmp_path / "profile.json"
    os.mkfifo(pipe)
    code, _, err = run_cli("verify", repo_root / "models" / "mobilenet_v2.onnx", "--layer-info", info,
                           "--profile", pipe)
    assert_one_line_error(code, err, "profile.json", "a FIFO")


def test_fifo_in_corpus(tmp_path, model):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(model, corpus / "a.onnx")
    os.mkfifo(corpus / "b.onnx")
    code, out, err = run_cli("verify", "--corpus", corpus, "--target", "tensorrt", "--format", "json")
    # refused per model, unopened; a.onnx still runs (classic TensorRT is absent here: exit 5)
    import json

    models = json.loads(out)["models"]
    assert models[str(corpus / "b.onnx")]["exit_code"] == 2
    assert "a FIFO" in models[str(corpus / "b.onnx")]["error"]
    assert str(corpus / "a.onnx") in models and code in (2, 3, 5), err


def test_oversized_log_is_refused_unread(model, tmp_path):
    log = tmp_path / "huge.log"
    with open(log, "wb") as f:  # sparse: no disk space used
        f.truncate(TEXT_LIMIT + 1)
    code, _, err = run_cli("verify", model, "--log", log)
    assert_one_line_error(code, err, "huge.log", "larger than the 256.0 MiB limit")


def test_oversized_model_is_refused_unread(tmp_path):
    big = tmp_path / "big.onnx"
    with open(big, "wb") as f:
        f.truncate(MODEL_LIMIT + 1)
    code, _, err = run_cli("analyze", big)
    assert_one_line_error(code, err, "big.onnx", "larger than the 4.0 GiB limit")


def test_nul_in_model_path_is_bad_input(tmp_path):
    from fusionlab.errors import InputError
    from fusionlab.graph import load_graph

    with pytest.raises(InputError, match="NUL"):
        load_graph(f"{tmp_path}/a\x00b.onnx")
