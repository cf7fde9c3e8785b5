"""TRT408 qdq-erase."""

from fusionlab.pattern import Var, op
from fusionlab.rule import Rule, check

from fusionlab.rules.common.qdq import lone_layer, qparams, same_qparams
from fusionlab.rules.common.shapes import live_readers


class QdqErase(Rule):
    """A DequantizeLinear -> QuantizeLinear pair with equal scale and zero_point is erased.

    What it fuses: DequantizeLinear -> QuantizeLinear (the middle pair of Q -> DQ -> Q ->
    DQ, as exporters write it when both a layer's output and the next layer's input carry
    a quantizer). Both nodes vanish; the readers of the QuantizeLinear read the first
    quantized tensor. Runs in phase 10, before the other Q/DQ fusions.
    Why it matters: the redundant pair costs two kernels (or two reformats) that only
    round-trip the tensor through float.
    Conditions: `equal-scales` -- the DequantizeLinear and the QuantizeLinear use the same
    scale and zero_point (both values are named when they differ: the pair is then a
    requantization, not a no-op); `single-consumer` -- the DequantizeLinear's output is read
    by the QuantizeLinear only (a float reader still needs it).
    TensorRT-RTX measured the same: the redundant pair vanishes (docs/TENSORRT-RTX.md#redundant-q-dq-pairs).
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Erase redundant Q/DQ nodes.
    """

    code = "TRT408"
    name = "qdq-erase"
    kind = "erase"
    phase = 10
    pattern = op.QuantizeLinear(op.DequantizeLinear(Var("x"), name="dq"), name="q")
    cost = 2
    rewrites_on = ("absorbed", "missed")
    fixes = ()

    def accept(self, b, state):
        return all(lone_layer(state, layer.nodes[0]) is layer for layer in b.order)

    def erased(self, m):
        x = m.state.resolve(m.tensor("x"))
        return [(m.layer("dq"), x), (m.layer("q"), x)]

    def describe(self, m):
        dq, q = m.node("dq"), m.node("q")
        return (f"{dq.name} -> {q.name} dequantizes and requantizes with the same "
                f"{qparams(m.state, q)}: a no-op pair, erased")

    @check("equal-scales")
    def equal(self, m, ctx):
        dq, q = m.node("dq"), m.node("q")
        if same_qparams(ctx.state, dq, q):
            return None
        return (f"{dq.name} dequantizes with {qparams(ctx.state, dq)} but {q.name} quantizes "
                f"with {qparams(ctx.state, q)}; the pair is a no-op only with equal scale and "
                "zero_point (this one requantizes)")

    @check("single-consumer")
    def single(self, m, ctx):
        dq, q = m.node("dq"), m.node("q")
        others = [n for n in live_readers(ctx.state, dq.outputs[0]) if n != q.name]
        if dq.outputs[0] in ctx.graph.outputs:
            others.append(f"<graph output {dq.outputs[0]}>")
        if not others:
            return None
        return (f"{dq.name} output {dq.outputs[0]} is also read by {', '.join(others)}, which "
                f"needs the float tensor; the pair can vanish only when {q.name} is its one reader")

    def rewrite(self, m, graph):
        """Erase the DequantizeLinear -> QuantizeLinear pair (``fusionlab rewrite``): the
        QuantizeLinear's readers read the first quantized tensor. Exact: requantizing a
        dequantized value with the same scale and zero_point gives it back."""
        from fusionlab.rewriting import erase, node_of

        dq, q = node_of(graph, m.node("dq").name), node_of(graph, m.node("q").name)
        if q.inputs[0] is not dq.outputs[0]:
            return None
        erase(graph, q, dq.inputs[0])
        if not dq.outputs[0].outputs and dq.outputs[0] not in graph.outputs:
            dq.outputs.clear()
            dq.inputs.clear()
        return f"erased {dq.name} -> {q.name} (dequantize and requantize with one scale)"
