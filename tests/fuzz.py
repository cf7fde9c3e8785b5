"""A seeded mutation fuzzer over the shipped models (issue 10, item 8).

:func:`make_case` turns ``(seed, index)`` into one hostile input: a seed model (small
copies of ``models/resnet18.onnx``, ``models/resnet18_qdq_floatbias.onnx`` and
``models/bert_tiny.onnx``), one to three mutations applied to its protobuf, and the
serialized bytes (which a byte-level mutation may then truncate, flip or corrupt with
invalid UTF-8). The same ``(seed, index)`` always gives the same bytes and the same
description, so a failing case reruns with
``FUSIONLAB_FUZZ_SEED=<seed> FUSIONLAB_FUZZ_ONLY=<index> pytest tests/test_fuzz.py``.

Mutations (:data:`PROTO_MUTATIONS`, :data:`BYTE_MUTATIONS`), each drawn from the ONNX
protobuf's own fields (``NodeProto.op_type``/``input``/``output``/``domain``/``attribute``,
``AttributeProto.type``/``i``/``ints``/``s``/``f``, ``TensorProto.data_type``/``dims``,
``TypeProto.Tensor.elem_type``, ``TensorShapeProto.Dimension``, ``OperatorSetIdProto``):

- node fields: op_type swapped, emptied or hostile; an input or output deleted, renamed
  to a missing tensor or to another tensor (cycles); a node deleted or duplicated;
- attributes: type tag changed without the value, ints set to 0 / negative / huge,
  replaced by a string, a list or a float, deleted, an unknown one added;
- names: a node or a tensor (everywhere it is used) renamed to a hostile name (ANSI CSI
  and OSC sequences, newline + a forged ``fusionlab: error:`` line, rich markup
  ``[/bold]`` ``[link=...]``, RLO U+202E, NUL, C1 controls), or to invalid UTF-8 bytes
  in the raw protobuf;
- types and shapes: ``elem_type`` / ``data_type`` set to other, undefined or 0 values;
  graph input dims set to 0, -1, 2**40, symbolic or hostile ``dim_param``; initializer
  dims changed so they no longer match the data;
- opsets and domains: the default opset set to 0, 1, 999 or negative; an unknown or
  hostile domain on a node, with or without its opset import; ``ir_version`` changed;
- any field: one set field of a random message (model, graph, node, attribute,
  initializer, value info, type, shape, dimension, opset import) cleared;
- bytes: the serialized model truncated, random bytes flipped.

Standard library + onnx + numpy only; imported by tests/test_fuzz.py.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

MODELS = Path(__file__).resolve().parents[1] / "models"

#: Names a hostile model may carry: terminal escapes, forged report lines, rich markup,
#: bidi and other controls.
HOSTILE_NAMES = (
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://example.invalid/\x07click\x1b]8;;\x07",
    "\x1b[2J\x1b[H",
    "a\nfusionlab: error: forged",
    "cr\roverwrite",
    "[/bold]",
    "[/]",
    "[link=https://example.invalid/]click[/link]",
    "[bold red]loud",
    "\u202eevil.onnx",
    "nul\x00byte",
    "c1\x85\x9bcontrol",
    "tab\tand\x7fdel",
    "\u2066isolate\u2069",
    "line\u2028sep",
    "",
    " ",
    "%s%n{0}{}",
    "x" * 5000,
    "名前/ノード",
)

#: Op types to swap in: real ONNX ops with other arities, unknown ones, hostile ones.
OP_TYPES = ("Conv", "Relu", "Add", "MatMul", "Gemm", "BatchNormalization", "QuantizeLinear",
            "DequantizeLinear", "LayerNormalization", "Softmax", "Reshape", "Transpose",
            "ConvTranspose", "MaxPool", "Concat", "Split", "If", "Loop", "Identity",
            "NotAnOp", "", "\x1b[31mConv", "[/]", "Conv\n")

#: Integer attribute values that break arithmetic or allocation.
BAD_INTS = (0, -1, -2**31, 2**31, 2**40, 2**62, 2**63 - 1, -2**63, 3, 7)

#: TensorProto data types: defined ones, the UNDEFINED 0 and values past the enum.
DTYPES = (0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 17, 21, 23, 40, 255, -1)

#: Dimension values for graph inputs and initializers.
BAD_DIMS = (0, -1, 1, 2**40, 2**62, "N", "batch\x1b[31m", "[/]")


@dataclass
class Case:
    """One fuzz case: the bytes of the model file and what was done to get them.

    Attributes:
        seed: the run's seed; index: the case's number in the run.
        base: the seed model's name (``resnet18_small``, ``bert_tiny``...).
        mutations: one readable line per mutation applied, in order.
        data: the model file's bytes (may not parse).
    """

    seed: int
    index: int
    base: str
    mutations: list[str] = field(default_factory=list)
    data: bytes = b""

    def describe(self) -> str:
        """The case as one line: how to rerun it and what it holds."""
        return (f"FUSIONLAB_FUZZ_SEED={self.seed} FUSIONLAB_FUZZ_ONLY={self.index} "
                f"(base {self.base}; mutations: {'; '.join(self.mutations) or 'none'})")


# --- seed models --------------------------------------------------------------------------

#: Channel counts of the ResNet-18 exports shrunk for the fuzzer (weights 256x smaller).
_SHRINK = {64: 4, 128: 8, 256: 16, 512: 32, 1000: 10}


def _shrunk(path: Path) -> onnx.ModelProto:
    """A ResNet-18 export with every channel count divided (``_SHRINK``) and a 1x3x32x32
    input: the same graph, nodes and attributes, weights of a few kB."""
    model = onnx.load(str(path))
    graph = model.graph
    for i, init in enumerate(graph.initializer):
        array = numpy_helper.to_array(init)
        shape = tuple(_SHRINK.get(d, d) for d in array.shape)
        small = np.resize(array.reshape(-1), shape).astype(array.dtype) if array.size else array
        new = numpy_helper.from_array(small.reshape(shape), init.name)
        graph.initializer[i].CopyFrom(new)
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        for j, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                dim.dim_value = 32 if (j >= 2 and dim.dim_value == 224) else _SHRINK.get(dim.dim_value, dim.dim_value)
    return model


@functools.cache
def seed_models() -> dict[str, bytes]:
    """The fuzzer's seed models, serialized: name -> bytes (built once per process)."""
    return {
        "resnet18_small": _shrunk(MODELS / "resnet18.onnx").SerializeToString(),
        "resnet18_qdq_floatbias_small": _shrunk(MODELS / "resnet18_qdq_floatbias.onnx").SerializeToString(),
        "bert_tiny": onnx.load(str(MODELS / "bert_tiny.onnx")).SerializeToString(),
    }


# --- protobuf mutations -------------------------------------------------------------------


def _node(rng: random.Random, model: onnx.ModelProto):
    nodes = model.graph.node
    return (rng.randrange(len(nodes)), nodes[rng.randrange(len(nodes))]) if nodes else (None, None)


def _tensor_names(model: onnx.ModelProto) -> list[str]:
    g = model.graph
    names = {i.name for i in g.input} | {i.name for i in g.initializer} | {o.name for o in g.output}
    for n in g.node:
        names.update(t for t in list(n.input) + list(n.output) if t)
    return sorted(names)


def m_op_type(rng, model):
    _, node = _node(rng, model)
    if node is None:
        return "no node"
    new = rng.choice(OP_TYPES)
    old, node.op_type = node.op_type, new
    return f"node {node.name!r} op_type {old!r} -> {new!r}"


def _mutate_edge(rng, model, field: str, replacement) -> str:
    """Delete one of a random node's ``field`` (``"input"`` / ``"output"``) names, or set it
    to ``replacement(rng, model, node, choice)`` (choice 1 to 3)."""
    _, node = _node(rng, model)
    names = getattr(node, field) if node is not None else None
    if not names:
        return f"no node {field}"
    k = rng.randrange(len(names))
    choice = rng.randrange(4)
    if choice == 0:
        old = names.pop(k)
        return f"node {node.name!r} {field} {k} ({old!r}) deleted"
    new = replacement(rng, model, node, choice)
    old, names[k] = names[k], new
    return f"node {node.name!r} {field} {k} {old!r} -> {new!r}"


def m_node_input(rng, model):
    return _mutate_edge(rng, model, "input", lambda rng, model, node, choice: (
        "missing_tensor" if choice == 1 else "" if choice == 2 else rng.choice(_tensor_names(model))))


def m_node_output(rng, model):
    return _mutate_edge(rng, model, "output", lambda rng, model, node, choice: (
        "" if choice == 1 else rng.choice(_tensor_names(model)) if choice == 2
        else node.input[0] if node.input else "self"))


def m_delete_node(rng, model):
    i, node = _node(rng, model)
    if node is None:
        return "no node"
    del model.graph.node[i]
    return f"node {node.name!r} deleted"


def m_duplicate_node(rng, model):
    i, node = _node(rng, model)
    if node is None:
        return "no node"
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    if rng.random() < 0.5:
        copy.name = node.name + "_dup"
    model.graph.node.insert(rng.randrange(len(model.graph.node) + 1), copy)
    return f"node {node.name!r} duplicated (copy named {copy.name!r})"


def _attr(rng, model):
    with_attrs = [n for n in model.graph.node if n.attribute]
    if not with_attrs:
        return None, None
    node = rng.choice(with_attrs)
    return node, node.attribute[rng.randrange(len(node.attribute))]


def m_attribute(rng, model):
    node, attr = _attr(rng, model)
    if node is None:
        return "no attribute"
    what = rng.randrange(8)
    where = f"node {node.name!r} ({node.op_type}) attribute {attr.name!r}"
    if what == 0:
        new = rng.choice([t for t in onnx.AttributeProto.AttributeType.values() if t != attr.type])
        attr.type = new
        return f"{where} type tag -> {new} (value kept)"
    if what == 1:
        value = rng.choice(BAD_INTS)
        attr.ClearField("ints")
        attr.ClearField("s")
        attr.type, attr.i = onnx.AttributeProto.INT, value
        return f"{where} -> int {value}"
    if what == 2:
        values = [rng.choice(BAD_INTS) for _ in range(rng.randrange(0, 6))]
        attr.ClearField("ints")
        attr.ints.extend(values)
        attr.type = onnx.AttributeProto.INTS
        return f"{where} -> ints {values}"
    if what == 3:
        value = rng.choice(HOSTILE_NAMES).encode("utf-8", "surrogatepass")
        attr.type, attr.s = onnx.AttributeProto.STRING, value
        return f"{where} -> string {value!r}"
    if what == 4:
        value = rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e38, -0.0])
        attr.type, attr.f = onnx.AttributeProto.FLOAT, value
        return f"{where} -> float {value}"
    if what == 5:
        node.attribute.remove(attr)
        return f"{where} deleted"
    if what == 6:
        extra = node.attribute.add()
        extra.name, extra.type, extra.i = rng.choice(["group", "axis", "bogus\x1b[31m", ""]), onnx.AttributeProto.INT, rng.choice(BAD_INTS)
        return f"node {node.name!r} attribute {extra.name!r} = {extra.i} added"
    values = [rng.uniform(-1e9, 1e9) for _ in range(rng.randrange(0, 4))]
    attr.ClearField("floats")
    attr.floats.extend(values)
    attr.type = onnx.AttributeProto.FLOATS
    return f"{where} -> floats {len(values)} values"


def m_rename_node(rng, model):
    _, node = _node(rng, model)
    if node is None:
        return "no node"
    new = rng.choice(HOSTILE_NAMES)
    old, node.name = node.name, new
    return f"node {old!r} renamed {new!r}"


def _rename_tensor(model: onnx.ModelProto, old: str, new: str) -> None:
    g = model.graph
    for n in g.node:
        for seq in (n.input, n.output):
            for k, t in enumerate(seq):
                if t == old:
                    seq[k] = new
    for seq in (g.input, g.output, g.value_info, g.initializer):
        for item in seq:
            if item.name == old:
                item.name = new


def m_rename_tensor(rng, model):
    names = _tensor_names(model)
    if not names:
        return "no tensor"
    old, new = rng.choice(names), rng.choice(HOSTILE_NAMES)
    _rename_tensor(model, old, new)
    return f"tensor {old!r} renamed {new!r} everywhere"


def m_dtype(rng, model):
    g = model.graph
    if rng.random() < 0.5 and g.initializer:
        init = g.initializer[rng.randrange(len(g.initializer))]
        new = rng.choice([d for d in DTYPES if d >= 0])
        old, init.data_type = init.data_type, new
        return f"initializer {init.name!r} data_type {old} -> {new}"
    values = list(g.input) + list(g.output)
    value = rng.choice(values)
    new = rng.choice(DTYPES)
    old, value.type.tensor_type.elem_type = value.type.tensor_type.elem_type, new
    return f"value {value.name!r} elem_type {old} -> {new}"


def m_dims(rng, model):
    g = model.graph
    if rng.random() < 0.3 and g.initializer:
        init = g.initializer[rng.randrange(len(g.initializer))]
        if init.dims:
            k = rng.randrange(len(init.dims))
            new = rng.choice([d for d in BAD_DIMS if isinstance(d, int)])
            init.dims[k] = new
            return f"initializer {init.name!r} dim {k} -> {new}"
        init.dims.append(rng.choice([0, 2, 2**40]))
        return f"initializer {init.name!r} scalar given a dim {init.dims[0]}"
    value = rng.choice(list(g.input) + list(g.output))
    dims = value.type.tensor_type.shape.dim
    if not dims or rng.random() < 0.15:
        new = rng.choice([0, 2, 9])
        value.type.tensor_type.shape.ClearField("dim")
        for _ in range(new):
            value.type.tensor_type.shape.dim.add().dim_value = rng.choice([1, 2, 3])
        return f"value {value.name!r} rank -> {new}"
    k = rng.randrange(len(dims))
    new = rng.choice(BAD_DIMS)
    if isinstance(new, str):
        dims[k].dim_param = new
    else:
        dims[k].dim_value = new
    return f"value {value.name!r} dim {k} -> {new!r}"


def m_opset(rng, model):
    what = rng.randrange(4)
    if what == 0 and model.opset_import:
        new = rng.choice([0, 1, 6, 10, 22, 999, -1])
        model.opset_import[0].version = new
        return f"opset {model.opset_import[0].domain!r} -> {new}"
    if what == 1:
        domain = rng.choice(["com.evil", "\x1b[31mdomain", "[/]", "ai.onnx.ml", "com.microsoft"])
        _, node = _node(rng, model)
        if node is not None:
            node.domain = domain
        if rng.random() < 0.5:
            model.opset_import.add(domain=domain, version=rng.choice([1, 0, -5]))
        return f"node {node.name if node is not None else None!r} domain -> {domain!r}"
    if what == 2:
        new = rng.choice([0, 1, 3, 99, -1])
        model.ir_version = new
        return f"ir_version -> {new}"
    model.ClearField("opset_import")
    return "opset_import cleared"


def _messages(model: onnx.ModelProto) -> list:
    """Every message of the model a field mutation may touch (not the tensors' data)."""
    g = model.graph
    found = [model, g, *model.opset_import, *g.node, *g.initializer]
    for n in g.node:
        found.extend(n.attribute)
    for v in list(g.input) + list(g.output) + list(g.value_info):
        found.extend([v, v.type, v.type.tensor_type, v.type.tensor_type.shape, *v.type.tensor_type.shape.dim])
    return found


def m_clear_field(rng, model):
    """Clear one set field of a random message (generic: any field of any message)."""
    messages = [m for m in _messages(model) if m.ListFields()]
    if not messages:
        return "no field set"
    message = rng.choice(messages)
    descriptor, _ = rng.choice(message.ListFields())
    label = getattr(message, "name", "") if descriptor.name != "name" else ""
    message.ClearField(descriptor.name)
    return f"{type(message).__name__} {label!r} field {descriptor.name} cleared"


PROTO_MUTATIONS = (m_op_type, m_node_input, m_node_output, m_delete_node, m_duplicate_node,
                   m_attribute, m_rename_node, m_rename_tensor, m_dtype, m_dims, m_opset, m_clear_field)


# --- byte mutations -----------------------------------------------------------------------

#: A node name the UTF-8 mutation swaps for invalid bytes of the same length.
_MARK = "FUZZMARKFUZZMARK"


def b_truncate(rng, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(len(data)) if data else 0
    return data[:cut], f"truncated to {cut} of {len(data)} bytes"


def b_flip(rng, data: bytes) -> tuple[bytes, str]:
    buf = bytearray(data)
    where = []
    for _ in range(rng.randrange(1, 8)):
        k = rng.randrange(len(buf))
        buf[k] ^= 1 << rng.randrange(8)
        where.append(k)
    return bytes(buf), f"bits flipped at bytes {where}"


BYTE_MUTATIONS = (b_truncate, b_flip)


def _invalid_utf8(rng, model: onnx.ModelProto) -> tuple[bytes, str]:
    """Rename a node or tensor to ``_MARK``, serialize, then swap the mark's bytes for
    invalid UTF-8 of the same length (protobuf lengths stay right)."""
    bad = rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80"])
    raw = (bad * 16)[:len(_MARK)]
    if rng.random() < 0.5 and model.graph.node:
        node = model.graph.node[rng.randrange(len(model.graph.node))]
        what, node.name = f"node {node.name!r}", _MARK
    else:
        old = rng.choice(_tensor_names(model))
        _rename_tensor(model, old, _MARK)
        what = f"tensor {old!r}"
    data = model.SerializeToString().replace(_MARK.encode(), raw)
    return data, f"{what} renamed to invalid UTF-8 {raw!r}"


def make_case(seed: int, index: int) -> Case:
    """Build fuzz case ``index`` of the run seeded ``seed`` (deterministic).

    One to three protobuf mutations from :data:`PROTO_MUTATIONS`; then, one case in
    eight, invalid UTF-8 in a name, and one in six a byte mutation
    (:data:`BYTE_MUTATIONS`) of the serialized model.
    """
    rng = random.Random(f"fusionlab-fuzz:{seed}:{index}")
    seeds = seed_models()
    base = rng.choice(sorted(seeds))
    case = Case(seed, index, base)
    model = onnx.ModelProto()
    model.ParseFromString(seeds[base])
    for _ in range(rng.randrange(1, 4)):
        mutation = rng.choice(PROTO_MUTATIONS)
        case.mutations.append(f"{mutation.__name__[2:]}: {mutation(rng, model)}")
    if rng.random() < 1 / 8:
        data, what = _invalid_utf8(rng, model)
        case.mutations.append(f"utf8: {what}")
    else:
        data = model.SerializeToString()
    if rng.random() < 1 / 6:
        mutation = rng.choice(BYTE_MUTATIONS)
        data, what = mutation(rng, data)
        case.mutations.append(f"{mutation.__name__[2:]}: {what}")
    case.data = data
    return case


# --- layer-info files for verify ------------------------------------------------------------


def layer_info(seed: int, index: int, base: str) -> bytes:
    """A ``trtexec --exportLayerInfo`` JSON for case ``index``: the base model's nodes in
    engine layers the way TensorRT names them (``a + b``), with ``Metadata`` naming the
    ONNX nodes, then, one file in three, a mutation of its own (a hostile layer name,
    metadata naming a node that does not exist, a record of the wrong shape, a NaN
    field). Deterministic in ``(seed, index)``.
    """
    rng = random.Random(f"fusionlab-fuzz-layers:{seed}:{index}")
    model = onnx.ModelProto()
    model.ParseFromString(seed_models()[base])
    names = [n.name for n in model.graph.node if n.op_type != "Constant"]
    layers, i = [], 0
    while i < len(names):
        k = rng.choice([1, 1, 2, 3])
        group = names[i:i + k]
        i += k
        layers.append({"Name": " + ".join(group), "LayerType": rng.choice(["CaskConvolution", "PointWise", "Reformat"]),
                       "Metadata": "".join(f"[ONNX Layer: {n}]" for n in group),
                       "Inputs": [], "Outputs": []})
    if rng.random() < 1 / 3 and layers:
        what = rng.randrange(4)
        layer = layers[rng.randrange(len(layers))]
        if what == 0:
            layer["Name"] = rng.choice(HOSTILE_NAMES)
        elif what == 1:
            layer["Metadata"] = f"[ONNX Layer: {rng.choice(HOSTILE_NAMES)}]"
        elif what == 2:
            layer["Inputs"] = rng.choice([None, 5, "x", [{"Name": None}], [[]]])
        else:
            layer["LayerType"] = rng.choice([None, 3.5, float("nan"), []])
    return json.dumps({"Layers": layers}, ensure_ascii=False).encode("utf-8", "surrogatepass")
