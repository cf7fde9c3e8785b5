"""TRT301 pointwise."""

from __future__ import annotations

from fusionlab.rule import Match, Rule, check, fmt_shape
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.layers import reader_layers
from fusionlab.rules.common.ops import ACTIVATIONS, ELEMENTWISE, UNARY
from fusionlab.rules.common.shapes import scale_mode

#: Layer kinds that are PointWise members (docs/FUSIONS.md#pointwise-fusion): every
#: Activation (a fused ``Gelu`` layer included), ElementWise and Unary op, and PointWise.
#: Fused layers of other kinds (Conv with its activation, FullyConnected, LayerNorm...)
#: are not members. A Constant is never a layer here: constants are folded (TRT001) and
#: read as inputs.
MEMBER_KINDS = frozenset(ACTIVATIONS + ELEMENTWISE + UNARY + ("PointWise",))
#: Ops that are a Scale layer when one operand is a constant (docs/FUSIONS.md#tensorrt-layer-kinds-and-onnx-ops).
SCALE_OPS = ("Add", "Sub", "Mul", "Div", "Pow")
#: Largest fused PointWise layer, in ONNX nodes. The guide says only "the size of the
#: fused PointWise layer is not unlimited"; no number is published (searched: TensorRT
#: guides 7-10, NVIDIA/TensorRT issues). 16 is fusionlab's documented bound, above the
#: longest chains seen fused in public builder logs (7 nested PWN in NVIDIA/TensorRT#4180,
#: an unfused GELU-erf of 5-6 nodes with its bias in hmorimitsu/ptlflow#65).
MAX_POINTWISE_NODES = 16

MEMBER, CHANNEL = "member", "channel"


def scale_info(state, layer) -> tuple[str, str, str | None] | None:
    """``(mode, node, constant)`` when ``layer`` is a Scale: a BatchNormalization with
    constant parameters, or a lone Add/Sub/Mul/Div/Pow with exactly one constant operand.
    ``mode`` is ``uniform``, ``channel``, ``elementwise`` or None (value unknown)."""
    if len(layer.nodes) != 1:
        return None
    node = state.graph.nodes[layer.nodes[0]]
    if node.op_type == "BatchNormalization":
        params = [t for t in node.inputs[1:5] if t]
        if not all(state.is_constant(t) for t in params):
            return None
        scale = constant_of(state, state.resolve(node.inputs[1]))
        return ("uniform" if scale is not None and scale.size == 1 else "channel"), node.name, node.inputs[1]
    if node.op_type not in SCALE_OPS:
        return None
    ins = [state.resolve(t) for t in node.inputs[:2] if t]
    consts = [t for t in ins if state.is_constant(t)]
    if len(ins) != 2 or len(consts) != 1:
        return None
    return scale_mode(constant_of(state, consts[0]), state.graph.shape(node.outputs[0])), node.name, consts[0]


def classify(state, layer) -> str | None:
    """``member``, ``channel`` (a Scale in channel mode: not a member on classic
    TensorRT) or None (not pointwise)."""
    info = scale_info(state, layer)
    if info is not None and info[0] == "channel":
        return CHANNEL
    if layer.kind not in MEMBER_KINDS:
        return None
    return None if _rtx_conv_epilogue(state, layer) else MEMBER


def _rtx_conv_epilogue(state, layer) -> bool:
    """On TensorRT-RTX, a lone activation that is a convolution's only reader goes to the
    convolution's epilogue before any pointwise grouping (EfficientNet's excitation
    ``Conv -> Sigmoid -> Mul(x, s)``: ``Conv + Sigmoid`` in one kernel, the Mul apart)."""
    if state.ctx is None or state.ctx.target != "tensorrt-rtx" or len(layer.nodes) != 1:
        return False
    if layer.kind not in ACTIVATIONS + UNARY:
        return False
    node = state.graph.nodes[layer.nodes[0]]
    src = state.producer_layer(node.inputs[0]) if node.inputs and node.inputs[0] else None
    if src is None or src.kind not in ("Conv", "ConvTranspose"):
        return False
    readers, graph_output = reader_layers(state, src)
    return readers == [layer] and not graph_output


def pointwise_groups(state, layers, kinds: dict, with_channel: bool) -> list[tuple[object, list]]:
    """Partition the pointwise layers into fusion groups: ``(root, members)`` pairs,
    members in topological order.

    A group has one exit, its root: every other member's outputs are read only by
    members of the same group (and are no graph output), so the group's interior results
    never leave the fused kernel. The root may have several readers, or be a graph
    output. Built in reverse topological order: a layer joins the group of its readers
    when they are all members of one group, else it roots its own. Chains, trees
    (Add of two pointwise branches) and diamonds (x -> Relu, Sigmoid -> Add) are one group
    each; a member read by a non-member (a Conv, a MatMul) ends its group.
    """
    def member(layer):
        kind = kinds.get(id(layer))
        return kind == MEMBER or (with_channel and kind == CHANNEL)

    root_of: dict[int, object] = {}
    groups: dict[int, list] = {}
    last = {id(l): max(state.graph.nodes[n].index for n in l.nodes) for l in layers}
    # readers before producers: a fused layer's place is its last node, not its first
    for layer in sorted(layers, key=lambda l: last[id(l)], reverse=True):
        if not member(layer):
            continue
        readers, graph_output = reader_layers(state, layer)
        roots = {id(root_of[id(r)]) if id(r) in root_of else None for r in readers}
        if readers and not graph_output and all(member(r) for r in readers) and len(roots) == 1 \
                and None not in roots:
            root = root_of[id(readers[0])]
        else:
            root = layer
        root_of[id(layer)] = root
        groups.setdefault(id(root), []).append(layer)
    found = []
    for members in groups.values():
        members.sort(key=lambda l: l.index)
        found.append((root_of[id(members[0])], members))
    return sorted(found, key=lambda g: g[0].index)


def chunks(members: list) -> list[list]:
    """Split a group (topological order) into consecutive pieces of at most
    :data:`MAX_POINTWISE_NODES` ONNX nodes; a layer is never cut."""
    out, current, size = [], [], 0
    for layer in members:
        n = len(layer.nodes)
        if current and size + n > MAX_POINTWISE_NODES:
            out.append(current)
            current, size = [], 0
        current.append(layer)
        size += n
    if current:
        out.append(current)
    return out


class PointWise(Rule):
    """Adjacent pointwise layers fuse into one PointWise layer (``PWN(add1, relu1)``).

    What it fuses: groups of connected pointwise layers -- every Activation (a fused Gelu
    included), ElementWise and Unary op, a PointWise layer, and a Scale in uniform mode (an
    Add/Sub/Mul/Div/Pow by a one-value constant); a constant of any other size is just an
    input (an Add of a [512] bias is an ElementWise member). A group has one exit: every
    member but the last is read only inside the group (see ``pointwise_groups``); a member
    read by a non-pointwise layer, or by two groups, or a graph output, ends its group.
    Lone pointwise layers stay as they are. Runs in phase 40, after the layer fusions:
    a Relu already fused into a Conv (kind Conv) is not a member.
    Why it matters: one kernel reads the inputs once and writes the result once, instead of
    one kernel and one activation round trip per op.
    Conditions: `scale-uniform` -- classic TensorRT fuses a Scale only in uniform mode; a
    per-channel constant ([C, 1, 1] on NCHW, or a BatchNormalization) next to a group is
    reported with the group it would join. TensorRT-RTX compiles per-channel constants into
    its kgen kernels (docs/TENSORRT-RTX.md#conv-batchnormalization: Conv->Mul->Add per channel in the conv epilogue,
    docs/TENSORRT-RTX.md#pointwise-chains-and-reductions), so there it is a member; `size-limit` -- a group
    over ``MAX_POINTWISE_NODES`` (16) ONNX nodes is reported and split into consecutive
    pieces (the guide: "the size of the fused PointWise layer is not unlimited"; 16 is
    fusionlab's bound, no number is published).
    TensorRT-RTX: a lone activation that is a convolution's only reader is left to the
    convolution's epilogue (TRT110) instead of joining a group (measured on
    efficientnet_b0's squeeze-excitation: ``Conv + Sigmoid`` one kernel, the Mul apart).
    Source: TensorRT Developer Guide, "PointWise Fusion" (members: Activation, Constant of
    size 1, ElementWise, PointWise, Scale kUNIFORM only, Unary).
    """

    code = "TRT301"
    name = "pointwise"
    phase = 40
    result_kind = "PointWise"
    style = "pwn"
    cost = 1

    def find(self, state):
        # find, not a pattern: a group is a connected component of pointwise layers of any
        # size and shape (chains, trees, diamonds) with one exit, found by partitioning
        # every live layer (``pointwise_groups``), then cut into 16-node pieces; a pattern
        # binds a fixed tree of layers from one anchor.
        layers = state.live_layers()
        kinds = {id(l): classify(state, l) for l in layers}
        for root, members in pointwise_groups(state, layers, kinds, with_channel=False):
            if len(members) < 2:
                continue
            yield self._match(root, members, state)
            if sum(len(l.nodes) for l in members) > MAX_POINTWISE_NODES:
                for piece in chunks(members):
                    if len(piece) > 1:
                        yield self._match(piece[-1], piece, state)
        if CHANNEL in kinds.values():
            # The groups a channel-mode Scale would join: reported on classic TensorRT
            # (`scale-uniform`), fused on TensorRT-RTX (larger, so it wins the overlap).
            for root, members in pointwise_groups(state, layers, kinds, with_channel=True):
                if len(members) > 1 and any(kinds[id(l)] == CHANNEL for l in members):
                    yield self._match(root, members, state)

    def _match(self, root, members, state) -> Match:
        order = [root] + [l for l in members if l is not root]
        return Match(self, {f"pw{i}": l for i, l in enumerate(order)}, {}, order, state)

    @check("scale-uniform", targets=("tensorrt",))
    def scale_uniform(self, m, ctx):
        for layer in sorted(m.order, key=lambda l: l.index):
            info = scale_info(ctx.state, layer)
            if info is None or info[0] != "channel":
                continue
            _, node, const = info
            value = constant_of(ctx.state, ctx.state.resolve(const))
            shape = fmt_shape(value.shape) if value is not None else "unknown"
            what = (f"a BatchNormalization (a Scale in channel mode, {shape} scale)"
                    if ctx.graph.nodes[node].op_type == "BatchNormalization"
                    else f"a Scale in channel mode (per-channel constant {const} of shape {shape})")
            others = [n for n in m.nodes if n != node]
            return (f"{node} is {what}; PointWise fusion takes Scale layers in uniform mode (one "
                    f"value) only, so it cannot join {', '.join(others)}")
        return None

    @check("size-limit")
    def size_limit(self, m, ctx):
        n = len(m.nodes)
        if n <= MAX_POINTWISE_NODES:
            return None
        pieces = chunks(sorted(m.order, key=lambda l: l.index))
        return (f"the pointwise group {m.nodes[0]} ... {m.nodes[-1]} has {n} nodes; one fused "
                f"PointWise layer holds at most {MAX_POINTWISE_NODES} (fusionlab's bound: the guide "
                f"says only that the size is limited), so it splits into {len(pieces)} layers")
