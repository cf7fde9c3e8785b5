"""TRT126 identity-erase."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.shapes import network_io


class IdentityErase(Rule):
    """Identity, an inference Dropout, and a Cast to the dtype it already has are erased.

    What it fuses: Identity; Dropout whose ``training_mode`` is absent or a constant false
    (its ``mask`` output unread); Cast whose ``to`` equals its input's dtype. Consumers
    read the node's input.
    Why it matters: no kernel and no copy; erased early (phase 5), the nodes around it can
    fuse (Conv -> Identity -> Relu becomes conv + relu).
    Conditions: `inference-mode` -- a Dropout's ``training_mode`` is not true (nor computed
    at runtime); `not-network-io` -- the node does not copy a network input straight to a
    network output (TensorRT keeps a copy layer there, as the output needs its own buffer).
    Source: TensorRT's ONNX parser (onnx-tensorrt builtin_op_importers.cpp): Identity and
    Dropout are imported as identity layers (a Dropout in training mode is rejected; a read
    ``mask`` becomes its own Equal layer, so such a Dropout is not matched), which the
    builder removes; TensorRT Developer Guide, "Optimizing Layer Performance": Shuffle
    (identity operations are omitted, but not on network input and output tensors).
    """

    code = "TRT126"
    name = "identity-erase"
    kind = "erase"
    phase = 5
    pattern = Op(("Identity", "Dropout", "Cast"), Var("x"), name="node")
    cost = 1
    rewrites_on = ("absorbed", "missed")
    fixes = ()

    def accept(self, b, state):
        graph = state.graph
        node = graph.nodes[b.layers["node"].host_or_first]
        if node.op_type == "Cast":
            have = graph.dtype(node.inputs[0])
            return have is not None and have == node.attr("to")
        if node.op_type == "Dropout":
            mask = node.outputs[1] if len(node.outputs) > 1 else ""
            return not (mask and (graph.consumers.get(mask) or mask in graph.outputs))
        return True

    @check("inference-mode")
    def inference(self, m, ctx):
        node = m.node("node")
        if node.op_type != "Dropout" or len(node.inputs) < 3 or not node.inputs[2]:
            return None
        value = constant_of(ctx.state, ctx.state.resolve(node.inputs[2]))
        if value is not None and not bool(value.reshape(-1)[0]):
            return None
        seen = "computed at runtime" if value is None else "true"
        return (f"{node.name} has training_mode {seen}; TensorRT's ONNX parser takes a Dropout "
                f"only in inference mode (training_mode absent or an initializer holding false)")

    @check("not-network-io")
    def not_network_io(self, m, ctx):
        node = m.node("node")
        x, out = ctx.state.resolve(m.tensor("x")), node.outputs[0]
        touched = network_io(ctx.graph, [x], [out])
        if len(touched) < 2:
            return None
        return (f"{node.name} copies network input {x} to network output {out}; TensorRT keeps "
                f"that copy, it erases an {node.op_type} only when one side is an internal tensor")

    def erased(self, m):
        return [(m.layer("node"), m.tensor("x"))]

    def describe(self, m):
        node = m.node("node")
        x = m.state.resolve(m.tensor("x"))
        return f"{node.name} ({node.op_type}) is an identity: erased, consumers read {x}"

    def rewrite(self, m, graph):
        """Erase the Identity, inference Dropout or same-type Cast (``fusionlab rewrite``);
        a graph output keeps its name (its producer writes it)."""
        from fusionlab.rewriting import erase, node_of

        node = node_of(graph, m.node("node").name)
        erase(graph, node, node.inputs[0])
        return f"erased {node.name} ({node.op}, an identity)"
