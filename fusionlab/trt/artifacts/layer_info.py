"""``trtexec --exportLayerInfo`` JSON (detailed or names-only), or any text a log parser
reads."""

from __future__ import annotations

import os

from fusionlab.errors import ArtifactError
from fusionlab.trt.artifacts.common import (
    NAMES_ONLY_HINT,
    _describe_json,
    _load_json,
    _looks_like_json,
    _read_text,
)
from fusionlab.trt.artifacts.log import parse_log_text
from fusionlab.trt.artifacts.model import LayerInfo, ObservedLayer
from fusionlab.trt.artifacts.names import _observed


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
