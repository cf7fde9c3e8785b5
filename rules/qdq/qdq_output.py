"""TRT404 qdq-output."""

from fusionlab.pattern import ANY, Op, op
from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.qdq import dq_producer, joining_quantizers, qparams, quantized_readers, residual_inputs, same_qparams


class QdqOutput(Rule):
    """The QuantizeLinear after an INT8 convolution fuses into it (``conv + q``): INT8 output.

    What it fuses: a layer that computes in INT8 (a weighted layer that absorbed its
    DequantizeLinear inputs, TRT403, possibly with a fused BatchNormalization, ReLU or
    residual Add) -> QuantizeLinear. Several QuantizeLinear readers with the same scale
    and zero_point (two branches quantizing the same tensor) all fuse: TensorRT merges
    identical quantizations. A ``conv + add`` layer whose residual operand is float does
    not match: its output is float, and TRT409 qdq-residual-add reports it.
    Why it matters: an INT8 output halves the bytes written and lets the next INT8 layer
    read it directly; unfused, the convolution writes float and a separate Reformat layer
    quantizes it (TREx INT8 MobileNet: `QuantizeLinear_98 | Reformat` after a convolution
    whose output also feeds a float residual Add).
    Conditions: `single-consumer` -- the layer's output is read by QuantizeLinear nodes
    with one scale and zero_point only (not by a float reader, not a graph output).
    TensorRT-RTX: the INT8 convolution is a `correlation` kernel and the bias, activation
    and output QuantizeLinear run in an epilogue `kgen` kernel whose metadata lists the
    convolution too (docs/TENSORRT-RTX.md#int8-convolution, DQ+DQ(weight)->Conv->Q); the two kernels share the
    convolution, so fusionlab predicts one layer holding both, as on classic TensorRT.
    Measured with TensorRT-RTX 1.7 (live builds of small graphs, ResNet-18 and
    MobileNetV2 QDQ exports), where it differs: the QuantizeLinear joins the epilogue also
    when the output has a float reader (the float branch runs in the same kgen) and after
    a ``conv + add`` with a float residual, so `single-consumer` and the float-residual
    exclusion are classic only; TRT410 qdq-epilogue continues the epilogue through the
    DequantizeLinear that follows.
    Source: TensorRT Developer Guide, "Q/DQ Fusion" ([DQ, DQ] > Node > Q is fused to the
    quantized node QNode); TensorRT "Q/DQ Layer-Placement Recommendations".
    """

    code = "TRT404"
    name = "qdq-output"
    phase = 55
    pattern = op.QuantizeLinear(Op(ANY, tagged="int8-weighted", name="conv"), name="q")
    host = "conv"
    cost = 3

    def accept(self, b, state):
        """A lone QuantizeLinear; on classic TensorRT, a layer without a float residual
        operand (its output is then float: TRT409); TensorRT-RTX quantizes it anyway."""
        if len(b.layers["q"].nodes) != 1:
            return False
        if state.ctx is not None and state.ctx.target == "tensorrt-rtx":
            return True
        return all(dq_producer(state, r) is not None for _, r in residual_inputs(state, b.layers["conv"]))

    def find(self, state):
        """One match per (INT8 layer, quantized output tensor): the layer and every free
        QuantizeLinear reading that tensor with the first one's scale and zero_point."""
        # find, not a pattern: every free QuantizeLinear reading the layer's output with the
        # first one's scale and zero_point joins (TensorRT merges identical quantizations):
        # an unbounded set of sibling readers of one tensor, which a pattern (a tree walked
        # up producer edges from one anchor) cannot say. The pattern finds the first.
        seen = set()
        for m in super().find(state):
            conv, q_layer, q = m.layer("conv"), m.layer("q"), m.node("q")
            t = state.resolve(q.inputs[0])
            if (id(conv), t) in seen:
                continue
            seen.add((id(conv), t))
            layers, order = {"conv": conv, "q": q_layer}, [conv, q_layer]
            for other, extra in joining_quantizers(state, t, first=q):
                if other.name != q.name:
                    layers[f"q_{other.name}"] = extra
                    order.append(extra)
            yield Match(self, layers, {"y": t}, order, state)

    def describe(self, m):
        qs = [layer.nodes[0] for name, layer in m.layers.items() if name.startswith("q")]
        return (f"{', '.join(qs)} ({qparams(m.state, m.state.graph.nodes[qs[0]])}) fuse into "
                f"{m.layer('conv').host_or_first}: the layer writes INT8")

    @check("single-consumer", targets=("tensorrt",))
    def single(self, m, ctx):
        t = m.tensor("y")
        q = m.node("q")
        qs, others = quantized_readers(ctx.state, t)
        differ = [n.name for n in qs if same_qparams(ctx.state, q, n) is False]
        if t in ctx.graph.outputs:
            others = others + [f"<graph output {t}>"]
        if not others and not differ:
            return None
        producer = m.layer("conv").host_or_first
        found = others + [f"{n} (another scale)" for n in differ]
        return (f"{producer} output {t} is also read by {', '.join(found)}; an INT8 output needs "
                f"every reader to be a QuantizeLinear with {q.name}'s {qparams(ctx.state, q)} "
                f"(the tensor stays float and {q.name} runs as a separate layer)")

