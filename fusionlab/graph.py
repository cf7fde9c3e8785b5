"""The graph layer: an ONNX model as a networkx view with producers, consumers,
constants, attributes and inferred tensor shapes.

Loading never reads external weight files; a constant's value is read lazily, the
first time a rule asks for it (:meth:`Graph.const_value`). Shape inference runs on a
copy of the model whose large initializers are replaced by typed graph inputs, so the
weights are never serialized (``onnx.shape_inference.infer_shapes`` copies every byte
it is given; on a GPT-2 export that is 7.6 s against 0.9 s for ``onnx.load``).

Errors: every unusable input raises :class:`fusionlab.errors.InputError` with one line
that names the file and the problem. What can be analyzed around (an unknown op
domain, symbolic dimensions, If/Loop/Scan subgraphs) becomes a note in
:attr:`Graph.notes` instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper

from fusionlab.errors import InputError
from fusionlab.files import MODEL_LIMIT, check_path, check_readable

#: Op domains TensorRT's ONNX parser knows (the default domain and its alias).
KNOWN_DOMAINS = ("", "ai.onnx")
#: Opsets of the default domain fusionlab is tested on.
SUPPORTED_OPSETS = range(11, 22)
#: Initializers with more elements than this are kept out of shape inference
#: (integer ones up to this size feed Reshape / Slice / Expand shape inputs).
SMALL_CONSTANT = 64
#: Ops whose attributes hold subgraphs fusionlab does not analyze.
SUBGRAPH_OPS = ("If", "Loop", "Scan")


#: Attributes rules do arithmetic with, per op (default ONNX domain): name ->
#: (AttributeProto type, smallest value allowed), from the ONNX operator specs
#: (Conv, ConvTranspose: ``group`` >= 1, ``kernel_shape``/``strides``/``dilations`` >= 1,
#: ``pads``/``output_padding`` >= 0).
_CONV_ATTRS = {
    "group": (onnx.AttributeProto.INT, 1),
    "kernel_shape": (onnx.AttributeProto.INTS, 1),
    "strides": (onnx.AttributeProto.INTS, 1),
    "dilations": (onnx.AttributeProto.INTS, 1),
    "pads": (onnx.AttributeProto.INTS, 0),
}
CHECKED_ATTRIBUTES: dict[str, dict[str, tuple[int, int]]] = {
    "Conv": _CONV_ATTRS,
    "ConvTranspose": {**_CONV_ATTRS, "output_padding": (onnx.AttributeProto.INTS, 0),
                      "output_shape": (onnx.AttributeProto.INTS, 1)},
}


def _check_attributes(model: str, node: str, proto: onnx.NodeProto) -> None:
    """Refuse a node whose :data:`CHECKED_ATTRIBUTES` have the wrong type or range.

    Raises:
        InputError: naming the model, the node, its op and the attribute, e.g. ``Conv
            attribute group must be an integer >= 1, found 0``.
    """
    specs = CHECKED_ATTRIBUTES.get(proto.op_type) if proto.domain in ("", "ai.onnx") else None
    if not specs:
        return
    for attribute in proto.attribute:
        spec = specs.get(attribute.name)
        if spec is None:
            continue
        kind, least = spec
        where = f"{model}: node {node!r} ({proto.op_type})"
        if attribute.type != kind:
            found = onnx.AttributeProto.AttributeType.Name(attribute.type)
            want = "an integer" if kind == onnx.AttributeProto.INT else "a list of integers"
            raise InputError(f"{where}: attribute {attribute.name} must be {want}, found type {found}")
        values = [attribute.i] if kind == onnx.AttributeProto.INT else list(attribute.ints)
        bad = [v for v in values if v < least]
        if bad:
            shown = values[0] if kind == onnx.AttributeProto.INT else values
            each = "" if kind == onnx.AttributeProto.INT else "each "
            raise InputError(f"{where}: attribute {attribute.name} must be {each}an integer >= {least}, "
                             f"found {shown}")
    lists = {a.name: list(a.ints) for a in proto.attribute
             if a.name in ("kernel_shape", "strides", "dilations", "pads")}
    rank = len(lists.get("kernel_shape", [])) or len(lists.get("strides", [])) or len(lists.get("dilations", []))
    for key, values in lists.items():
        want = 2 * rank if key == "pads" else rank
        if rank and len(values) != want:
            raise InputError(f"{model}: node {node!r} ({proto.op_type}): attribute {key} has "
                             f"{len(values)} values, expected {want} for {rank} spatial dims")


def _schema(opset: int | None, cache: dict, proto: onnx.NodeProto):
    """``(min_input, max_input, min_output, max_output, {attribute: AttributeProto type})``
    of the ONNX schema of a default-domain node at ``opset`` (the op's newest schema when
    it is younger than ``opset``), or ``None`` when ONNX has no such op or the node is of
    another domain (the report notes those)."""
    if proto.domain not in KNOWN_DOMAINS or opset is None or opset < 1:
        return None
    key = proto.op_type
    if key not in cache:
        cache[key] = None
        for version in (opset, 10_000):
            try:
                schema = onnx.defs.get_schema(key, version, "")
            except Exception:  # noqa: BLE001 - onnx.defs.SchemaError (a C++-bound type)
                continue
            cache[key] = (schema.min_input, schema.max_input, schema.min_output, schema.max_output,
                          {name: int(a.type) for name, a in schema.attributes.items()})
            break
    return cache[key]


_ATTRIBUTE_TYPES = frozenset(onnx.AttributeProto.AttributeType.values()) - {onnx.AttributeProto.UNDEFINED}


def check_attribute_tags(where: str, proto: onnx.NodeProto) -> None:
    """Refuse an attribute whose type tag is UNDEFINED or no ONNX ``AttributeType``
    (``onnx.helper.get_attribute_value`` cannot decode it).

    Raises:
        InputError: ``<where>: attribute 'axis' has type tag 99, which is no ONNX attribute type``.
    """
    for attribute in proto.attribute:
        if attribute.type not in _ATTRIBUTE_TYPES:
            raise InputError(f"{where}: attribute {attribute.name!r} has type tag {attribute.type}, "
                             "which is no ONNX attribute type")


def _check_schema(model: str, node: str, proto: onnx.NodeProto, schema) -> None:
    """Refuse a node with fewer or more inputs or outputs than its ONNX schema allows
    (trailing ``""`` entries count: ONNX spells an omitted optional input that way), an
    attribute whose type tag is not an ONNX attribute type, or an attribute of another
    type than the schema's (``Gather`` ``axis`` given as a string).

    Raises:
        InputError: naming the model, the node, its op and what is wrong, e.g. ``node
            'q1' (QuantizeLinear) has 0 inputs, ONNX QuantizeLinear takes 2 to 3``.
    """
    where = f"{model}: node {node!r} ({proto.op_type})"
    if schema is None:
        return
    for what, count, least, most in (("inputs", len(proto.input), schema[0], schema[1]),
                                     ("outputs", len(proto.output), schema[2], schema[3])):
        if not least <= count <= most:
            takes = (f"{least}" if least == most else f"{least} or more" if most >= 2**31 - 1
                     else f"{least} to {most}")
            raise InputError(f"{where} has {count} {what}, ONNX {proto.op_type} takes {takes}")
    for attribute in proto.attribute:
        want = schema[4].get(attribute.name)
        if want is not None and attribute.type != want:
            name = onnx.AttributeProto.AttributeType.Name
            raise InputError(f"{where}: attribute {attribute.name} must be of type {name(want)}, "
                             f"found type {name(attribute.type)}")


def _text_fields(model: onnx.ModelProto) -> Iterable[tuple[str, Any]]:
    """``(where, value)`` of every name fusionlab reads from a model: opset domains, the
    graph's and its nodes' names, op types, domains, tensor names, attribute names,
    value infos' names and symbolic dims, initializers' names (subgraphs of If / Loop /
    Scan included)."""
    for o in model.opset_import:
        yield "an opset domain", o.domain
    graphs = [model.graph]
    while graphs:
        g = graphs.pop()
        yield "the graph name", g.name
        for i, n in enumerate(g.node):
            where = f"node {i}"
            yield f"the name of {where}", n.name
            yield f"the op type of {where}", n.op_type
            yield f"the domain of {where}", n.domain
            for t in list(n.input) + list(n.output):
                yield f"a tensor name of {where}", t
            for a in n.attribute:
                yield f"an attribute name of {where}", a.name
                if a.type == onnx.AttributeProto.GRAPH:
                    graphs.append(a.g)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    graphs.extend(a.graphs)
        for v in list(g.input) + list(g.output) + list(g.value_info):
            yield "a value info name", v.name
            for d in v.type.tensor_type.shape.dim:
                yield f"a dim of {v.name!r}" if isinstance(v.name, str) else "a dim", d.dim_param
        for t in g.initializer:
            yield "an initializer name", t.name


def _check_utf8(model_name: str, model: onnx.ModelProto) -> None:
    """Refuse a model whose names are not valid UTF-8 (ONNX strings are UTF-8; protobuf
    hands such a field to Python as ``bytes``, which every consumer would trip over).

    Raises:
        InputError: naming where the bad name is and showing its bytes escaped.
    """
    for where, value in _text_fields(model):
        if isinstance(value, bytes):
            raise InputError(f"{model_name}: {where} is not valid UTF-8 ({value[:60]!r}); "
                             "ONNX names must be UTF-8")


_DATA_TYPES = frozenset(onnx.TensorProto.DataType.values())


def _check_dtypes(model_name: str, model: onnx.ModelProto) -> None:
    """Refuse an initializer whose ``data_type`` is UNDEFINED or no ONNX data type, and a
    graph input, output or value info whose ``elem_type`` is no ONNX data type (0, unset,
    is allowed there; onnx-graphsurgeon and ONNX Runtime fail on the others with a
    KeyError).

    Raises:
        InputError: naming the tensor and the number found.
    """
    g = model.graph
    for t in g.initializer:
        if t.data_type not in _DATA_TYPES or t.data_type == onnx.TensorProto.UNDEFINED:
            raise InputError(f"{model_name}: initializer {t.name!r} has data_type {t.data_type}, "
                             "which is no ONNX tensor data type")
    for kind, values in (("graph input", g.input), ("graph output", g.output), ("value info", g.value_info)):
        for v in values:
            if v.type.HasField("tensor_type") and v.type.tensor_type.elem_type not in _DATA_TYPES:
                raise InputError(f"{model_name}: {kind} {v.name!r} has elem_type "
                                 f"{v.type.tensor_type.elem_type}, which is no ONNX tensor data type")


@dataclass(eq=False)
class Node:
    """One ONNX node.

    Attributes:
        name: the node's name (unnamed nodes get ``<op_type>_<index>``).
        op_type: the ONNX op, e.g. ``"Conv"``.
        domain: the op domain, ``""`` for the default ONNX domain.
        inputs: input tensor names; ``""`` marks an omitted optional input.
        outputs: output tensor names.
        attrs: attribute values decoded with ``onnx.helper.get_attribute_value``
            (ints, floats, bytes, lists; graphs for If/Loop/Scan).
        index: position in topological order (0-based).
    """

    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    index: int
    proto: onnx.NodeProto = field(repr=False)

    def attr(self, key: str, default: Any = None) -> Any:
        """Return attribute ``key`` decoded (bytes become str), or ``default``."""
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else value


class Graph:
    """An ONNX model's main graph, indexed for pattern matching.

    Build it with :func:`load_graph`. ``nx`` is a ``networkx.DiGraph`` over node names
    (an edge per producer -> consumer pair, attribute ``tensors``: the tensor names
    carried). Shapes are tuples whose entries are ints, strings (symbolic
    dimensions) or ``None`` (unknown); a shape is ``None`` when even the rank is
    unknown. Dtypes are ``onnx.TensorProto`` data type ints.
    """

    def __init__(self, model: onnx.ModelProto, path: Path | None):
        self.model = model
        self.path = path
        self.base_dir = path.parent if path else None
        self.notes: list[str] = []
        graph = model.graph
        self.name = path.name if path else (graph.name if isinstance(graph.name, str) and graph.name else "model")
        self.opset = next(
            (o.version for o in model.opset_import if o.domain in KNOWN_DOMAINS), None
        )
        self.initializers: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
        self.inputs = [v.name for v in graph.input if v.name not in self.initializers]
        self.outputs = [v.name for v in graph.output]
        self._const_cache: dict[str, np.ndarray | None] = {}
        self.nodes: dict[str, Node] = {}
        self.producer: dict[str, str] = {}
        self.consumers: dict[str, list[str]] = {}
        self.shapes: dict[str, tuple | None] = {}
        self.dtypes: dict[str, int] = {}
        self.nx = nx.DiGraph()
        self._index_nodes()
        self._check_external_data()

    # ------------------------------------------------------------------ building
    def _index_nodes(self) -> None:
        _check_utf8(self.name, self.model)
        _check_dtypes(self.name, self.model)
        if (self.opset is None or self.opset < 1) and any(n.domain in KNOWN_DOMAINS for n in self.model.graph.node):
            found = "imports no opset" if self.opset is None else f"imports opset {self.opset}"
            raise InputError(f"{self.name}: the model {found} of the default ONNX domain (opset_import), "
                             "which its nodes need (an ONNX opset is 1 or more)")
        raw = list(zip(node_names(self.model.graph.node), self.model.graph.node))
        schemas: dict = {}
        produced: dict[str, str] = {}
        for name, proto in raw:
            for out in proto.output:
                if out:
                    produced[out] = name
        available = set(self.inputs) | set(self.initializers) | set(produced)
        order = self._toposort(raw, produced)
        for index, (name, proto) in enumerate(order):
            self.nx.add_node(name, op_type=proto.op_type, index=index)
            for tensor in proto.input:
                if tensor and tensor not in available:
                    raise InputError(
                        f"{self.name}: node {name!r} ({proto.op_type}) reads tensor "
                        f"{tensor!r}, which no node, graph input or initializer produces"
                    )
            check_attribute_tags(f"{self.name}: node {name!r} ({proto.op_type})", proto)
            _check_attributes(self.name, name, proto)
            _check_schema(self.name, name, proto, _schema(self.opset, schemas, proto))
            attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
            node = Node(name, proto.op_type, proto.domain, tuple(proto.input),
                        tuple(proto.output), attrs, index, proto)
            self.nodes[name] = node
            for tensor in node.outputs:
                if tensor:
                    self.producer[tensor] = name
            for tensor in node.inputs:
                if tensor:
                    self.consumers.setdefault(tensor, []).append(name)
            if proto.domain not in KNOWN_DOMAINS:
                # the parser picks an importer by op type, whatever the domain (live
                # TensorRT-RTX 1.7 builds: com.microsoft Gelu builds as ONNX Gelu,
                # com.microsoft FastGelu stops with "Plugin not found")
                imported = onnx.defs.has(proto.op_type)
                self.notes.append(
                    f"node {name!r}: op {proto.op_type!r} of domain {proto.domain!r}: "
                    + (f"TensorRT's ONNX parser ignores the domain and imports it as the ONNX "
                       f"op {proto.op_type}" if imported else
                       "TensorRT's ONNX parser has no importer for it (it needs a TensorRT plugin "
                       "of that name)")
                    + "; kept as its own layer, the rest is analyzed"
                )
            if proto.op_type in SUBGRAPH_OPS:
                self.notes.append(
                    f"node {name!r}: the subgraph(s) of this {proto.op_type} are not analyzed"
                )
        for tensor in self.outputs:
            if tensor not in available:
                raise InputError(
                    f"{self.name}: graph output {tensor!r} is produced by no node, graph "
                    "input or initializer"
                )
        if self.opset is not None and self.opset not in SUPPORTED_OPSETS:
            self.notes.append(
                f"opset {self.opset} is outside the opsets fusionlab is tested on "
                f"({SUPPORTED_OPSETS.start}-{SUPPORTED_OPSETS.stop - 1})"
            )

    def _toposort(self, raw, produced):
        """Fill :attr:`nx` (an edge per producer -> consumer, attribute ``tensors``) and
        return ``raw`` in topological order: the file's order when it already is one (as
        ONNX requires), else networkx's lexicographical order by file position."""
        position = {name: i for i, (name, _) in enumerate(raw)}
        dig = self.nx
        dig.add_nodes_from(name for name, _ in raw)
        in_order = True
        for i, (name, proto) in enumerate(raw):
            for tensor in proto.input:
                src = produced.get(tensor)
                if src is None:
                    continue
                in_order = in_order and position[src] < i
                if dig.has_edge(src, name):
                    dig.edges[src, name]["tensors"].append(tensor)
                else:
                    dig.add_edge(src, name, tensors=[tensor])
        if in_order:
            return raw
        try:
            order = list(nx.lexicographical_topological_sort(dig, key=position.__getitem__))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(dig)
            names = " -> ".join(a for a, _ in cycle)
            raise InputError(f"{self.name}: the graph has a cycle: {names} -> {cycle[0][0]}")
        protos = dict(raw)
        return [(name, protos[name]) for name in order]

    def _check_external_data(self) -> None:
        if self.base_dir is None:
            return
        root = self.base_dir.resolve()
        for tensor in self.initializers.values():
            if tensor.data_location != onnx.TensorProto.EXTERNAL:
                continue
            info = {e.key: e.value for e in tensor.external_data}
            location = info.get("location", "")
            check_path(root / location, f"{self.name}: external data location of initializer {tensor.name!r}")
            target = (root / location).resolve()
            if os.path.isabs(location) or root not in target.parents:
                raise InputError(
                    f"{self.name}: initializer {tensor.name!r} points at external data "
                    f"{location!r}, outside the model's folder {str(root)!r}"
                )
            if not target.is_file():
                raise InputError(
                    f"{self.name}: external data file {location!r} of initializer "
                    f"{tensor.name!r} is missing (looked in {str(root)!r})"
                )

    # ------------------------------------------------------------ shape inference
    def infer_shapes(self, inputs: dict[str, list[int]] | None = None) -> None:
        """Fill :attr:`shapes` and :attr:`dtypes` by ONNX shape inference on a light copy.

        Large initializers become typed graph inputs in the copy, so no weight bytes
        are serialized. Failures become a note; known value_info is used as is.
        ``inputs`` (``{input name: dims}``, e.g. the ``--optShapes`` of
        :mod:`fusionlab.shapes`) replaces those inputs' declared dims in the copy, so
        the sizes behind a symbolic dimension are known; the model is not changed.
        """
        model = self.model
        light = onnx.ModelProto()
        light.ir_version = model.ir_version
        light.opset_import.extend(model.opset_import)
        g = light.graph
        g.name = model.graph.name
        g.node.extend(model.graph.node)
        g.output.extend(model.graph.output)
        inputs = inputs or {}
        for v in model.graph.input:
            if v.name in self.initializers:
                continue
            if v.name in inputs:
                v = helper.make_tensor_value_info(v.name, v.type.tensor_type.elem_type, list(inputs[v.name]))
            g.input.append(v)
        for tensor in model.graph.initializer:
            size = int(np.prod(tensor.dims)) if tensor.dims else 1
            small_int = tensor.data_type in _INT_TYPES and size <= SMALL_CONSTANT
            if small_int and tensor.data_location != onnx.TensorProto.EXTERNAL:
                g.initializer.append(tensor)
            else:
                g.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
        g.value_info.extend(model.graph.value_info)
        try:
            inferred = onnx.shape_inference.infer_shapes(light, strict_mode=False, data_prop=True)
        except Exception as exc:  # onnx raises several C++-bound types
            self.notes.append(f"shape inference failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); sizes unknown where not annotated")
            inferred = light
        symbolic: list[str] = []
        for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
            ttype = vi.type.tensor_type
            if not vi.type.HasField("tensor_type"):
                continue
            self.dtypes[vi.name] = ttype.elem_type
            if not ttype.HasField("shape"):
                self.shapes[vi.name] = None
                continue
            dims = []
            for d in ttype.shape.dim:
                if d.HasField("dim_value"):
                    dims.append(d.dim_value)
                elif d.HasField("dim_param"):
                    dims.append(d.dim_param)
                else:
                    dims.append(None)
            self.shapes[vi.name] = tuple(dims)
            if vi.name in self.inputs and any(not isinstance(d, int) for d in dims):
                symbolic.append(f"{vi.name}{list(dims)}")
        for tensor in model.graph.initializer:
            self.dtypes[tensor.name] = tensor.data_type
            self.shapes[tensor.name] = tuple(tensor.dims)
        if inputs:
            self.notes.append("predicted at input shapes " + ", ".join(f"{k}{list(v)}" for k, v in inputs.items()))
        if symbolic:
            self.notes.append(
                "symbolic shapes: " + ", ".join(symbolic)
                + "; checks that need these sizes are skipped where the size is unknown"
            )

    # ------------------------------------------------------------------ queries
    def shape(self, tensor: str) -> tuple | None:
        """Inferred shape of ``tensor`` (see class doc), or ``None`` if unknown."""
        return self.shapes.get(tensor)

    def dtype(self, tensor: str) -> int | None:
        """ONNX ``TensorProto`` data type of ``tensor``, or ``None`` if unknown."""
        return self.dtypes.get(tensor)

    def is_constant(self, tensor: str) -> bool:
        """True for initializers and outputs of ``Constant`` nodes."""
        if tensor in self.initializers:
            return True
        src = self.producer.get(tensor)
        return src is not None and self.nodes[src].op_type == "Constant"

    def const_value(self, tensor: str) -> np.ndarray | None:
        """The value of a constant tensor as a numpy array, or ``None``.

        Reads external data on first use only (from the model's folder).
        """
        if tensor in self._const_cache:
            return self._const_cache[tensor]
        value = None
        if tensor in self.initializers:
            proto = self.initializers[tensor]
            try:
                value = numpy_helper.to_array(proto, base_dir=str(self.base_dir or ""))
            except Exception as exc:
                raise InputError(f"{self.name}: cannot read initializer {tensor!r}: {exc}") from None
        else:
            src = self.producer.get(tensor)
            if src is not None and self.nodes[src].op_type == "Constant":
                node = self.nodes[src]
                if "value" in node.attrs:
                    value = numpy_helper.to_array(node.attrs["value"])
                else:
                    for key in ("value_float", "value_int"):
                        if key in node.attrs:
                            value = np.array(node.attrs[key])
                    for key in ("value_floats", "value_ints"):
                        if key in node.attrs:
                            value = np.array(node.attrs[key])
        self._const_cache[tensor] = value
        return value

    def node_of(self, tensor: str) -> Node | None:
        """The node producing ``tensor``, or ``None`` for inputs and initializers."""
        src = self.producer.get(tensor)
        return None if src is None else self.nodes[src]

    def consumers_of(self, tensor: str) -> list[Node]:
        """Nodes reading ``tensor``, in topological order."""
        return [self.nodes[n] for n in self.consumers.get(tensor, ())]


_INT_TYPES = {
    onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16,
    onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.BOOL,
}


def node_names(nodes: Iterable[onnx.NodeProto]) -> list[str]:
    """The unique name fusionlab gives each node, in file order: its own name, else
    ``<op_type>_<index>`` (index in the file); a repeated name gets ``_2``, ``_3``...

    Every report, rewrite and comparison names nodes this way (``fusionlab rewrite``
    writes these names into the model it rewrites).
    """
    used: set[str] = set()
    names = []
    for i, proto in enumerate(nodes):
        name = proto.name or f"{proto.op_type}_{i}"
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        names.append(name)
    return names


def in_memory_model(model: object) -> onnx.ModelProto | None:
    """The ``ModelProto`` of an in-memory model, or ``None`` for a path.

    Accepts an ``onnx.ModelProto``; ``bytes`` / ``bytearray`` / ``memoryview`` holding a
    serialized ``ModelProto`` (``model.SerializeToString()``, at most
    :data:`fusionlab.files.MODEL_LIMIT` bytes); or any object with a ``model_proto``
    attribute that is a ``ModelProto``, such as the ``torch.onnx.ONNXProgram`` that
    ``torch.onnx.export(..., dynamo=True)`` returns (duck-typed: torch is never imported).

    An in-memory model has no folder, so external data cannot be looked up: every
    initializer must hold its bytes (``onnx.load(path)`` loads them by default;
    ``onnx.load_external_data_for_model(model, folder)`` after ``load_external_data=False``;
    or pass the file's path instead).

    Raises:
        InputError: bytes that are not a serialized ONNX model, or over the size limit;
            an initializer of the in-memory model that keeps its data in an external file.
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        if len(data) > MODEL_LIMIT:
            raise InputError(f"model: {len(data)} bytes is over the {MODEL_LIMIT}-byte limit for an ONNX model")
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(data)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise InputError(f"model: bytes are not a serialized ONNX model (protobuf parse failed: "
                             f"{exc or 'truncated or corrupt'})") from None
    elif isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(getattr(model, "model_proto", None), onnx.ModelProto):
        proto = model.model_proto
    else:
        return None
    for tensor in proto.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            raise InputError(
                f"{proto.graph.name or 'model'}: initializer {tensor.name!r} keeps its data in the external "
                f"file {location!r}, which an in-memory model cannot read; load it first "
                "(onnx.load_external_data_for_model(model, folder)) or pass the model's path")
    return proto


def load_graph(model: str | os.PathLike | onnx.ModelProto | bytes, *, infer: bool = True) -> Graph:
    """Load an ONNX model into a :class:`Graph`: a path, or an in-memory model (a
    ``ModelProto``, its serialized ``bytes`` or an object with ``.model_proto`` such as a
    ``torch.onnx.ONNXProgram``; see :func:`in_memory_model`).

    External data of a model on disk is checked (present, inside the model's folder)
    but not read; an in-memory model must hold all its weights.

    Raises:
        InputError: missing path, a directory, a FIFO, device or other special file, a
            file over :data:`fusionlab.files.MODEL_LIMIT`, a file or bytes that are not an
            ONNX model (protobuf parse failure or no graph), a cycle, a tensor no node
            produces, missing or escaping external data, external data in an in-memory
            model, or an object that is neither a path nor a model.
    """
    path: Path | None = None
    proto = in_memory_model(model)
    if proto is None:
        if not isinstance(model, (str, os.PathLike)):
            raise InputError(f"model must be a path, bytes, an onnx.ModelProto or an object with "
                             f".model_proto (torch.onnx.ONNXProgram), got {type(model).__name__}")
        path = check_path(model, "ONNX model")
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not an ONNX model file")
        check_readable(path, MODEL_LIMIT, what="ONNX model")
        try:
            proto = onnx.load_model(str(path), load_external_data=False)
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise InputError(f"{path}: not a valid ONNX model (protobuf parse failed: {exc or 'truncated or corrupt'})") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not proto.HasField("graph") or (proto.ir_version == 0 and not proto.graph.node):
        where = path if path else "model"
        raise InputError(f"{where}: not an ONNX model (no graph or IR version in the file)")
    graph = Graph(proto, path)
    if infer:
        graph.infer_shapes()
    return graph


def model_files(model: str | os.PathLike) -> list[Path]:
    """The files a model on disk is made of: the ``.onnx`` file, then every external-data
    file its initializers name (``location``, relative to the model's folder).

    For the output policy (:func:`fusionlab.files.check_outputs`): an output must not
    overwrite any of them. A file that is missing, special or not an ONNX model yields
    just ``[model]`` (:func:`load_graph` reports the problem). Reads the model's protobuf
    without its external data.

    Raises:
        InputError: a path :func:`fusionlab.files.check_path` refuses (NUL, PATH_MAX,
            NAME_MAX); the model is a FIFO, device or other special file, or too large
            (:func:`fusionlab.files.check_readable`).
    """
    path = check_path(model, "ONNX model")
    files = [path]
    if not path.exists() or path.is_dir():
        return files
    check_readable(path, MODEL_LIMIT, what="ONNX model")
    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - load_graph gives the real message later
        return files
    seen = set()
    for tensor in proto.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        if location and location not in seen:
            seen.add(location)
            files.append(check_path(path.parent / location,
                                    f"{path}: external data location of initializer {tensor.name!r}"))
    return files
