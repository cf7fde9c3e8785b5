"""TRT407 qdq-insert."""

from fusionlab.pattern import Op, Var, op
from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.ops import POOLS
from fusionlab.rules.common.qdq import dq_producer, joining_quantizers, owned_dq_layer, quantized_readers

#: Pooling ops that keep max(abs(x)): TensorRT inserts the missing Q/DQ half around them.
MAX_POOLS = ("MaxPool", "GlobalMaxPool")


class QdqInsert(Rule):
    """A MaxPool with Q/DQ on one side runs in INT8: TensorRT inserts the missing pair.

    What it fuses: a pooling node with a DequantizeLinear on its input and no
    QuantizeLinear on its output (DQ -> MaxPool -> float readers), or a QuantizeLinear on
    its output and no DequantizeLinear on its input (float -> MaxPool -> Q). TensorRT
    inserts the missing Q/DQ pair on the other side "if max(abs(phi(x))) == max(abs(x))
    (for example, MaxPool)", using the existing pair's scale, so the pooling runs in INT8;
    fusionlab predicts one INT8 pooling layer holding the pooling and the existing half
    (the inserted pair has no ONNX node). Full DQ -> MaxPool -> Q sandwiches are TRT406
    qdq-commute's (phase 10); this rule runs in phase 55, after the other Q/DQ fusions,
    on what is left.
    Why it matters: the pooling reads or writes INT8 instead of running in float next to
    a lone dequantize or quantize.
    Conditions: `max-abs-preserved` -- the pooling keeps max(abs(x)): MaxPool or
    GlobalMaxPool. An AveragePool or GlobalAveragePool with one half of the pair is
    reported: an average does not preserve max(abs(x)), so TensorRT inserts nothing and
    the pooling runs in float (quantize both sides explicitly: TRT405 qdq-nonweighted
    then fuses DQ -> AveragePool -> Q).
    `pool-separate-on-rtx` (TensorRT-RTX only) -- the pooling is not a MaxPool.
    TensorRT-RTX differs (measured with TensorRT-RTX 1.7, live builds of small graphs):
    it inserts nothing around a MaxPool: DQ -> MaxPool -> float reader runs the pooling
    alone in a maxpool kernel and the DequantizeLinear in its reader's kgen (moved after
    the pooling), float -> MaxPool -> Q runs the QuantizeLinear in a separate kgen; so on
    `tensorrt-rtx` the MaxPool case is reported as missed. A GlobalMaxPool is a reduction
    kgen there and computes the QuantizeLinear in the same kernel, as predicted.
    Severity: warning; info when `pool-separate-on-rtx` fails (TensorRT-RTX's separate
    maxpool kernel: nothing in the graph or the options changes it).
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Insert missing Q/DQ nodes.
    """

    info_checks = ("pool-separate-on-rtx",)
    code = "TRT407"
    #: a pooling layer given an inserted Q/DQ pair (runs in INT8)
    tags = ('int8', 'qdq-commuted')
    name = "qdq-insert"
    phase = 55
    #: DQ -> pool with no QuantizeLinear reader, or float -> pool -> QuantizeLinear readers.
    pattern = (Op(POOLS, op.DequantizeLinear(name="dq"), name="pool"),
               Op(POOLS, Var("x"), name="pool"))
    host = "pool"
    cost = 2
    rewrites_on = ("predicted", "missed")
    fixes = ()

    def accept(self, b, state):
        """A lone pooling layer with exactly one side quantized: its DequantizeLinear (this
        pooling its only reader) and no QuantizeLinear reader, or no DequantizeLinear (at
        graph level: also none held by another layer) and only QuantizeLinear readers."""
        pool = b.layers["pool"]
        if len(pool.nodes) != 1:
            return False
        node = state.graph.nodes[pool.nodes[0]]
        qs, others = quantized_readers(state, node.outputs[0])
        if "dq" in b.layers:
            dq = state.layer_node(b.layers["dq"])
            return not qs and owned_dq_layer(state, dq, node.name) is b.layers["dq"]
        return dq_producer(state, node.inputs[0]) is None and not others \
            and bool(joining_quantizers(state, node.outputs[0]))

    def find(self, state):
        """One match per lone pooling layer with exactly one side quantized."""
        # find, not a pattern: on the float -> pool -> Q side every free QuantizeLinear
        # reading the output with the first one's scale and zero_point joins: an unbounded
        # set of sibling readers, which a pattern (a tree walked up producer edges from
        # one anchor) cannot say. The patterns and accept find the pooling and its DQ.
        for m in super().find(state):
            pool = m.layer("pool")
            out = state.graph.nodes[pool.nodes[0]].outputs[0]
            layers, order = {"pool": pool}, [pool]
            if "dq" in m.layers:
                layers["dq"] = m.layer("dq")
                order.append(m.layer("dq"))
            else:
                for q, mine in joining_quantizers(state, out):
                    layers[f"q_{q.name}"] = mine
                    order.append(mine)
            yield Match(self, layers, {"y": out}, order, state)

    def describe(self, m):
        pool = m.node("pool")
        side = "after" if "dq" in m.layers else "before"
        return (f"TensorRT inserts the missing Q/DQ pair {side} {pool.name} ({pool.op_type} "
                f"keeps max(abs(x))): {', '.join(m.nodes)} run as one INT8 pooling layer")

    @check("max-abs-preserved")
    def max_abs(self, m, ctx):
        pool = m.node("pool")
        if pool.op_type in MAX_POOLS:
            return None
        if "dq" in m.layers:
            have = "a DequantizeLinear on its input but no QuantizeLinear on its output"
        else:
            have = "a QuantizeLinear on its output but no DequantizeLinear on its input"
        return (f"{pool.name} ({pool.op_type}) has {have}; an average does not preserve "
                "max(abs(x)), so TensorRT inserts no Q/DQ pair and it runs in float (quantize "
                "both sides to run it in INT8)")

    @check("pool-separate-on-rtx", targets=("tensorrt-rtx",))
    def rtx(self, m, ctx):
        pool = m.node("pool")
        if pool.op_type != "MaxPool":
            return None
        half = m.layer("dq").nodes[0] if "dq" in m.layers else \
            ", ".join(l.nodes[0] for n, l in m.layers.items() if n.startswith("q_"))
        return (f"TensorRT-RTX runs {pool.name} as its own maxpool kernel and {half} in another "
                "kernel (measured with TensorRT-RTX 1.7: no Q/DQ pair is inserted; a lone "
                "DequantizeLinear moves after the pooling into its reader's kernel): quantize "
                "both sides to get one INT8 maxpool kernel (TRT406)")

    def rewrite(self, m, graph):
        """Insert the missing half (``fusionlab rewrite``); exact for MaxPool.

        DQ -> MaxPool -> float readers: the pool runs on the quantized tensor and a
        DequantizeLinear follows it (the inserted Q/DQ pair merged with the existing DQ).
        Float -> MaxPool -> Q: a Q -> DQ pair with the Q's parameters goes before the pool;
        max commutes with the monotone quantization, so the Q's output is unchanged.
        """
        from fusionlab.rewriting import node_of, qdq_pair

        from fusionlab.rules.common.gs import gs_qparams, move_dq_after

        pool = node_of(graph, m.node("pool").name)
        if "dq" in m.layers:
            return move_dq_after(graph, pool, " (the missing Q/DQ pair, inserted and merged)")
        q = node_of(graph, next(n for n in m.layers if n.startswith("q_"))[2:])
        scale, zp, axis = gs_qparams(q)
        pool.inputs[0] = qdq_pair(graph, pool.inputs[0], scale, zp, axis, pool.name)
        return f"inserted QuantizeLinear -> DequantizeLinear before {pool.name} with {q.name}'s scale"
