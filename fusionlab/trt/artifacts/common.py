"""What every parser shares: reading a file, telling JSON kinds apart, log-line prefixes
and TensorRT versions."""

from __future__ import annotations

import json
import os
import re

from fusionlab.errors import ArtifactError
from fusionlab.files import TEXT_LIMIT, check_readable

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

_PREFIX = re.compile(
    r"^(?:\[(?:\d{1,2}/\d{1,2}/\d{4}-\d{1,2}:\d{2}:\d{2}(?:\.\d+)?|[VIWEF]|TRT|TRT-RTX|TensorRT"
    r"|TensorRT-RTX|VERBOSE|INFO|WARNING|ERROR|INTERNAL_ERROR)\] ?)+"
)


def _split_prefix(line: str) -> tuple[bool, str]:
    """``(had_prefix, message)``: the line without timestamp, severity and ``[TRT]`` tags."""
    match = _PREFIX.match(line)
    return (True, line[match.end() :]) if match else (False, line)


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


def _read_text(source: str | os.PathLike[str]) -> str:
    """The text of a file, or an ArtifactError naming the file and the problem."""
    path = check_readable(source, TEXT_LIMIT, what="log or JSON file", error=ArtifactError)
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
    except RecursionError:
        raise ArtifactError(f"{path}: JSON nested too deeply to read (over Python's recursion limit)") from None


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
