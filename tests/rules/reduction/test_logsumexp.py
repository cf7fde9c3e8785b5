"""TRT207 logsumexp: Exp -> ReduceSum -> Log is one LogSumExp layer; missed when exp(x)
is read elsewhere (the LogSum still fuses, and the diagnostic is not repeated)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def lse(g, x):
    y = g.node("Exp", [x], name="exp")
    y = g.node("ReduceSum", [y, g.const(np.array([-1], np.int64))], name="sum", keepdims=1)
    return g.node("Log", [y], name="log")


def test_exp_reducesum_log_fuses_into_one_logsumexp_layer():
    g = GraphBuilder()
    report = analyze(g.model([lse(g, g.input("x", [8, 1000]))]))
    layer = report.layer_of("log")
    assert (layer.nodes, layer.kind, layer.rules) == (("exp", "sum", "log"), "LogSumExp", ("TRT207",))
    assert diagnostics(report, "TRT207", "predicted")[0].nodes == ("exp", "sum", "log")
    assert diagnostics(report, "TRT206") == []


def test_missed_when_exp_is_read_elsewhere_the_logsum_fuses_alone():
    g = GraphBuilder()
    y = lse(g, g.input("x", [8, 1000]))
    side = g.node("Relu", ["exp_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT207", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("exp", "sum", "log"))
    assert "side" in missed.reason
    assert report.layer_of("log").nodes == ("sum", "log")
    assert report.layer_of("log").kind == "LogSum"


# ---------------------------------------------------------------- spellings on TensorRT-RTX

import pytest  # noqa: E402

from fusionlab.rewriting import build_count  # noqa: E402

SPELLINGS = ["op", "plain", "stable", "stable-guarded"]


def lse_spelled(spelling, keepdims=1):
    """Relu -> logsumexp over the last axis -> Relu: ReduceLogSumExp (torch.logsumexp's
    export), Exp -> ReduceSum -> Log, the stable max + log(sum(exp(x - max))), and torch's
    decomposition that also zeroes an infinite max (Abs, Equal, Where)."""
    g = GraphBuilder()
    x = g.node("Relu", [g.input("x", [8, 32, 256])], name="relu_in")
    axes = g.const(np.array([-1], np.int64))
    if spelling == "op":
        y = g.node("ReduceLogSumExp", [x], name="lse", axes=[-1], keepdims=keepdims)
    elif spelling == "plain":
        y = g.node("Log", [g.node("ReduceSum", [g.node("Exp", [x], name="exp"), axes], name="sum",
                                  keepdims=keepdims)], name="log")
    else:
        m = g.node("ReduceMax", [x], name="max", axes=[-1], keepdims=1)
        if spelling == "stable-guarded":
            inf = g.node("Equal", [g.node("Abs", [m], name="abs"), g.const(np.float32(np.inf))], name="isinf")
            m = g.node("Where", [inf, g.const(np.float32(0)), m], name="where")
        e = g.node("Exp", [g.node("Sub", [x, m], name="sub")], name="exp")
        y = g.node("Log", [g.node("ReduceSum", [e, axes], name="sum", keepdims=keepdims)], name="log")
        y = g.node("Add", [y, m], name="add")
    return g.model([g.node("Relu", [y], name="relu_out")])


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_one_predicted_layer_on_tensorrt_rtx(spelling):
    report = analyze(lse_spelled(spelling), target="tensorrt-rtx")
    assert len(report.layers) == 1 and report.layers[0].kind == "kgen"


def test_the_stable_form_already_fuses_its_exp_sum_log_on_classic_tensorrt():
    report = analyze(lse_spelled("stable"))
    layer = report.layer_of("log")
    assert (layer.nodes, layer.kind) == (("exp", "sum", "log"), "LogSumExp")
    assert report.layer_of("max").nodes == ("max",) and report.layer_of("sub").nodes == ("sub",)


@pytest.mark.needs_rtx
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_builds_into_one_kernel_with_tensorrt_rtx(spelling):
    count = build_count(lse_spelled(spelling), "tensorrt-rtx")
    assert count.error is None, count.error
    assert count.layers == 1  # so no spelling needs a rewrite (the docstring's measurement)
