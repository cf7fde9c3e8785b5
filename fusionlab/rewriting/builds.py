"""``fusionlab rewrite --verify``: build a model live and count its engine layers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

from fusionlab.errors import BuildError, BuilderUnavailable
from fusionlab.rewriting.report import BuildCount
from fusionlab.rewriting.save import save_model
from fusionlab.trt.artifacts import parse_log_text
from fusionlab.trt.build import available_builders, build


def build_count(model: onnx.ModelProto | str | os.PathLike, builder: str, shapes=None,
                timeout: float = 600.0, profile=None, precision_flags=None, progress=None) -> BuildCount:
    """Build ``model`` live and count its engine layers (all, and those with ONNX nodes).
    ``shapes``, ``profile``, ``precision_flags`` and ``progress`` (the builder's
    ``progress(phase, step, steps)``) are :func:`fusionlab.trt.build.build`'s.
    A failed build is recorded in ``error`` (a missing builder raises)."""
    with tempfile.TemporaryDirectory(prefix="fusionlab-build-") as tmp:
        if isinstance(model, onnx.ModelProto):
            path = Path(tmp) / "model.onnx"
            save_model(model, path, external=model.ByteSize() > 1_800_000_000)
        else:
            path = Path(model)
        try:
            result = build(path, builder=builder, timeout=timeout, shapes=shapes, profile=profile,
                           precision_flags=precision_flags, progress=progress)
        except BuildError as exc:
            return BuildCount(builder, error=exc.message)
    layers = parse_log_text(result.log).layers
    return BuildCount(builder, result.version, len(layers), sum(1 for layer in layers if layer.nodes),
                      result.seconds)


def builder_for(target: str) -> str:
    """The builder ``--verify`` uses for ``target``: the target's own when installed, else
    TensorRT-RTX, else whichever is installed.

    Raises:
        BuilderUnavailable: neither TensorRT-RTX nor TensorRT is installed.
    """
    found = available_builders()
    if not found:
        raise BuilderUnavailable("--verify needs TensorRT-RTX or TensorRT: pip install tensorrt-rtx (or fusionlab[rtx])")
    if target == "tensorrt" and "tensorrt" in found:
        return "tensorrt"
    return "tensorrt-rtx" if "tensorrt-rtx" in found else found[0]
