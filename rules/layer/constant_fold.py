"""TRT001 constant-fold."""

from onnx import TensorProto

from fusionlab.pattern import ANY, Op
from fusionlab.rule import Match, Rule

#: Floating-point tensor types (TensorRT-RTX keeps float computations on constants).
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)
#: Ops that read only their input's shape: foldable when that shape is static.
SHAPE_READERS = ("Shape", "Size")
#: Ops never folded: control flow, random generators, and Q/DQ (TensorRT fuses the Q/DQ of
#: constant weights into the weighted layer instead).
NOT_FOLDED = frozenset({"If", "Loop", "Scan", "RandomNormal", "RandomUniform", "QuantizeLinear",
                        "DequantizeLinear", "RandomNormalLike", "RandomUniformLike", "Multinomial"})


class ConstantFold(Rule):
    """Nodes whose inputs are all constants are folded away at build time.

    What it fuses: Constant nodes, and any node whose every input is an initializer, a
    Constant or an already folded tensor (shape arithmetic such as Shape -> Gather ->
    Unsqueeze -> Concat -> Reshape's shape input, when the input shape is static); also
    Shape / Size of a tensor with a fully static shape. QuantizeLinear / DequantizeLinear
    of constant weights are not folded: TensorRT fuses them into the weighted layer
    (`weight + QuantizeLinear_8 + Conv_12`), which TRT403 qdq-weighted predicts.
    Why it matters: folded nodes produce no engine layer; what cannot be folded becomes a
    runtime shape computation.
    Conditions: none; a node with a non-constant input is simply not matched.
    TensorRT-RTX folds the integer and shape computations only: a floating-point node on
    constants (an embedding Gather of constant position or token-type ids, a Cast of a
    constant mask to float) is computed in a kgen kernel with its readers (live builds of a
    transformers BERT export); Constant nodes are folded on both targets.
    Source: TensorRT Developer Guide, "The ONNX Parser" / constant folding done by the
    builder (Polygraphy `surgeon sanitize --fold-constants` does the same offline).
    """

    code = "TRT001"
    name = "constant-fold"
    kind = "fold"
    phase = 0
    cost = 1

    pattern = Op(ANY, name="node", where=lambda n: n.domain in ("", "ai.onnx")
                 and n.op_type not in NOT_FOLDED)

    def accept(self, b, state):
        """Every input constant (Shape / Size: the input's shape static); on TensorRT-RTX
        not a floating-point result (a kgen kernel computes it), Constant nodes aside."""
        layer = b.layers["node"]
        if len(layer.nodes) != 1:
            return False
        graph = state.graph
        node = graph.nodes[layer.nodes[0]]
        ins = [t for t in node.inputs if t]
        if node.op_type in SHAPE_READERS:
            shape = graph.shape(state.resolve(ins[0]))
            ok = shape is not None and all(isinstance(d, int) for d in shape)
        else:
            ok = all(state.is_constant(t) for t in ins)
        rtx = state.ctx is not None and state.ctx.target == "tensorrt-rtx"
        return ok and not (rtx and node.op_type != "Constant" and self._float_output(graph, node))

    @staticmethod
    def _float_output(graph, node) -> bool:
        return any(graph.dtype(t) in FLOAT_TYPES for t in node.outputs if t)

    def describe(self, m: Match) -> str:
        return f"{m.nodes[0]} has only constant inputs: folded at build time"
