"""Graph-edit helpers for rules' rewrites, on an ``onnx_graphsurgeon`` graph.

A rule's ``rewrite(self, m, graph)`` finds its nodes with :func:`node_of` /
:func:`tensor_of`, edits them, and raises :class:`CannotRewrite` (before editing) when
the match cannot be fixed without changing the model's math.
"""

from __future__ import annotations

import numpy as np
import onnx_graphsurgeon as gs

from fusionlab.errors import CannotRewrite  # noqa: F401 - defined in fusionlab.errors, re-exported here


def node_of(graph: gs.Graph, name: str) -> gs.Node:
    """The node named ``name`` in the onnx-graphsurgeon ``graph``.

    Raises:
        CannotRewrite: no such node (an earlier rewrite of the round removed it).
    """
    for node in graph.nodes:
        if node.name == name:
            return node
    raise CannotRewrite(f"node {name!r} is no longer in the graph")


def tensor_of(graph: gs.Graph, name: str) -> gs.Tensor:
    """The tensor named ``name`` (a Variable or Constant) in ``graph``.

    Raises:
        CannotRewrite: no such tensor.
    """
    tensor = graph.tensors().get(name)
    if tensor is None:
        raise CannotRewrite(f"tensor {name!r} is not in the graph")
    return tensor


def fresh_name(graph: gs.Graph, stem: str) -> str:
    """A node / tensor name not used in ``graph``: ``stem``, else ``stem_2``, ``stem_3``..."""
    used = {n.name for n in graph.nodes} | set(graph.tensors())
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    return name


def constant(graph: gs.Graph, stem: str, value: np.ndarray) -> gs.Constant:
    """A new ``gs.Constant`` holding ``value`` under a fresh name."""
    return gs.Constant(fresh_name(graph, stem), np.ascontiguousarray(value))


def constant_value(tensor: gs.Tensor) -> np.ndarray | None:
    """The value of a ``gs.Constant`` (or of a Constant node's output), else None."""
    if isinstance(tensor, gs.Constant):
        return np.asarray(tensor.values)
    if len(tensor.inputs) == 1 and tensor.inputs[0].op == "Constant":
        value = tensor.inputs[0].attrs.get("value")
        if isinstance(value, gs.Constant):
            return np.asarray(value.values)
    return None


def bypass(node: gs.Node, becomes: gs.Tensor) -> None:
    """Erase ``node``: every consumer of its first output reads ``becomes`` instead."""
    out = node.outputs[0]
    for consumer in list(out.outputs):
        for i, t in enumerate(consumer.inputs):
            if t is out:
                consumer.inputs[i] = becomes
    node.outputs.clear()
    node.inputs.clear()


def erase(graph: gs.Graph, node: gs.Node, keep: gs.Tensor) -> None:
    """Erase ``node`` whose first output equals ``keep`` (an identity): its readers read
    ``keep``. When that output is a graph output, ``keep``'s producer writes the graph
    output instead (so output names stay).

    Raises:
        CannotRewrite: the output is a graph output and ``keep`` is a graph input, a
            constant, another graph output or read by other nodes (renaming it would
            change the graph's interface or another reader).
    """
    out = node.outputs[0]
    if out in graph.outputs:
        producer = keep.inputs[0] if len(keep.inputs) == 1 else None
        readers = [c for c in keep.outputs if c is not node]
        if producer is None or keep in graph.inputs or keep in graph.outputs or readers:
            why = ("a graph input" if keep in graph.inputs else "a constant" if producer is None
                   else "a graph output" if keep in graph.outputs else f"also read by {readers[0].name}")
            raise CannotRewrite(f"{node.name} writes graph output {out.name} from {keep.name}, which is "
                                f"{why}; erasing it would rename a graph output")
        node.outputs.clear()
        node.inputs.clear()
        producer.outputs[producer.outputs.index(keep)] = out
        return
    bypass(node, keep)


def qdq_pair(graph: gs.Graph, x: gs.Tensor, scale: gs.Tensor, zero_point: gs.Tensor | None,
             axis: int | None, stem: str, out: gs.Tensor | None = None) -> gs.Tensor:
    """Add QuantizeLinear -> DequantizeLinear on ``x`` (same scale, zero_point and axis);
    returns the dequantized tensor (``out`` when given, else a new one)."""
    attrs = {} if axis is None else {"axis": int(axis)}
    qin = [x, scale] + ([zero_point] if zero_point is not None else [])
    q_out = gs.Variable(fresh_name(graph, f"{stem}_q_out"),
                        dtype=zero_point.dtype if zero_point is not None else np.int8)
    graph.nodes.append(gs.Node("QuantizeLinear", fresh_name(graph, f"{stem}_QuantizeLinear"), attrs,
                               inputs=qin, outputs=[q_out]))
    dq_out = out if out is not None else gs.Variable(fresh_name(graph, f"{stem}_dq_out"), dtype=x.dtype)
    graph.nodes.append(gs.Node("DequantizeLinear", fresh_name(graph, f"{stem}_DequantizeLinear"), attrs,
                               inputs=[q_out, scale] + ([zero_point] if zero_point is not None else []),
                               outputs=[dq_out]))
    return dq_out
