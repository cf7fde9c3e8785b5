"""TRT109 fc-as-conv."""

import numpy as np

from fusionlab.pattern import Const, Op, Var, op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.layers import reader_layers
from fusionlab.rules.common.ops import ACTIVATIONS

#: Kinds whose GEMM epilogue takes the bias Add on TensorRT-RTX.
EPILOGUE_KINDS = ACTIVATIONS + ("Gelu",)


class FcAsConv(Rule):
    """A Gemm or MatMul with constant weights becomes a FullyConnected layer (``matmul + add``).

    What it fuses: Gemm with a constant B; MatMul with a constant B, with or without a
    following Add of a constant bias (MatMul + Add merge into one layer). The layer's
    kind becomes ``FullyConnected``, the layer the FullyConnected rules (TRT107 fc-relu,
    TRT108 fc-gelu, TRT106 conv-scale, the MLP rules) build on. A MatMul or Gemm whose B
    is a runtime tensor is a MatrixMultiply and is not matched (`weights-constant` is the
    structure).
    Why it matters: a FullyConnected layer runs as a convolution with the bias in its
    epilogue; every convolution fusion then applies. A MatMul whose weight is not 2-D
    stays a MatrixMultiply with a separate bias kernel.
    Conditions: `weights-constant` (structural: B is an initializer, a Constant or a
    folded tensor); `rank-2-weight` -- the constant weight is 2-D; `bias-vector` -- the
    Add's constant is a bias vector of N values (``[N]`` or ``[1,N]``); `single-consumer`
    -- the MatMul's output is read by the bias Add only.
    TensorRT-RTX measured Gemm->Relu, MatMul->Relu and MatMul->Add->Relu as one gemm
    kernel, but a bias Add followed by anything but an activation (a Reshape, a residual
    Add) goes to the next kgen kernel, not into the GEMM (live builds of a transformers
    BERT): `bias-before-activation`, TensorRT-RTX only.
    Source: TensorRT Developer Guide, "Types of Fusions": FullyConnected (converted to a
    Convolution; TensorRT 8.6 notes) and the builder log line "Convert layer type of
    MatMul from FULLY_CONNECTED to CONVOLUTION".
    """

    code = "TRT109"
    #: a MatMul/Gemm TensorRT runs as a 1x1 convolution (fc-int8 asks for it)
    tags = ('fc-as-conv',)
    name = "fc-as-conv"
    phase = 25
    pattern = (
        op.Add(op.MatMul(Var("x"), Const("w"), name="fc"), Const("bias"), name="bias_add"),
        Op(("Gemm", "MatMul"), Var("x"), Const("w"), name="fc"),
    )
    result_kind = "FullyConnected"
    cost = 3

    def accept(self, b, state):
        # A MatMul + bias Add whose weight is not 2-D is reported once, by the Add match.
        if "bias_add" in b.layers:
            return True
        fc = b.layers["fc"]
        node = state.graph.nodes[fc.host_or_first]
        if node.op_type != "MatMul" or self._rank(state, b.tensors["w"]) in (2, None):
            return True
        readers = state.graph.consumers.get(node.outputs[0], [])
        return not (len(readers) == 1 and state.graph.nodes[readers[0]].op_type == "Add"
                    and any(state.is_constant(t) for t in state.graph.nodes[readers[0]].inputs))

    @staticmethod
    def _shape(state, t):
        """Shape of a constant (initializer dims or inferred; the value as a last resort)."""
        shape = state.graph.shape(state.resolve(t))
        if shape is None:
            value = constant_of(state, t)
            shape = None if value is None else value.shape
        return None if shape is None else tuple(shape)

    @classmethod
    def _rank(cls, state, w):
        shape = cls._shape(state, w)
        return None if shape is None else len(shape)

    def describe(self, m):
        if len(m.order) == 1:
            node = m.node("fc")
            return f"{node.name} ({node.op_type} with constant weights) becomes a FullyConnected layer"
        return super().describe(m)

    @check("rank-2-weight")
    def rank2(self, m, ctx):
        w = m.tensor("w")
        shape = self._shape(m.state, w)
        if shape is None or len(shape) == 2:
            return None
        rank = len(shape)
        return (f"{m.node('fc').name} weight {w} has shape {fmt_shape(shape)} (rank {rank}); "
                "a FullyConnected layer needs a 2-D weight")

    @check("bias-vector")
    def bias_vector(self, m, ctx):
        if "bias_add" not in m.layers:
            return None
        bias = self._shape(m.state, m.tensor("bias"))
        w = self._shape(m.state, m.tensor("w"))
        if bias is None or not w:
            return None
        n = w[-1]
        if 1 <= len(bias) <= 2 and bias[-1] == n and int(np.prod(bias)) == n:
            return None
        return (f"{m.node('bias_add').name} adds a constant of shape {fmt_shape(bias)}; "
                f"a FullyConnected bias is a vector of N={n} values ([{n}] or [1, {n}])")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("bias-before-activation", targets=("tensorrt-rtx",))
    def bias_epilogue(self, m, ctx):
        if "bias_add" not in m.layers:
            return None
        readers, graph_output = reader_layers(ctx.state, m.layer("bias_add"))
        if len(readers) == 1 and not graph_output and readers[0].kind in EPILOGUE_KINDS:
            return None
        what = ", ".join(f"{r.nodes[-1]} ({r.kind})" for r in readers) or "the graph output"
        return (f"{m.node('bias_add').name} is read by {what}; TensorRT-RTX fuses a bias Add into "
                "the GEMM only in an activation epilogue, so it runs in the next kgen kernel")
