"""TRT128 softmax-log."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import SOFTMAX_KINDS


def log_in(state, layer) -> str | None:
    """The node of ``layer`` that already applies a log (Log or LogSoftmax), if any."""
    return next((n for n in layer.nodes if state.graph.nodes[n].op_type in ("Log", "LogSoftmax")), None)


class SoftmaxLog(Rule):
    """A Softmax followed by a Log fuses into one SoftMax layer (``softmax + log``).

    What it fuses: Softmax -> Log, the log-softmax of exporters that do not emit
    LogSoftmax (an ONNX LogSoftmax is one SoftMax layer already). TensorRT-RTX measured
    the same (one kernel for Softmax -> Log and for LogSoftmax, docs/TENSORRT-RTX.md#softmax-log-and-logsoftmax).
    Why it matters: one kernel instead of two over the same tensor, and the fused form
    computes log(softmax) without the underflow of a separate Log.
    Conditions: `softmax-has-no-log` -- the SoftMax is not fused with a Log already (a
    LogSoftmax, or Softmax + Log, followed by another Log); `single-consumer` -- the
    Softmax output is read by the Log only. The guide states no condition on the axis.
    Source: TensorRT Developer Guide, "Types of Fusions": SoftMax and Log.
    """

    code = "TRT128"
    name = "softmax-log"
    phase = 20
    pattern = op.Log(Op(SOFTMAX_KINDS, name="softmax"), name="log")
    result_kind = "SoftMax"
    cost = 1

    @check("softmax-has-no-log")
    def no_log_yet(self, m, ctx):
        done = log_in(ctx.state, m.layer("softmax"))
        if done is None:
            return None
        return (f"the SoftMax {' + '.join(m.layer('softmax').nodes)} already applies a log "
                f"({done}, {ctx.graph.nodes[done].op_type}); the fusion needs a SoftMax without one")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
