"""TensorRT build logs (``trtexec --verbose``, an ILogger capture, the engine inspector):
layers, fusion-pass lines, layer counts and the version."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from fusionlab.errors import ArtifactError
from fusionlab.trt.artifacts.common import (
    DETAILED_HINT,
    _describe_json,
    _dotted_version,
    _looks_like_json,
    _read_text,
    _split_prefix,
    _version_warning,
)
from fusionlab.trt.artifacts.model import BuildLog, FusionEvent, ObservedLayer
from fusionlab.trt.artifacts.names import _observed, parse_metadata
from fusionlab.trt.artifacts.polygraphy import (
    _POLY_SECTION,
    _POLY_TITLE,
    _PolygraphyScan,
)


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
        except RecursionError:
            raise ArtifactError(f"{source}: is JSON nested too deeply to read, not a TensorRT build log") from None
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


class _LogScan(_PolygraphyScan):
    """Reads a log line by line: a small state machine over its sections."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.section: str | None = None  # "dump", "eli", "poly"
        self.dumps: list[list[ObservedLayer]] = []
        self.elis: list[list[ObservedLayer]] = []
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
