"""The records the parsers return: one :class:`ObservedLayer` per engine layer, and
what each file holds (:class:`BuildLog`, :class:`LayerInfo`, :class:`Profile`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

NodeMapping = Literal["metadata", "name-join", "none"]


@dataclass(frozen=True)
class ObservedLayer:
    """One layer (kernel) of a built engine, as TensorRT reported it.

    Attributes:
        name: the engine layer's name, exactly as TensorRT wrote it.
        type: TensorRT's layer type (``CaskConvolution``, ``kgen``, ``Myelin``...), or
            None when the source gives names only.
        nodes: the ONNX node names the layer holds, in the order TensorRT listed them
            (not necessarily topological), without duplicates.
        mapping: how ``nodes`` were found: "metadata" (exact), "name-join" (split from
            the name; approximate) or "none" (no ONNX node). See the module docstring.
        tactic: the kernel name when TensorRT gives one (``TacticName``), else the tactic
            value as written (``0x280b0ad3c23d8442``, or decimal in TensorRT 8.0/8.2).
        inputs: input tensor names (and, for TensorRT-RTX, its ``Constants``).
        outputs: output tensor names.
    """

    name: str
    type: str | None
    nodes: tuple[str, ...]
    mapping: NodeMapping
    tactic: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class FusionEvent:
    """One line of a VERBOSE build log about a graph-optimization pass.

    Attributes:
        kind: "fuse" (``ConvReluFusion: Fusing A with B``, ``QuantizeDoubleInputNodes:
            fusing A into B``), "run" (``Running: ConvReluFusion on A``), "remove"
            (``Removing L``) or "merge" (``Merging layers: A || B``, horizontal fusion).
        pass_name: the pass, e.g. "ConvReluFusion"; for "remove", the pass of the
            ``Running:`` line just before it, if any; None when the log does not say.
        layers: the TensorRT layer names the line names, in order (for "fuse", the layers
            fused: ``(A, B)``; for ``fusing (A and B) into C``, ``(A, B)``).
        into: for ``fusing X into Y``, the layer ``Y``; else None.
        line: the 1-based line number in the log.
    """

    kind: Literal["fuse", "run", "remove", "merge"]
    pass_name: str | None
    layers: tuple[str, ...]
    into: str | None = None
    line: int = 0


@dataclass
class BuildLog:
    """What a TensorRT build log says about the engine it built.

    Attributes:
        source: the file path, or the label given for log text.
        layers: the engine's layers, from the last ``Layers:`` dump if the log has one,
            else from the last ``Engine Layer Information:`` section, else from a
            Polygraphy engine listing.
        layers_from: which of those the layers came from: "Layers:", "Engine Layer
            Information:" or "polygraphy".
        fusions: the fusion-pass lines, in log order.
        layer_counts: ``{"Original": 26, "After vertical fusions": 10, ...}`` from the
            ``<stage>: N layers`` lines; the last value when a stage repeats (8.4+ runs
            several stages twice).
        version: the TensorRT version the log states ("8.4.1", "10.14.1", "TensorRT-RTX
            1.7.1", or "TensorRT-RTX" without a number), or None.
        skipped_lines: lines inside a layer section, or fusion lines, that could not be
            parsed (skipped, never fatal). Other log chatter is ignored, not counted.
        warnings: one-line notes for the user (unknown version, name-only mapping).

    ``fusions`` and ``layer_counts`` describe the build TensorRT kept: TensorRT 10 may
    build the graph once per backend strategy (``Building graph using backend strategy
    N``) and drop the slower builds (``Skip backend strategy N since its estimated
    inference time ...``); the lines of dropped builds are left out.
    """

    source: str
    layers: list[ObservedLayer]
    layers_from: str
    fusions: list[FusionEvent] = field(default_factory=list)
    layer_counts: dict[str, int] = field(default_factory=dict)
    version: str | None = None
    skipped_lines: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class LayerInfo:
    """The layers of one engine, from ``trtexec --exportLayerInfo`` or a log.

    Attributes:
        source: the file path.
        layers: one entry per engine layer, in engine order.
        bindings: the engine's input and output tensor names, when the file lists them.
        names_only: True when the file holds layer names and nothing else (exported at
            the default LAYER_NAMES_ONLY profiling verbosity); ``layers`` are then mapped
            by name-join only.
        message: why names-only layers are unreliable and how to re-export; None otherwise.
        version: the TensorRT version, when the source (a log) states it.
        warnings: one-line notes for the user.
    """

    source: str
    layers: list[ObservedLayer]
    bindings: tuple[str, ...] = ()
    names_only: bool = False
    message: str | None = None
    version: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LayerTiming:
    """One layer's time in a ``--exportProfile`` profile (milliseconds).

    Attributes:
        name: the layer name, as in the engine's layer info.
        time_ms: total time over all profiled iterations.
        average_ms: mean time per inference.
        median_ms: median time per inference; None before TensorRT 8.4.
        percentage: share of the whole inference, in percent.
    """

    name: str
    time_ms: float
    average_ms: float
    median_ms: float | None
    percentage: float


@dataclass
class Profile:
    """A per-layer profile from ``trtexec --exportProfile`` (or a ``--dumpProfile`` table,
    a :class:`~fusionlab.trt.profiler.LayerProfiler`, an Nsight Systems export).

    Attributes:
        source: the file path.
        iterations: the number of profiled inferences (the ``count`` record), or None.
        layers: one timing per layer, in engine order.
        warnings: what the reader could not take at face value (an Nsight Systems export
            without a CUDA trace, ...); empty for trtexec files.
    """

    source: str
    iterations: int | None
    layers: list[LayerTiming]
    warnings: list[str] = field(default_factory=list)

    @property
    def total_ms(self) -> float:
        """The mean time of one inference, in milliseconds: the sum of ``average_ms``."""
        return sum(layer.average_ms for layer in self.layers)

    @property
    def total_percentage(self) -> float:
        """The sum of the layers' percentages (100 up to rounding)."""
        return sum(layer.percentage for layer in self.layers)
