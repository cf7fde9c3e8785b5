"""TRT409 qdq-residual-add."""

from fusionlab.pattern import Op, Var, op
from fusionlab.rule import Match, Rule, check

from rules._common import (CONVS, WEIGHTED_KINDS, dq_producer, is_int8_layer, nodes_match,
                           owned_dq_layer, q_producer, quantized_readers, residual_inputs)


class QdqResidualAdd(Rule):
    """An INT8 ``conv + add`` reads its residual in INT8 when the residual is dequantized.

    What it fuses: an INT8 convolution (TRT403) that absorbed a residual Add (TRT104
    conv-eltwise) -> the DequantizeLinear of the Add's other operand: the layer reads the
    residual in INT8 and, when a QuantizeLinear follows, writes INT8 (TRT404). The
    residual's own QuantizeLinear stays with its producer.
    Two structures are reported as missed: the residual operand is float (no
    DequantizeLinear): "the precision of x_f1 is floating point, so the output of the fused
    convolution is limited to floating-point, and the trailing Q-layer cannot be fused with
    the convolution" (TREx INT8 MobileNet without residual quantizers: `Conv_142 +
    Add_144` writes FP16 and `QuantizeLinear_147` is a separate Reformat); and the
    convolution's output reaches the Add through its own QuantizeLinear ->
    DequantizeLinear (onnxruntime.quantization's QDQ format, which quantizes every input
    of the Add): "the extra pair of Q/DQ operators forces the separation of the
    convolution from the element-wise addition", so the Add runs as its own INT8 layer
    (TRT405) after a convolution that writes INT8.
    Why it matters: ResNet-style networks have one residual Add per block; fused, each
    costs nothing, unfused it is a kernel that reads two tensors and writes a third.
    Conditions: `other-input-quantized` -- the Add's other operand comes from a
    DequantizeLinear (the fix: a Q/DQ pair on the residual input); `conv-path-unquantized`
    -- the convolution's output feeds the Add directly, with no QuantizeLinear ->
    DequantizeLinear in between (the fix: remove that pair and keep the one on the
    residual). The TensorRT quantization toolkits place Q/DQ this way (residual input
    quantized, convolution output not).
    TensorRT-RTX differs: the residual DQ -> Add -> Q after an INT8 convolution runs in the
    convolution's epilogue kernel (TENSORRT-RTX.md), and neither missed structure splits
    anything there (measured with TensorRT-RTX 1.7: a float residual, and onnxruntime's
    Q -> DQ between the convolution and the Add, all run in that one epilogue kgen), so
    the rule is classic TensorRT only; TRT410 qdq-epilogue predicts the TensorRT-RTX
    grouping, the residual's DequantizeLinear and QuantizeLinear included.
    Source: TensorRT Developer Guide, "Q/DQ Layer-Placement Recommendations" (quantize the
    residual input in skip connections; Figures "the trailing Q-layer cannot be fused" and
    "an example of suboptimal quantization fusions"); TensorRT "Q/DQ Fusion".
    """

    code = "TRT409"
    name = "qdq-residual-add"
    phase = 55
    targets = ("tensorrt",)
    pattern = op.Add(Op(CONVS, name="conv", free=True), op.DequantizeLinear(Var("other"),
                                                                           name="dq"), name="add")
    host = "conv"
    cost = 3
    rewrites_on = ("missed",)

    def find(self, state):
        yield from self._fused_adds(state)
        yield from self._split_adds(state)

    def _fused_adds(self, state):
        """INT8 convolutions holding a residual Add: fuse the residual's free
        DequantizeLinear (or report a float residual)."""
        for layer in state.layers_of_kinds(WEIGHTED_KINDS):
            if not is_int8_layer(layer):
                continue
            for add, t in residual_inputs(state, layer):
                dq = dq_producer(state, t)
                if dq is None:
                    conv = state.graph.nodes[layer.host_or_first]
                    yield nodes_match(self, state, {"conv": conv, "add": add}, {"other": t})
                    continue
                mine = owned_dq_layer(state, dq, add.name)
                if mine is not None:
                    yield Match(self, {"conv": layer, "dq": mine}, {"other": t}, [layer, mine],
                                state)

    def _split_adds(self, state):
        """Adds reading a convolution's output through QuantizeLinear -> DequantizeLinear."""
        graph = state.graph
        for add in graph.nodes.values():
            if add.op_type != "Add" or state.is_absorbed(add.name):
                continue
            if is_int8_layer(state.layer_of[add.name]):
                continue  # already inside a convolution
            for t in add.inputs[:2]:
                dq = dq_producer(state, t)
                q = q_producer(state, dq.inputs[0]) if dq is not None else None
                src = graph.node_of(state.resolve(q.inputs[0])) if q is not None else None
                if src is None or src.op_type not in CONVS:
                    continue
                qs, others = quantized_readers(state, q.inputs[0])
                if others or len(graph.consumers.get(dq.outputs[0], ())) != 1:
                    continue  # the conv output or the DQ has other readers: not a pure split
                yield nodes_match(self, state, {"conv": src, "q": q, "dq": dq, "add": add},
                                  {"split": t})
                break

    def describe(self, m):
        t = m.tensor("other")
        add = next((n.name for n, r in residual_inputs(m.state, m.layer("conv")) if r == t), "the Add")
        return (f"{m.node('dq').name} (the residual operand of {add}) fuses into "
                f"{m.layer('conv').host_or_first}: the convolution reads the residual in INT8")

    @check("other-input-quantized")
    def other(self, m, ctx):
        if "split" in m.tensors or "dq" in m.layers:
            return None
        t = m.tensor("other")
        add = m.node("add")
        src = ctx.graph.producer.get(ctx.state.resolve(t), "the network input")
        layer = ctx.state.layer_of[m.node("conv").name]
        trailing = [q.name for o in ctx.state.layer_outputs(layer)
                    for q in quantized_readers(ctx.state, o)[0]]
        tail = (f"; the fused convolution's output is limited to float and {', '.join(trailing)} "
                "runs as a separate layer") if trailing else \
            "; the fused convolution's output is limited to float"
        return (f"{add.name} adds {t} from {src} in float (no DequantizeLinear){tail}: quantize "
                "the residual input (a Q/DQ pair on it) to keep the layer INT8")

    @check("conv-path-unquantized")
    def conv_path(self, m, ctx):
        if "split" not in m.tensors:
            return None
        conv, q, dq, add = (m.node(n) for n in ("conv", "q", "dq", "add"))
        return (f"{add.name} reads {conv.name} through {q.name} -> {dq.name}; the extra Q/DQ "
                f"pair forces the Add out of the convolution, so it runs as a separate INT8 "
                f"layer: remove the Q/DQ between {conv.name} and {add.name} and keep the one "
                "on the residual input")

    def rewrite(self, m, graph):
        """Quantize a float residual that already lies on a quantization grid
        (``fusionlab rewrite``); exact only then, so only then.

        The residual operand is traced back through ops that keep values on a grid
        (Relu, MaxPool, Identity and the Shuffles) to a per-tensor, zero_point-0
        DequantizeLinear; a Q -> DQ pair with that scale is added on the Add's input (the
        values round-trip unchanged). Any other float residual is refused: a Q/DQ pair
        with another tensor's scale (the TREx ResNet recipe, reusing the quantizer of the
        residual's other reader) rounds it and changes the outputs; do it where accuracy
        is measured (calibration, QAT). `conv-path-unquantized` is refused too: removing
        the Q/DQ between the convolution and the Add drops a rounding step.
        """
        from fusionlab.rewriting import CannotRewrite, node_of, qdq_pair

        from rules._common import gs_qparams, gs_scalar_qparams

        if "split" in m.tensors:
            conv, q, dq, add = (m.node(n).name for n in ("conv", "q", "dq", "add"))
            raise CannotRewrite(f"removing {q} -> {dq} between {conv} and {add} would drop a rounding "
                                "step and change the outputs (by up to half a quantization step)")
        if "dq" in m.layers:
            return None
        t = m.state.resolve(m.tensor("other"))
        tensor = graph.tensors()[t]
        src = tensor
        while len(src.inputs) == 1 and src.inputs[0].op in _GRID_KEEPING:
            src = src.inputs[0].inputs[0]
        dq = src.inputs[0] if len(src.inputs) == 1 else None
        params = gs_scalar_qparams(dq) if dq is not None and dq.op == "DequantizeLinear" else None
        if params is None or params[1] not in (None, 0):
            readers = [c.name for c in tensor.outputs if c.op == "QuantizeLinear"]
            hint = (f"; {readers[0]} quantizes it for another reader, and reusing that scale here would "
                    "round the residual (the TREx ResNet recipe: it changes the outputs, so calibrate "
                    "or fine-tune with it)") if readers else ""
            raise CannotRewrite(f"the residual {t} of {m.node('add').name} is float and not on a "
                                f"symmetric per-tensor quantization grid{hint}")
        add = node_of(graph, m.node("add").name)
        scale, zp, axis = gs_qparams(dq)
        add.inputs[add.inputs.index(tensor)] = qdq_pair(graph, tensor, scale, zp, axis, add.name)
        return (f"quantized the residual {t} of {add.name} with {dq.name}'s scale (its values are on "
                "that grid: exact)")


#: Ops whose output stays on its input's quantization grid (and in its range).
_GRID_KEEPING = ("Relu", "MaxPool", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
                 "Slice", "Identity")
