"""Export one corpus model from PyTorch to ONNX (runs inside the corpus's ``export`` venv).

Usage (make.py calls it; by hand only to debug one spec)::

    python export_torch.py SPEC_JSON OUT_ONNX

``SPEC_JSON`` is one entry of ``specs.py`` as JSON (``source``: torchvision, transformers,
timm or ultralytics; ``args``: what to build and the input shapes; ``exporter``: legacy
(``torch.onnx.export(..., dynamo=False)``) or dynamo (``dynamo=True``); ``opset``;
``precision``: fp32 or fp16 (``model.half()`` before export)). Weights are random and then
perturbed (``perturb``) so the exporter keeps one initializer per parameter, as in a trained
model. The model is checked with ``onnx.checker.check_model`` and run once in onnxruntime
(CPUExecutionProvider). The last stdout line is a JSON object: ``library``, ``version``,
``opset`` (the file's default-domain opset), ``nodes``, ``inputs``. Any failure exits
non-zero with the traceback on stderr (make.py reports its last line).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

SEED = 0
SEQ = 16
VOCAB = 1000


def perturb(model: torch.nn.Module, seed: int = SEED) -> None:
    """Add noise to every parameter and floating buffer of ``model``, in place.

    Parameters get ``N(0, 0.02)`` noise added (zero biases and all-one norm weights become
    distinct, as in trained weights); BatchNorm ``running_var`` is drawn from U(0.5, 1.5)
    so it stays positive. Without this the exporters de-duplicate equal initializers.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dtype.is_floating_point:
                p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.02)
        for name, b in model.named_buffers():
            if not b.dtype.is_floating_point:
                continue
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)


class Flat(torch.nn.Module):
    """Call a model with named tensors, return its tensor outputs as a flat tuple."""

    def __init__(self, model, names, kwargs=None):
        super().__init__()
        self.model = model
        self.names = names
        self.kwargs = kwargs or {}

    def forward(self, *tensors):
        out = self.model(**dict(zip(self.names, tensors)), **self.kwargs)
        return flatten(out)


def flatten(out):
    """Tensors of a model output (ModelOutput, tuple, Cache) as a flat tuple."""
    if isinstance(out, torch.Tensor):
        return (out,)
    if hasattr(out, "layers") and hasattr(out, "get_seq_length"):  # a transformers Cache
        res = ()
        for layer in out.layers:
            res += (layer.keys, layer.values)
        return res
    if hasattr(out, "to_tuple"):
        out = out.to_tuple()
    if isinstance(out, dict):
        out = tuple(out.values())
    res = ()
    for o in out:
        if o is None:
            continue
        res += flatten(o)
    return res


class WithPast(torch.nn.Module):
    """A causal LM step with past key/values as flat inputs and present ones as outputs.

    Inputs: ``input_ids`` [1, S], ``attention_mask`` [1, P+S], then per layer ``past_key``
    and ``past_value`` [1, kv_heads, P, head_dim]. Outputs: ``logits`` then the present
    key/values per layer (the layout ONNX decoder-with-past exports use).
    """

    def __init__(self, model, config):
        super().__init__()
        self.model = model
        self.config = config
        params = inspect.signature(model.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"

    def forward(self, input_ids, attention_mask, *past):
        from transformers import DynamicCache

        pairs = [(past[i], past[i + 1]) for i in range(0, len(past), 2)]
        cache = DynamicCache(ddp_cache_data=pairs, config=self.config)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         use_cache=True, **{self.cache_kw: cache})
        present = getattr(out, "past_key_values", None) or getattr(out, "cache", None)
        return (out.logits,) + flatten(present)


def build_torchvision(args):
    import torchvision

    fn = args["model"]
    mod = torchvision.models
    for part in args.get("module", "").split("."):
        if part:
            mod = getattr(mod, part)
    kwargs = {"weights": None, **args.get("kwargs", {})}
    if args.get("backbone_fpn"):
        from torchvision.models.detection.backbone_utils import (
            mobilenet_backbone,
            resnet_fpn_backbone,
        )

        if fn.startswith("resnet"):
            net = resnet_fpn_backbone(backbone_name=fn, weights=None, trainable_layers=5)
        else:
            net = mobilenet_backbone(backbone_name=fn, weights=None, fpn=True, trainable_layers=6)
    else:
        if "weights_backbone" in inspect.signature(getattr(mod, fn)).parameters:
            kwargs.setdefault("weights_backbone", None)
        net = getattr(mod, fn)(**kwargs)
    shape = args.get("shape", [1, 3, 64, 64])
    return net, ["input"], (torch.randn(*shape),), {}, torchvision.__version__


def build_timm(args):
    import timm

    net = timm.create_model(args["model"], pretrained=False, **args.get("kwargs", {}))
    shape = args.get("shape", [1, 3, 64, 64])
    return net, ["input"], (torch.randn(*shape),), {}, timm.__version__


def build_ultralytics(args):
    import ultralytics
    from ultralytics import YOLO

    yolo = YOLO(args["yaml"])
    net = yolo.model
    net.eval()
    net.fuse() if args.get("fuse", True) else None
    for m in net.modules():  # what ultralytics' own exporter sets on its heads
        if hasattr(m, "export") and hasattr(m, "format"):
            m.export = True
            m.format = "onnx"
            if hasattr(m, "dynamic"):
                m.dynamic = False
    shape = args.get("shape", [1, 3, 64, 64])
    return net, ["images"], (torch.randn(*shape),), {}, ultralytics.__version__


def hf_inputs(args, config):
    """Example inputs (names, tensors) for a transformers model spec."""
    gen = torch.Generator().manual_seed(SEED)
    kind = args.get("inputs", "text")
    if kind == "text":
        ids = torch.randint(0, VOCAB, (1, SEQ), generator=gen)
        names, vals = ["input_ids", "attention_mask"], [ids, torch.ones(1, SEQ, dtype=torch.long)]
        if args.get("token_type_ids"):
            names.append("token_type_ids")
            vals.append(torch.zeros(1, SEQ, dtype=torch.long))
        if args.get("decoder"):
            names.append("decoder_input_ids")
            vals.append(torch.randint(0, VOCAB, (1, SEQ // 2), generator=gen))
        return names, vals
    if kind == "text_ids":
        return ["input_ids"], [torch.randint(0, VOCAB, (1, SEQ), generator=gen)]
    if kind == "image":
        shape = args.get("shape", [1, 3, 64, 64])
        return ["pixel_values"], [torch.randn(*shape, generator=gen)]
    if kind == "audio":
        return ["input_values"], [torch.randn(*args.get("shape", [1, 4000]), generator=gen)]
    if kind == "mel":
        return ["input_features"], [torch.randn(*args["shape"], generator=gen)]
    raise ValueError(f"unknown inputs kind {kind!r}")


def build_transformers(args):
    import transformers

    config = transformers.AutoConfig.for_model(args["model_type"], **args.get("config", {}))
    if args.get("attn"):
        config._attn_implementation = args["attn"]
    cls = getattr(transformers, args["cls"])
    net = cls(config) if not hasattr(cls, "_from_config") else cls._from_config(config)
    if args.get("submodule"):
        net = getattr(net, args["submodule"]) if "." not in args["submodule"] else eval(
            "net." + args["submodule"])
    net.eval()
    names, vals = hf_inputs(args, config)
    if args.get("past"):
        past_len = SEQ
        text = getattr(config, "text_config", config)
        heads = text.num_attention_heads
        kv = getattr(text, "num_key_value_heads", None) or heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
        layers = text.num_hidden_layers
        ids = torch.randint(0, VOCAB, (1, 1))
        mask = torch.ones(1, past_len + 1, dtype=torch.long)
        past = []
        pnames = []
        for i in range(layers):
            past += [torch.randn(1, kv, past_len, head_dim), torch.randn(1, kv, past_len, head_dim)]
            pnames += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        return (WithPast(net, config), ["input_ids", "attention_mask"] + pnames,
                tuple([ids, mask] + past), {}, transformers.__version__, net)
    kwargs = {}
    params = inspect.signature(net.forward).parameters
    if "use_cache" in params:
        kwargs["use_cache"] = False
    if "return_dict" in params:
        kwargs["return_dict"] = True
    return Flat(net, names, kwargs), names, tuple(vals), {}, transformers.__version__, net


BUILDERS = {
    "torchvision": build_torchvision,
    "timm": build_timm,
    "ultralytics": build_ultralytics,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    out = Path(argv[2])
    torch.manual_seed(SEED)
    warnings.filterwarnings("ignore")
    args = spec.get("args", {})
    source = spec["source"]
    if source == "transformers":
        wrapper, names, inputs, _, version, inner = build_transformers(args)
        perturb(inner)
        net = wrapper
    else:
        net, names, inputs, _, version = BUILDERS[source](args)
        perturb(net)
    net.eval()
    if spec.get("precision") == "fp16":
        net = net.half()
        inputs = tuple(t.half() if t.dtype.is_floating_point else t for t in inputs)
    with torch.no_grad():
        flat = net(*inputs)
    n_out = len(flatten(flat))
    out_names = args.get("output_names") or (["output"] if n_out == 1 else
                                              [f"output_{i}" for i in range(n_out)])
    if args.get("past"):
        layers = (n_out - 1) // 2
        out_names = ["logits"] + [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    dynamo = spec["exporter"] == "dynamo"
    kw = dict(input_names=names, output_names=out_names, opset_version=spec["opset"],
              dynamo=dynamo)
    if dynamo:
        kw["external_data"] = False
    else:
        kw["do_constant_folding"] = True
    log = io.StringIO()
    # grad mode on, as in a plain script: under no_grad torch's MultiheadAttention takes
    # its fast path (aten::_native_multi_head_attention), which the legacy exporter lacks
    with contextlib.redirect_stdout(log):
        torch.onnx.export(net, inputs, str(out), **kw)
    import onnx

    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    by_name = dict(zip(names, inputs))
    feed = {i.name: by_name[i.name].numpy() for i in sess.get_inputs()}
    sess.run(None, feed)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    print(json.dumps({
        "library": source, "version": version, "torch": torch.__version__,
        "opset": opset, "nodes": len(model.graph.node),
        "inputs": {i.name: list(np.shape(feed[i.name])) for i in sess.get_inputs()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
