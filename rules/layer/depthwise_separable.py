"""TRT112 depthwise-separable."""

from fusionlab.rule import Match, Rule, check, single_consumer

from fusionlab.rules.common.layers import producer_op, sm_at_least
from fusionlab.rules.common.ops import ACTIVATIONS

#: Q/DQ layers that may sit between the two convolutions of an explicitly quantized graph.
QDQ = ("QuantizeLinear", "DequantizeLinear")


def _weight_shape(state, node) -> tuple | None:
    """Shape of the conv weight (input 1); ``find`` has no Context for ``weight_shape``."""
    if len(node.inputs) < 2 or not node.inputs[1]:
        return None
    shape = state.graph.shape(state.resolve(node.inputs[1]))
    return None if shape is None else tuple(shape)


def _is_depthwise(state, node) -> bool:
    """group == C_in == C_out (weight [C_out, 1, kh, kw])."""
    w = _weight_shape(state, node)
    x = state.graph.shape(state.resolve(node.inputs[0]))
    group = node.attr("group", 1)
    return (w is not None and len(w) == 4 and w[1] == 1 and group > 1 and w[0] == group
            and x is not None and len(x) == 4 and x[1] == group)


def _is_pointwise_conv(state, node) -> bool:
    """A 1x1 convolution with group 1."""
    w = _weight_shape(state, node)
    return w is not None and len(w) == 4 and tuple(w[2:]) == (1, 1) and node.attr("group", 1) == 1


def _has_activation(state, layer) -> bool:
    """The conv layer holds an activation: an Activation op, or a GELU / generic activation
    fused by TRT103 conv-gelu / TRT110 conv-generic-activation."""
    return ("activation" in layer.tags or
            any(state.graph.nodes[n].op_type in ACTIVATIONS for n in layer.nodes))


class DepthwiseSeparable(Rule):
    """A depthwise Conv + activation and a 1x1 Conv + activation fuse into one DepSepConvolution.

    What it fuses: a depthwise Conv (group == C_in == C_out) whose layer already holds
    its activation -> a 1x1 Conv (group 1) with its activation, the MobileNet v1 block.
    Both activations are structure: MobileNetV2's linear 1x1 projection is no candidate.
    In an explicitly quantized graph the QuantizeLinear / DequantizeLinear between the
    two convolutions are part of the fused layer. Runs in phase 45, after the activation
    fusions.
    Why it matters: the depthwise output stays on chip; unfused, it is written by one
    INT8 kernel and read back by the next.
    Conditions: `int8` -- both run in INT8 (``--precision int8``, or fed by DequantizeLinear)
    (TensorRT only); `sm-7.2-or-newer` (TensorRT only); `single-consumer` -- the
    depthwise output is read by the 1x1 convolution (through its Q/DQ) only;
    `convs-separate-on-rtx` (TensorRT-RTX only).
    TensorRT-RTX differs: it has no DepSep kernel; the measured INT8 block is two INT8
    convolutions (docs/TENSORRT-RTX.md#depthwise-separable-int8-block), so the fusion is always missed on RTX.
    Source: TensorRT Developer Guide, "Types of Fusions": Depthwise Separable
    Convolution ("may sometimes be fused").
    """

    code = "TRT112"
    name = "depthwise-separable"
    phase = 45
    result_kind = "DepSepConvolution"
    cost = 2

    def anchor_kinds(self):
        return frozenset({"Conv"})

    def find(self, state):
        """Anchor on 1x1 Conv layers with a fused activation; walk back through Q/DQ layers
        to a depthwise Conv layer with a fused activation."""
        graph = state.graph
        for pw in state.layers_of_kinds(["Conv"]):
            if pw.host is None or not _is_pointwise_conv(state, graph.nodes[pw.host]):
                continue
            t, between = state.resolve(graph.nodes[pw.host].inputs[0]), []
            for _ in range(8):
                layer = state.producer_layer(t)
                if layer is None:
                    break
                if layer is pw:  # a DequantizeLinear fused into the 1x1 conv's layer
                    node = graph.node_of(t)
                    if node.op_type not in QDQ:
                        break
                    t = state.resolve(node.inputs[0])
                    continue
                if layer.kind in QDQ and len(layer.nodes) == 1:
                    between.append(layer)
                    t = state.resolve(graph.nodes[layer.nodes[0]].inputs[0])
                    continue
                if (layer.kind == "Conv" and layer.host is not None
                        and _is_depthwise(state, graph.nodes[layer.host])
                        and _has_activation(state, layer) and _has_activation(state, pw)):
                    names = {"pw": pw, **{f"qdq{i}": q for i, q in enumerate(between)}, "dw": layer}
                    yield Match(self, names, {}, [pw, *between, layer], state)
                break

    @check("int8", targets=("tensorrt",))
    def int8(self, m, ctx):
        if ctx.precision == "int8":
            return None
        fed = {k: producer_op(ctx.graph, m.state.resolve(m.node(k).inputs[0])) == "DequantizeLinear"
               for k in ("dw", "pw")}
        if all(fed.values()):
            return None
        plain = [m.node(k).name for k, ok in fed.items() if not ok]
        return (f"builder precision is {ctx.precision.upper()} and {', '.join(plain)} "
                f"{'is' if len(plain) == 1 else 'are'} not fed by a DequantizeLinear; the fusion "
                "needs both convolutions in INT8")

    @check("sm-7.2-or-newer", targets=("tensorrt",))
    def sm(self, m, ctx):
        return sm_at_least(ctx, 7.2, "DepSepConvolution")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("convs-separate-on-rtx", targets=("tensorrt-rtx",))
    def rtx(self, m, ctx):
        return (f"TensorRT-RTX has no DepSep kernel: {m.node('dw').name} and {m.node('pw').name} "
                "run as two convolutions (measured on the INT8 block, TensorRT-RTX 1.7)")
