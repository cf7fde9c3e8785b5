"""Quantize one corpus model to INT8 QDQ with onnxruntime (runs in the ``export`` venv).

Usage (make.py calls it)::

    python export_ortq.py SPEC_JSON OUT_ONNX

``SPEC_JSON`` is an ``ort-quant`` entry of ``specs.py`` plus ``base_path`` (the fp32 model
it quantizes). Steps: ``onnxruntime.quantization.shape_inference.quant_pre_process``, then
``quantize_static`` with ``QuantFormat.QDQ``, int8 activations and weights, weights per
channel, ``args.extra_options`` (e.g. ``ActivationSymmetric``, ``WeightSymmetric``,
``QuantizeBias: False`` for float biases; without it ORT writes the INT32 bias that
TensorRT's parser rejects) and ``args.calib`` random calibration inputs (normal for
float inputs, uniform ids below 1000 for integer inputs, ones for masks). Checks with
``onnx.checker`` and one onnxruntime run. The last stdout line is a JSON object like
``export_torch.py``'s.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

NP_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
            "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def random_feed(sess: ort.InferenceSession, rng: np.random.Generator) -> dict:
    """One random input per graph input of ``sess`` (static shapes; a free dim becomes 1)."""
    feed = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        dtype = NP_TYPES[i.type]
        if np.issubdtype(dtype, np.integer):
            feed[i.name] = (np.ones(shape, dtype) if "mask" in i.name
                            else rng.integers(0, 1000, shape).astype(dtype))
        else:
            feed[i.name] = rng.standard_normal(shape).astype(dtype)
    return feed


class RandomReader(CalibrationDataReader):
    """``count`` random feeds for ``quantize_static`` (seeded, so reruns match)."""

    def __init__(self, model_path: str, count: int):
        sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        self.feeds = iter([random_feed(sess, rng) for _ in range(count)])

    def get_next(self):
        return next(self.feeds, None)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    out = Path(argv[2])
    args = spec["args"]
    with tempfile.TemporaryDirectory() as tmp:
        pre = str(Path(tmp) / "pre.onnx")
        quant_pre_process(spec["base_path"], pre, skip_symbolic_shape=False)
        quantize_static(
            pre, str(out), RandomReader(pre, args.get("calib", 8)),
            quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8, per_channel=True,
            extra_options=args.get("extra_options", {}),
        )
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    feed = random_feed(sess, np.random.default_rng(1))
    sess.run(None, feed)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    print(json.dumps({
        "library": "onnxruntime.quantization", "version": ort.__version__, "torch": None,
        "opset": opset, "nodes": len(model.graph.node),
        "inputs": {k: list(v.shape) for k, v in feed.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
