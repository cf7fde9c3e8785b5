"""Shape, permutation, reduce-axis and reader helpers of the shuffle, scale and reduce rules
(TRT106, TRT120-TRT130)."""

from __future__ import annotations

import numpy as np

from fusionlab.rules.common.values import constant_of

def scale_mode(value: np.ndarray | None, out_shape: tuple | None) -> str | None:
    """TensorRT Scale mode of a constant operand: ``uniform`` (one value),
    ``channel`` (one value per channel of an NCHW output, shape [C,1,1] or [1,C,1,1]),
    ``elementwise``, or None when unknown."""
    if value is None:
        return None
    if value.size == 1:
        return "uniform"
    dims = [d for d in value.shape]
    while dims and dims[0] == 1 and len(dims) > 3:
        dims = dims[1:]
    if len(dims) == 3 and dims[1] == 1 and dims[2] == 1:
        if out_shape is None or len(out_shape) < 2 or out_shape[1] in (dims[0], None) or not isinstance(out_shape[1], int):
            return "channel"
    return "elementwise"




def transpose_perm(graph, node) -> tuple[int, ...] | None:
    """The ``perm`` of a Transpose node; without the attribute, the reversed dims (needs
    the input's rank). None when the rank is unknown."""
    perm = node.attr("perm")
    if perm is not None:
        return tuple(int(p) for p in perm)
    shape = graph.shape(node.inputs[0])
    return None if shape is None else tuple(reversed(range(len(shape))))


def compose_perms(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    """The one ``perm`` equal to Transpose(first) then Transpose(second)."""
    return tuple(first[i] for i in second)


def is_identity_perm(perm: tuple[int, ...]) -> bool:
    return all(i == p for i, p in enumerate(perm))


def static_equal_shapes(graph, a: str, b: str) -> bool:
    """True when tensors ``a`` and ``b`` have the same known shape (symbolic dims count
    as equal only under the same name)."""
    sa, sb = graph.shape(a), graph.shape(b)
    return sa is not None and sb is not None and None not in sa and tuple(sa) == tuple(sb)


def reduce_axes(state, node, rank: int) -> tuple[int, ...] | None:
    """Sorted non-negative axes a Reduce* node reduces (attribute ``axes``, or the
    constant second input from opset 18 / ReduceSum 13); every axis when none are given
    (``()`` with ``noop_with_empty_axes=1``). None when the axes are computed at runtime."""
    axes = node.attr("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        value = constant_of(state, state.resolve(node.inputs[1]))
        if value is None:
            return None
        axes = [int(a) for a in np.asarray(value).reshape(-1)]
    if not axes:
        return () if node.attr("noop_with_empty_axes", 0) else tuple(range(rank))
    return tuple(sorted(int(a) % rank for a in axes))


def network_io(graph, inputs: list[str], outputs: list[str]) -> list[str]:
    """Which of ``inputs`` are network inputs and ``outputs`` network outputs, as text
    ("network input x", "network output y")."""
    found = [f"network input {t}" for t in inputs if t in graph.inputs]
    return found + [f"network output {t}" for t in outputs if t in graph.outputs]


#: Layer kinds holding a softmax: the ONNX ops and a ``SoftMax`` layer a rule fused.



def live_readers(state, tensor: str) -> list[str]:
    """Live nodes reading ``tensor``, looking through erased nodes whose output became it."""
    found: list[str] = []
    for c in state.graph.consumers.get(tensor, ()):
        if not state.is_absorbed(c):
            found.append(c)
            continue
        for out in state.graph.nodes[c].outputs:
            if out and out != tensor and state.resolve(out) == state.resolve(tensor):
                found.extend(r for r in live_readers(state, out) if r not in found)
    return found




