"""TRT409 qdq-residual-add."""

import numpy as np

from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.ops import CONVS, WEIGHTED_KINDS
from fusionlab.rules.common.qdq import dq_producer, is_int8_layer, nodes_match, owned_dq_layer, q_producer, quantized_readers, residual_inputs


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
    convolution's epilogue kernel (docs/TENSORRT-RTX.md#residual-dq-add-q), and neither missed structure splits
    anything there (measured with TensorRT-RTX 1.7: a float residual, and onnxruntime's
    Q -> DQ between the convolution and the Add, all run in that one epilogue kgen), so
    the rule is classic TensorRT only; TRT410 qdq-epilogue predicts the TensorRT-RTX
    grouping, the residual's DequantizeLinear and QuantizeLinear included.
    ``fusionlab rewrite --allow-requantize`` quantizes a float residual with the quantizer
    that already reads it (see ``rewrite``; not exact). On a one-block test graph the
    classic prediction goes from 6 to 5 layers (the output Q joins the convolution);
    TensorRT-RTX 1.7 builds 5 kernels before and after, the epilogue kernel then reading
    the residual in INT8.
    Source: TensorRT Developer Guide, "Q/DQ Layer-Placement Recommendations" (quantize the
    residual input in skip connections; Figures "the trailing Q-layer cannot be fused" and
    "an example of suboptimal quantization fusions"); TensorRT "Q/DQ Fusion".
    """

    code = "TRT409"
    name = "qdq-residual-add"
    phase = 55
    targets = ("tensorrt",)
    host = "conv"
    cost = 3
    rewrites_on = ("missed",)

    def find(self, state):
        """Residual Adds inside INT8 convolution layers, then Adds split from a convolution
        by a Q -> DQ pair."""
        # find, not a pattern: the Add is a member of the fused ``conv + add`` layer, whose
        # inputs are its host's (the convolution's), so no pattern on the layer state
        # reaches the residual operand; the split Adds are read at graph level (an Add in
        # any layer but an INT8 convolution, its Q/DQ wherever they ended), reported as
        # missed on the nodes alone so that the diagnostic is the same in every round.
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

    def rewrite(self, m, graph, options=None):
        """Quantize a float residual that already lies on a quantization grid
        (``fusionlab rewrite``); exact only then, so by default only then.

        The residual operand is traced back through ops that keep values on a grid
        (Relu, MaxPool, Identity and the Shuffles) to a per-tensor, zero_point-0
        DequantizeLinear; a Q -> DQ pair with that scale is added on the Add's input (the
        values round-trip unchanged). Any other float residual is refused by default: a
        Q/DQ pair with another tensor's scale rounds it and changes the outputs.
        With ``--allow-requantize`` (``options.allow_requantize``) it is applied the way
        TensorRT recommends (the TREx ResNet recipe: the residual shares the quantizer of
        the convolution branch that reads the same tensor): a DequantizeLinear with the
        scale, zero_point and axis of the QuantizeLinear that already reads that tensor is
        added on that quantizer's output, and the Add reads it. That is a Q -> DQ pair on
        the residual whose Q is the existing one (a second QuantizeLinear with the same
        parameters computes the same values, but stays a layer of its own); it rounds the
        residual by up to half the scale's step (more for a value clamped to the grid's
        range), recorded in the report, and the run is held to the user's ``--atol``.
        Refused even then: no QuantizeLinear reads the tensor (no scale to reuse: calibrate
        one), or several with different parameters.
        `conv-path-unquantized` is refused always: removing the Q/DQ between the
        convolution and the Add drops a rounding step.
        """
        import onnx_graphsurgeon as gs

        from fusionlab.rewriting import CannotRewrite, constant_value, fresh_name, node_of, qdq_pair

        from fusionlab.rules.common.gs import gs_qparams, gs_scalar_qparams

        if "split" in m.tensors:
            conv, q, dq, add = (m.node(n).name for n in ("conv", "q", "dq", "add"))
            raise CannotRewrite(f"removing {q} -> {dq} between {conv} and {add} would drop a rounding "
                                "step and change the outputs (by up to half a quantization step)")
        if "dq" in m.layers:
            return None
        t = m.state.resolve(m.tensor("other"))
        tensor = graph.tensors()[t]
        add_name = m.node("add").name
        src = tensor
        while len(src.inputs) == 1 and src.inputs[0].op in _GRID_KEEPING:
            src = src.inputs[0].inputs[0]
        dq = src.inputs[0] if len(src.inputs) == 1 else None
        params = gs_scalar_qparams(dq) if dq is not None and dq.op == "DequantizeLinear" else None
        if params is not None and params[1] in (None, 0):
            add = node_of(graph, add_name)
            scale, zp, axis = gs_qparams(dq)
            add.inputs[add.inputs.index(tensor)] = qdq_pair(graph, tensor, scale, zp, axis, add.name)
            return (f"quantized the residual {t} of {add.name} with {dq.name}'s scale (its values are on "
                    "that grid: exact)")
        quantizers = [c for c in tensor.outputs if c.op == "QuantizeLinear" and c.inputs[0] is tensor]
        off_grid = f"the residual {t} of {add_name} is float and not on a symmetric per-tensor quantization grid"
        if options is None or not options.allow_requantize:
            hint = (f"; {quantizers[0].name} quantizes it for another reader, and reusing that scale here "
                    "rounds the residual (the TREx ResNet recipe: it changes the outputs; --allow-requantize "
                    "applies it, held to your --atol)") if quantizers else ""
            raise CannotRewrite(off_grid + hint)
        if not quantizers:
            raise CannotRewrite(f"{off_grid}, and no QuantizeLinear reads it: there is no scale to reuse "
                                "(calibrate one)")
        values = []
        for q in quantizers:
            scale, zp, axis = gs_qparams(q)
            sv, zv = constant_value(scale), (constant_value(zp) if zp is not None else None)
            if sv is None or (zp is not None and zv is None):
                raise CannotRewrite(f"{off_grid}, and {q.name}'s scale or zero_point is not a constant")
            values.append((q, sv, zv, axis))
        q0, sv, zv, axis = values[0]
        for q, s2, z2, a2 in values[1:]:
            if a2 != axis or not np.array_equal(s2, sv) or (zv is None) != (z2 is None) or \
                    (zv is not None and not np.array_equal(z2, zv)):
                raise CannotRewrite(f"{off_grid}, and {q0.name} and {q.name} quantize it with different "
                                    "parameters: no single scale to reuse")
        scale, zp, axis = gs_qparams(q0)
        add = node_of(graph, add_name)
        name = fresh_name(graph, f"{add.name}_residual_DequantizeLinear")
        out = gs.Variable(fresh_name(graph, f"{name}_out"), dtype=tensor.dtype)
        graph.nodes.append(gs.Node("DequantizeLinear", name, {} if axis is None else {"axis": int(axis)},
                                   inputs=[q0.outputs[0], scale] + ([zp] if zp is not None else []),
                                   outputs=[out]))
        add.inputs[add.inputs.index(tensor)] = out
        record = options.requantize(add.name, t, q0.name, sv, zv, [name])
        return (f"requantized the residual {t} of {add.name}: {name} dequantizes {q0.name}'s output, the "
                f"residual shares the quantizer of the other reader (--allow-requantize: rounds it by up to "
                f"{record.max_change:.4g}, not exact)")


#: Ops whose output stays on its input's quantization grid (and in its range).
_GRID_KEEPING = ("Relu", "MaxPool", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
                 "Slice", "Identity")
