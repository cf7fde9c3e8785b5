"""Per-layer profiles: ``trtexec --exportProfile`` JSON and ``--dumpProfile`` tables, and
their pairing with the layer information."""

from __future__ import annotations

import math
import os
import re

from fusionlab.errors import ArtifactError
from fusionlab.trt.artifacts.common import (
    _describe_json,
    _json_kind,
    _load_json,
    _looks_like_json,
    _read_text,
    _split_prefix,
)
from fusionlab.trt.artifacts.model import (
    BuildLog,
    LayerInfo,
    LayerTiming,
    ObservedLayer,
    Profile,
)
from fusionlab.trt.artifacts.nsys import is_sqlite, parse_nsys


def parse_profile(source: str | os.PathLike[str]) -> Profile:
    """Parse a per-layer profile.

    Accepts ``trtexec --exportProfile`` JSON (``[{"count": N}, {"name", "timeMs",
    "averageMs", "medianMs", "percentage"}, ...]``; ``medianMs`` appeared in 8.4; also what
    :class:`~fusionlab.trt.profiler.LayerProfiler` writes), a log holding trtexec's
    ``--dumpProfile`` table (the last one, without its ``Total`` row), and an ``nsys export
    --type sqlite`` file (recognised by the SQLite header; read by :func:`.nsys.parse_nsys`).
    Times are milliseconds: ``timeMs`` summed over ``count`` inferences,
    ``averageMs``/``medianMs`` per inference.

    Raises:
        ArtifactError: missing, empty or unreadable file; invalid or truncated JSON; a
            ``--exportTimes`` timing file (per-inference timestamps, not per layer); JSON
            of another shape or with no layers; a text without a profile table; an
            Nsight Systems report not exported to SQLite; an SQLite file that is not an
            nsys export with TensorRT's NVTX ranges.
    """
    path = str(source)
    if is_sqlite(source):
        return parse_nsys(source)
    if path.endswith((".nsys-rep", ".qdrep")):
        raise ArtifactError(f"{path}: is an Nsight Systems report: export it first with "
                            f"nsys export --type sqlite {path} and pass the .sqlite file")
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


def _number(path: str, index: int, record: dict, key: str, kind: type = float):
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArtifactError(f'{path}: profile record {index} has no number "{key}" (found {value!r})')
    if not math.isfinite(value) or value < 0 or kind is int and value != int(value):
        want = "a whole number >= 0" if kind is int else "a finite number >= 0"
        raise ArtifactError(f'{path}: profile record {index} has "{key}": {value!r}, expected {want}')
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
