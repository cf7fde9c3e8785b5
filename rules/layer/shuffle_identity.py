"""TRT130 shuffle-identity."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.ops import RESHAPES, SHUFFLES
from fusionlab.rules.common.shapes import is_identity_perm, live_readers, network_io, static_equal_shapes, transpose_perm


class ShuffleIdentity(Rule):
    """A Shuffle that is an identity on its data is erased; its consumers read its input.

    What it fuses: a Transpose with the identity ``perm``, or a Reshape / Flatten /
    Squeeze / Unsqueeze whose output shape equals its input shape (shapes known
    statically). Round trips of two Shuffles are shuffle-inverse-pair (TRT124).
    Why it matters: TensorRT runs no kernel and makes no copy for such a Shuffle.
    Conditions: `not-network-io` -- neither the input is a network input nor the output a
    network output (TensorRT keeps the Shuffle there); `input-single-consumer` -- the
    input tensor is read by this Shuffle only (the guide's second condition).
    Source: TensorRT Developer Guide, "Optimizing Layer Performance": Shuffle ("Shuffle
    operations that are equivalent to identity operations on the underlying data are
    omitted if the input tensor is only used in the shuffle layer and the input and output
    tensors of this layer are not input and output tensors of the network").
    """

    code = "TRT130"
    name = "shuffle-identity"
    kind = "erase"
    phase = 5
    pattern = Op(SHUFFLES, Var("x"), name="shuffle")
    cost = 1

    def accept(self, b, state):
        graph = state.graph
        node = graph.nodes[b.layers["shuffle"].host_or_first]
        if node.op_type == "Transpose":
            perm = transpose_perm(graph, node)
            return perm is not None and is_identity_perm(perm)
        return node.op_type in RESHAPES and static_equal_shapes(graph, node.inputs[0], node.outputs[0])

    @check("not-network-io")
    def not_network_io(self, m, ctx):
        node = m.node("shuffle")
        x = ctx.state.resolve(m.tensor("x"))
        touched = network_io(ctx.graph, [x], [node.outputs[0]])
        if not touched:
            return None
        return (f"{node.name} is an identity {node.op_type} on {' and '.join(touched)}; TensorRT "
                f"omits an identity Shuffle only between two internal tensors")

    @check("input-single-consumer")
    def input_single(self, m, ctx):
        node = m.node("shuffle")
        x = ctx.state.resolve(m.tensor("x"))
        readers = live_readers(ctx.state, x)
        if len(readers) <= 1:
            return None
        return (f"{node.name}'s input {x} has {len(readers)} consumers ({', '.join(readers)}); "
                f"TensorRT omits an identity Shuffle only when it is the input's sole reader")

    def erased(self, m):
        return [(m.layer("shuffle"), m.tensor("x"))]

    def describe(self, m):
        node = m.node("shuffle")
        shape = fmt_shape(m.state.graph.shape(node.outputs[0]))
        return (f"{node.name} is an identity {node.op_type} on {shape}: erased, "
                f"consumers read {m.state.resolve(m.tensor('x'))}")
