"""TRT409 qdq-residual-add: fires when an INT8 conv + add reads a dequantized residual
(TensorRT's Q/DQ placement); missed on a float residual (TREx MobileNet) and on a Q/DQ
pair between the conv and the Add (ONNX Runtime's QDQ placement)."""


from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def block(g, residual):
    """DQ -> INT8 conv -> Add(residual) -> Relu -> Q, the residual given as a tensor."""
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = g.node("Add", [qconv(g, x, 32, 32, "conv1"), residual], name="add")
    return q(g, g.node("Relu", [y], name="relu"), "q_out", 0.1)


def test_dequantized_residual_fuses_and_the_layer_writes_int8():
    g = GraphBuilder()
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = block(g, res)
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("conv1")
    assert layer.nodes == ("dq_res", "dq_in", "conv1_wdq", "conv1", "add", "relu", "q_out")
    assert {"TRT403", "TRT104", "TRT409", "TRT404"} <= set(layer.rules)
    (pred,) = diagnostics(report, "TRT409", "predicted")
    assert {"dq_res", "conv1", "add"} <= set(pred.nodes)
    assert "dq_res (the residual operand of add) fuses into conv1" in pred.reason
    assert report.layer_of("q_res").nodes == ("q_res",)


def test_missed_when_the_residual_is_float():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT409", "missed")
    assert missed.check == "other-input-quantized"
    assert missed.nodes == ("conv1", "add")
    assert "adds r from the network input" in missed.reason
    assert "q_out runs as a separate layer" in missed.reason
    assert report.layer_of("q_out").nodes == ("q_out",)  # TRT404 does not fuse it
    assert not diagnostics(report, "TRT404")


def test_missed_when_a_q_dq_pair_splits_the_conv_from_the_add():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = dq(g, q(g, qconv(g, x, 32, 32, "conv1"), "q_conv", 0.1), "dq_conv", 0.1)
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = q(g, g.node("Add", [y, res], name="add"), "q_add", 0.12)
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT409", "missed")
    assert missed.check == "conv-path-unquantized"
    assert missed.nodes == ("conv1", "q_conv", "dq_conv", "add")
    assert "the extra Q/DQ pair forces the Add out of the convolution" in missed.reason
    assert report.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1", "q_conv")
    assert report.layer_of("add").nodes == ("dq_conv", "dq_res", "add", "q_add")


def test_tensorrt_rtx_is_not_reported():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT409")


# ---------------------------------------------------------------- rewrite: quantize the residual
from fusionlab import rewrite  # noqa: E402


def test_rewrite_quantizes_a_residual_that_is_on_a_grid_exactly():
    g = GraphBuilder()
    res = g.node("Relu", [dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)],
                 name="relu_res")
    y = block(g, res)
    model = g.model([dq(g, y, "dq_final", 0.1)])
    out, report = rewrite(model, precision="int8", passes=["qdq-residual-add"])
    (change,) = report.changes
    assert "dq_res's scale" in change.description
    assert not diagnostics(report.after, "TRT409", "missed")
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_a_float_residual_and_a_split_pair():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.1)]), precision="int8",
                        passes=["qdq-residual-add"])
    assert not report.changed
    assert "quantization grid" in report.refused[0].reason

    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = dq(g, q(g, qconv(g, x, 32, 32, "conv1"), "q_conv", 0.1), "dq_conv", 0.1)
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = q(g, g.node("Add", [y, res], name="add"), "q_add", 0.12)
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.12)]), precision="int8", passes=["qdq-residual-add"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["conv-path-unquantized"]
    assert "drop a rounding step" in report.refused[0].reason


# ---------------------------------------------------------------- rewrite: --allow-requantize
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from fusionlab.cli import main  # noqa: E402
from fusionlab.errors import InputError  # noqa: E402
from fusionlab.rewriting import build_count  # noqa: E402


def float_residual_block():
    """A basic block with ONNX Runtime-style Q/DQ whose residual stays float: relu0's output
    is read by q_in (the first convolution's quantizer) and, unquantized, by the Add."""
    g = GraphBuilder()
    x = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu0")
    y = qconv(g, dq(g, q(g, x, "q_in"), "dq_in"), 32, 32, "conv1")
    y = dq(g, q(g, g.node("Relu", [y], name="relu1"), "q_mid", 0.1), "dq_mid", 0.1)
    y = g.node("Add", [qconv(g, y, 32, 32, "conv2"), x], name="add")
    y = q(g, g.node("Relu", [y], name="relu_out"), "q_out", 0.1)
    return g.model([dq(g, y, "dq_final", 0.1)])


def test_requantize_shares_the_quantizer_of_the_other_reader():
    model = float_residual_block()
    out, report = rewrite(model, precision="int8", passes=["qdq-residual-add"], allow_requantize=True, atol=0.2)
    (change,) = report.changes
    new_dq = next(n for n in out.graph.node if n.name == "add_residual_DequantizeLinear")
    q_in = next(n for n in out.graph.node if n.name == "q_in")
    assert list(new_dq.input) == list(q_in.output) + list(q_in.input[1:])  # q_in's output, scale, zero point
    add = next(n for n in out.graph.node if n.name == "add")
    assert list(add.input)[1] == new_dq.output[0]
    (r,) = report.requantized
    assert (r.node, r.tensor, r.quantizer, r.scale, r.zero_point) == ("add", "relu0_out", "q_in", [0.05], [0])
    assert (r.step, r.max_change, r.range) == (0.05, 0.025, pytest.approx((-6.4, 6.35)))
    assert change.requantized == (r,)
    # not exact: the outputs moved (a rounding flip of q_out is one step, 0.1), held to the user's atol
    eq = report.equivalence
    assert eq.passed and 0 < eq.max_abs <= 0.1 + 1e-6 and eq.outputs[0].atol == 0.2
    assert report.tolerance["atol"] == 0.2 and report.tolerance["source"] == "user"
    assert "half the step 0.05 of q_in" in report.tolerance["why"]
    # the fusion happens: the residual DQ joins conv2's layer, which writes INT8 (q_out fused)
    assert not diagnostics(report.after, "TRT409", "missed")
    assert "add_residual_DequantizeLinear" in diagnostics(report.after, "TRT409", "predicted")[0].nodes
    assert "q_out" in report.after.layer_of("conv2").nodes
    assert (len(report.before.layers), len(report.after.layers)) == (6, 5)
    data = report.to_json()
    assert data["requantized"][0]["scale"] == 0.05 and data["tolerance"]["atol"] == 0.2


def test_requantize_needs_atol_unless_unchecked():
    with pytest.raises(InputError, match=r"rounds it by up to 0\.025 \(half the step 0\.05\).*--atol"):
        rewrite(float_residual_block(), precision="int8", passes=["qdq-residual-add"], allow_requantize=True)
    _, report = rewrite(float_residual_block(), precision="int8", passes=["qdq-residual-add"],
                        allow_requantize=True, check=False)
    assert len(report.requantized) == 1 and report.tolerance is None and report.equivalence is None


def test_without_the_flag_the_float_residual_is_reported_with_the_flag_named():
    _, report = rewrite(float_residual_block(), precision="int8", passes=["qdq-residual-add"])
    assert not report.changed and not report.requantized
    (refusal,) = report.refused
    assert refusal.check == "other-input-quantized"
    assert "q_in quantizes it for another reader" in refusal.reason and "--allow-requantize" in refusal.reason


def test_requantize_refuses_without_a_quantizer_to_share_and_with_two_different_ones():
    g = GraphBuilder()  # the residual is a network input nothing quantizes
    y = block(g, g.input("r", [1, 32, 16, 16]))
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.1)]), precision="int8", passes=["qdq-residual-add"],
                        allow_requantize=True, atol=0.5)
    assert not report.changed and "no QuantizeLinear reads it" in report.refused[0].reason

    g = GraphBuilder()  # two quantizers with different scales read the residual
    x = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu0")
    a = qconv(g, dq(g, q(g, x, "q_a", 0.05), "dq_a", 0.05), 32, 32, "conv1")
    b = g.node("Relu", [dq(g, q(g, x, "q_b", 0.07), "dq_b", 0.07)], name="side")
    y = q(g, g.node("Relu", [g.node("Add", [a, x], name="add")], name="relu_out"), "q_out", 0.1)
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.1), b]), precision="int8",
                        passes=["qdq-residual-add"], allow_requantize=True, atol=0.5)
    assert not report.changed and "quantize it with different parameters" in report.refused[0].reason


def test_requantize_leaves_the_split_pair_refused():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = dq(g, q(g, qconv(g, x, 32, 32, "conv1"), "q_conv", 0.1), "dq_conv", 0.1)
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = q(g, g.node("Add", [y, res], name="add"), "q_add", 0.12)
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.12)]), precision="int8", passes=["qdq-residual-add"],
                        allow_requantize=True, atol=0.5)
    assert not report.changed and [r.check for r in report.refused] == ["conv-path-unquantized"]


def test_ort_resnet18_has_no_float_residual():
    # onnxruntime.quantization puts a Q/DQ pair on both inputs of every residual Add: all
    # eight are the split structure, none is a float residual (--allow-requantize does nothing)
    path = Path(__file__).resolve().parents[3] / "models" / "resnet18_qdq_floatbias.onnx"
    found = diagnostics(analyze(str(path), precision="int8"), "TRT409", "missed")
    assert len(found) == 8 and {d.check for d in found} == {"conv-path-unquantized"}


def test_cli_allow_requantize(tmp_path, capsys):
    import onnx

    src = tmp_path / "block.onnx"
    onnx.save(float_residual_block(), str(src))
    dest = tmp_path / "out.onnx"
    code = main(["rewrite", str(src), "-o", str(dest), "--precision", "int8", "--allow-requantize"])
    _, err = capsys.readouterr()
    assert code == 2 and "--atol" in err and not dest.exists()
    code = main(["rewrite", str(src), "-o", str(dest), "--precision", "int8", "--allow-requantize", "--atol", "0.2"])
    out, _ = capsys.readouterr()
    assert code == 0 and dest.exists()
    assert "Requantized (--allow-requantize)" in out and "Tolerance: --atol 0.2" in out


@pytest.mark.needs_rtx
def test_tensorrt_rtx_engine_layers_before_and_after_requantize():
    # measured: 5 kernels either way; TensorRT-RTX already runs the float residual Add in
    # conv2's epilogue kernel, which now reads the residual in INT8 (TRT409 is classic only)
    model = float_residual_block()
    out, _ = rewrite(model, precision="int8", passes=["qdq-residual-add"], allow_requantize=True, atol=0.2)
    before, after = build_count(model, "tensorrt-rtx"), build_count(out, "tensorrt-rtx")
    assert before.error is None and after.error is None, (before.error, after.error)
    assert (before.layers, after.layers) == (5, 5)
