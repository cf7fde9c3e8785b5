"""TRT505 topk."""

import numpy as np

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, fmt_shape
from fusionlab.rules.common.values import constant_of


#: TensorRT's largest K: "Currently only values up to 3840 are supported"
#: (NvInfer.h, ITopKLayer::setK, TensorRT 8).
MAX_K = 3840


class TopK(Rule):
    """A TopK with a large K, or not on the last axis.

    What it fuses: nothing; a lint on every TopK.
    Why it matters: "To get the maximum performance out of a TopK layer, use small values
    of K reducing the last dimension of data to allow optimal sequential memory accesses".
    TensorRT's TopK layer also caps K: "Currently only values up to 3840 are supported"
    (ITopKLayer::setK, NvInfer.h of TensorRT 8), so a larger K does not build.
    Conditions: `k-small` -- K is at most 3840 (the value found is named); `axis-last` --
    the TopK reduces the last axis (the axis and the shape are named). A K computed at
    runtime is not reported.
    TensorRT-RTX: not measured; the classic advice applies.
    Source: TensorRT Developer Guide, "Optimizing Layer Performance": TopK; TensorRT API,
    ITopKLayer::setK.
    """

    code = "TRT505"
    name = "topk"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    pattern = Op("TopK", name="topk")
    cost = 1

    @staticmethod
    def _k(ctx, node) -> int | None:
        if len(node.inputs) > 1 and node.inputs[1]:
            value = constant_of(ctx.state, ctx.state.resolve(node.inputs[1]))
            return None if value is None or np.size(value) != 1 else int(np.reshape(value, -1)[0])
        k = node.attr("k")
        return None if k is None else int(k)

    @check("k-small")
    def k_small(self, m, ctx):
        node = m.node("topk")
        k = self._k(ctx, node)
        if k is None or k <= MAX_K:
            return None
        return (f"{node.name} asks for K={k}; TensorRT's TopK supports K up to {MAX_K} and is "
                "fastest with a small K")

    @check("axis-last")
    def axis_last(self, m, ctx):
        node = m.node("topk")
        shape = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        axis = int(node.attr("axis", -1))
        if shape is None:
            return None
        rank = len(shape)
        if axis % rank == rank - 1:
            return None
        return (f"{node.name} selects along axis {axis} of its {fmt_shape(shape)} input; "
                f"TensorRT's TopK is fastest on the last axis ({rank - 1})")
