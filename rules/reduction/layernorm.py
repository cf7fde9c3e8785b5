"""TRT208 layernorm."""

import numpy as np

from fusionlab.pattern import Const, Var, op
from fusionlab.rule import Rule, check, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.qdq import has_qdq
from fusionlab.rules.common.shapes import reduce_axes


def _pattern():
    """The 9-op LayerNorm of exporters without LayerNormalization (opset <= 16)::

        mean = ReduceMean(x); d = Sub(x, mean); var = ReduceMean(Pow(d, 2) | Mul(d, d))
        y = Add(Mul(Div(d, Sqrt(Add(var, eps))), gamma), beta)

    ``d`` is written twice; the matcher binds the square's input to the Var ``d`` and
    :meth:`LayerNorm.accept` requires it to be the Sub's output.
    """
    x, d = Var("x"), Var("d")
    centered = op.Sub(x, op.ReduceMean(x, name="mean"), name="sub")
    square = op.Pow(d, Const("exp"), name="square") | op.Mul(d, d, name="square")
    variance = op.ReduceMean(square, name="var")
    std = op.Sqrt(op.Add(variance, Const("eps"), name="add_eps"), name="sqrt")
    normalized = op.Div(centered, std, name="div")
    return op.Add(op.Mul(normalized, Const("gamma"), name="scale"), Const("beta"), name="shift")


class LayerNorm(Rule):
    """The 9-op LayerNorm fuses into one normalization layer.

    What it fuses: ReduceMean(x) -> Sub(x, mean) -> Pow(d, 2) (or Mul(d, d)) -> ReduceMean
    -> Add(eps) -> Sqrt -> Div(d, .) -> Mul(gamma) -> Add(beta), with constant eps, gamma
    and beta: what PyTorch exports for ``nn.LayerNorm`` below opset 17 (from opset 17 the
    exporter writes one LayerNormalization op, already one layer). Result kind LayerNorm.
    Why it matters: one kernel (TensorRT 8.6+ INormalizationLayer / a Myelin kernel)
    instead of two reductions and seven pointwise passes, and a more accurate one in FP16.
    Conditions: `axis-last` -- both ReduceMeans reduce the same trailing axes, ending with
    the last one (LayerNorm normalizes over the last axis or axes); `not-int8-implicit`
    -- classic TensorRT only: an INT8 build without Q/DQ nodes (implicit quantization)
    does not take the LayerNorm code path (NVIDIA/TensorRT#3230, maintainer comment on
    8.6); `single-consumer` -- no interior result (mean, x - mean, variance, ...) is read
    outside the pattern (x - mean is read by both the square and the Div, inside).
    TensorRT-RTX measured the 9-op LayerNorm as one kgen kernel that also takes the
    residual and bias Adds feeding x (docs/TENSORRT-RTX.md#9-op-layernorm); fusionlab predicts the 9 ops on
    both targets (``Rule.fused`` is not told the target).
    Source: TensorRT 8.6 release notes (INormalizationLayer; ONNX LayerNormalization
    from opset 17) and NVIDIA/TensorRT#3230 (the primitive-op LayerNorm is detected and
    fused in 8.6); the TensorRT 7/8 guides' fusion lists (docs/FUSIONS.md#normalization) have no LayerNorm
    entry; docs/TENSORRT-RTX.md#9-op-layernorm.
    """

    code = "TRT208"
    name = "layernorm"
    phase = 20
    pattern = _pattern()
    result_kind = "LayerNorm"
    cost = 2
    rewrites_on = ("predicted", "missed")
    fixes = ()

    def accept(self, b, state):
        graph = state.graph
        sub_out = [state.resolve(t) for t in graph.nodes[b.layers["sub"].host_or_first].outputs]
        if b.tensors["d"] not in sub_out:
            return False
        if "exp" in b.tensors:
            value = constant_of(state, b.tensors["exp"])
            return value is not None and value.size == 1 and float(value.reshape(-1)[0]) == 2.0
        return True

    @check("axis-last")
    def axis_last(self, m, ctx):
        shape = ctx.graph.shape(m.tensor("x"))
        if shape is None:
            return None
        rank = len(shape)
        seen = []
        for name in ("mean", "var"):
            node = m.node(name)
            axes = reduce_axes(ctx.state, node, rank)
            if axes is None:
                return None
            seen.append((node.name, axes))
        (n1, a1), (n2, a2) = seen
        trailing = a1 == tuple(range(rank - len(a1), rank)) and len(a1) > 0
        if a1 == a2 and trailing:
            return None
        if a1 != a2:
            return (f"{n1} reduces axes {list(a1)} and {n2} axes {list(a2)} of a rank-{rank} input; "
                    f"LayerNorm needs both over the same trailing axes, ending with axis {rank - 1}")
        return (f"{n1} and {n2} reduce axes {list(a1)} of a rank-{rank} input; LayerNorm needs "
                f"the last axis ({rank - 1}) or trailing axes ending with it")

    @check("not-int8-implicit", targets=("tensorrt",))
    def not_int8_implicit(self, m, ctx):
        if ctx.precision != "int8" or has_qdq(ctx.graph):
            return None
        return ("the build is INT8 with implicit quantization (precision int8, no Q/DQ nodes); "
                "TensorRT's LayerNorm fusion does not support implicit INT8 (NVIDIA/TensorRT#3230): "
                "build FP16/FP32 or quantize explicitly")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    def rewrite(self, m, graph):
        """Replace the 9 ops by one LayerNormalization (``fusionlab rewrite``), from opset
        17 (below it the 9 ops stay: TensorRT fuses them, and the opset is never raised).

        ``axis`` is the first reduced axis, ``epsilon`` the added constant, Scale and B
        are gamma and beta broadcast to the normalized shape. Same formula; float32
        results differ by rounding only. Refused: unknown rank or normalized shape, a
        gamma or beta that varies outside the normalized axes.
        """
        import onnx_graphsurgeon as gs

        from fusionlab.rewriting import CannotRewrite, constant, fresh_name, node_of

        if graph.opset < 17:
            return None
        state = m.state
        x = state.resolve(m.tensor("x"))
        shape = state.graph.shape(x)
        axes = None if shape is None else reduce_axes(state, m.node("mean"), len(shape))
        if not axes:
            raise CannotRewrite(f"the rank of {x} or the reduced axes are unknown")
        eps = constant_of(state, m.tensor("eps"))
        gamma, beta = constant_of(state, m.tensor("gamma")), constant_of(state, m.tensor("beta"))
        norm = tuple(shape[axes[0]:])
        if any(not isinstance(d, int) for d in norm) or eps is None or eps.size != 1 \
                or gamma is None or beta is None:
            raise CannotRewrite(f"the normalized shape {list(norm)} or epsilon is not static")
        try:
            g = np.broadcast_to(gamma, norm) if gamma.ndim <= len(norm) else None
            b = np.broadcast_to(beta, norm) if beta.ndim <= len(norm) else None
        except ValueError:
            g = b = None
        if g is None or b is None:
            raise CannotRewrite("gamma or beta varies outside the normalized axes")
        shift = node_of(graph, m.node("shift").name)
        out = shift.outputs[0]
        shift.outputs.clear()
        name = fresh_name(graph, f"{m.node('mean').name}_LayerNormalization")
        graph.nodes.append(gs.Node(
            "LayerNormalization", name, {"axis": int(axes[0]), "epsilon": float(eps.reshape(-1)[0])},
            inputs=[graph.tensors()[x], constant(graph, f"{name}_scale", np.array(g, gamma.dtype)),
                    constant(graph, f"{name}_bias", np.array(b, gamma.dtype))],
            outputs=[out]))
        return f"replaced the 9-op LayerNorm {m.node('mean').name} ... {shift.name} by {name}"
