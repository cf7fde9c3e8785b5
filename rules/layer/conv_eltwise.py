"""TRT104 conv-eltwise."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check, fmt_shape, single_consumer

from fusionlab.rules.common.layers import rtx_inside_graph
from fusionlab.rules.common.ops import CONVS


class ConvEltwise(Rule):
    """A Convolution followed by an ElementWise sum, min or max fuses into it (``conv + add``).

    What it fuses: Conv or ConvTranspose -> Add / Max / Min whose other operand is a
    non-constant tensor (a residual), in either operand order. An Add of a constant is a
    Scale (TRT106 conv-scale), not this fusion. When both operands come from
    convolutions, the sum goes to the one whose output is read by the Add only, then to
    the one computed last (the other operand is then ready when its kernel runs: in
    ResNet the shortcut conv exported last takes the Add). A ReLU after the Add fuses in a
    later round (TRT101 conv-relu): ``conv + bn + add + relu``.
    Why it matters: the residual is read in the convolution's epilogue; unfused, a
    separate ElementWise kernel reads both tensors and writes a third.
    Conditions: `no-broadcast` -- both operands have the same shape except dim 0 (the
    batch) (TensorRT only); `single-consumer` -- the convolution's output is read by the
    ElementWise layer only; `inside-graph` (TensorRT-RTX only) -- for Max / Min and a
    broadcasting Add, the ElementWise output is not a graph output.
    TensorRT-RTX differs: it fuses a broadcasting Add ([1,C,1,1], constant or runtime)
    into the convolution, so `no-broadcast` is classic only; Conv->Max/Min and the
    broadcast Add fuse only when the pattern sits inside the graph (docs/TENSORRT-RTX.md#conv-add, docs/TENSORRT-RTX.md#context-matters).
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and ElementWise
    Operation.
    """

    code = "TRT104"
    name = "conv-eltwise"
    pattern = Op(("Add", "Max", "Min"), Op(CONVS, name="conv"), Var("other"),
                 name="elt")
    host = "conv"
    cost = 3

    def accept(self, b, state):
        other = b.tensors["other"]
        conv_out = state.layer_outputs(b.layers["conv"])
        return not state.is_constant(other) and other not in conv_out

    def prefer(self, b, state):
        """Between two convolution operands: the one whose output has one reader, then
        the one computed last."""
        conv = b.layers["conv"]
        readers = {c for t in state.layer_outputs(conv) for c in state.graph.consumers.get(t, ())}
        last = max(state.graph.nodes[n].index for n in conv.nodes)
        return (len(readers) == 1, last)

    def _broadcast(self, m, ctx):
        """``(a, b)`` shapes text when the operands broadcast beyond dim 0, else None."""
        conv_out = m.state.layer_outputs(m.layer("conv"))[0]
        a, b = ctx.graph.shape(conv_out), ctx.graph.shape(m.state.resolve(m.tensor("other")))
        if a is None or b is None:
            return None
        if len(a) == len(b) and all(x == y for x, y in zip(a[1:], b[1:])):
            return None
        if len(a) == len(b) and any(not isinstance(d, int) for d in (*a[1:], *b[1:])):
            return None  # symbolic sizes: cannot tell
        return fmt_shape(a), fmt_shape(b)

    @check("no-broadcast", targets=("tensorrt",))
    def no_broadcast(self, m, ctx):
        shapes = self._broadcast(m, ctx)
        if shapes is None:
            return None
        elt = m.node("elt")
        return (f"{elt.name} ({elt.op_type}) combines {m.tensor('other')} of shape {shapes[1]} with "
                f"the convolution output of shape {shapes[0]}; the fusion needs equal shapes "
                "(broadcasting only across the batch dimension)")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("inside-graph", targets=("tensorrt-rtx",))
    def inside_graph(self, m, ctx):
        op_type = m.node("elt").op_type
        if op_type == "Add" and self._broadcast(m, ctx) is None:
            return None
        what = f"Conv->{op_type}" + (" (broadcast)" if op_type == "Add" else "")
        return rtx_inside_graph(m, ctx, "elt", what)
