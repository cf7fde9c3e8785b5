"""XMP001 pool-flatten."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, fmt_shape


class PoolFlatten(Rule):
    """A global pooling followed by a Flatten: the classifier head reshapes the pooled tensor.

    What it fuses: nothing; GlobalAveragePool or GlobalMaxPool -> Flatten, the head of
    torchvision's classifiers, is reported so a team can keep its heads in one form.
    Why it matters: the Flatten is one more Shuffle layer between the pooling and the
    FullyConnected layer that reads it.
    Conditions: `no-flatten-after-pool` -- the pooled tensor is not flattened.
    Source: an example rule pack (docs/WRITING-RULES.md#shipping-a-rule-pack).
    """

    code = "XMP001"
    name = "pool-flatten"
    kind = "lint"
    phase = 90
    cost = 1
    pattern = op.Flatten(Op(("GlobalAveragePool", "GlobalMaxPool"), name="pool"), name="flatten")

    @check("no-flatten-after-pool")
    def no_flatten(self, m, ctx):
        pool, flatten = m.node("pool"), m.node("flatten")
        shape = ctx.graph.shape(pool.outputs[0])
        return (f"{flatten.name} flattens the {fmt_shape(shape)} output of {pool.name}; "
                "the team's heads read the pooled tensor directly")
