"""Quantize one corpus model to INT8 QDQ with onnxruntime (runs in the ``export`` venv).

Usage (make.py calls it)::

    python export_ortq.py SPEC_JSON OUT_ONNX

``SPEC_JSON`` is an ``ort-quant`` entry of ``specs.py`` plus ``base_path`` (the fp32 model
it quantizes). Steps: ``onnxruntime.quantization.shape_inference.quant_pre_process`` (with
``skip_symbolic_shape`` and then ``skip_optimization`` when the default fails or writes a
model onnxruntime cannot load; the step used is the manifest's ``preprocess``), then
``quantize_static`` with ``QuantFormat.QDQ``, int8 activations and weights, weights per
channel, ``args.extra_options`` (e.g. ``ActivationSymmetric``, ``WeightSymmetric``,
``QuantizeBias: False`` for float biases; without it ORT writes the INT32 bias that
TensorRT's parser rejects) and ``args.calib`` random calibration inputs (normal for
float inputs, uniform ids below 1000 for integer inputs, ones for masks, zeros for
token_type_ids). Checks with
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
            if "mask" in i.name:
                feed[i.name] = np.ones(shape, dtype)
            elif "token_type" in i.name:
                feed[i.name] = np.zeros(shape, dtype)
            else:
                feed[i.name] = rng.integers(0, 1000, shape).astype(dtype)
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


PREPROCESS = [  # tried in turn; ORT's symbolic shape inference or optimizer fails on some
    ("quant_pre_process", {}),
    ("quant_pre_process skip_symbolic_shape", {"skip_symbolic_shape": True}),
    ("quant_pre_process skip_symbolic_shape skip_optimization",
     {"skip_symbolic_shape": True, "skip_optimization": True}),
]


def preprocess(base: str, tmp: Path) -> tuple[str, str]:
    """The first ``PREPROCESS`` step whose output onnxruntime loads: (path, what was run).

    Raises the last step's exception when none works.
    """
    error = None
    for i, (how, kwargs) in enumerate(PREPROCESS):
        pre = str(tmp / f"pre{i}.onnx")
        try:
            quant_pre_process(base, pre, **kwargs)
            ort.InferenceSession(pre, providers=["CPUExecutionProvider"])
            return pre, how
        except Exception as exc:  # noqa: BLE001 -- next step; the last error is raised
            print(f"export_ortq: {how} failed: {type(exc).__name__}: {exc}"[:400],
                  file=sys.stderr)
            error = exc
    raise error


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    out = Path(argv[2])
    args = spec["args"]
    with tempfile.TemporaryDirectory() as tmp:
        pre, how = preprocess(spec["base_path"], Path(tmp))
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
        "inputs": {k: list(v.shape) for k, v in feed.items()}, "preprocess": how,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
