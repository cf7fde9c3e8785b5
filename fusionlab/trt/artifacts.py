"""Parsers for what TensorRT writes about a built engine: build logs, layer info, profiles.

Everything here reads text or JSON that TensorRT (``trtexec``, the Python API, the
engine inspector or Polygraphy) wrote, and turns it into the same small data model:
one :class:`ObservedLayer` per engine layer (kernel), with the ONNX nodes it holds.
Only the standard library is used (``json`` and ``re``).

What each TensorRT version writes (checked against real files of TensorRT 8.0.3, 8.2.3,
8.4.1, 10.4.0, 10.14.1, 10.16.2 and TensorRT-RTX 1.7.1):

* Build log (``trtexec --verbose``, or an ILogger kept at VERBOSE), parsed by
  :func:`parse_log`:

  - ``Engine Layer Information:`` then one unprefixed line per layer, at every profiling
    verbosity. TensorRT 8.x: ``Layer(CaskConvolution): Conv-1 + ReLU-2, Tactic:
    0x632674f65e3422ae, tensor-0[Float(-2,1,28,28)] -> tensor-2[Float(-2,32,28,28)]``
    (8.0 and 8.2 print decimal tactics: ``Tactic: -9153228964338181824``). TensorRT 10.x
    and TensorRT-RTX: ``Layer(Myelin): {ForeignNode[node_conv2d...node_relu]}, Tactic:
    0x0000000000000000, x (Float[-1,1,28,28]) -> relu (Float[-1,32,28,28])``.
  - ``Layers:`` then one unprefixed line per layer, at DETAILED profiling verbosity
    (TensorRT 10.x and TensorRT-RTX; also the engine inspector's text since 8.4, without
    ``Metadata``): ``Name: …, LayerType: …, Inputs: [ { Name: …, … } ], Constants: […],
    Outputs: […], TacticName: …, StreamId: N[, EventId: N], Metadata: [ONNX Layer:
    a]\x1f[ONNX Layer: b]`` (``Constants`` and ``EventId`` are TensorRT-RTX's; classic
    10.x has ``Location``, ``ParameterType``, ``TacticValue``... instead).
  - fusion passes: ``ConvReluFusion: Fusing A with B``, ``Running: ConvReluFusion on A``
    (8.4+; 8.2 omits ``on A``, 8.0 prints no ``Running:``), ``Removing L``,
    ``QuantizeDoubleInputNodes: fusing (A and B) into C``, ``Merging layers: A || B``.
    TensorRT-RTX compiles everything with Myelin and logs none of these.
  - layer counts: ``Original: 26 layers``, ``After vertical fusions: 10 layers``...
  - version: ``[TensorRT v8401]`` (trtexec's first line; ``v101401`` for 10.14.1),
    ``TensorRT version: 8.4.1`` (``8003`` in 8.0), ``libnvinfer_builder_resource.so.10.4.0``,
    Polygraphy's ``Loaded Module: tensorrt | Version: 10.16.2.5``. TensorRT-RTX logs
    state none: pass ``version=`` to :func:`parse_log`.
  - ``ForeignNode {ForeignNode[a...b]} metadata: [ONNX Layer: a][ONNX Layer: b]``
    (10.x VERBOSE, while timing Myelin blocks): used to map Myelin layers exactly.

* ``trtexec --exportLayerInfo=layers.json``, parsed by :func:`parse_layer_info`:
  ``{"Layers": [...], "Bindings": [...]}``. With ``--profilingVerbosity=detailed`` each
  layer is an object with ``Name``, ``LayerType``, ``Inputs``, ``Outputs``,
  ``TacticName``/``TacticValue`` and, from 10.x, ``Metadata`` (entries joined by
  ``\x1e``); the 8.2-era schema has no ``Location`` keys. At the default verbosity the
  layers are bare name strings.
* ``trtexec --exportProfile=profile.json``, parsed by :func:`parse_profile`:
  ``[{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}, ...]``
  (``medianMs`` since 8.4). ``--dumpProfile`` prints the same as a table in the log.
  The ``--exportTimes`` file (per-inference timestamps) is recognized and refused.
* ``polygraphy inspect model ENGINE``: ``Layer 0 | node_conv2d + node_relu [Op:
  CaskConvolution]`` then its tensors and ``Tactic = 0x...``. A listing of the
  *network* (``==== TensorRT Network ====``, before fusion) is refused.

How a layer is mapped to ONNX nodes (:attr:`ObservedLayer.mapping`):

* ``"metadata"``: from the layer's ``Metadata`` (TensorRT 10.x and TensorRT-RTX, or a
  ``ForeignNode {ForeignNode[…]} metadata: [ONNX Layer: …]`` line of a 10.x VERBOSE log).
  Exact: the ONNX parser stores ``[ONNX Layer: <node name>]`` per network layer and the
  builder concatenates them when it fuses. Entries are separated by ``\\x1e`` (classic
  layer-info JSON), ``\\x1f`` (``Layers:`` dumps) or nothing (``ForeignNode`` lines).
* ``"name-join"``: the layer name split on ``" + "``, ``PWN(...)`` wrappers removed, and
  TensorRT-internal names (``(Unnamed Layer* 12) [Shuffle]``) dropped. Approximate: the
  parts can also be initializer names (``features.0.0.weight``) or TensorRT helper layers
  (``reshape_before_MatMul-9``, ``ONNXTRT_Broadcast``), so intersect them with the ONNX
  graph's node names. A Myelin block ``{ForeignNode[first...last]}`` gives only its two
  endpoint names: the nodes between them are not named anywhere in the layer name.
* ``"none"``: the layer holds no ONNX node (reformat copies, Myelin shape calls, an empty
  ``Metadata``).

Every file-reading function raises :class:`~fusionlab.errors.ArtifactError` with a
one-line message naming the file and the problem; log lines that cannot be parsed are
skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fusionlab.errors import ArtifactError

__all__ = [
    "BuildLog",
    "FusionEvent",
    "LayerInfo",
    "LayerTiming",
    "NodeMapping",
    "ObservedLayer",
    "Profile",
    "match_profile",
    "parse_layer_info",
    "parse_log",
    "parse_log_text",
    "parse_metadata",
    "parse_profile",
    "split_layer_name",
]

NodeMapping = Literal["metadata", "name-join", "none"]

#: The classic TensorRT versions (major, minor) these parsers were checked against.
CHECKED_TENSORRT = ((8, 0), (10, 16))
#: The TensorRT-RTX major version these parsers were checked against.
CHECKED_RTX_MAJOR = 1

DETAILED_HINT = (
    "build with trtexec --verbose --profilingVerbosity=detailed, or through the API set "
    "ProfilingVerbosity.DETAILED and keep VERBOSE messages in your ILogger"
)
NAMES_ONLY_HINT = (
    "layer names cannot be mapped back to ONNX nodes reliably (fused layers are named by "
    "joining node names, Myelin blocks only by their first and last node): rebuild and "
    "re-export with trtexec --onnx=MODEL --exportLayerInfo=layers.json "
    "--profilingVerbosity=detailed (the same flag in TensorRT 8.x and 10.x; the verbosity "
    "is fixed when the engine is built)"
)


# ----------------------------------------------------------------------------- data model


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
    """A per-layer profile from ``trtexec --exportProfile`` (or a ``--dumpProfile`` table).

    Attributes:
        source: the file path.
        iterations: the number of profiled inferences (the ``count`` record), or None.
        layers: one timing per layer, in engine order.
    """

    source: str
    iterations: int | None
    layers: list[LayerTiming]

    @property
    def total_ms(self) -> float:
        """The mean time of one inference, in milliseconds: the sum of ``average_ms``."""
        return sum(layer.average_ms for layer in self.layers)

    @property
    def total_percentage(self) -> float:
        """The sum of the layers' percentages (100 up to rounding)."""
        return sum(layer.percentage for layer in self.layers)


# ----------------------------------------------------------------------------- public API


def parse_log(source: str | os.PathLike[str], *, version: str | None = None) -> BuildLog:
    """Parse a TensorRT build log (trtexec ``--verbose`` output or an ILogger capture).

    Args:
        source: a path (``str`` without a newline, or ``os.PathLike``), or the log text
            itself (a ``str`` containing a newline). See :func:`parse_log_text`.
        version: the TensorRT version, when the caller knows it better than the log
            (e.g. "10.14.1" or "TensorRT-RTX 1.7.1"); overrides what the log states.

    Raises:
        ArtifactError: missing, unreadable, binary or empty file, a JSON file, or no layer
            information in the log (the message says how to get it).
    """
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return parse_log_text(source, version=version)
    text = _read_text(source)
    if _looks_like_json(text):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            pass  # not JSON after all: read it as a log
        else:
            raise ArtifactError(f"{source}: is JSON ({_describe_json(data)}), not a TensorRT build log")
    return parse_log_text(text, source=str(source), version=version)


def parse_log_text(text: str, *, source: str = "<log text>", version: str | None = None) -> BuildLog:
    """Parse build-log text: layers, fusion events, layer counts and version.

    Accepts trtexec's layout (``[11/22/2026-10:00:00] [V] [TRT] message``), the
    ``[TRT] [V]`` order, lines with no prefix, and multi-line messages whose continuation
    lines carry no prefix (the ``Layers:`` dump, ``Engine Layer Information:``).

    Raises:
        ArtifactError: the text holds no layer information at all.
    """
    scan = _LogScan(source)
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): \x1e is a separator
        scan.feed(number, line.rstrip("\r"))
    return scan.result(version)


def parse_layer_info(source: str | os.PathLike[str]) -> LayerInfo:
    """Parse the layers of one engine from a file.

    Accepts ``trtexec --exportLayerInfo`` JSON, detailed (``{"Layers": [{"Name",
    "LayerType", "Inputs", "Outputs", "TacticName"/"TacticValue", "Metadata"...}],
    "Bindings": [...]}``) or names-only (``{"Layers": ["name", ...]}``, or layer records
    with only a ``Name``), whatever the file is called; and any text :func:`parse_log`
    accepts (a build log, the engine inspector's text, ``polygraphy inspect model``).

    Raises:
        ArtifactError: missing, empty or unreadable file; invalid or truncated JSON; JSON
            of another shape (a profile, a timing file...) or with no layers; a text
            without layers.
    """
    path = str(source)
    text = _read_text(source)
    if not _looks_like_json(text):
        log = parse_log_text(text, source=path)
        return LayerInfo(path, log.layers, version=log.version, warnings=log.warnings)
    data = _load_json(path, text)
    if isinstance(data, dict) and isinstance(data.get("Layers"), list):
        records, bindings = data["Layers"], data.get("Bindings") or []
    elif isinstance(data, list) and data and all(_is_layer_record(r) for r in data):
        records, bindings = data, []
    else:
        raise ArtifactError(
            f"{path}: expected trtexec --exportLayerInfo JSON "
            '({"Layers": [...], "Bindings": [...]}), found ' + _describe_json(data)
        )
    if not records:
        raise ArtifactError(f"{path}: lists no layers")
    layers = [_layer_from_record(path, i, record) for i, record in enumerate(records)]
    names_only = all(isinstance(r, str) or set(r) <= {"Name"} for r in records)
    return LayerInfo(
        path,
        layers,
        bindings=tuple(str(b) for b in bindings),
        names_only=names_only,
        message=f"{path} lists layer names only: {NAMES_ONLY_HINT}" if names_only else None,
    )


def parse_profile(source: str | os.PathLike[str]) -> Profile:
    """Parse a per-layer profile.

    Accepts ``trtexec --exportProfile`` JSON (``[{"count": N}, {"name", "timeMs",
    "averageMs", "medianMs", "percentage"}, ...]``; ``medianMs`` appeared in 8.4) and a
    log holding trtexec's ``--dumpProfile`` table (the last one, without its ``Total``
    row). Times are milliseconds: ``timeMs`` summed over ``count`` inferences,
    ``averageMs``/``medianMs`` per inference.

    Raises:
        ArtifactError: missing, empty or unreadable file; invalid or truncated JSON; a
            ``--exportTimes`` timing file (per-inference timestamps, not per layer); JSON
            of another shape or with no layers; a text without a profile table.
    """
    path = str(source)
    text = _read_text(source)
    if not _looks_like_json(text):
        return _profile_from_table(path, text)
    data = _load_json(path, text)
    kind = _json_kind(data)
    if kind == "timing":
        raise ArtifactError(
            f"{path}: is a trtexec --exportTimes timing file (one record per inference), "
            "not a per-layer profile: export one with trtexec --exportProfile=profile.json"
        )
    if kind != "profile":
        raise ArtifactError(
            f'{path}: expected a trtexec --exportProfile profile ([{{"count": N}}, '
            '{"name", "timeMs", "averageMs", "percentage"}, ...]), found ' + _describe_json(data)
        )
    iterations = None
    layers = []
    for i, record in enumerate(data):
        if isinstance(record, dict) and "count" in record and "name" not in record:
            iterations = iterations if iterations is not None else _number(path, i, record, "count", int)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("name"), str):
            raise ArtifactError(f"{path}: profile record {i} has no layer name: {_describe_json(record)}")
        layers.append(
            LayerTiming(
                name=record["name"],
                time_ms=_number(path, i, record, "timeMs"),
                average_ms=_number(path, i, record, "averageMs"),
                median_ms=_number(path, i, record, "medianMs") if "medianMs" in record else None,
                percentage=_number(path, i, record, "percentage"),
            )
        )
    if not layers:
        raise ArtifactError(f"{path}: lists no layers")
    return Profile(path, iterations, layers)


def match_profile(
    layer_info: LayerInfo | BuildLog, profile: Profile, *, require_overlap: bool = False
) -> tuple[list[tuple[ObservedLayer, LayerTiming]], list[str]]:
    """Pair each profiled layer with its layer-info entry, by exact layer name.

    Returns:
        ``(matched, unmatched_names)``: ``(layer, timing)`` pairs in profile order, and
        the profile's layer names that the layer info does not have (reported, not an
        error: e.g. a profile of a rebuilt engine whose reformat copies moved).

    Raises:
        ArtifactError: only with ``require_overlap=True``, when no name matches at all,
            i.e. the two files come from different engines.
    """
    by_name: dict[str, ObservedLayer] = {}
    for layer in layer_info.layers:
        by_name.setdefault(layer.name, layer)
    matched = [(by_name[t.name], t) for t in profile.layers if t.name in by_name]
    unmatched = [t.name for t in profile.layers if t.name not in by_name]
    if require_overlap and not matched:
        raise ArtifactError(
            f"profile {profile.source} and layer info {layer_info.source} share no layer "
            "names: they come from different engines"
        )
    return matched, unmatched


def parse_metadata(metadata: str) -> tuple[str, ...]:
    """The ONNX node names in a layer's ``Metadata`` string.

    The ONNX parser writes ``[ONNX Layer: <node name>]`` per network layer, with
    `` | <node> (<function>)`` entries appended inside the brackets for nodes of ONNX
    local functions; the builder joins the entries of fused layers with ``\\x1e``,
    ``\\x1f`` or nothing. Node names may contain commas, brackets and spaces: an entry
    ends at its last ``]``, and text after it (TensorRT-RTX appends e.g.
    ``__gemm_from_conv1x1`` to a 1x1 conv lowered to a GEMM) is not part of the name.
    """
    starts = [m.start() for m in re.finditer(re.escape(_ONNX_LAYER), metadata)]
    nodes = []
    for start, end in zip(starts, starts[1:] + [len(metadata)]):
        content = metadata[start + len(_ONNX_LAYER) : end]  # up to the next entry
        closing = content.rfind("]")  # the separator and any suffix come after it
        name = _LOCAL_FUNCTIONS.sub("", content[:closing] if closing >= 0 else content)
        if name and name not in nodes:
            nodes.append(name)
    return tuple(nodes)


def split_layer_name(name: str) -> tuple[str, ...]:
    """The ONNX node names TensorRT joined into a layer name ("name-join").

    ``"Conv_3 + PWN(PWN(Sigmoid_4), Mul_5)"`` gives ``("Conv_3", "Sigmoid_4", "Mul_5")``;
    ``"{ForeignNode[/a/Conv.../b/Relu]}"`` gives only its endpoints ``("/a/Conv",
    "/b/Relu")``; reformat copies and Myelin kernels (``__myl_*``) give ``()``; parts
    naming TensorRT-internal layers (``(Unnamed Layer* 12) [Shuffle]``) are dropped. A
    node name that itself contains ``" + "`` cannot be told apart and is split.
    """
    if name.startswith(_NO_NODE_PREFIXES):
        return ()
    foreign = _FOREIGN_NODE.fullmatch(name)
    if foreign:
        first, _, last = foreign["body"].partition("...")
        parts = [first, last]
    else:
        parts = _unwrap_pointwise(name)
    nodes: list[str] = []
    for part in parts:
        part = part.strip()
        if part and "(Unnamed Layer* " not in part and part not in nodes:
            nodes.append(part)
    return tuple(nodes)


# ----------------------------------------------------------------------------- layer names

_ONNX_LAYER = "[ONNX Layer: "
_LOCAL_FUNCTIONS = re.compile(r"(?: \| [^|]*? \([^()|]*\))+$")
_FOREIGN_NODE = re.compile(r"\{ForeignNode\[(?P<body>.*)\]\}")
_NO_NODE_PREFIXES = ("Reformatting CopyNode for ", "__myl_", "__mye", "dummy_shape_call__")


def _unwrap_pointwise(name: str) -> list[str]:
    """Split on top-level `` + `` and open ``PWN(a, b + c)`` wrappers, recursively."""
    parts = []
    for part in _split_top_level(name, " + "):
        if part.startswith("PWN(") and part.endswith(")"):
            inner = part[4:-1]
            parts += [p for piece in _split_top_level(inner, ", ") for p in _unwrap_pointwise(piece)]
        else:
            parts.append(part)
    return parts


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` outside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _observed(
    name: str,
    type_: str | None,
    *,
    metadata: str | None = None,
    tactic: str | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
) -> ObservedLayer:
    """An ObservedLayer mapped by ``metadata`` when given (even empty), else by name."""
    if metadata is not None:
        nodes, mapping = parse_metadata(metadata), "metadata"
    else:
        nodes, mapping = split_layer_name(name), "name-join"
    return ObservedLayer(
        name, type_, nodes, mapping if nodes else "none", tactic or None, tuple(inputs), tuple(outputs)
    )


# ----------------------------------------------------------------------------- log lines

_PREFIX = re.compile(
    r"^(?:\[(?:\d{1,2}/\d{1,2}/\d{4}-\d{1,2}:\d{2}:\d{2}(?:\.\d+)?|[VIWEF]|TRT|TRT-RTX|TensorRT"
    r"|TensorRT-RTX|VERBOSE|INFO|WARNING|ERROR|INTERNAL_ERROR)\] ?)+"
)
_STRATEGY = re.compile(r"^Building graph using backend strategy (?P<n>\d+)")
_SKIPPED_STRATEGY = re.compile(r"^Skip backend strategy (?P<n>\d+)")
_LAYER_COUNT = re.compile(r"^(?P<stage>Original|After [^:]+): (?P<count>\d+) layers?$")
_FOREIGN_METADATA = re.compile(r"^ForeignNode (?P<name>\{ForeignNode\[.*\]\}) metadata: ?(?P<meta>.*)$")

# Fusion-pass lines (message text, after the prefix).
_RUNNING = re.compile(r"^Running: (?P<pass>\S+)(?: on (?P<layer>.+))?$")
_REMOVING = re.compile(r"^Removing (?P<layer>.+)$")
_FUSING_WITH = re.compile(r"^(?P<pass>\w+): Fusing (?P<a>.+?) with (?P<b>.+)$")
_FUSING_INTO = re.compile(r"^(?P<pass>\w+): fusing (?P<a>.+) into (?P<into>.+)$")
_FUSING_WEIGHTS = re.compile(r"^Fusing convolution weights from (?P<a>.+) with scale (?P<b>.+)$")
_MERGING = re.compile(r"^Merging layers: (?P<layers>.+)$")

# Version statements, tried in order on each line until one gives a number.
_VERSIONS = (
    (re.compile(r"TensorRT[- ]RTX(?: version)?:? v?(\d+(?:\.\d+)+)"), "TensorRT-RTX "),
    (re.compile(r"\bTensorRT version: (\d+(?:\.\d+)*)"), ""),  # "8.4.1", or "8003" in 8.0
    (re.compile(r"\[TensorRT v(\d+)\]"), ""),  # trtexec's first line: v8401, v101401
    (re.compile(r"Loaded Module: tensorrt_rtx \| Version: (\d+(?:\.\d+)+)"), "TensorRT-RTX "),
    (re.compile(r"Loaded Module: tensorrt \| Version: (\d+(?:\.\d+)+)"), ""),  # Polygraphy
    (re.compile(r"libnvinfer(?:_builder_resource)?\.so\.(\d+\.\d+\.\d+)"), ""),
)

# Engine Layer Information: 8.x tensors "name[Float(-2,1,28,28)]", 10.x "name (Float[-1,1,28,28])".
_ELI_LAYER = re.compile(
    r"^Layer\((?P<type>[^)]*)\): (?P<name>.*?), Tactic: (?P<tactic>-?\d+|0x[0-9a-fA-F]+)(?:, (?P<io>.*))?$"
)
_TENSORS = (
    re.compile(r"(?P<name>.+?) \([A-Za-z]\w*\[[^\]]*\]\)(?:, |$)"),
    re.compile(r"(?P<name>.+?) ?\[[A-Za-z]\w*\([^)]*\)\](?:, |$)"),
)

# Layers: dump, one record per line.
_DUMP_HEAD = re.compile(r"^Name: (?P<name>.*?), LayerType: (?P<type>[^,]*)")
_DUMP_KEY = re.compile(r", (?P<key>[A-Z][\w/]*): ")
_DUMP_TENSOR = re.compile(r" ?\{ Name: (?P<name>.*?), [A-Z][\w/]*: [^{}]*\}")
_DUMP_LISTS = ("Inputs", "Constants", "Outputs")

# Polygraphy `inspect model` listings.
_POLY_TITLE = re.compile(r"^==== TensorRT (?P<kind>Engine|Network) ====$")
_POLY_SECTION = re.compile(r"^---- \d+ Layer\(s\) ----$")
_POLY_LAYER = re.compile(r"^Layer \d+\s+\| (?P<name>.*) \[Op: (?P<type>[^\]]*)\]$")
_POLY_IO = re.compile(r"^\{(?P<ins>.*)\}\s*->\s*\{(?P<outs>.*)\}$")
_POLY_TENSOR = re.compile(r"\s*(?P<name>.+?) \[dtype=[^\]]*\](?:,|$)")


@dataclass
class _Build:
    """The graph-optimization lines of one build of the network (one backend strategy)."""

    strategy: int | None = None
    dropped: bool = False
    layer_counts: dict[str, int] = field(default_factory=dict)
    fusions: list[FusionEvent] = field(default_factory=list)
    foreign_metadata: dict[str, str] = field(default_factory=dict)


class _Unparsed(Exception):
    """A line inside a layer section did not have the expected shape."""


def _split_prefix(line: str) -> tuple[bool, str]:
    """``(had_prefix, message)``: the line without timestamp, severity and ``[TRT]`` tags."""
    match = _PREFIX.match(line)
    return (True, line[match.end() :]) if match else (False, line)


class _LogScan:
    """Reads a log line by line: a small state machine over its sections."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.section: str | None = None  # "dump", "eli", "poly"
        self.dumps: list[list[ObservedLayer]] = []
        self.elis: list[list[ObservedLayer]] = []
        self.poly_kind: str | None = None
        self.poly_layers: list[ObservedLayer] = []
        self.poly_network_layers = 0
        self.poly_pending: list[str] = []
        self.builds = [_Build()]  # lines before any "Building graph using backend strategy"
        self.version: str | None = None
        self.rtx_mentioned = False
        self.running_pass: str | None = None
        self.skipped = 0

    # -- line dispatch

    def feed(self, number: int, line: str) -> None:
        prefixed, message = _split_prefix(line)
        if self.section and self._section_line(prefixed, message):
            return
        self.section = None
        stripped = message.strip()
        if stripped == "Layers:" or stripped.startswith("Layers: Name: "):
            self.section = "dump"
            self.dumps.append([])
            if stripped != "Layers:":
                self._section_line(False, stripped[len("Layers: ") :])
        elif stripped == "Engine Layer Information:":
            self.section = "eli"
            self.elis.append([])
        elif title := _POLY_TITLE.match(stripped):
            self.poly_kind = title["kind"]
        elif self.poly_kind and _POLY_SECTION.match(stripped):
            self.section = "poly"
        else:
            self._message(number, message)

    def _section_line(self, prefixed: bool, message: str) -> bool:
        """Handle a line of the open section; False when the line ends the section."""
        if self.section == "poly":
            return self._poly_line(prefixed, message)
        starts = "Name: " if self.section == "dump" else "Layer("
        if message.startswith(starts):
            try:
                layer = _dump_layer(message) if self.section == "dump" else _eli_layer(message)
            except _Unparsed:
                self.skipped += 1
            else:
                (self.dumps if self.section == "dump" else self.elis)[-1].append(layer)
            return True
        if prefixed or not message.strip():
            return False
        self.skipped += 1  # e.g. "...more" in a quoted, shortened dump
        return True

    def _message(self, number: int, message: str) -> None:
        """A line outside layer sections: version, layer counts, fusion passes."""
        if self.version is None:
            self._version(message)
        build = self.builds[-1]
        if m := _LAYER_COUNT.match(message):
            build.layer_counts[m["stage"]] = int(m["count"])
            return
        if m := _FOREIGN_METADATA.match(message):
            build.foreign_metadata[m["name"]] = m["meta"]
            return
        if m := _STRATEGY.match(message):
            self.builds.append(_Build(int(m["n"])))
            return
        if m := _SKIPPED_STRATEGY.match(message):
            for build in self.builds:
                build.dropped |= build.strategy == int(m["n"])
            return
        event = self._fusion(message, number)
        if event:
            build.fusions.append(event)
            if event.kind == "run":
                self.running_pass = event.pass_name
            return
        self.running_pass = None
        if "Fusing " in message or ": fusing " in message:
            self.skipped += 1

    def _fusion(self, message: str, number: int) -> FusionEvent | None:
        if m := _RUNNING.match(message):
            layers = (m["layer"],) if m["layer"] else ()
            return FusionEvent("run", m["pass"], layers, line=number)
        if m := _REMOVING.match(message):
            return FusionEvent("remove", self.running_pass, (m["layer"],), line=number)
        if m := _FUSING_WITH.match(message):
            return FusionEvent("fuse", m["pass"], (m["a"], m["b"]), line=number)
        if m := _FUSING_INTO.match(message):
            fused = m["a"]
            if fused.startswith("(") and fused.endswith(")") and " and " in fused:
                layers = tuple(fused[1:-1].split(" and "))
            else:
                layers = (fused,)
            return FusionEvent("fuse", m["pass"], layers, into=m["into"], line=number)
        if m := _FUSING_WEIGHTS.match(message):
            return FusionEvent("fuse", None, (m["a"], m["b"]), line=number)
        if m := _MERGING.match(message):
            return FusionEvent("merge", None, tuple(m["layers"].split(" || ")), line=number)
        return None

    def _version(self, message: str) -> None:
        for pattern, product in _VERSIONS:
            match = pattern.search(message)
            if match:
                self.version = product + _dotted_version(match[1])
                return
        if "TensorRT-RTX" in message:
            self.rtx_mentioned = True

    # -- Polygraphy

    def _poly_line(self, prefixed: bool, message: str) -> bool:
        if prefixed or _POLY_TITLE.match(message.strip()):
            self._poly_flush()
            return False
        if _POLY_LAYER.match(message.strip()):
            self._poly_flush()
        if message.strip():
            self.poly_pending.append(message.strip())
        return True

    def _poly_flush(self) -> None:
        """Turn the buffered lines of one Polygraphy layer into an ObservedLayer."""
        lines, self.poly_pending = self.poly_pending, []
        header = _POLY_LAYER.match(lines[0]) if lines else None
        if not header:
            return
        if self.poly_kind == "Network":
            self.poly_network_layers += 1
            return
        attributes = next((i for i, x in enumerate(lines) if x.startswith("---- Attributes")), len(lines))
        io = _POLY_IO.match(" ".join(lines[1:attributes]))
        tactic = next((x.partition("=")[2].strip() for x in lines[attributes:] if x.startswith("Tactic =")), None)
        inputs = _poly_tensors(io["ins"]) if io else ()
        outputs = _poly_tensors(io["outs"]) if io else ()
        self.poly_layers.append(
            _observed(header["name"], header["type"], tactic=tactic, inputs=inputs, outputs=outputs)
        )

    # -- result

    def result(self, version: str | None) -> BuildLog:
        if self.section == "poly":
            self._poly_flush()
        builds = self._kept_builds()
        counts = {stage: n for build in builds for stage, n in build.layer_counts.items()}
        fusions = [event for build in builds for event in build.fusions]
        foreign = {name: meta for build in builds for name, meta in build.foreign_metadata.items()}
        warnings = []
        dumps = [d for d in self.dumps if d]
        elis = [e for e in self.elis if e]
        if dumps:
            layers, layers_from = dumps[-1], "Layers:"
        elif elis:
            layers = [_with_foreign_metadata(x, foreign) for x in elis[-1]]
            layers_from = "Engine Layer Information:"
            by_name = sum(x.mapping == "name-join" for x in layers)
            if by_name:
                warnings.append(
                    f"{self.source}: {by_name} of {len(layers)} layers come from 'Engine Layer "
                    "Information:' without ONNX metadata; their nodes were recovered by splitting "
                    f"layer names: for exact nodes, {DETAILED_HINT}"
                )
        elif self.poly_layers:
            layers, layers_from = self.poly_layers, "polygraphy"
        elif self.poly_network_layers:
            raise ArtifactError(
                f"{self.source}: is a 'polygraphy inspect model' listing of the TensorRT network "
                f"({self.poly_network_layers} layers, before any fusion), not of a built engine: "
                "inspect the engine (polygraphy inspect model ENGINE --show layers) or give the build log"
            )
        else:
            raise ArtifactError(
                f"{self.source}: no layer information (no 'Layers:' dump, 'Engine Layer "
                f"Information:' section or Polygraphy engine listing): {DETAILED_HINT}"
            )
        stated = version or self.version or ("TensorRT-RTX" if self.rtx_mentioned else None)
        version_warning = _version_warning(self.source, stated)
        return BuildLog(
            source=self.source,
            layers=layers,
            layers_from=layers_from,
            fusions=fusions,
            layer_counts=counts,
            version=stated,
            skipped_lines=self.skipped,
            warnings=([version_warning] if version_warning else []) + warnings,
        )

    def _kept_builds(self) -> list[_Build]:
        """The lines before any strategy, and the last build TensorRT did not drop."""
        common, *strategies = self.builds
        kept = next((b for b in reversed(strategies) if not b.dropped), strategies[-1] if strategies else None)
        return [common, kept] if kept else [common]


def _with_foreign_metadata(layer: ObservedLayer, foreign_metadata: dict[str, str]) -> ObservedLayer:
    """Map a Myelin ``{ForeignNode[...]}`` layer by its logged metadata, when non-empty."""
    nodes = parse_metadata(foreign_metadata.get(layer.name, ""))
    if not nodes:
        return layer
    return ObservedLayer(layer.name, layer.type, nodes, "metadata", layer.tactic, layer.inputs, layer.outputs)


def _eli_layer(line: str) -> ObservedLayer:
    """One ``Layer(Type): name, Tactic: T, inputs -> outputs`` line."""
    match = _ELI_LAYER.match(line)
    if not match:
        raise _Unparsed(line)
    ins, _, outs = (match["io"] or "").partition("-> ")
    return _observed(
        match["name"],
        match["type"],
        tactic=match["tactic"],
        inputs=_eli_tensors(ins.rstrip()),
        outputs=_eli_tensors(outs.strip()),
    )


def _eli_tensors(text: str) -> tuple[str, ...]:
    """Tensor names of an Engine Layer Information list; () if no notation fits."""
    for pattern in _TENSORS:
        names, pos = [], 0
        while pos < len(text):
            match = pattern.match(text, pos)
            if not match:
                break
            names.append(match["name"])
            pos = match.end()
        else:
            return tuple(names)
    return ()


def _dump_layer(line: str) -> ObservedLayer:
    """One ``Name: …, LayerType: …, Inputs: [ { Name: … } ], …, Metadata: …`` line.

    Values are read left to right: ``Inputs``/``Constants``/``Outputs`` as lists of
    ``{ Name: … }`` entries (names may contain commas and brackets), ``Metadata`` as the
    rest of the line, any other key up to the next ``, Key: ``.
    """
    head = _DUMP_HEAD.match(line)
    if not head:
        raise _Unparsed(line)
    fields: dict[str, str] = {}
    tensors: dict[str, tuple[str, ...]] = {}
    pos = head.end()
    while pos < len(line):
        key_match = _DUMP_KEY.match(line, pos)
        if not key_match:
            raise _Unparsed(line)
        key, pos = key_match["key"], key_match.end()
        if key == "Metadata":
            fields[key] = line[pos:].strip()
            break
        if key in _DUMP_LISTS and line.startswith("[", pos):
            tensors[key], pos = _dump_tensors(line, pos)
            continue
        following = _DUMP_KEY.search(line, pos)
        end = following.start() if following else len(line)
        fields[key], pos = line[pos:end], end
    return _observed(
        head["name"],
        head["type"].strip() or None,
        metadata=fields.get("Metadata"),
        tactic=fields.get("TacticName") or fields.get("TacticValue"),
        inputs=tensors.get("Inputs", ()) + tensors.get("Constants", ()),
        outputs=tensors.get("Outputs", ()),
    )


def _dump_tensors(line: str, pos: int) -> tuple[tuple[str, ...], int]:
    """Parse ``[ { Name: a, … }, { Name: b, … }]`` at ``pos``; return names and end."""
    names, cursor = [], pos + 1
    while True:
        if line.startswith("]", cursor):
            return tuple(names), cursor + 1
        match = _DUMP_TENSOR.match(line, cursor)
        if not match:
            break
        names.append(match["name"])
        cursor = match.end()
        if line.startswith(",", cursor):
            cursor += 1
    # An entry of another shape: skip the whole list by bracket depth, names unknown.
    depth = 0
    for i in range(pos, len(line)):
        depth += {"[": 1, "]": -1}.get(line[i], 0)
        if depth == 0:
            return (), i + 1
    raise _Unparsed(line)


def _poly_tensors(text: str) -> tuple[str, ...]:
    return tuple(m["name"] for m in _POLY_TENSOR.finditer(text))


def _dotted_version(text: str) -> str:
    """ "8.4.1" -> "8.4.1"; "10.16.2.5" -> "10.16.2"; 8003 -> "8.0.3"; 101401 -> "10.14.1"."""
    if "." in text:
        return ".".join(text.split(".")[:3])
    number = int(text)
    if number >= 100000:  # TensorRT 10+: major * 10000 + minor * 100 + patch
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"  # 8.x: major * 1000 + minor * 100 + patch


def _version_warning(source: str, version: str | None) -> str | None:
    checked = (
        f"{CHECKED_TENSORRT[0][0]}.{CHECKED_TENSORRT[0][1]}-{CHECKED_TENSORRT[1][0]}."
        f"{CHECKED_TENSORRT[1][1]} and TensorRT-RTX {CHECKED_RTX_MAJOR}.x"
    )
    if version is None:
        return f"{source}: the log states no TensorRT version; parsed anyway as TensorRT {checked}"
    match = re.match(r"(TensorRT-RTX)?\s*(\d+)\.(\d+)", version)
    if not match:
        return None  # "TensorRT-RTX" without a number
    major, minor = int(match[2]), int(match[3])
    known = major == CHECKED_RTX_MAJOR if match[1] else CHECKED_TENSORRT[0] <= (major, minor) <= CHECKED_TENSORRT[1]
    if known:
        return None
    return f"{source}: TensorRT {version} is not among the versions these parsers were checked against ({checked}); parsed anyway"


# ----------------------------------------------------------------------------- JSON and files


def _read_text(source: str | os.PathLike[str]) -> str:
    """The text of a file, or an ArtifactError naming the file and the problem."""
    path = Path(source)
    if not path.exists():
        raise ArtifactError(f"{path}: no such file")
    if path.is_dir():
        raise ArtifactError(f"{path}: is a directory, expected a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell's `>` writes UTF-16
        text = data.decode("utf-16", errors="replace")
    elif b"\x00" in data[:4096]:
        raise ArtifactError(f"{path}: is a binary file (a serialized engine?), not a log or JSON")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ArtifactError(f"{path}: file is empty")
    return text


def _looks_like_json(text: str) -> bool:
    """JSON starts with ``{`` or ``[``; a log line may too (``[11/22/2026-...] [I]``)."""
    head = text.lstrip()
    if head.startswith("{"):
        return True
    return head.startswith("[") and not _PREFIX.match(head)


def _load_json(path: str, text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise ArtifactError(f"{path}: JSON ends early at line {exc.lineno}: the file is truncated") from None
        raise ArtifactError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _json_kind(data: object) -> str | None:
    """Which trtexec JSON this is: "layer-info", "profile", "timing" or None."""
    if isinstance(data, dict):
        return "layer-info" if "Layers" in data else None
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        return None
    keys = set().union(*data)
    if "averageMs" in keys or (set(data[0]) == {"count"}):
        return "profile"
    if {"startEnqMs", "latencyMs"} & keys:
        return "timing"
    return None


def _describe_json(data: object) -> str:
    """A short description of unexpected JSON, naming known trtexec kinds."""
    kind = _json_kind(data)
    if kind == "layer-info":
        return "trtexec --exportLayerInfo layer information"
    if kind == "profile":
        return "a trtexec --exportProfile per-layer profile"
    if kind == "timing":
        return "a trtexec --exportTimes timing file (one record per inference)"
    if isinstance(data, dict):
        keys = ", ".join(list(data)[:6]) or "none"
        return f"an object with keys {keys}"
    if isinstance(data, list):
        if not data:
            return "an empty list"
        first = data[0]
        inner = f"objects with keys {', '.join(list(first)[:6])}" if isinstance(first, dict) else type(first).__name__
        return f"a list of {len(data)} {inner}"
    return f"a JSON {type(data).__name__}"


def _is_layer_record(record: object) -> bool:
    """A layer name, or a layer object (``Name`` alone, or ``Name`` and ``LayerType``)."""
    return isinstance(record, str) or (
        isinstance(record, dict) and "Name" in record and (set(record) == {"Name"} or "LayerType" in record)
    )


def _layer_from_record(path: str, index: int, record: object) -> ObservedLayer:
    """One ``--exportLayerInfo`` layer: a name string or a detailed record."""
    if isinstance(record, str):
        return _observed(record, None)
    if not isinstance(record, dict) or not isinstance(record.get("Name"), str):
        raise ArtifactError(f'{path}: layer {index} has no "Name": found {_describe_json(record)}')
    metadata = record.get("Metadata")
    return _observed(
        record["Name"],
        record.get("LayerType"),
        metadata=str(metadata) if metadata is not None else None,
        tactic=record.get("TacticName") or record.get("TacticValue"),
        inputs=_record_tensors(record.get("Inputs")),
        outputs=_record_tensors(record.get("Outputs")),
    )


def _record_tensors(tensors: object) -> tuple[str, ...]:
    if not isinstance(tensors, list):
        return ()
    return tuple(str(t["Name"]) for t in tensors if isinstance(t, dict) and "Name" in t)


def _number(path: str, index: int, record: dict, key: str, kind: type = float):
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArtifactError(f'{path}: profile record {index} has no number "{key}" (found {value!r})')
    return kind(value)


_PROFILE_TITLE = re.compile(r"^=== Profile \((?P<count>\d+) iterations ?\) ===$")


def _profile_from_table(path: str, text: str) -> Profile:
    """The last ``--dumpProfile`` table of a log."""
    tables: list[Profile] = []
    row = None
    for line in text.split("\n"):
        message = _split_prefix(line.rstrip("\r"))[1].strip()
        title = _PROFILE_TITLE.match(message)
        if title:
            tables.append(Profile(path, int(title["count"]), []))
            row = None
        elif tables and row is None and message.startswith("Time(ms)"):
            numbers = 4 if "Median(ms)" in message else 3
            row = re.compile(r"^" + r"([\d.]+)\s+" * numbers + r"(?P<name>.+)$")
        elif row is not None:
            match = row.match(message)
            if not match or match["name"] == "Total":
                row = None
                continue
            values = [float(v) for v in match.groups()[:-1]]
            median = values[2] if len(values) == 4 else None
            tables[-1].layers.append(LayerTiming(match["name"], values[0], values[1], median, values[-1]))
    tables = [t for t in tables if t.layers]
    if not tables:
        raise ArtifactError(
            f"{path}: no per-layer profile: expected trtexec --exportProfile JSON or a "
            "'=== Profile (N iterations ) ===' table from trtexec --dumpProfile"
        )
    return tables[-1]
