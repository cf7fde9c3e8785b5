"""ONNX node names from what TensorRT calls a layer: its ``Metadata`` (exact) or its name
("name-join", approximate)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fusionlab.trt.artifacts.model import ObservedLayer


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
