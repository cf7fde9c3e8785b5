"""TRT406 qdq-commute."""

from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.ops import QDQ_COMMUTING, QDQ_NOT_COMMUTING
from fusionlab.rules.common.qdq import dq_producer, extra_readers_reason, joining_quantizers, lone_layer, owned_dq_layer, qparams, quantized_readers, same_qparams


class QdqCommute(Rule):
    """A data-movement node between DQ and Q runs in INT8: the Q/DQ commute across it.

    What it fuses: DequantizeLinear -> phi -> QuantizeLinear, with phi a node that commutes
    with quantization: MaxPool, GlobalMaxPool, Transpose, Reshape, Flatten, Squeeze,
    Unsqueeze, DepthToSpace, SpaceToDepth, Slice, Expand, Tile, Concat (every input behind
    a DequantizeLinear). TensorRT propagates the DequantizeLinear forward and the
    QuantizeLinear backward across phi ("DequantizeLinear commutation is allowed when
    phi(DQ(x)) == DQ(phi(x))"), so phi reads and writes INT8 and the pair around it
    vanishes; fusionlab models this as one INT8 layer of phi's kind holding the three
    nodes. Runs in phase 10, before the weighted and non-weighted Q/DQ fusions. A
    DequantizeLinear read by several layers stays its own layer (TensorRT duplicates it
    for each reader; fusionlab keeps one copy) and phi still runs in INT8.
    Why it matters: the data movement runs on INT8 (a quarter of the bytes of FP32); if
    the Q/DQ cannot move, phi runs in float between a separate dequantize and quantize.
    Conditions: `commutes` -- phi is one of the ops above (the guide's examples, plus the
    ONNX ops the parser maps to the same Shuffle, Slice or max-Pooling layers); Gather,
    GatherElements and GatherND are named as not commuting ("There are no fusions
    available for a Gather layer"); `equal-scales` -- a Concat's inputs are all
    dequantized, with one scale and zero_point (the values are named);
    `single-consumer` -- phi's output is read by QuantizeLinear nodes with one scale and
    zero_point only.
    TensorRT-RTX measured DQ->MaxPool->Q as one kernel with INT8 in and out: same grouping
    (docs/TENSORRT-RTX.md#dq-relu-q-and-dq-maxpool-q). DQ -> Flatten -> Q before ResNet-18's and MobileNetV2's classifier
    appears in no TensorRT-RTX 1.7 kernel at all (the three nodes vanish; the GEMM reads
    the pooled INT8 tensor): the predicted layer is not contradicted, only unverifiable.
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Commutate Q/DQ nodes; TensorRT
    "Explicit Quantization" (Q/DQ propagation).
    """

    code = "TRT406"
    #: a data-movement layer the Q/DQ pair moved across (runs in INT8)
    tags = ('int8', 'qdq-commuted')
    name = "qdq-commute"
    phase = 10
    host = "phi"
    cost = 2
    rewrites_on = ("predicted", "missed")
    fixes = ("single-consumer",)

    def find(self, state):
        """One match per lone data-movement layer with a dequantized data input and a
        quantized output."""
        # find, not a pattern: a Concat moves every input (any number, each dequantized at
        # graph level, joining when phi is its DQ's only reader), and every free
        # QuantizeLinear reading phi's output with the first one's scale and zero_point
        # joins: a variable fan-in and an unbounded set of sibling readers, which a pattern
        # (a fixed tree walked up producer edges from one anchor) cannot say.
        graph = state.graph
        for layer in state.layers_of_kinds(QDQ_COMMUTING + QDQ_NOT_COMMUTING):
            if len(layer.nodes) != 1:
                continue
            node = graph.nodes[layer.nodes[0]]
            data = self._data_inputs(node)
            dqs = [dq_producer(state, t) for t in data]
            outs = [t for t in node.outputs if t]
            if not any(dqs) or len(outs) != 1:
                continue
            qs, _ = quantized_readers(state, outs[0])
            if not qs or lone_layer(state, qs[0].name) is None:
                continue
            layers, order = {"phi": layer}, [layer]
            for i, dq in enumerate(dqs):
                mine = owned_dq_layer(state, dq, node.name) if dq is not None else None
                if mine is not None and mine not in order:
                    layers[f"dq_{i}"] = mine
                    order.append(mine)
            for q, mine in joining_quantizers(state, outs[0]):
                layers["q" if q is qs[0] else f"q_{q.name}"] = mine
                order.append(mine)
            yield Match(self, layers, {"y": outs[0]}, order, state)

    @staticmethod
    def _data_inputs(node) -> list[str]:
        """The tensors phi moves: every input of a Concat, input 0 of the others (shape,
        starts, repeats and indices are not data)."""
        if node.op_type == "Concat":
            return [t for t in node.inputs if t]
        return [node.inputs[0]] if node.inputs and node.inputs[0] else []

    def describe(self, m):
        phi = m.node("phi")
        return (f"the Q/DQ commute across {phi.name}: {', '.join(m.nodes)} run as one INT8 "
                f"{phi.op_type} layer")

    @check("commutes")
    def commutes(self, m, ctx):
        phi = m.node("phi")
        if phi.op_type in QDQ_COMMUTING:
            return None
        return (f"{phi.name} ({phi.op_type}) does not commute with Q/DQ in TensorRT (it "
                "documents no Q/DQ commutation and no fusion for a Gather layer); the "
                f"DequantizeLinear and QuantizeLinear around it stay separate and "
                f"{phi.op_type} runs in float (commuting ops: {', '.join(QDQ_COMMUTING)})")

    @check("equal-scales")
    def equal_scales(self, m, ctx):
        phi = m.node("phi")
        if phi.op_type != "Concat":
            return None
        state = ctx.state
        dqs = [(t, dq_producer(state, t)) for t in self._data_inputs(phi)]
        floats = [t for t, dq in dqs if dq is None]
        if floats:
            return (f"{phi.name} input {floats[0]} is float (no DequantizeLinear); an INT8 "
                    "Concat needs every input dequantized with one scale")
        first = dqs[0][1]
        if all(same_qparams(state, first, dq) is not False for _, dq in dqs[1:]):
            return None
        found = "; ".join(f"{dq.name}: {qparams(state, dq)}" for _, dq in dqs)
        return (f"{phi.name} concatenates inputs dequantized with different parameters ({found}); "
                "an INT8 Concat needs one scale and zero_point on every input")

    @check("single-consumer")
    def single(self, m, ctx):
        return extra_readers_reason(ctx, m.tensor("y"), m.node("q"), m.node('phi').name)

    def rewrite(self, m, graph):
        """Move the DequantizeLinear after phi (``fusionlab rewrite``): phi runs on the
        quantized tensor and one DequantizeLinear writes its output, which the
        QuantizeLinear (and any float reader: `single-consumer` is fixed too) still reads;
        TRT408 qdq-erase then removes the DQ -> Q pair. Exact for per-tensor Q/DQ
        (``fusionlab.rules.common.move_dq_after``); refused across ops ONNX has no INT8 form of."""
        from fusionlab.rewriting import node_of

        from fusionlab.rules.common.gs import move_dq_after

        return move_dq_after(graph, node_of(graph, m.node("phi").name))
