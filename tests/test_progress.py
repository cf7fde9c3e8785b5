"""Progress bars on the long steps (issue 9, item 7): ``verify --corpus`` (a task per
model), ``rewrite --verify`` (the two builds, with the builder's phases) and a single
live ``verify`` draw a rich progress bar on stderr when it is a terminal, and write
nothing when stderr is piped. The terminal is a real pseudo-terminal (:mod:`pty`) for
the command run as a subprocess, or an injected ``Console(force_terminal=True)``."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading

import pytest
from rich.console import Console

import fusionlab.progress as progress_module
from fusionlab.progress import StepProgress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _plain(text: str) -> str:
    """Terminal output without escape sequences, carriage returns as new lines."""
    return ANSI.sub("", text).replace("\r", "\n")


def _run_with_stderr_on_a_pty(args: list[str]) -> tuple[int, str, str]:
    """``python -m fusionlab.cli ARGS`` with stderr on a pseudo-terminal, stdout a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "fusionlab.cli", *args], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=900)
    reader.join(timeout=60)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


@pytest.fixture
def corpus(tmp_path, models_dir, conv_relu_model):
    """A folder of two models: the shipped MobileNetV2 and conv1 -> relu1."""
    import onnx

    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(models_dir / "mobilenet_v2.onnx", folder / "mobilenet_v2.onnx")
    onnx.save(conv_relu_model, str(folder / "conv_relu.onnx"))
    return folder


@pytest.mark.needs_rtx
def test_corpus_progress_on_a_terminal_and_none_when_piped(corpus):
    code, out, err = _run_with_stderr_on_a_pty(["verify", "--corpus", str(corpus), "--format", "json"])
    assert code == 0, err
    assert set(json.loads(out)["models"]) == {str(corpus / "conv_relu.onnx"), str(corpus / "mobilenet_v2.onnx")}
    lines = _plain(err)
    assert "verify --corpus: conv_relu.onnx done, next mobilenet_v2.onnx" in lines
    assert re.search(r"verify --corpus: mobilenet_v2\.onnx done .*2/2", lines)
    assert "\x1b[" not in out  # the report on stdout stays clean
    piped = subprocess.run([sys.executable, "-m", "fusionlab.cli", "verify", "--corpus", str(corpus),
                            "--format", "json"], capture_output=True, text=True, timeout=900,
                           stdin=subprocess.DEVNULL)
    assert piped.returncode == 0, piped.stderr
    assert "verify --corpus" not in piped.stderr and "\x1b" not in piped.stderr
    assert json.loads(piped.stdout)["models"].keys() == json.loads(out)["models"].keys()


@pytest.fixture
def terminal(monkeypatch):
    """Progress bars drawn into a buffer as on a 120-column terminal."""
    buffer = io.StringIO()
    monkeypatch.setattr(progress_module, "stderr_console",
                        lambda: Console(file=buffer, force_terminal=True, width=120))
    return buffer


@pytest.mark.needs_rtx
def test_rewrite_verify_shows_both_builds(cli, tmp_path, models_dir, terminal):
    out = tmp_path / "bert.onnx"
    code, stdout, err = cli("rewrite", models_dir / "bert_tiny.onnx", "-o", out, "--verify",
                            "--target", "tensorrt-rtx", "--output-format", "json")
    assert code == 0, err
    builds = json.loads(stdout)["builds"]
    assert builds["before"]["layers"] and builds["after"]["layers"]
    shown = _plain(terminal.getvalue())
    assert "rewrite --verify: build 1/2, input: Building engine" in shown
    assert "rewrite --verify: build 2/2, rewritten: Building engine" in shown
    assert shown.index("build 1/2") < shown.index("build 2/2")


@pytest.mark.needs_rtx
def test_rewrite_verify_piped_writes_no_progress(cli, tmp_path, models_dir):
    assert not sys.stderr.isatty()
    code, _, err = cli("rewrite", models_dir / "mobilenet_v2.onnx", "--dry-run", "--verify",
                       "--target", "tensorrt-rtx", "--output-format", "json")
    assert code == 0, err
    assert "build 1/2" not in err and "\x1b" not in err


@pytest.mark.needs_rtx
def test_single_verify_shows_the_builder_phases(cli, models_dir, terminal):
    code, _, err = cli("verify", models_dir / "mobilenet_v2.onnx", "--output-format", "json")
    assert code == 0, err
    assert "building: Building engine" in _plain(terminal.getvalue())


def test_no_bar_and_no_callback_without_a_terminal(capsys):
    with StepProgress() as bars:  # pytest's stderr is not a terminal
        assert not bars.enabled and bars.callback("x") is None
    assert capsys.readouterr().err == ""


def test_model_names_in_a_description_are_not_markup():
    buffer = io.StringIO()
    with StepProgress(Console(file=buffer, force_terminal=True, width=120)) as bars:
        step = bars.callback("verify --corpus")
        step("[bold]evil[/].onnx\x1b[31m", 1, 2)
    shown = _plain(buffer.getvalue())
    assert "[bold]evil[/].onnx\\x1b" in shown and "1/2" in shown
