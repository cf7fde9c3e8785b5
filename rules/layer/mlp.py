"""TRT302 mlp."""

from __future__ import annotations

from fusionlab.pattern import Bindings, Const, Op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.layers import reader_layers
from fusionlab.rules.common.ops import ACTIVATIONS

#: Layer kinds an MLP is built from: MatrixMultiply (a MatMul kept as such), FullyConnected
#: (TRT109 fc-as-conv; a Gemm with constant weights before it), and MLP itself.
LINEAR_KINDS = ("MatMul", "FullyConnected", "Gemm", "MLP")
#: ONNX ops that count as one MLP layer in ``N-layer MLP``.
LINEAR_OPS = ("MatMul", "Gemm")
#: "The total number of layers is limited to 31" (guide, MLP Fusions).
MAX_MLP_LAYERS = 31
#: Bound for one layer's weights ("small enough to use hardware shared memory to store
#: temporary weights"; the guide gives no number): 48 KiB, the shared memory a CUDA thread
#: block gets without opting in, on every GPU since Kepler.
SHARED_MEMORY_BYTES = 48 * 1024
ELEMENT_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def is_shift(state, const: str, x: str) -> bool:
    """A Scale using the shift only: one value, or one per output feature ([N] or [1, N]
    for an ``x`` of last dimension N)."""
    value = constant_of(state, const)
    shape = state.graph.shape(x)
    if value is None:
        return False
    if value.size == 1:
        return True
    n = shape[-1] if shape else None
    return isinstance(n, int) and value.size == n and value.shape[-1] == n and value.ndim <= 2


def epilogue_fits(state, head, layer) -> bool:
    """True when ``layer``, whose only non-constant input ``x`` is the output of ``head``,
    is an MLP epilogue: an Activation (a fused Gelu included); an Add of ``x`` and a
    constant -- any constant after a MatMul or MLP layer (ElementWise kSUM with a
    constant), a bias (Scale shift) after a FullyConnected layer; or a PointWise layer
    made only of activations and Adds of a constant (the PointWise fusion, phase 40, may
    have joined a bias Add and a ReLU before the MLP phase)."""
    if layer.kind in ACTIVATIONS:
        return True
    graph = state.graph
    if layer.kind == "Add":
        if len(layer.nodes) != 1:
            return False
        if head.kind in ("FullyConnected", "Gemm"):
            ins = [t for t in state.layer_inputs(layer) if t]
            x = next(t for t in ins if not state.is_constant(t))
            return all(is_shift(state, t, x) for t in ins if t != x)
        return True
    for name in layer.nodes:  # PointWise
        node = graph.nodes[name]
        if node.op_type in ACTIVATIONS:
            continue
        if node.op_type == "Add" and any(state.is_constant(state.resolve(t)) for t in node.inputs if t):
            continue
        return False
    return True


#: An element an MLP extends: a MatMul / FullyConnected / Gemm / MLP layer ``head``.
HEAD = Op(LINEAR_KINDS, name="head")
#: One link ``head -> tail``: a linear layer whose data input (its first) is the head's
#: output ("the last layer of the first MLP layer must match the input of the second"), or
#: an epilogue (Activation, Add, PointWise) whose only non-constant input it is.
LINK = (Op(LINEAR_KINDS, HEAD, name="tail")
        | Op(ACTIVATIONS + ("Add", "PointWise"), HEAD, name="tail", anywhere=True, rest=Const()))


def incoming(state, tail):
    """The MLP element ``tail`` extends (a :data:`LINK` whose epilogue fits), or None."""
    for b in LINK.match_layer(tail, state, Bindings()):
        if tail.kind in LINEAR_KINDS or epilogue_fits(state, b.layers["head"], tail):
            return b.layers["head"]
    return None


def _count(linear, layer) -> int:
    return sum(1 for n in layer.nodes if n in linear)


def alive_incoming(state, linear, layer) -> bool:
    """``layer`` extends an element whose output only it reads, within 31 layers."""
    head = incoming(state, layer)
    if head is None or _count(linear, head) + _count(linear, layer) > MAX_MLP_LAYERS:
        return False
    readers, graph_output = reader_layers(state, head)
    return readers == [layer] and not graph_output


def chain_count(state, linear, layer) -> int:
    """MatMul/FullyConnected layers in the chain through ``layer`` (links whose earlier
    element has one reader)."""
    seen = {id(layer)}
    total = _count(linear, layer)
    node = layer
    while alive_incoming(state, linear, node):
        node = incoming(state, node)
        if id(node) in seen:
            break
        seen.add(id(node))
        total += _count(linear, node)
    node = layer
    while True:
        readers, graph_output = reader_layers(state, node)
        if len(readers) != 1 or graph_output or id(readers[0]) in seen:
            break
        nxt = readers[0]
        if incoming(state, nxt) is not node:
            break
        seen.add(id(nxt))
        total += _count(linear, nxt)
        node = nxt
    return total


class Mlp(Rule):
    """MatMul / FullyConnected layers and their epilogues fuse into one MLP layer
    (``N-layer MLP``).

    What it fuses: the start patterns MatMul -> Activation, MatMul -> Add(constant),
    MatMul -> MatMul, FullyConnected -> Activation / Add(bias: a Scale with shift only) /
    FullyConnected, and the growth of an MLP layer with a following MatMul,
    FullyConnected, Activation, Add(constant) or MLP layer: one link per match, round
    after round, so a chain becomes one layer. Each element reads the previous one's output
    as its data input ("the last layer of the first MLP layer must match the input of the
    second"). Runs in phase 50: an FC + ReLU is already one FullyConnected layer (TRT107),
    a bias Add + ReLU may already be one PointWise layer (an epilogue when made only of
    activations and constant Adds). The name counts the MatMul/Gemm nodes: the guide's
    MNIST ``ip1 + relu1`` then ``ip2`` is a ``2-layer MLP``.
    Why it matters: one kernel keeps the intermediate activations on chip instead of one
    GEMM and one activation kernel per layer.
    Conditions: `single-consumer` -- the earlier element's output is read by the next one
    only; `matmul-2d` -- a MatrixMultiply (MatMul layer) is strictly 2-D, both operands
    rank 2; `weights-fit-shared-memory` -- each MatMul / FullyConnected weight (K x N, "the
    product of the widths of both matrices") fits 48 KiB of shared memory at the build
    precision (fusionlab's bound, the guide gives no number). It is applied to
    FullyConnected layers too: real builds keep large FC chains apart (TensorRT 8.0.3 /
    8.2.3 / 8.4.1 MNIST logs: FC 3136x1024 + ReLU, then FC 1024x10, two layers; TensorRT
    10.4 alexnet: each Gemm + Relu its own gemm), although the TensorRT 7 guide's MNIST
    example fused an 800x500 ip1; `max-31-layers` -- at most 31 MatMul/FullyConnected
    layers in one MLP. These three are classic TensorRT only. The TensorRT 8 guide (docs/FUSIONS.md#mlp-fusions
    notes it) no longer has an MLP section. TensorRT-RTX differs: it fuses Gemm->Relu,
    MatMul->Relu and MatMul->Add->Relu into one gemm kernel but "a second MatMul stays
    separate" (docs/TENSORRT-RTX.md#gemm-and-mlp), encoded as `single-matmul` (TensorRT-RTX only): one
    MatMul per fused layer.
    Source: TensorRT Developer Guide (TensorRT 7), "MLP Fusions".
    """

    code = "TRT302"
    name = "mlp"
    phase = 50
    result_kind = "MLP"
    style = "mlp"
    cost = 1

    pattern = LINK

    #: ONNX nodes that count as an MLP layer (MatMul, Gemm), set by :meth:`accept` for
    #: :meth:`layer_name`, which is given node names only.
    _linear: frozenset = frozenset()
    _graph = None

    def accept(self, b, state):
        """The link's epilogue fits (``epilogue_fits``), and the chain it extends is not
        over 31 MatMul/FullyConnected layers. Every link of a chain is proposed at once
        and they merge in a few rounds; a longer chain grows from its front one link per
        round instead, so it splits where TensorRT's MLP would (31 layers, then a new
        MLP), not in halves. The chain's length is code: it is a chain of any length that
        grows across rounds, which no pattern can bound."""
        head, tail = b.layers["head"], b.layers["tail"]
        if tail.kind not in LINEAR_KINDS and not epilogue_fits(state, head, tail):
            return False
        if self._graph is not state.graph:
            self._graph = state.graph
            self._linear = frozenset(n for n, node in state.graph.nodes.items()
                                     if node.op_type in LINEAR_OPS)
        return not (alive_incoming(state, self._linear, head)
                    and chain_count(state, self._linear, head) > MAX_MLP_LAYERS)

    def layer_name(self, nodes, kind):
        return f"{sum(1 for n in nodes if n in self._linear)}-layer MLP"

    def _linear_nodes(self, m) -> list[str]:
        return [n for n in m.nodes if m.state.graph.nodes[n].op_type in LINEAR_OPS]

    def _matmuls(self, m):
        """The ONNX MatMul nodes of the match's MatrixMultiply layers (kind MatMul)."""
        for layer in (m.layer("head"), m.layer("tail")):
            if layer.kind == "MatMul":
                yield m.state.graph.nodes[layer.host_or_first]

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("matmul-2d", targets=("tensorrt",))
    def matmul_2d(self, m, ctx):
        for node in self._matmuls(m):
            a, b = (ctx.graph.shape(ctx.state.resolve(t)) for t in node.inputs[:2])
            if a is None or b is None or (len(a) == 2 and len(b) == 2):
                continue
            return (f"{node.name} multiplies {fmt_shape(a)} by {fmt_shape(b)} (ranks {len(a)} and "
                    f"{len(b)}); the MLP fusion needs a strictly 2-D MatrixMultiply (both rank 2)")
        return None

    @check("weights-fit-shared-memory", targets=("tensorrt",))
    def weights_fit(self, m, ctx):
        size = ELEMENT_BYTES.get(ctx.precision, 4)
        for name in self._linear_nodes(m):
            node = ctx.graph.nodes[name]
            b = ctx.graph.shape(ctx.state.resolve(node.inputs[1]))
            if b is None or len(b) != 2 or not all(isinstance(d, int) for d in b):
                continue
            need = b[0] * b[1] * size
            if need <= SHARED_MEMORY_BYTES:
                continue
            return (f"{name} weights {fmt_shape(b)} take {need} bytes in {ctx.precision.upper()}; "
                    f"the MLP fusion keeps the weights in shared memory, at most {SHARED_MEMORY_BYTES} "
                    f"bytes (48 KiB per thread block, fusionlab's bound)")
        return None

    @check("max-31-layers", targets=("tensorrt",))
    def max_layers(self, m, ctx):
        n = len(self._linear_nodes(m))
        if n <= MAX_MLP_LAYERS:
            return None
        return (f"the MLP would hold {n} MatMul/FullyConnected layers ({m.nodes[0]} ... "
                f"{m.nodes[-1]}); TensorRT limits one MLP layer to {MAX_MLP_LAYERS}")

    @check("single-matmul", targets=("tensorrt-rtx",))
    def single_matmul(self, m, ctx):
        linear = self._linear_nodes(m)
        if len(linear) <= 1:
            return None
        return (f"{len(linear)} matrix multiplications ({', '.join(linear)}) would share one layer; "
                "TensorRT-RTX fuses a MatMul with its epilogue only, a second MatMul stays a "
                "separate gemm kernel")
