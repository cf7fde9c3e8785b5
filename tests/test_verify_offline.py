"""verify with the files a user brings from a GPU machine; its bad-input table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ART = ROOT / "tests" / "data" / "trt-artifacts"
MOBILENET = ART / "fuzzylabs_trtexec_trt10.4" / "mobilenet_v2"
MODEL = str(ROOT / "models" / "mobilenet_v2.onnx")


def test_layer_info_and_profile_give_score_and_missed_cost(cli):
    code, out, err = cli("verify", MODEL, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", str(MOBILENET / "mobilenet_v2_fp16.graph.json"),
                         "--profile", str(MOBILENET / "mobilenet_v2_fp16.profile.json"), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["score"]["edges"] == 107 and data["score"]["f1"] >= 0.95
    assert len(data["observed_layers"]) == 57
    assert data["profile"]["total_ms"] == pytest.approx(0.411273, abs=1e-5)
    assert {"name", "type", "nodes"} <= set(data["observed_layers"][0])
    # every layer's time is the averageMs trtexec recorded for it; nothing is missed
    records = json.loads((MOBILENET / "mobilenet_v2_fp16.profile.json").read_text())[1:]
    assert data["profile"]["layer_ms"] == {r["name"]: round(r["averageMs"], 5) for r in records}
    assert data["summary"]["missed"] == 0 and data["profile"]["missed_cost"] == []
    assert data["profile"]["unmatched_layers"] == []


def test_missed_fusion_costs_the_recorded_time_of_its_layer(cli, tmp_path):
    """A second reader of the first Conv's output (a graph output) misses TRT102 conv-clip;
    its cost is the time the 10.4 profile recorded for the fused layer those nodes are in."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(MODEL)
    conv = "/features/features.0/features.0.0/Conv"
    tensor = next(n.output[0] for n in model.graph.node if n.name == conv)
    model.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    path = tmp_path / "mobilenet_v2_tapped.onnx"
    onnx.save(model, path)
    code, out, err = cli("verify", path, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", MOBILENET / "mobilenet_v2_fp16.graph.json",
                         "--profile", MOBILENET / "mobilenet_v2_fp16.profile.json", "--format", "json")
    assert code == 0, err
    layer = f"{conv} + /features/features.0/features.0.2/Clip"
    record = next(r for r in json.loads((MOBILENET / "mobilenet_v2_fp16.profile.json").read_text())[1:]
                  if r["name"] == layer)
    assert (record["averageMs"], record["percentage"]) == (0.00787858, 1.91566)
    (cost,) = json.loads(out)["profile"]["missed_cost"]
    assert (cost["code"], cost["check"], cost["layers"]) == ("TRT102", "single-consumer", [layer])
    assert cost["nodes"] == [conv, "/features/features.0/features.0.2/Clip"]
    assert cost["ms"] == pytest.approx(record["averageMs"], abs=1e-5)
    assert cost["percent"] == pytest.approx(record["percentage"], abs=1e-3)


def test_profile_of_another_engine_is_refused(cli):
    code, _, err = cli("verify", MODEL, "--layer-info", str(MOBILENET / "mobilenet_v2_fp16.graph.json"),
                       "--profile", str(ART / "fuzzylabs_trtexec_trt10.4" / "alexnet" / "alexnet_fp16.profile.json"))
    assert code == 2
    assert "share no layer names" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content,fragment", [("", "empty"), ('{"Layers": [{"Name": "a"', "")])
def test_bad_layer_info_files(cli, tmp_path, content, fragment):
    bad = tmp_path / "layers.json"
    bad.write_text(content)
    code, _, err = cli("verify", MODEL, "--layer-info", str(bad))
    assert code == 2 and "Traceback" not in err
    assert err.startswith("fusionlab: error: ") and str(bad) in err and fragment in err


def test_profile_without_layer_info_is_a_usage_error(cli):
    code, _, err = cli("verify", MODEL, "--profile", str(MOBILENET / "mobilenet_v2_fp16.profile.json"))
    assert code == 2 and "--layer-info" in err


def test_names_only_layer_info_warns_how_to_reexport(cli):
    names_only = ART / "hackathon_cookbook" / "trt8.4.1_gtx1070" / "modelInformation.log"
    code, out, err = cli("verify", MODEL, "--layer-info", str(names_only), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert any("profilingVerbosity" in w for w in data["warnings"])
    assert any("is the engine built from this model?" in w for w in data["warnings"])


def test_classic_log_with_fusion_lines(cli):
    log = ART / "hackathon_cookbook" / "trt8.4.1_gtx1070" / "result-FP32.log"
    code, out, err = cli("verify", MODEL, "--log", str(log), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["mapping"] == "name-join"


def test_layer_info_naming_no_node_is_not_scored_never_f1_one(cli, tmp_path, names_cleared):
    """The 10.4 layer info names mobilenet_v2's nodes by their names; a copy whose names were
    cleared shares none of them: 0 paired edges, reported as not scored with the reason."""
    path = names_cleared(MODEL, tmp_path / "mobilenet_v2_unnamed.onnx")
    info = str(MOBILENET / "mobilenet_v2_fp16.graph.json")
    code, out, err = cli("verify", path, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", info, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["score"]["scored"] is False and data["score"]["edges"] == 0
    assert data["score"]["f1"] is None and data["score"]["precision"] is None
    assert data["not_paired"]["count"] == data["nodes"]
    assert f"{data['nodes']} ONNX nodes have no engine layer naming them" in data["not_paired"]["reason"]
    assert "is the engine built from this model?" in " ".join(data["warnings"])
    code, out, err = cli("verify", path, "--target", "tensorrt", "--precision", "fp16", "--layer-info", info)
    assert code == 0, err
    text = " ".join(out.split())
    assert "not scored (0 paired edges)" in text and "F1 1.000" not in text
    assert "from a build of this model?" in text
    # --min-f1 fails a model that was not scored, whatever the threshold
    code, _, _ = cli("verify", path, "--target", "tensorrt", "--precision", "fp16", "--layer-info", info,
                     "--min-f1", "0")
    assert code == 1


def test_min_f1_passes_and_fails_on_the_real_score(cli, tmp_path):
    """mobilenet_v2 with a second reader of its first Conv: the 10.4 build fused Conv+Clip
    anyway, analyze predicted them apart, so the F1 is below 1.0 and --min-f1 1 fails."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(MODEL)
    tensor = next(n.output[0] for n in model.graph.node if n.name == "/features/features.0/features.0.0/Conv")
    model.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    path = tmp_path / "mobilenet_v2_tapped.onnx"
    onnx.save(model, path)
    args = ("verify", path, "--target", "tensorrt", "--precision", "fp16",
            "--layer-info", str(MOBILENET / "mobilenet_v2_fp16.graph.json"), "--format", "json")
    code, out, err = cli(*args)
    f1 = json.loads(out)["score"]["f1"]
    assert code == 0 and 0.9 <= f1 < 1.0, err
    assert cli(*args, "--min-f1", str(f1 - 0.01))[0] == 0
    assert cli(*args, "--min-f1", "1")[0] == 1


def test_parser_name_of_unnamed_node_pairs_with_fusionlab_name(models_dir):
    """onnx-tensorrt names an unnamed node ``node_of_<first output>``; fusionlab calls it
    ``<op_type>_<index>``: pair_layers maps the first to the second."""
    from fusionlab.graph import load_graph
    from fusionlab.trt.artifacts import ObservedLayer
    from fusionlab.verification.pairing import pair_layers, parser_aliases
    import onnx

    model = onnx.load(str(models_dir / "resnet18.onnx"))
    for node in model.graph.node:
        node.name = ""
    graph = load_graph(model)
    aliases = parser_aliases(graph)
    first = model.graph.node[0]
    assert aliases[f"node_of_{first.output[0]}"] == "Conv_0"
    layer = ObservedLayer("k", "kgen", (f"node_of_{first.output[0]}", f"node_of_{model.graph.node[1].output[0]}",
                                        "not_a_node"), "metadata")
    (paired,) = pair_layers(graph, [layer])
    assert paired.nodes == ("Conv_0", "Relu_1", "not_a_node")
