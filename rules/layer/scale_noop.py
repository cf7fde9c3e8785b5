"""TRT125 scale-noop."""

from __future__ import annotations

import numpy as np

from fusionlab.pattern import Const, Op, Var
from fusionlab.rule import Rule, check, fmt_shape
from fusionlab.rules.common.values import constant_of


#: The identity element of each op, with the constant as its second operand.
IDENTITY = {"Add": 0.0, "Sub": 0.0, "Mul": 1.0, "Div": 1.0, "Pow": 1.0}
#: How close a constant must be to the identity to count as a would-be no-op (structure);
#: the `exact-identity` check then asks for exact equality.
NEAR = dict(rtol=1e-3, atol=1e-5)


def _near_identity(op_type: str, value: np.ndarray | None) -> bool:
    if value is None or value.size == 0 or not np.issubdtype(value.dtype, np.number):
        return False
    return bool(np.allclose(value.astype(np.float64), IDENTITY[op_type], **NEAR))


def _fmt(v) -> str:
    if np.issubdtype(np.asarray(v).dtype, np.floating):
        return np.format_float_positional(v, trim="-")
    return str(v)


class ScaleNoop(Rule):
    """A Scale that adds 0, subtracts 0, multiplies or divides by 1, or raises to the power 1 is erased.

    What it fuses: Add(x, 0), Sub(x, 0), Mul(x, 1), Div(x, 1), Pow(x, 1) -- the constant
    on the side that makes the op an identity (Add and Mul in either order), every element
    exactly the identity value. Constants within 1e-5 (absolute) or 1e-3 (relative) of it
    match and are reported as missed when not exact.
    Why it matters: a no-op Scale costs a kernel that reads and writes the whole tensor;
    erased, its consumers read ``x`` directly and may fuse with its producer
    (Conv -> Add 0 -> Relu becomes conv + relu).
    Conditions: `exact-identity` -- every element of the constant is exactly 0 (Add, Sub)
    or 1 (Mul, Div, Pow); `no-broadcast` -- the constant does not broadcast ``x`` to a
    larger shape (an Add of a zero tensor of higher rank changes the output shape, so it
    is not a no-op); `scale-shaped` -- the constant has a shape a Scale layer takes
    (IScaleLayer's modes: kUNIFORM, one value; kCHANNEL, one value per channel, axis 1;
    kELEMENTWISE, the shape of ``x`` but for the batch axis), else the op is an
    ElementWise layer, which is not erased: the zero attention bias ``[1, 1, S, S]`` that
    ``torch.onnx.export(..., dynamo=True)`` adds to ``Q·Kᵀ`` of ``[1, N, S, S]`` stays in
    the Softmax's kernel (measured with TensorRT-RTX 1.7: ViT, and a built [1, 4, 16, 16]
    attention), while a scalar Add 0 after a convolution is erased. The reason names the
    shapes; the rewrite removes the no-op Add.
    Source: TensorRT Developer Guide, "Types of Fusions": Scale ("A Scale layer that adds
    0, multiplied by 1, or computes powers to the 1 can be erased"); TensorRT API,
    IScaleLayer (ScaleMode kUNIFORM / kCHANNEL / kELEMENTWISE); the live builds above.
    """

    code = "TRT125"
    name = "scale-noop"
    kind = "erase"
    phase = 5
    # Const values are compared in `accept` through constant_of: LayerState.const_value
    # answers None for a Constant node's output once constant folding absorbed it.
    pattern = (
        Op(("Add", "Mul"), Var("x"), Const("c"), name="scale"),
        Op(("Sub", "Div", "Pow"), Var("x"), Const("c"), name="scale", commute=False),
    )
    cost = 1
    rewrites_on = ("absorbed", "missed")
    fixes = ("scale-shaped",)

    def accept(self, b, state):
        node = state.graph.nodes[b.layers["scale"].host_or_first]
        return _near_identity(node.op_type, constant_of(state, b.tensors["c"]))

    @check("exact-identity")
    def exact(self, m, ctx):
        node = m.node("scale")
        value = constant_of(ctx.state, m.tensor("c"))
        want = IDENTITY[node.op_type]
        off = value.astype(np.float64) != want
        if not off.any():
            return None
        worst = value.reshape(-1)[int(np.argmax(np.abs(value.astype(np.float64) - want).reshape(-1)))]
        return (f"{node.name} ({node.op_type}) has a constant {_fmt(worst)} in {int(off.sum())} of "
                f"{value.size} elements, not exactly {want:g}; only an exact {want:g} is erased")

    @check("no-broadcast")
    def no_broadcast(self, m, ctx):
        node = m.node("scale")
        x, out = m.tensor("x"), node.outputs[0]
        sx, so = ctx.graph.shape(x), ctx.graph.shape(out)
        value = constant_of(ctx.state, m.tensor("c"))
        if sx is not None and so is not None and None not in sx and None not in so:
            if tuple(sx) == tuple(so):
                return None
        elif sx is not None and value.ndim <= len(sx) and all(
                c == 1 or not isinstance(d, int) or c == d
                for c, d in zip(reversed(value.shape), reversed(sx), strict=False)):
            return None  # shapes partly unknown, and the constant cannot grow x
        elif sx is None and value.size == 1 and value.ndim == 0:
            return None
        if sx is None:
            return (f"the shape of {x} is unknown, so {node.name}'s constant of shape "
                    f"{fmt_shape(value.shape)} may broadcast it; erasing needs the output shape to "
                    f"equal the input shape")
        return (f"{node.name} broadcasts {x} of shape {fmt_shape(sx)} with a constant of shape "
                f"{fmt_shape(value.shape)} to {fmt_shape(so)}; erasing it needs the output shape "
                f"to equal the input shape")

    @check("scale-shaped")
    def scale_shaped(self, m, ctx):
        node = m.node("scale")
        x = m.tensor("x")
        value = constant_of(ctx.state, m.tensor("c"))
        sx = ctx.graph.shape(x)
        if value.size == 1 or sx is None or len(sx) < value.ndim:
            return None  # kUNIFORM, or nothing known to say otherwise
        shape = (1,) * (len(sx) - value.ndim) + tuple(value.shape)
        spread = [i for i, d in enumerate(shape) if d != 1]
        if spread == [1] or (len(sx) > 1 and shape[1:] == tuple(sx[1:])):
            return None  # kCHANNEL, kELEMENTWISE
        return (f"{node.name} ({node.op_type}) has a constant of shape {fmt_shape(value.shape)} for "
                f"{x} of shape {fmt_shape(sx)}: not one value, one per channel or one per element, so "
                f"it is an ElementWise layer, which the builder keeps (a kernel or a kernel's work "
                f"for a no-op); remove {node.name} from the graph")

    def erased(self, m):
        return [(m.layer("scale"), m.tensor("x"))]

    def describe(self, m):
        node = m.node("scale")
        return (f"{node.name} ({node.op_type} by {IDENTITY[node.op_type]:g}) is a no-op: erased, "
                f"consumers read {m.state.resolve(m.tensor('x'))}")

    def rewrite(self, m, graph):
        """Erase the exact no-op Scale (``fusionlab rewrite``); a near-identity or a
        broadcast is refused with its check's reason."""
        from fusionlab.rewriting import erase, node_of

        node = node_of(graph, m.node("scale").name)
        names = {m.tensor("x"), m.state.resolve(m.tensor("x"))}
        x = next(t for t in node.inputs if t.name in names)
        erase(graph, node, x)
        return f"erased {node.name} ({node.op} by {IDENTITY[node.op]:g}, a no-op)"
