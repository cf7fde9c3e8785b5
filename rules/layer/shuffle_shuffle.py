"""TRT123 shuffle-shuffle."""

from __future__ import annotations

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import SHUFFLES
from fusionlab.rules.common.shapes import compose_perms, is_identity_perm, transpose_perm

#: Shuffle layer kinds: the ONNX shuffle ops and a Shuffle this rule already fused.
SHUFFLE_KINDS = SHUFFLES + ("Shuffle",)
#: A permutation whose value is unknown (Transpose without ``perm`` on an unknown rank).
UNKNOWN = "unknown"


def _then(acc, perm):
    """Transpose ``acc`` then ``perm``, as one permutation (None: identity)."""
    if acc == UNKNOWN or perm == UNKNOWN:
        return UNKNOWN
    if acc is None or perm is None:
        return perm if acc is None else acc
    return compose_perms(acc, perm)


def shuffle_form(graph, layer) -> tuple[object, list[str], object]:
    """A chain of shuffle nodes the way one IShuffleLayer runs it: (first transpose,
    reshape nodes, second transpose); a transpose is None for the identity."""
    first = second = None
    reshapes: list[str] = []
    for name in layer.nodes:
        node = graph.nodes[name]
        if node.op_type == "Transpose":
            perm = transpose_perm(graph, node) or UNKNOWN
            if reshapes:
                second = _then(second, perm)
            else:
                first = _then(first, perm)
        else:
            reshapes.append(name)
            second = None  # a later reshape: the transposes in between composed to identity
    return first, reshapes, second


def _fmt(perm) -> str:
    if perm is None:
        return "identity"
    return perm if perm == UNKNOWN else "[" + ", ".join(map(str, perm)) + "]"


class ShuffleShuffle(Rule):
    """Two Shuffles in a row fuse into one Shuffle layer (``shuffle1 + shuffle2``).

    What it fuses: Transpose / Reshape / Flatten / Squeeze / Unsqueeze -> any of them (each
    ONNX shuffle op is one IShuffleLayer: first transpose, reshape, second transpose). The
    first may be a Shuffle this rule fused already, so a chain becomes one Shuffle across
    rounds. Pairs that are inverse (nothing left) are erased earlier by
    shuffle-inverse-pair (TRT124); this rule sees them only when TRT124 kept them (network
    I/O), and then one Shuffle remains, as TensorRT keeps a copy there.
    Why it matters: one copy kernel instead of two.
    Conditions: `single-consumer` -- the first Shuffle's output is read by the second only;
    `reshape-transposes-inverse` -- when both Shuffles reshape, the first one's second
    transpose must be the inverse of the second one's first transpose. An ONNX Reshape has
    no transposes, so two plain shuffle nodes always fuse; the check fails on a chain such
    as Reshape -> Transpose -> Reshape (multi-head attention), where the fused Reshape +
    Transpose carries a second transpose the next Reshape cannot undo. TensorRT-RTX
    measured the same (inverse pairs vanish, others one kernel; lone Reshapes often in no
    kernel at all, docs/TENSORRT-RTX.md#transpose-and-reshape-pairs).
    Source: TensorRT Developer Guide, "Types of Fusions": Shuffle and Shuffle.
    """

    code = "TRT123"
    name = "shuffle-shuffle"
    pattern = Op(SHUFFLE_KINDS, Op(SHUFFLE_KINDS, name="first"), name="second")
    result_kind = "Shuffle"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("reshape-transposes-inverse")
    def transposes_inverse(self, m, ctx):
        _, reshapes_a, second_a = shuffle_form(ctx.graph, m.layer("first"))
        first_b, reshapes_b, _ = shuffle_form(ctx.graph, m.layer("second"))
        if not reshapes_a or not reshapes_b:
            return None
        both = _then(second_a, first_b)
        if both is None or both == UNKNOWN or is_identity_perm(both):
            return None
        a, b = " + ".join(m.layer("first").nodes), " + ".join(m.layer("second").nodes)
        return (f"both Shuffles reshape ({reshapes_a[-1]}, {reshapes_b[0]}) and the second transpose "
                f"of {a} ({_fmt(second_a)}) is not the inverse of the first transpose of {b} "
                f"({_fmt(first_b)}); the fusion needs them to compose to the identity")
