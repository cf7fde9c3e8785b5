"""Quantize one corpus model to INT8 with NVIDIA ModelOpt (runs in the ``modelopt`` venv).

Usage (make.py calls it)::

    python export_modelopt.py SPEC_JSON OUT_ONNX

``SPEC_JSON`` is a ``modelopt`` entry of ``specs.py`` plus ``base_path`` (the fp32 model).
Writes ``args.calib`` random calibration inputs to an ``.npz`` (one array per graph input,
stacked on the batch axis: normal floats, token ids below 1000, ones for masks, zeros
for token_type_ids), then runs
ModelOpt's own command line as a user would::

    python -m modelopt.onnx.quantization --onnx_path BASE --quantize_mode int8
        --calibration_data_path CALIB.npz --calibration_eps cpu --output_path OUT
        [--high_precision_dtype fp32]

(ModelOpt's default ``high_precision_dtype`` is fp16: the layers it leaves unquantized are
converted to fp16.) Checks with ``onnx.checker`` and one onnxruntime CPU run. The last stdout
line is a JSON object like ``export_torch.py``'s.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

NP_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
            onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32}
ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def random_input(name: str, shape: list[int], dtype, rng: np.random.Generator) -> np.ndarray:
    """A random array for one graph input (ids below 1000, ones for masks, zeros
    for token_type_ids, else normal)."""
    if np.issubdtype(dtype, np.integer):
        if "mask" in name:
            return np.ones(shape, dtype)
        if "token_type" in name:
            return np.zeros(shape, dtype)
        return rng.integers(0, 1000, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    out = Path(argv[2])
    args = spec["args"]
    base = onnx.load(spec["base_path"], load_external_data=False)
    inits = {i.name for i in base.graph.initializer}
    rng = np.random.default_rng(0)
    calib = {}
    for inp in base.graph.input:
        if inp.name in inits:
            continue
        t = inp.type.tensor_type
        shape = [d.dim_value or 1 for d in t.shape.dim]
        shape[0] = shape[0] * args.get("calib", 8)
        calib[inp.name] = random_input(inp.name, shape, NP_TYPES[t.elem_type], rng)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "calib.npz"
        np.savez(npz, **calib)
        cmd = [sys.executable, "-m", "modelopt.onnx.quantization",
               "--onnx_path", spec["base_path"], "--quantize_mode", args["quantize_mode"],
               "--calibration_data_path", str(npz), "--calibration_eps", "cpu",
               "--output_path", str(out)]
        if args.get("high_precision_dtype"):
            cmd += ["--high_precision_dtype", args["high_precision_dtype"]]
        subprocess.run(cmd, check=True, stdout=sys.stderr, cwd=tmp)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    feed = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        feed[i.name] = random_input(i.name, shape, ORT_TYPES[i.type], rng)
    sess.run(None, feed)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    print(json.dumps({
        "library": "nvidia-modelopt", "version": importlib.metadata.version("nvidia-modelopt"),
        "torch": None, "opset": opset, "nodes": len(model.graph.node),
        "inputs": {k: list(v.shape) for k, v in feed.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
