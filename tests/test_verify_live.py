"""Live TensorRT-RTX builds of the models in models/: the prediction is scored against
the builder's own `Layers:` dump (CI installs tensorrt-rtx; skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionlab.cli import main
from fusionlab.errors import BuildError
from fusionlab.verification import verify

pytestmark = pytest.mark.needs_rtx

ROOT = Path(__file__).resolve().parents[1]

#: The fused-edge F1 of analyze --target tensorrt-rtx on each shipped model, as measured
#: by live TensorRT-RTX 1.7 builds; the floor the prediction must keep.
F1_FLOOR = {"resnet18.onnx": 1.0, "mobilenet_v2.onnx": 1.0, "bert_tiny.onnx": 0.95,
            "resnet18_qdq_floatbias.onnx": 0.95}


@pytest.mark.parametrize("name", sorted(F1_FLOOR))
def test_live_build_confirms_the_prediction(name):
    v = verify(ROOT / "models" / name, target="tensorrt-rtx", timeout=300)
    assert v.mapping == "metadata"
    assert v.observed and all(o.nodes or o.type in ("kgen", "signal", "wait") for o in v.observed)
    assert v.comparison.score.edges > 40
    assert v.comparison.score.f1 >= F1_FLOOR[name], v.comparison.edge_errors
    assert not v.comparison.unknown_nodes


def test_resnet18_block_is_one_conv_kernel_with_its_add_and_relu():
    v = verify(ROOT / "models" / "resnet18.onnx", target="tensorrt-rtx", timeout=300)
    kernel = next(o for o in v.observed if "/layer1/layer1.0/Add" in o.nodes)
    assert {"/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/relu_1/Relu"} <= set(kernel.nodes)
    assert ("confirmed", ("/layer1/layer1.0/conv2/Conv", "/layer1/layer1.0/Add",
                          "/layer1/layer1.0/relu_1/Relu"),
            "/layer1/layer1.0/conv2/Conv + /layer1/layer1.0/Add + /layer1/layer1.0/relu_1/Relu") \
        in v.comparison.fusions


def test_unnamed_nodes_pair_with_the_parsers_node_of_names(tmp_path, names_cleared):
    """The parser names an unnamed node ``node_of_<first output>`` (seen in the build's
    Metadata); verify pairs it, so resnet18 with every name cleared scores as the original."""
    named = verify(ROOT / "models" / "resnet18.onnx", target="tensorrt-rtx", timeout=300)
    path = names_cleared(ROOT / "models" / "resnet18.onnx", tmp_path / "resnet18_unnamed.onnx")
    log = tmp_path / "unnamed.log"
    unnamed = verify(path, target="tensorrt-rtx", timeout=300, save_log=log)
    assert "[ONNX Layer: node_of_/conv1/Conv_output_0]" in log.read_text()
    assert not unnamed.comparison.unknown_nodes
    a, b = named.comparison.score, unnamed.comparison.score
    assert b.scored and b.edges == a.edges > 40
    assert (b.tp, b.fp, b.fn, b.f1) == (a.tp, a.fp, a.fn, a.f1)
    assert len(unnamed.comparison.builder_absorbed) == len(named.comparison.builder_absorbed)
    # the offline path: the same build's log, read back without building
    offline = verify(path, target="tensorrt-rtx", log=log)
    assert offline.mapping == "metadata" and offline.comparison.score.f1 == a.f1
    assert offline.comparison.score.edges == a.edges


def test_corpus_exits_3_when_a_build_fails(tmp_path, capsys, names_cleared):
    import shutil

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _conv_block(corpus / "a.onnx")
    shutil.copy(ROOT / "models" / "resnet18_qdq.onnx", corpus / "qdq.onnx")  # INT32 bias: rejected
    code = main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--format", "json"])
    import json

    data = json.loads(capsys.readouterr().out)
    assert code == 3
    assert data["models"][str(corpus / "qdq.onnx")]["exit_code"] == 3
    assert main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--min-f1", "0.5"]) == 3
    (corpus / "qdq.onnx").unlink()
    assert main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--min-f1", "1"]) == 0
    names_cleared(corpus / "a.onnx", corpus / "a.onnx")
    capsys.readouterr()
    assert main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--min-f1", "1"]) == 0


def test_int32_bias_dequantize_is_a_parser_rejection_naming_the_node(capsys):
    with pytest.raises(BuildError) as err:
        verify(ROOT / "models" / "resnet18_qdq.onnx", target="tensorrt-rtx", timeout=300)
    assert "DequantizeLinear" in err.value.message and "Int32" in err.value.message
    code = main(["verify", str(ROOT / "models" / "resnet18_qdq.onnx"), "--target", "tensorrt-rtx"])
    assert code == 3
    assert "Traceback" not in capsys.readouterr().err


def test_cli_prints_the_score_and_writes_the_log(capsys, tmp_path):
    log = tmp_path / "build.log"
    code = main(["verify", str(ROOT / "models" / "resnet18.onnx"), "--target", "tensorrt-rtx",
                 "--save-log", str(log)])
    out = capsys.readouterr().out
    assert code == 0
    assert "fused-edge score: precision 1.000, recall 1.000, F1 1.000" in out
    assert "Layers:" in log.read_text()


# ----------------------------------------------------------------------------- Q/DQ
def _qdq_network():
    """A small network in onnxruntime.quantization's QDQ format (a Q -> DQ pair on every
    activation, INT8 weights behind per-channel DequantizeLinear nodes, float biases --
    the INT32 bias DequantizeLinear of ORT's default is a parser rejection): a 3-channel
    stem, a MobileNetV2 block (1x1 -> depthwise 3x3 -> 1x1, residual Add), global average
    pooling, Flatten and a Gemm classifier."""
    import numpy as np

    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()

    def qdq(x, name, scale=0.05):
        s, z = g.const(np.float32(scale)), g.const(np.array(0, np.int8))
        y = g.node("QuantizeLinear", [x, s, z], name=f"{name}_q")
        return g.node("DequantizeLinear", [y, s, z], name=f"{name}_dq")

    def conv(x, cout, cin, name, k=1, group=1):
        w = g.const(g.rng.integers(-127, 128, [cout, cin // group, k, k]).astype(np.int8))
        w = g.node("DequantizeLinear", [w, g.const(np.full(cout, 0.01, np.float32)),
                                        g.const(np.zeros(cout, np.int8))], name=f"{name}_wdq", axis=0)
        y = g.node("Conv", [x, w, g.weight([cout])], name=name, kernel_shape=[k, k],
                   pads=[k // 2] * 4, group=group)
        return qdq(y, name)

    def relu6(x, name):
        return qdq(g.node("Clip", [x, g.const(np.float32(0)), g.const(np.float32(6))], name=name), name)

    x = qdq(g.input("x", [1, 3, 32, 32]), "input")
    stem = qdq(g.node("Relu", [conv(x, 16, 3, "stem", k=3)], name="stem_relu"), "stem_relu")
    y = relu6(conv(stem, 64, 16, "expand"), "expand_clip")
    y = relu6(conv(y, 64, 64, "dw", k=3, group=64), "dw_clip")
    y = qdq(g.node("Add", [conv(y, 16, 64, "project"), stem], name="add"), "add")
    y = qdq(g.node("GlobalAveragePool", [y], name="gap"), "gap")
    y = qdq(g.node("Flatten", [y], name="flatten"), "flatten")
    w = g.node("DequantizeLinear", [g.const(g.rng.integers(-127, 128, [10, 16]).astype(np.int8)),
                                    g.const(np.float32(0.02)), g.const(np.array(0, np.int8))],
               name="fc_wdq")
    y = qdq(g.node("Gemm", [y, w, g.weight([10])], name="fc", transB=1), "fc")
    return g.model([y])


def test_live_build_confirms_the_qdq_prediction(tmp_path):
    import onnx

    path = tmp_path / "qdq_block.onnx"
    onnx.save(_qdq_network(), path)
    v = verify(path, target="tensorrt-rtx", timeout=300)
    score = v.comparison.score
    assert score.edges > 30
    assert score.f1 >= 0.95, v.comparison.edge_errors
    assert score.precision == 1.0, v.comparison.edge_errors
    layer = v.report.layer_of("expand")  # the depthwise conv joins the expand conv's epilogue
    assert {"expand", "expand_q", "expand_dq", "expand_clip", "dw", "dw_clip"} <= set(layer.nodes)
    assert "input_q" in v.report.layer_of("stem").nodes  # 3 channels: the Q kernel pads them


def _conv_block(path, second_reader=False):
    from fusionlab.testing import GraphBuilder
    import onnx

    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    outs = [g.node("Relu", [y], name="relu1")]
    if second_reader:
        outs.append(g.node("Sigmoid", [y], name="sig1"))
    onnx.save(g.model(outs), path)


def test_corpus_calibration_table(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _conv_block(corpus / "a.onnx")
    _conv_block(corpus / "b.onnx", second_reader=True)
    (corpus / "broken.onnx").write_bytes(b"not a model")
    code = main(["verify", "--corpus", str(corpus), "--jobs", "2", "--target", "tensorrt-rtx",
                 "--format", "json"])
    import json

    data = json.loads(capsys.readouterr().out)
    assert code == 2  # broken.onnx is bad input: the corpus run fails with its exit code
    assert data["models"][str(corpus / "a.onnx")]["f1"] == 1.0
    assert data["models"][str(corpus / "broken.onnx")]["exit_code"] == 2
    (conv_relu,) = [r for r in data["rules"] if r["code"] == "TRT101"]
    assert conv_relu["predicted"] == 1 and conv_relu["confirmed"] == 1


def test_corpus_model_with_no_scored_edge_fails_min_f1(tmp_path, capsys):
    """A lone Relu has no producer -> consumer edge: not scored, never F1 1.0, so
    --min-f1 fails the corpus (exit 1) and the table says "not scored"."""
    import onnx

    from fusionlab.testing import GraphBuilder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _conv_block(corpus / "a.onnx")
    g = GraphBuilder()
    onnx.save(g.model([g.node("Relu", [g.input("x", [1, 8])], name="relu")]), corpus / "lone.onnx")
    assert main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx"]) == 0
    assert "not scored" in capsys.readouterr().out
    code = main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--min-f1", "0.5",
                 "--format", "json"])
    import json

    data = json.loads(capsys.readouterr().out)
    assert code == 1
    lone = data["models"][str(corpus / "lone.onnx")]
    assert lone["scored"] is False and lone["f1"] is None
    assert data["models"][str(corpus / "a.onnx")]["f1"] == 1.0


def test_corpus_error_classes_saved_logs_and_markdown(tmp_path, capsys):
    """verify --corpus aggregates the disagreeing edges by error class (producer op,
    consumer op, direction); --save-logs keeps each build's log and --logs scores those
    logs offline with the same result; a model without a log is "not built" (exit 3) and
    carries the error codes analyze flagged before the build; --output-format markdown is
    FIDELITY.md's table."""
    import collections
    import json
    import shutil

    import onnx

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("bert_tiny.onnx", "resnet18_qdq_floatbias.onnx", "resnet18_qdq.onnx"):
        shutil.copy(ROOT / "models" / name, corpus / name)
    logs = tmp_path / "logs"
    code = main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--save-logs", str(logs),
                 "--format", "json"])
    live = json.loads(capsys.readouterr().out)
    assert code == 3  # resnet18_qdq's INT32 bias: the parser rejects it
    assert sorted(p.name for p in logs.iterdir()) == ["bert_tiny.log", "resnet18_qdq_floatbias.log"]
    code = main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--logs", str(logs),
                 "--format", "json"])
    offline = json.loads(capsys.readouterr().out)
    assert code == 3
    rejected = offline["models"].pop(str(corpus / "resnet18_qdq.onnx"))
    assert rejected["exit_code"] == 3 and rejected["error"].startswith("not built: no build log resnet18_qdq.log")
    assert rejected["flagged"] == live["models"].pop(str(corpus / "resnet18_qdq.onnx"))["flagged"] == ["TRT402"]
    assert offline["models"] == live["models"] and offline["classes"] == live["classes"]
    # the classes are the per-model edge errors, counted by the op types of their nodes
    expected = collections.Counter()
    for name in ("bert_tiny", "resnet18_qdq_floatbias"):
        v = verify(corpus / f"{name}.onnx", target="tensorrt-rtx", log=logs / f"{name}.log")
        ops = {n.name: n.op_type for n in onnx.load(corpus / f"{name}.onnx", load_external_data=False).graph.node}
        expected.update((ops[a], ops[b], e) for a, b, e in v.comparison.edge_errors)
    assert expected, "these two builds disagree with the prediction somewhere"
    assert {(c["producer_op"], c["consumer_op"], c["error"]): c["count"] for c in offline["classes"]} == expected
    assert [c["count"] for c in offline["classes"]] == sorted((c["count"] for c in offline["classes"]), reverse=True)
    s = offline["summary"]
    assert (s["models"], s["scored"], s["failed"], s["failed_flagged"]) == (3, 2, 1, 1)
    out = tmp_path / "FIDELITY.md"
    assert main(["verify", "--corpus", str(corpus), "--target", "tensorrt-rtx", "--logs", str(logs),
                 "--output-format", "markdown", "-o", str(out)]) == 3
    text = out.read_text()
    assert f"fusionlab verify --corpus {corpus} --target tensorrt-rtx --logs {logs}" in text
    assert "| resnet18_qdq | - | - | - | - | failed (TRT402): not built" in text
    f1 = offline["models"][str(corpus / "bert_tiny.onnx")]["f1"]
    assert f"| bert_tiny | {f1:.3f} |" in text
    top = offline["classes"][0]
    assert f"| {top['producer_op']} | {top['consumer_op']} | {top['error']} | {top['count']} |" in text


def test_logs_and_markdown_are_corpus_options(tmp_path, capsys):
    model = str(ROOT / "models" / "bert_tiny.onnx")
    assert main(["verify", model, "--logs", str(tmp_path)]) == 2
    assert "--logs applies to --corpus" in capsys.readouterr().err
    assert main(["verify", model, "--output-format", "markdown"]) == 2
    assert "markdown is the --corpus table" in capsys.readouterr().err
    assert main(["verify", "--corpus", str(ROOT / "models"), "--logs", str(tmp_path / "none")]) == 2
    assert "not a folder of build logs" in capsys.readouterr().err
