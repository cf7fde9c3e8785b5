"""Export the real ONNX models that fusionlab is tested against.

What it makes (in ``--out``, default: the folder of this script):

* ``resnet18.onnx``      torchvision resnet18 (weights=None)
* ``mobilenet_v2.onnx``  torchvision mobilenet_v2 (weights=None)
* ``bert_tiny.onnx``     transformers ``BertModel`` from a tiny config
                         (2 layers, hidden 128, 2 heads, vocab 1000),
                         inputs ``input_ids``/``attention_mask`` int64 [1, 64],
                         outputs ``last_hidden_state``/``pooler_output``
* ``resnet18_qdq_floatbias.onnx``  the same with ORT's ``QuantizeBias: False``
                         (float biases: what TensorRT's parser accepts)
* ``resnet18_qdq.onnx``  ``resnet18.onnx`` run through ORT
                         ``quant_pre_process`` then ``quantize_static``
                         (QDQ, int8 activations and weights, both symmetric,
                         weights per channel, 8 random calibration inputs)

How they are exported: the legacy TorchScript exporter
(``torch.onnx.export(..., dynamo=False, opset_version=17)``), eval mode,
static shapes (no dynamic axes), default ``do_constant_folding=True``, weights
stored inside the ``.onnx`` file. Node names are the legacy exporter's scope
names, e.g. ``/features/features.0/features.0.0/Conv``.

No pretrained weights are downloaded (there is no hub access): models are built
with random weights, then perturbed with ``torch.manual_seed(0)`` so that the
graph looks trained. Every BatchNorm gets non-trivial running_mean,
running_var (positive), weight and bias; every bias is made non-zero and every
other constant-valued parameter (LayerNorm weight, layer scale) gets noise. Without this the exporter deduplicates identical
constants (all-zero folded biases, all-one LayerNorm weights) into ``Identity``
nodes, which real trained models do not have.

BatchNorm does NOT survive: with ``training=TrainingMode.EVAL`` and constant
folding on, the legacy exporter folds every BatchNorm into the preceding Conv
(weight and bias), so ``resnet18.onnx`` and ``mobilenet_v2.onnx`` contain no
``BatchNormalization`` node; this is what real users get with the defaults.
The quantized model keeps ORT's default of quantizing each Conv/Gemm bias to an
INT32 initializer read through a ``DequantizeLinear`` (scale = input scale *
weight scale), which fusionlab must flag.

Every model is checked with ``onnx.checker.check_model(full_check=True)`` and
run in onnxruntime (CPUExecutionProvider) on a random input; the script prints
size in MB, node count and op-type histogram per model.

Run (from the repository root, in a venv with torch 2.14.1, torchvision
0.29.1, transformers, onnx, onnxruntime, onnxscript)::

    python models/export_models.py --out models/

``--extra-out DIR`` (with ``--skip-main`` to leave ``--out`` alone) also exports larger or extra models for robustness testing
(not committed): resnet50, efficientnet_b0, convnext_tiny, vit_b_16, a tiny
GPT2, resnet18 with the dynamo exporter (opset 18) and a QDQ mobilenet_v2.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

SEED = 0
OPSET = 17
IMAGE_SHAPE = (1, 3, 224, 224)
SEQ_LEN = 64
VOCAB = 1000

# --------------------------------------------------------------------------
# weight perturbation
# --------------------------------------------------------------------------
@torch.no_grad()
def perturb_weights(model: torch.nn.Module) -> torch.nn.Module:
    """Give random-init weights a 'trained' look (call after manual_seed).

    * BatchNorm: running_mean ~ N(0, 0.1), running_var ~ U(0.5, 2.0),
      weight ~ U(0.5, 1.5), bias ~ N(0, 0.1).
    * every other parameter whose name ends in ``bias`` (Linear/Conv bias,
      LayerNorm bias, ``in_proj_bias``, ...) ~ N(0, 0.05): none stays zero.
    * every other constant-valued parameter (LayerNorm weight = 1, ConvNeXt
      layer_scale = 1e-6, ViT class_token = 0, ...) gets element-wise noise,
      so no two initializers are identical.
    """
    done = set()
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(0.0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
            if module.affine:
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                done.update((id(module.weight), id(module.bias)))
    for name, param in model.named_parameters():
        if id(param) in done:
            continue
        if name.endswith("bias"):
            param.normal_(0.0, 0.05)
        elif param.numel() > 1 and bool((param == param.flatten()[0]).all()):
            if bool((param == 0).all()):
                param.normal_(0.0, 0.02)
            else:
                param.mul_(torch.empty_like(param).uniform_(0.5, 1.5))
    return model


# --------------------------------------------------------------------------
# checks and report
# --------------------------------------------------------------------------
def _random_feed(session: ort.InferenceSession, rng: np.random.Generator) -> dict:
    """Random inputs for every graph input (float: N(0,1); int: token ids / mask)."""
    feed = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        if inp.type == "tensor(float)":
            feed[inp.name] = rng.standard_normal(shape).astype(np.float32)
        elif inp.type == "tensor(int64)":
            if "mask" in inp.name:
                feed[inp.name] = np.ones(shape, dtype=np.int64)
            else:
                feed[inp.name] = rng.integers(0, VOCAB, shape, dtype=np.int64)
        else:
            raise TypeError(f"unsupported input type {inp.type} for {inp.name}")
    return feed


def verify_and_report(path: Path) -> dict:
    """check_model(full_check), run once in ORT CPU, print size/nodes/histogram."""
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path))
    assert not any(
        t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer
    ), f"{path.name}: weights must be stored inside the file"

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, _random_feed(session, np.random.default_rng(SEED)))
    for out in outputs:
        assert np.all(np.isfinite(out)), f"{path.name}: non-finite output"

    hist = collections.Counter(node.op_type for node in model.graph.node)
    size_mb = path.stat().st_size / 1e6
    print(f"\n== {path.name}: {size_mb:.2f} MB, {len(model.graph.node)} nodes, "
          f"opset {model.opset_import[0].version}")
    print("   " + ", ".join(f"{op}:{n}" for op, n in hist.most_common()))
    print("   outputs: " + ", ".join(
        f"{o.name}{list(v.shape)}" for o, v in zip(session.get_outputs(), outputs)))
    return {"size_mb": size_mb, "nodes": len(model.graph.node), "hist": hist}


# --------------------------------------------------------------------------
# exporters
# --------------------------------------------------------------------------
def _legacy_export(model, args, path, input_names, output_names, opset=OPSET):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation noise
        torch.onnx.export(
            model,
            args,
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            do_constant_folding=True,
        )


def export_torchvision(arch: str, path: Path) -> Path:
    """torchvision classifier, weights=None, perturbed, legacy exporter."""
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, arch)(weights=None)
    perturb_weights(model).eval()
    _legacy_export(model, (torch.randn(*IMAGE_SHAPE),), path, ["input"], ["output"])
    return path


def export_resnet18(out: Path) -> Path:
    return export_torchvision("resnet18", out / "resnet18.onnx")


def export_mobilenet_v2(out: Path) -> Path:
    return export_torchvision("mobilenet_v2", out / "mobilenet_v2.onnx")


def _with_tuple_forward(model_cls: type, fields: tuple[str, ...]) -> type:
    """Subclass a transformers model so forward(input_ids, attention_mask)
    calls the original with keywords and returns a plain tuple of `fields`.

    transformers 5 forwards cannot be traced with positional args by the
    legacy exporter ("got multiple values for argument 'use_cache'"). A
    subclass (not a wrapper module) keeps the node names a user exporting the
    model directly would see, e.g. ``/embeddings/word_embeddings/Gather``.
    """

    class TupleForward(model_cls):
        def forward(self, input_ids, attention_mask):
            result = super().forward(input_ids=input_ids,
                                     attention_mask=attention_mask,
                                     return_dict=True)
            return tuple(result[f] for f in fields)

    TupleForward.__name__ = f"{model_cls.__name__}TupleForward"
    return TupleForward


def _token_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    input_ids = torch.randint(0, VOCAB, (1, SEQ_LEN), dtype=torch.int64)
    attention_mask = torch.ones((1, SEQ_LEN), dtype=torch.int64)
    return input_ids, attention_mask


def export_bert_tiny(out: Path) -> Path:
    """transformers BertModel from a tiny config, eager attention."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(SEED)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=512,
        max_position_embeddings=128,
        attn_implementation="eager",
    )
    fields = ("last_hidden_state", "pooler_output")
    bert = _with_tuple_forward(BertModel, fields)(config)
    perturb_weights(bert).eval()
    path = out / "bert_tiny.onnx"
    _legacy_export(bert, _token_inputs(), path,
                   ["input_ids", "attention_mask"], list(fields))
    return path


class _RandomImages(CalibrationDataReader):
    """Calibration reader yielding `count` random N(0,1) images (fixed seed)."""

    def __init__(self, input_name: str, count: int = 8, seed: int = SEED):
        rng = np.random.default_rng(seed)
        self._items = iter(
            [{input_name: rng.standard_normal(IMAGE_SHAPE).astype(np.float32)}
             for _ in range(count)]
        )

    def get_next(self):
        return next(self._items, None)


def _has_int32_bias_dq(path: Path) -> bool:
    """True if some DequantizeLinear reads an INT32 initializer (quantized bias)."""
    model = onnx.load(str(path))
    int32_inits = {t.name for t in model.graph.initializer
                   if t.data_type == onnx.TensorProto.INT32}
    return any(n.op_type == "DequantizeLinear" and n.input[0] in int32_inits
               for n in model.graph.node)


def quantize_qdq(float_path: Path, path: Path, quantize_bias: bool = True) -> Path:
    """ORT static QDQ quantization: int8 symmetric, per-channel weights.

    quant_pre_process (shape inference + ORT basic optimization) is applied
    first, as the ORT docs recommend; its output is kept only if the
    quantized result still has ORT's default INT32 bias DequantizeLinear.
    With ``quantize_bias=False`` (ORT's ``QuantizeBias`` extra option, the
    setting TensorRT needs) biases stay float.
    """
    def _quantize(src: Path, dst: Path) -> None:
        quantize_static(
            str(src),
            str(dst),
            calibration_data_reader=_RandomImages("input"),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                           "QuantizeBias": quantize_bias},
        )

    if not quantize_bias:
        with tempfile.TemporaryDirectory() as tmp:
            pre = Path(tmp) / "preprocessed.onnx"
            quant_pre_process(str(float_path), str(pre))
            _quantize(pre, path)
        assert not _has_int32_bias_dq(path), f"{path.name}: expected float biases"
        return path

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "preprocessed.onnx"
        try:
            quant_pre_process(str(float_path), str(pre))
            _quantize(pre, path)
            if _has_int32_bias_dq(path):
                print(f"   {path.name}: quant_pre_process used")
                return path
            print(f"   {path.name}: pre-processed result lost INT32 bias DQ; "
                  "quantizing the raw export")
        except Exception as exc:  # noqa: BLE001 - fall back to the raw export
            print(f"   {path.name}: quant_pre_process failed ({exc!r}); "
                  "quantizing the raw export")
    _quantize(float_path, path)
    assert _has_int32_bias_dq(path), f"{path.name}: expected INT32 bias DQ"
    return path


def export_resnet18_qdq(out: Path) -> Path:
    float_path = out / "resnet18.onnx"
    if not float_path.exists():
        export_resnet18(out)
    return quantize_qdq(float_path, out / "resnet18_qdq.onnx")


def export_resnet18_qdq_floatbias(out: Path) -> Path:
    """The same quantization with ORT's ``QuantizeBias: False``: float biases, as
    TensorRT's parser needs them (it rejects an INT32 DequantizeLinear)."""
    float_path = out / "resnet18.onnx"
    if not float_path.exists():
        export_resnet18(out)
    return quantize_qdq(float_path, out / "resnet18_qdq_floatbias.onnx", quantize_bias=False)


# --------------------------------------------------------------------------
# extra models (robustness testing; not committed)
# --------------------------------------------------------------------------
def export_gpt2_tiny(out: Path) -> Path:
    """transformers GPT2LMHeadModel from a tiny config, no KV cache."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(SEED)
    config = GPT2Config(vocab_size=VOCAB, n_positions=128, n_embd=128, n_layer=2,
                        n_head=2, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1,
                        use_cache=False, attn_implementation="eager")
    gpt2 = _with_tuple_forward(GPT2LMHeadModel, ("logits",))(config)
    perturb_weights(gpt2).eval()
    path = out / "gpt2_tiny.onnx"
    _legacy_export(gpt2, _token_inputs(), path,
                   ["input_ids", "attention_mask"], ["logits"])
    return path


def export_resnet18_dynamo(out: Path) -> Path:
    """resnet18 with the torch.export-based exporter, opset 18, weights inline."""
    torch.manual_seed(SEED)
    model = perturb_weights(torchvision.models.resnet18(weights=None)).eval()
    path = out / "resnet18_dynamo.onnx"
    torch.onnx.export(model, (torch.randn(*IMAGE_SHAPE),), str(path), dynamo=True,
                      opset_version=18, input_names=["input"],
                      output_names=["output"], external_data=False)
    return path


def export_mobilenet_v2_qdq(out: Path) -> Path:
    float_path = export_mobilenet_v2(out)
    return quantize_qdq(float_path, out / "mobilenet_v2_qdq.onnx")


def _tv(arch: str) -> Callable[[Path], Path]:
    return lambda out: export_torchvision(arch, out / f"{arch}.onnx")


MAIN_MODELS: dict[str, Callable[[Path], Path]] = {
    "resnet18": export_resnet18,
    "mobilenet_v2": export_mobilenet_v2,
    "bert_tiny": export_bert_tiny,
    "resnet18_qdq": export_resnet18_qdq,
    "resnet18_qdq_floatbias": export_resnet18_qdq_floatbias,
}

EXTRA_MODELS: dict[str, Callable[[Path], Path]] = {
    "resnet50": _tv("resnet50"),
    "efficientnet_b0": _tv("efficientnet_b0"),
    "convnext_tiny": _tv("convnext_tiny"),
    "vit_b_16": _tv("vit_b_16"),
    "gpt2_tiny": export_gpt2_tiny,
    "resnet18_dynamo": export_resnet18_dynamo,
    "mobilenet_v2_qdq": export_mobilenet_v2_qdq,
}


def run(models: dict[str, Callable[[Path], Path]], out: Path, strict: bool) -> list[str]:
    """Export and verify each model; return the names that failed."""
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name, export in models.items():
        try:
            verify_and_report(export(out))
        except Exception:  # noqa: BLE001
            if strict:
                raise
            traceback.print_exc()
            print(f"!! {name}: FAILED, skipped")
            failed.append(name)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="folder for the committed models (default: models/)")
    parser.add_argument("--extra-out", type=Path, default=None,
                        help="also export the extra robustness models here "
                             "(failures are reported and skipped)")
    parser.add_argument("--skip-main", action="store_true",
                        help="do not export the committed models (use with --extra-out)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="export only these model names")
    args = parser.parse_args(argv)

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    pick = (lambda d: {k: v for k, v in d.items() if args.only is None or k in args.only})
    if not args.skip_main:
        run(pick(MAIN_MODELS), args.out, strict=True)
    failed = []
    if args.extra_out is not None:
        failed = run(pick(EXTRA_MODELS), args.extra_out, strict=False)
        if failed:
            print(f"\nextra models skipped: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
