"""TRT112 depthwise-separable."""

from fusionlab.pattern import Op, Through, Var
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.layers import producer_op, sm_at_least
from fusionlab.rules.common.ops import ACTIVATIONS

#: Q/DQ layers that may sit between the two convolutions of an explicitly quantized graph
#: (lone layers, or a DequantizeLinear the 1x1 convolution's INT8 layer absorbed, TRT403).
QDQ = ("QuantizeLinear", "DequantizeLinear")


def _weight_shape(state, node) -> tuple | None:
    """Shape of the conv weight (input 1); ``accept`` has no Context for ``weight_shape``."""
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


def _one_by_one(w) -> bool:
    """A 1x1 convolution weight ([C_out, C_in, 1, 1])."""
    return w is not None and len(w) == 4 and tuple(w[2:]) == (1, 1)


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
    Severity: warning; info when `convs-separate-on-rtx` fails (TensorRT-RTX has no DepSep
    kernel: nothing in the graph or the options changes it).
    Source: TensorRT Developer Guide, "Types of Fusions": Depthwise Separable
    Convolution ("may sometimes be fused").
    """

    info_checks = ("convs-separate-on-rtx",)
    code = "TRT112"
    name = "depthwise-separable"
    phase = 45
    result_kind = "DepSepConvolution"
    cost = 2

    pattern = Op("Conv",
                 Through(QDQ, Op("Conv", name="dw", attrs={"group": lambda g: g is not None and g > 1}),
                         max_hops=7, name="between", join=True, inside=True),
                 Var(where=lambda w, view: _one_by_one(view.graph.shape(w))),
                 name="pw", attrs={"group": lambda g: g in (None, 1)})

    def accept(self, b, state):
        """The layer-level conditions: both convolutions are their layers' hosts and hold
        an activation, the depthwise one is depthwise (its weight and input channels equal
        ``group``), and the Q/DQ between them are lone Q/DQ layers."""
        pw, dw = b.layers["pw"], b.layers["dw"]
        return (pw.host is not None and dw.host is not None
                and _is_depthwise(state, state.graph.nodes[dw.host])
                and _has_activation(state, dw) and _has_activation(state, pw)
                and all(len(q.nodes) == 1 for q in b.paths["between"]))

    @check("int8", targets=("tensorrt",))
    def int8(self, dw, pw, ctx):
        if ctx.precision == "int8":
            return None
        fed = {conv.name: producer_op(ctx.graph, ctx.state.resolve(conv.inputs[0])) == "DequantizeLinear"
               for conv in (dw, pw)}
        if all(fed.values()):
            return None
        plain = [name for name, ok in fed.items() if not ok]
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
    def rtx(self, dw, pw):
        return (f"TensorRT-RTX has no DepSep kernel: {dw.name} and {pw.name} "
                "run as two convolutions (measured on the INT8 block, TensorRT-RTX 1.7)")
