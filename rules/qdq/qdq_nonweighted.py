"""TRT405 qdq-nonweighted."""

from fusionlab.pattern import ANY
from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.ops import QDQ_COMMUTING, QDQ_INT8_OPS, QDQ_NOT_COMMUTING, QDQ_OPS, WEIGHTED_KINDS
from fusionlab.rules.common.qdq import dq_producer, extra_readers_reason, joining_quantizers, lone_layer, owned_dq_layer, q_producer, qparams, quantized_readers
from fusionlab.rules.common.shapes import live_readers

#: Layers this rule never anchors on: Q/DQ themselves, weighted layers (TRT403), the
#: data-movement ops of TRT406 qdq-commute, constants.
SKIP = QDQ_OPS + WEIGHTED_KINDS + QDQ_COMMUTING + QDQ_NOT_COMMUTING + ("Constant",)


class QdqNonweighted(Rule):
    """DQ -> node -> Q fuses into one INT8 layer when the node has an INT8 implementation.

    What it fuses: DequantizeLinear on every non-constant input -> a non-weighted node ->
    QuantizeLinear, e.g. DQ -> Relu -> Q, DQ -> AveragePool -> Q, [DQ, DQ] -> Add -> Q
    (ONNX Runtime's QDQ format puts such a pair around every quantized op). The layer
    keeps the node's kind. Data-movement ops (MaxPool, Transpose, Reshape, Concat...) are
    TRT406 qdq-commute's; Conv / Gemm / MatMul are TRT403's. A fused PointWise layer
    counts when each of its ops has an INT8 implementation. A DequantizeLinear read by
    several layers stays its own layer (TensorRT duplicates it for each reader; fusionlab
    keeps one copy) and the node still runs in INT8.
    Why it matters: the node reads and writes INT8; unfused, the DequantizeLinear and the
    QuantizeLinear are separate layers around a float node.
    Conditions: `int8-implementation` -- the node is one of the ops with an INT8
    implementation (`QDQ_INT8_OPS` in rules/_common.py: the INT8 column of the TensorRT
    support matrix, "Layers and Precision", for Pooling, Activation, ElementWise, Scale,
    Padding and nearest Resize); other nodes (Softmax, Exp, ReduceMean, LayerNormalization,
    Gather, a linear Resize...) are named; `inputs-dequantized` -- every non-constant input
    comes from a DequantizeLinear (an Add with one float operand cannot run in INT8);
    `single-consumer` -- the node's output is read by QuantizeLinear nodes with one scale
    and zero_point only; `avgpool-separate-on-rtx` (TensorRT-RTX only) -- the node is not
    an AveragePool.
    TensorRT-RTX measured DQ->Relu->Q as one kernel with INT8 in and out: same grouping
    (docs/TENSORRT-RTX.md#dq-relu-q-and-dq-maxpool-q). Divergences measured with TensorRT-RTX 1.7 (live builds of small
    graphs): the QuantizeLinear of a network input whose only reader is the layer's
    DequantizeLinear runs in the same kgen kernel (Q -> DQ -> Relu -> Q, [Q -> DQ, Q ->
    DQ] -> Add -> Q, Q -> DQ -> GlobalAveragePool -> Q are one kernel each), so on
    `tensorrt-rtx` it joins the layer; DQ -> AveragePool -> Q is not fused: the average
    pooling is its own `avgpool` kernel on the float tensor and the QuantizeLinear a
    separate kgen (`avgpool-separate-on-rtx`; after an INT8 convolution the
    DequantizeLinear runs in the convolution's epilogue, TRT410). After an INT8
    convolution the whole DQ -> node -> Q layer joins the convolution's epilogue (TRT410
    qdq-epilogue).
    Severity: warning; info when `avgpool-separate-on-rtx` fails (TensorRT-RTX's separate
    avgpool kernel: nothing in the graph or the options changes it).
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Fuse Q/DQ with non-weighted node;
    TensorRT "Explicit Quantization" (quantizable layers, Figure "A quantizable AveragePool
    layer is fused with a DQ layer and a Q layer").
    """

    info_checks = ("avgpool-separate-on-rtx",)
    code = "TRT405"
    #: an INT8 non-weighted layer
    tags = ('int8', 'int8-nonweighted')
    name = "qdq-nonweighted"
    phase = 55
    host = "node"
    cost = 3

    def find(self, state):
        """One match per node with a dequantized input and a quantized output."""
        # find, not a pattern: the node has any number of non-constant inputs and each one
        # reads a DequantizeLinear at graph level (also one another layer holds, which then
        # does not join), and every free QuantizeLinear reading the output with the first
        # one's scale and zero_point joins: a variable fan-in and an unbounded set of sibling
        # readers, which a pattern (a fixed tree walked up producer edges) cannot say.
        graph = state.graph
        for layer in state.layers_of_kinds((ANY,)):
            if layer.kind in SKIP or "int8" in layer.tags:
                continue
            outs = state.layer_outputs(layer)
            if len(outs) != 1:
                continue
            ins = [t for t in state.layer_inputs(layer) if t and not state.is_constant(t)]
            dqs = [(t, dq_producer(state, t)) for t in ins]
            if not any(dq for _, dq in dqs):
                continue
            qs, _ = quantized_readers(state, outs[0])
            if not qs:
                continue
            layers, order = {"node": layer}, [layer]
            for i, (t, dq) in enumerate(dqs):
                reader = next((n for n in layer.nodes if t in
                               [state.resolve(x) for x in graph.nodes[n].inputs if x]), None)
                mine = owned_dq_layer(state, dq, reader) if dq is not None else None
                if mine is not None:
                    layers[f"dq_{i}"] = mine
                    order.append(mine)
                    before = self._rtx_input_q(state, dq)
                    if before is not None:
                        layers[f"q_in_{i}"] = before
                        order.append(before)
            for q, mine in joining_quantizers(state, outs[0]):
                layers["q" if q is qs[0] else f"q_{q.name}"] = mine
                order.append(mine)
            if "q" not in layers:
                continue
            yield Match(self, layers, {"y": outs[0]}, order, state)

    @staticmethod
    def _rtx_input_q(state, dq):
        """TensorRT-RTX: the lone layer of the QuantizeLinear in front of ``dq`` when ``dq``
        is its only reader and it quantizes a network input (a QuantizeLinear after a layer
        belongs to that layer: TRT404, or this rule's output QuantizeLinear); None on
        classic TensorRT."""
        if state.ctx is None or state.ctx.target != "tensorrt-rtx":
            return None
        q = q_producer(state, dq.inputs[0])
        if q is None or live_readers(state, q.outputs[0]) != [dq.name] \
                or state.resolve(q.inputs[0]) not in state.graph.inputs:
            return None
        return lone_layer(state, q.name)

    def describe(self, m):
        node = m.layer("node")
        return (f"{', '.join(m.nodes)} fuse into one INT8 {node.kind} layer "
                f"(output {qparams(m.state, m.node('q'))})")

    @check("int8-implementation")
    def int8(self, m, ctx):
        layer = m.layer("node")
        ops = [ctx.graph.nodes[n] for n in layer.nodes]
        missing = [n for n in ops if n.op_type not in QDQ_INT8_OPS]
        resize = [n for n in ops if n.op_type == "Resize" and n.attr("mode", "nearest") != "nearest"]
        if not missing and not resize:
            return None
        n = (missing or resize)[0]
        what = f"{n.op_type} in {n.attr('mode')} mode" if n in resize else n.op_type
        return (f"{n.name} ({what}) has no INT8 implementation in TensorRT; the "
                "DequantizeLinear and QuantizeLinear around it stay separate layers and it "
                "runs in float")

    @check("avgpool-separate-on-rtx", targets=("tensorrt-rtx",))
    def avgpool_rtx(self, m, ctx):
        pools = [n for n in m.layer("node").nodes if ctx.graph.nodes[n].op_type == "AveragePool"]
        if not pools:
            return None
        return (f"{pools[0]} (AveragePool) runs as its own TensorRT-RTX avgpool kernel on the "
                f"dequantized float tensor; {m.node('q').name} is a separate quantize kernel and "
                "the DequantizeLinear runs with its producer (measured with TensorRT-RTX 1.7; a "
                "GlobalAveragePool fuses)")

    @check("inputs-dequantized")
    def inputs(self, m, ctx):
        state = ctx.state
        layer = m.layer("node")
        floats = [t for t in state.layer_inputs(layer)
                  if t and not state.is_constant(t) and dq_producer(state, t) is None]
        if not floats:
            return None
        t = floats[0]
        src = ctx.graph.producer.get(state.resolve(t), "the network input")
        return (f"{layer.host_or_first} reads {t} from {src} in float (no DequantizeLinear); "
                f"an INT8 {layer.kind} needs every input dequantized")

    @check("single-consumer")
    def single(self, m, ctx):
        return extra_readers_reason(ctx, m.tensor("y"), m.node("q"), m.layer('node').nodes[-1])

