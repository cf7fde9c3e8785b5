"""``fusionlab verify``: hold analyze's predictions to what a TensorRT builder really did.

Two sources of truth:

* a live build (:func:`fusionlab.trt.build.build`) with TensorRT-RTX (CPU-only, no GPU
  needed) or classic TensorRT on a GPU machine: the VERBOSE ``Layers:`` dump, whose
  ``Metadata`` names the ONNX nodes of each kernel;
* files a user brings from a GPU machine: ``trtexec --exportLayerInfo`` JSON, a
  ``--verbose`` build log, and ``--exportProfile`` JSON for per-layer times.

The comparison itself is :func:`fusionlab.compare.compare`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fusionlab.analysis import analyze
from fusionlab.compare import compare
from fusionlab.errors import ArtifactError, BuildError, InputError
from fusionlab.files import write_atomic
from fusionlab.graph import load_graph
from fusionlab.shapes import declared_inputs, resolve, with_symbols
from fusionlab.trt import artifacts
from fusionlab.trt.build import build
from fusionlab.verification.pairing import PARSER_UNNAMED_PREFIX, pair_layers
from fusionlab.verification.result import MissedCost, Verification

#: Target -> builder used for a live build.
BUILDER_OF_TARGET = {"tensorrt-rtx": "tensorrt-rtx", "tensorrt": "tensorrt"}

def rejection_codes(report) -> list[str]:
    """The sorted rule codes of the parser or builder rejections analyze predicted for
    ``report``'s model (its ``parser_rejects``): what a failed build is expected from.
    A :class:`BuildError` raised by :func:`verify` carries them as ``flagged``."""
    return sorted({d.code for d in report.parser_rejects})


def verify(model: str | os.PathLike, *, target: str = "tensorrt-rtx", precision: str = "fp32",
           sm: float = 8.6, layer_info: str | os.PathLike | None = None,
           log: str | os.PathLike | None = None, profile: str | os.PathLike | None = None,
           timeout: float = 600.0, save_log: str | os.PathLike | None = None,
           save_engine: str | os.PathLike | None = None, timing_cache: str | os.PathLike | None = None,
           shapes=None, progress: Callable[[str, int, int], None] | None = None,
           precision_flags: tuple[str, ...] | None = None) -> Verification:
    """Analyze ``model`` and compare the prediction with a build of it.

    With ``layer_info`` and/or ``log`` (files from a GPU machine) nothing is built: the
    layers come from the layer info (preferred) or the log. Otherwise the model is built
    live with the target's builder (``tensorrt-rtx`` -> TensorRT-RTX, ``tensorrt`` ->
    classic TensorRT).

    ``shapes`` (trtexec's ``"x:1x3x224x224"``, a mapping, or a
    :class:`fusionlab.shapes.ShapeRequest` with min/opt/max shapes) is checked against the
    model's inputs; the prediction is made at the opt shapes and the live build gets one
    optimization profile with the range. ``precision_flags`` (``("FP16", "INT8")``, see
    :mod:`fusionlab.precision`) are the classic builder's flags instead of
    ``precision``'s own.

    Raises:
        InputError: the model cannot be loaded or an option is wrong.
        ArtifactError: a file cannot be parsed, or the profile and the layer info share no
            layer name (they come from different engines).
        BuildError: the live build failed, crashed or timed out (exit code 3).
        BuilderUnavailable: the target's builder is not installed (exit code 5).
    """
    graph = load_graph(model, infer=False)
    declared = declared_inputs(graph.model)
    ranges = resolve(graph.model, shapes, graph.name)
    graph.infer_shapes(with_symbols(declared, ranges.opt_shapes()) if ranges else None)
    report = analyze(graph, target=target, precision=precision, sm=sm)
    warnings: list[str] = []
    version = seconds = None
    if profile is not None and layer_info is None and log is None:
        raise InputError("--profile needs --layer-info (or --log) from the same engine to name its layers")
    if layer_info is not None:
        info = artifacts.parse_layer_info(layer_info)
        observed, source = info.layers, f"layer info {layer_info}"
        warnings += info.warnings + ([info.message] if info.names_only and info.message else [])
        version = info.version
    elif log is not None:
        parsed = artifacts.parse_log(log)
        observed, source = parsed.layers, f"build log {log}"
        warnings += parsed.warnings
        version = parsed.version
        if parsed.skipped_lines:
            warnings.append(f"{parsed.skipped_lines} log lines in layer sections were not understood and skipped")
    else:
        try:
            result = build(model, builder=BUILDER_OF_TARGET[target], timeout=timeout, save_engine=save_engine,
                           timing_cache=timing_cache, progress=progress, precision=precision,
                           precision_flags=precision_flags, profile=ranges.ranges(),
                           shapes={k: v for k, v in with_symbols(declared, ranges.fixed()).items()
                                   if k not in ranges.ranges()})
        except BuildError as exc:
            exc.flagged = rejection_codes(report)
            if exc.flagged:
                exc.message = (f"{exc.message} (analyze predicted this parser rejection: "
                               f"{', '.join(exc.flagged)}; see fusionlab analyze)")
                exc.args = (exc.message,)
            raise
        if save_log is not None:
            write_atomic(Path(save_log), result.log)
        parsed = artifacts.parse_log_text(result.log, source=f"{Path(model).name} build",
                                          version=f"{'TensorRT-RTX ' if target == 'tensorrt-rtx' else ''}{result.version}")
        observed = parsed.layers
        warnings += parsed.warnings
        version, seconds = result.version, result.seconds
        source = f"live {'TensorRT-RTX' if target == 'tensorrt-rtx' else 'TensorRT'} {result.version} build"
    mapping = "+".join(sorted({o.mapping for o in observed if o.nodes})) or "none"
    observed = pair_layers(graph, observed)
    comparison = compare(graph, report, observed)
    if comparison.unknown_nodes:
        unknown = comparison.unknown_nodes
        unnamed = sum(n.startswith(PARSER_UNNAMED_PREFIX) for n in unknown)
        why = (f"{unnamed} are the parser's names of unnamed nodes ({PARSER_UNNAMED_PREFIX}<output>) whose "
               "output tensor is not in this model" if unnamed else "is the engine built from this model?")
        warnings.append(f"{len(unknown)} node names in the engine name no node of {graph.name} "
                        f"(e.g. {unknown[0]!r}): {why}")
    v = Verification(report, observed, comparison, source, mapping, version, seconds, warnings=warnings)
    if profile is not None:
        _attribute_profile(v, artifacts.parse_profile(profile))
    return v


def _attribute_profile(v: Verification, prof: artifacts.Profile) -> None:
    names = {o.name for o in v.observed}
    matched = [t for t in prof.layers if t.name in names]
    if not matched:
        raise ArtifactError(f"profile {prof.source} and the layer information share no layer names: "
                            "they come from different engines")
    v.warnings += prof.warnings
    v.profile_total_ms = prof.total_ms
    v.layer_ms = {t.name: t.average_ms for t in matched}
    v.unmatched_profile = [t.name for t in prof.layers if t.name not in names]
    if v.unmatched_profile:
        v.warnings.append(f"{len(v.unmatched_profile)} profile layers are not in the layer information "
                          f"(e.g. {v.unmatched_profile[0]!r}); their time is not attributed")
    for d in v.report.missed:
        layers = [o.name for o in v.observed if set(o.nodes) & set(d.nodes)]
        ms = sum(v.layer_ms.get(name, 0.0) for name in layers)
        pct = 100.0 * ms / v.profile_total_ms if v.profile_total_ms else 0.0
        v.missed_costs.append(MissedCost(d.code, d.rule, d.check, d.nodes, layers, ms, pct))
    v.missed_costs.sort(key=lambda c: -c.ms)
