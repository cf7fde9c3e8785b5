"""TRT124 shuffle-inverse-pair."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import RESHAPES, SHUFFLES
from fusionlab.rules.common.shapes import compose_perms, is_identity_perm, network_io, static_equal_shapes, transpose_perm


class ShuffleInversePair(Rule):
    """Two Shuffles that undo each other are erased; their consumers read the first one's input.

    What it fuses: Transpose -> Transpose whose ``perm``s compose to the identity, and
    Reshape / Flatten / Squeeze / Unsqueeze -> one of them where the second one's output
    shape equals the first one's input shape (A -> B -> A, shapes known statically;
    Squeeze/Unsqueeze round trips included). Runs in the erasure phase (5), before any
    fusion: every later pattern (Q/DQ propagation, reductions, conv-*) then sees through
    the vanished pair, as TensorRT's builder removes no-op shuffles before fusing. The
    price: a chain of three or more Shuffles whose product is the identity is not seen
    here; shuffle-shuffle (TRT123) makes it one Shuffle later.
    Why it matters: the pair costs two copy kernels for nothing.
    Conditions: `single-consumer` -- the first Shuffle's output is read by the second only;
    `not-network-io` -- the pair's input is not a network input and its output not a
    network output (TensorRT keeps a copy at network I/O; the pair then becomes one
    Shuffle). TensorRT-RTX measured the same: inverse Transpose pairs appear in no kernel.
    Source: TensorRT Developer Guide, "Types of Fusions": Shuffle and Shuffle ("replaced by a
    single Shuffle (or nothing)"); "Optimizing Layer Performance": Shuffle.
    """

    code = "TRT124"
    name = "shuffle-inverse-pair"
    kind = "erase"
    phase = 5
    pattern = Op(SHUFFLES, Op(SHUFFLES, Var("x"), name="first"), name="second")
    cost = 1
    rewrites_on = ("absorbed", "missed")
    fixes = ("single-consumer",)

    def accept(self, b, state):
        graph = state.graph
        first = graph.nodes[b.layers["first"].host_or_first]
        second = graph.nodes[b.layers["second"].host_or_first]
        if first.op_type == second.op_type == "Transpose":
            p1, p2 = transpose_perm(graph, first), transpose_perm(graph, second)
            return p1 is not None and p2 is not None and len(p1) == len(p2) and is_identity_perm(
                compose_perms(p1, p2))
        if first.op_type in RESHAPES and second.op_type in RESHAPES:
            return static_equal_shapes(graph, first.inputs[0], second.outputs[0])
        return False

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("not-network-io")
    def not_network_io(self, m, ctx):
        x = ctx.state.resolve(m.tensor("x"))
        touched = network_io(ctx.graph, [x], [m.node("second").outputs[0]])
        if not touched:
            return None
        return (f"the pair {', '.join(m.nodes)} touches {' and '.join(touched)}; TensorRT erases "
                f"an identity shuffle only between two internal tensors")

    def erased(self, m):
        x = m.tensor("x")
        return [(m.layer("second"), x), (m.layer("first"), x)]

    def describe(self, m):
        x = m.state.resolve(m.tensor("x"))
        return f"{', '.join(m.nodes)} undo each other: erased, consumers read {x}"

    def rewrite(self, m, graph):
        """Erase the pair (``fusionlab rewrite``): the second Shuffle's readers read the
        first one's input. When the first Shuffle has other readers (`single-consumer`),
        only the second is erased: still exact, one copy kernel less."""
        from fusionlab.rewriting import erase, node_of

        first, second = node_of(graph, m.node("first").name), node_of(graph, m.node("second").name)
        if second.inputs[0] is not first.outputs[0]:
            return None
        erase(graph, second, first.inputs[0])
        if not first.outputs[0].outputs and first.outputs[0] not in graph.outputs:
            first.outputs.clear()
            first.inputs.clear()
            return f"erased {first.name} and {second.name}, which undo each other"
        return f"erased {second.name}, which undoes {first.name} (kept: it has other readers)"
