"""TRT407 qdq-insert."""

from fusionlab.pattern import Op, Var, op
from fusionlab.rule import Match, Rule, check

from fusionlab.rules.common.ops import POOLS
from fusionlab.rules.common.qdq import dq_producer, lone_layer, owned_dq_layer, quantized_readers, same_qparams

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
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Insert missing Q/DQ nodes.
    """

    code = "TRT407"
    #: a pooling layer given an inserted Q/DQ pair (runs in INT8)
    tags = ('int8', 'qdq-commuted')
    name = "qdq-insert"
    phase = 55
    pattern = Op(POOLS, op.DequantizeLinear(Var("x")), name="pool")
    host = "pool"
    cost = 2
    rewrites_on = ("predicted", "missed")
    fixes = ()

    def find(self, state):
        """One match per lone pooling layer with exactly one side quantized."""
        graph = state.graph
        for layer in state.layers_of_kinds(POOLS):
            if len(layer.nodes) != 1:
                continue
            node = graph.nodes[layer.nodes[0]]
            dq = dq_producer(state, node.inputs[0])
            out = node.outputs[0]
            qs, others = quantized_readers(state, out)
            layers, order = {"pool": layer}, [layer]
            if dq is not None and not qs:
                mine = owned_dq_layer(state, dq, node.name)
                if mine is None:
                    continue
                layers["dq"] = mine
                order.append(mine)
            elif dq is None and qs and not others:
                for q in qs:
                    mine = lone_layer(state, q.name)
                    if mine is not None and (q is qs[0] or same_qparams(state, qs[0], q)):
                        layers[f"q_{q.name}"] = mine
                        order.append(mine)
                if len(order) == 1:
                    continue
            else:
                continue
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
