"""ONNX Runtime's own log lines never reach stderr (issue 10: "ONNX Runtime's own log
lines reach stderr besides fusionlab's one line"): the equivalence check's sessions log at
severity 3 (errors, which come back as exceptions) and so does ORT's default logger.

Each model below makes a plain ``onnxruntime.InferenceSession`` print a
``[W:onnxruntime:...]`` line (checked first, so the test cannot pass for want of a
warning); ``fusionlab rewrite`` on it prints at most fusionlab's own line. Subprocesses:
ORT writes to file descriptor 2 from C++, past pytest's capsys.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

PROBE = """
import sys, onnxruntime as ort
ort.InferenceSession(sys.argv[1], ort.SessionOptions(), providers=["CPUExecutionProvider"])
"""


def _unused_initializer(model):
    model.graph.initializer.append(numpy_helper.from_array(np.ones(4, np.float32), "unused_w"))
    return model


def _unused_initializers_everywhere(model):
    for i in range(3):
        model.graph.initializer.append(numpy_helper.from_array(np.zeros(i + 1, np.int64), f"unused_{i}"))
    return model


# (case id, shipped model, how it is made to warn, arguments after -o OUT)
CASES = [
    ("resnet18-unused-initializer", "resnet18", _unused_initializer, []),
    ("bert_tiny-unused-initializers", "bert_tiny", _unused_initializers_everywhere, []),
    ("resnet18-unused-initializer-json", "resnet18", _unused_initializer, ["--format", "json"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rewrite_keeps_onnxruntime_logs_off_stderr(models_dir, tmp_path, case):
    _, name, make, extra = case
    path = tmp_path / f"{name}_warns.onnx"
    onnx.save(make(onnx.load(str(models_dir / f"{name}.onnx"))), str(path))
    probe = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0 and "[W:onnxruntime:" in probe.stderr  # the model does make ORT warn
    out = tmp_path / "out.onnx"
    proc = subprocess.run([sys.executable, "-m", "fusionlab.cli", "rewrite", str(path), "-o", str(out), *extra],
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    # only fusionlab's own line (an unchanged model is not written; its path may say onnxruntime)
    assert "[W:onnxruntime:" not in proc.stderr, proc.stderr
    assert all(line.startswith("fusionlab: nothing to rewrite: ") for line in proc.stderr.splitlines()), proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) <= 1 and all(line.startswith("fusionlab: ") for line in lines), proc.stderr
    assert out.exists() == (not lines)  # written, or nothing to rewrite and said so
