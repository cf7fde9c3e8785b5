"""Tests of fusionlab.trt.artifacts: parsers of TensorRT logs, layer info and profiles.

Most tests read the real TensorRT outputs copied into ``tests/data/trt-artifacts``
(TensorRT 8.0.3 to 10.16.2; see its SOURCES.md and tests/data/README.md); a missing file
fails the test that reads it. Every TensorRT output in it is parsed by ``test_every_artifact_is_parsed``; the other tests assert what specific
files contain. Synthetic inputs (written to ``tmp_path`` or inline) cover bad input and
the TensorRT-RTX ``Layers:`` dump, whose format is documented in
``docs/TENSORRT-RTX.md`` and checked here against text TensorRT-RTX 1.7.1 wrote.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fusionlab.errors import ArtifactError
from fusionlab.trt.artifacts import (
    BuildLog,
    FusionEvent,
    LayerInfo,
    Profile,
    match_profile,
    parse_layer_info,
    parse_log,
    parse_log_text,
    parse_metadata,
    parse_profile,
    split_layer_name,
)

#: Copies of real TensorRT outputs (tests/data/README.md); a missing file fails its test.
ARTIFACTS = Path(__file__).resolve().parent / "data" / "trt-artifacts"
#: Files of the folder that are not TensorRT outputs (tests/test_data.py checks them).
NOT_OUTPUTS = {"LICENSE-Apache-2.0.txt", "SHA256SUMS"}

FUZZY = "fuzzylabs_trtexec_trt10.4"
COOK = "hackathon_cookbook"
TREX = "trex_tests"
TREX_OLD = "trex_tests_v0.1.0"


def art(relative: str) -> Path:
    return ARTIFACTS / relative


def layer(result: LayerInfo | BuildLog, name: str):
    """The layer called ``name``; fails the test if there is none."""
    found = [x for x in result.layers if x.name == name]
    assert found, f"no layer {name!r} in {result.source}"
    return found[0]


def summary(result) -> tuple:
    """(layers, by metadata, by name-join, unmapped), or ("profile", layers, iterations)."""
    if isinstance(result, Profile):
        return ("profile", len(result.layers), result.iterations)
    mappings = Counter(x.mapping for x in result.layers)
    return (len(result.layers), mappings["metadata"], mappings["name-join"], mappings["none"])


# ----------------------------------------------------------------------------- every file

#: file -> (parser, expected summary, or a fragment of the ArtifactError it must raise)
EXPECTED = {
    "SOURCES.md": (parse_log, "no layer information"),
    f"{FUZZY}/docs_trtexec.md": (parse_log, (3, 2, 0, 1)),
    f"{FUZZY}/alexnet/alexnet_fp16.graph.json": (parse_layer_info, (14, 12, 0, 2)),
    f"{FUZZY}/alexnet/alexnet_fp16.profile.json": (parse_profile, ("profile", 14, 14590)),
    f"{FUZZY}/alexnet/alexnet_fp16.timing.json": (parse_profile, "is a trtexec --exportTimes timing file"),
    f"{FUZZY}/alexnet/alexnet_fp16.build.metadata.json": (
        parse_layer_info,
        "found an object with keys model_options, build_options",
    ),
    f"{FUZZY}/alexnet/alexnet_fp16.profile.metadata.json": (
        parse_profile,
        "found an object with keys performance_summary",
    ),
    f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.graph.json": (parse_layer_info, (57, 54, 0, 3)),
    f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.profile.json": (parse_profile, ("profile", 57, 18488)),
    f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.build.metadata.json": (parse_log, "is JSON (an object with keys"),
    f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.profile.metadata.json": (
        parse_layer_info,
        "expected trtexec --exportLayerInfo JSON",
    ),
    f"{COOK}/trt8.0.3_gtx1070/output-fp32.txt": (parse_log, (10, 0, 8, 2)),
    f"{COOK}/trt8.2.3_gtx1070/result-FP32.txt": (parse_log, (12, 0, 9, 3)),
    f"{COOK}/trt8.4.1_gtx1070/result-FP32.log": (parse_log, (12, 0, 9, 3)),
    f"{COOK}/trt8.4.1_gtx1070/result-FP16.log": (parse_log, (12, 0, 9, 3)),
    f"{COOK}/trt8.4.1_gtx1070/modelInformation.log": (parse_layer_info, (12, 0, 9, 3)),
    f"{COOK}/trt8.4.1_gtx1070/EngineInspector_result.log": (parse_layer_info, (9, 0, 0, 9)),
    f"{COOK}/trt10.14.1_rtx6000ada/result-02.log": (parse_log, (16, 2, 10, 4)),
    f"{COOK}/trt10.14.1_rtx6000ada/model-trained-exportLayerInfo.log": (parse_layer_info, (9, 8, 0, 1)),
    f"{COOK}/polygraphy_inspect_trt10.16.2/result-02.log": (
        parse_log,
        "listing of the TensorRT network (27 layers, before any fusion)",
    ),
    f"{COOK}/polygraphy_inspect_trt10.16.2/result-03.log": (parse_log, (10, 0, 6, 4)),
    f"{TREX}/mobilenet.qat.onnx.engine.graph.json": (parse_layer_info, (73, 0, 71, 2)),
    f"{TREX}/mobilenet.qat.onnx.engine.profile.json": (parse_profile, ("profile", 73, 6610)),
    f"{TREX}/mobilenet.qat.onnx.engine.timing.json": (parse_profile, "is a trtexec --exportTimes timing file"),
    f"{TREX}/mobilenet.qat.onnx.engine.build.metadata.json": (parse_profile, "found an object with keys model_options"),
    f"{TREX}/mobilenet.qat.onnx.engine.profile.metadata.json": (parse_log, "not a TensorRT build log"),
    f"{TREX}/mobilenet_v2_residuals.qat.onnx.engine.graph.json": (parse_layer_info, (58, 0, 56, 2)),
    f"{TREX}/mobilenet_v2_residuals.qat.onnx.engine.profile.json": (parse_profile, ("profile", 58, 8657)),
    f"{TREX}/mobilenet_v2_residuals.qat.onnx.engine.timing.json": (
        parse_layer_info,
        "found a trtexec --exportTimes timing file",
    ),
    f"{TREX}/mobilenet_v2_residuals.qat.onnx.engine.build.metadata.json": (
        parse_layer_info,
        "found an object with keys model_options",
    ),
    f"{TREX}/mobilenet_v2_residuals.qat.onnx.engine.profile.metadata.json": (
        parse_profile,
        "found an object with keys performance_summary",
    ),
    f"{TREX_OLD}/mobilenet.qat.onnx.engine.graph.json": (parse_layer_info, (85, 0, 71, 14)),
    f"{TREX_OLD}/mobilenet.qat.onnx.engine.profile.json": (parse_profile, ("profile", 85, 4216)),
    f"{TREX_OLD}/mobilenet.qat.onnx.engine.metadata.json": (
        parse_layer_info,
        "found a list of 1 objects with keys Name, ComputeCapability",
    ),
    f"{TREX_OLD}/mobilenet_v2_residuals.qat.onnx.engine.graph.json": (parse_layer_info, (59, 0, 56, 3)),
    f"{TREX_OLD}/mobilenet_v2_residuals.qat.onnx.engine.profile.json": (parse_profile, ("profile", 59, 7075)),
    f"{TREX_OLD}/mobilenet_v2_residuals.qat.onnx.engine.metadata.json": (parse_profile, "found a list of 1 objects"),
}


def test_every_artifact_has_an_expectation():
    present = {p.relative_to(ARTIFACTS).as_posix() for p in ARTIFACTS.rglob("*") if p.is_file()}
    assert present - NOT_OUTPUTS == set(EXPECTED), "add new files to EXPECTED, remove deleted ones"


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_every_artifact_is_parsed(relative):
    parser, expected = EXPECTED[relative]
    if isinstance(expected, str):
        with pytest.raises(ArtifactError) as error:
            parser(art(relative))
        assert expected in error.value.message
        assert error.value.message.startswith(str(art(relative)))
        assert "\n" not in error.value.message
    else:
        assert summary(parser(art(relative))) == expected


# ----------------------------------------------------------------------------- layer info JSON


def test_mobilenet_v2_fp16_layer_info_names_the_fused_onnx_nodes():
    """TensorRT 10.4 FP16 on SM 8.6 fused each Conv with its Clip (ReLU6), and residual Adds."""
    info = parse_layer_info(art(f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.graph.json"))
    assert not info.names_only and info.message is None
    assert info.bindings == ("input", "output")
    stem = layer(info, "/features/features.0/features.0.0/Conv + /features/features.0/features.0.2/Clip")
    assert stem.nodes == ("/features/features.0/features.0.0/Conv", "/features/features.0/features.0.2/Clip")
    assert (stem.type, stem.mapping, stem.tactic) == (
        "CaskConvolution",
        "metadata",
        (
            "sm80_xmma_fprop_implicit_gemm_indexed_wo_smem_f16f16_f16f16_f16_nhwckrsc_nhwc_tilesize128x32x64"
            "_stage1_warpsize4x1x1_g1_tensor16x8x16_aligna8_alignc8"
        ),
    )
    depthwise = layer(
        info, "/features/features.2/conv/conv.1/conv.1.0/Conv + /features/features.2/conv/conv.1/conv.1.2/Clip"
    )
    assert depthwise.nodes[1] == "/features/features.2/conv/conv.1/conv.1.2/Clip"
    residual = layer(info, "/features/features.5/conv/conv.2/Conv + /features/features.5/Add")
    assert residual.type == "CaskGemmConvolution"
    assert residual.nodes == ("/features/features.5/conv/conv.2/Conv", "/features/features.5/Add")
    projection = layer(info, "/features/features.1/conv/conv.1/Conv")
    assert projection.nodes == ("/features/features.1/conv/conv.1/Conv",)
    reformat = info.layers[0]
    assert (reformat.type, reformat.nodes, reformat.mapping) == ("Reformat", (), "none")
    assert reformat.inputs == ("input",)
    fused = [x for x in info.layers if len(x.nodes) == 2]
    assert len(fused) == 45  # every Conv+Clip (35) and every residual Conv+Add (10)
    assert sum(x.nodes[1].endswith("/Add") for x in fused) == 10


def test_alexnet_fp16_myelin_layers_are_mapped_by_metadata_not_by_name():
    """The Myelin gemm layers are renamed ('classifier_1'); only Metadata (\\x1f) names the nodes."""
    info = parse_layer_info(art(f"{FUZZY}/alexnet/alexnet_fp16.graph.json"))
    gemm = layer(info, "/classifier/classifier_1/Gemm_myl9_2")
    assert gemm.type == "gemm"
    assert gemm.nodes == ("/classifier/classifier.1/Gemm", "/classifier/classifier.2/Relu")
    assert layer(info, "__myl_Res_myl9_1").nodes == ("/Flatten",)
    shape_call = layer(info, "dummy_shape_call__mye622_0_myl9_0")
    assert (shape_call.type, shape_call.nodes, shape_call.mapping, shape_call.tactic) == (
        "shape_call",
        (),
        "none",
        None,
    )
    conv = layer(info, "/features/features.0/Conv + /features/features.1/Relu")
    assert conv.nodes == ("/features/features.0/Conv", "/features/features.1/Relu")
    assert [x.type for x in info.layers].count("CaskPooling") == 3


def test_trex_qat_layer_info_is_mapped_by_name_join():
    """TensorRT 8.4-era detailed JSON has no Metadata: nodes come from the ' + '-joined name."""
    info = parse_layer_info(art(f"{TREX}/mobilenet.qat.onnx.engine.graph.json"))
    conv = layer(info, "features.0.0.weight + QuantizeLinear_8 + Conv_12 + PWN(Clip_16)")
    assert conv.mapping == "name-join"
    assert conv.nodes == ("features.0.0.weight", "QuantizeLinear_8", "Conv_12", "Clip_16")
    assert conv.tactic == "volta_int8x4_icudnn_int8x4_128x32_relu_xregs_medium_c32_nn_v1"
    gemm = info.layers[-2]
    assert gemm.name.startswith("classifier.1.weight + QuantizeLinear_860 + Gemm_864")
    assert "(Unnamed Layer* 849) [Shuffle]" in gemm.name
    assert gemm.nodes == (
        "classifier.1.weight",
        "QuantizeLinear_860",
        "Gemm_864",
        "classifier.1.bias",
        "unsqueeze_node_after_classifier.1.bias",
    )
    squeeze = info.layers[-1]
    assert (squeeze.name, squeeze.type, squeeze.mapping) == (
        "copied_squeeze_after_(Unnamed Layer* 850) [ElementWise]",
        "NoOp",
        "none",
    )
    assert Counter(x.type for x in info.layers)["CudaDepthwiseConvolution"] == 17
    assert info.bindings == ("input1", "1179")


def test_trex_v010_layer_info_older_schema():
    """The 8.2-era schema: no Location keys, QuantizeLinear as a Scale layer, decimal-free hex tactics."""
    info = parse_layer_info(art(f"{TREX_OLD}/mobilenet.qat.onnx.engine.graph.json"))
    first = info.layers[0]
    assert (first.name, first.type, first.nodes, first.tactic) == (
        "QuantizeLinear_2",
        "Scale",
        ("QuantizeLinear_2",),
        "0x0000000000000000",
    )
    assert (first.inputs, first.outputs) == (("input1",), ("317",))
    assert Counter(x.type for x in info.layers)["Scale"] == 17


def test_trt10_14_layer_info_json_in_a_log_file():
    """model-trained-exportLayerInfo.log is JSON despite its name; Myelin kernels use \\x1f."""
    info = parse_layer_info(art(f"{COOK}/trt10.14.1_rtx6000ada/model-trained-exportLayerInfo.log"))
    assert info.bindings == ("x", "y", "z")
    assert layer(info, "node_conv2d + node_relu").nodes == ("node_conv2d", "node_relu")
    assert layer(info, "node_linear_myl4_0").nodes == ("node_linear", "node_relu_2")
    softmax = layer(info, "__myl_AddMaxrSubExpSum_myl4_2")
    assert softmax.nodes == ("node_linear_1", "node_softmax")
    assert softmax.outputs == ("__myln_k_arg__bb1_6_myl4", "__myln_k_arg__bb1_5_myl4", "y")
    assert layer(info, "__myl_CastReshCast_myl4_4").mapping == "none"


def test_names_only_layer_info_is_flagged_with_a_re_export_hint():
    info = parse_layer_info(art(f"{COOK}/trt8.4.1_gtx1070/modelInformation.log"))
    assert info.names_only
    assert "cannot be mapped back to ONNX nodes reliably" in info.message
    assert "trtexec --onnx=MODEL --exportLayerInfo=layers.json --profilingVerbosity=detailed" in info.message
    first = info.layers[0]
    assert (first.name, first.type, first.nodes, first.mapping) == (
        "Conv-1 + ReLU-2",
        None,
        ("Conv-1", "ReLU-2"),
        "name-join",
    )
    assert layer(info, "Reformatting CopyNode for Output Tensor 0 to MaxPool-3").mapping == "none"
    assert info.bindings == ("tensor-0", "tensor-15")


def test_names_only_records_with_a_name_key(tmp_path):
    path = tmp_path / "layers.json"
    path.write_text('{"Layers": [{"Name": "conv1 + relu1"}, {"Name": "pool1"}], "Bindings": ["x", "y"]}')
    info = parse_layer_info(path)
    assert info.names_only
    assert [x.nodes for x in info.layers] == [("conv1", "relu1"), ("pool1",)]


def test_detailed_layer_info_is_not_names_only(tmp_path):
    path = tmp_path / "layers.json"
    path.write_text(
        '{"Layers": [{"Name": "a + b", "LayerType": "CaskConvolution", "TacticValue": "0x1",'
        ' "Metadata": "[ONNX Layer: a]\\u001e[ONNX Layer: b]"}]}'
    )
    info = parse_layer_info(path)
    assert not info.names_only and info.message is None
    assert (info.layers[0].nodes, info.layers[0].mapping, info.layers[0].tactic) == (("a", "b"), "metadata", "0x1")


# ----------------------------------------------------------------------------- build logs


def test_trt8_0_log_engine_layers_fusions_and_counts():
    log = parse_log(art(f"{COOK}/trt8.0.3_gtx1070/output-fp32.txt"))
    assert log.version == "8.0.3"  # "[TensorRT v8003]" and "TensorRT version: 8003"
    assert log.layers_from == "Engine Layer Information:"
    assert log.skipped_lines == 0
    conv = layer(log, "Conv__25 + Relu")
    assert (conv.type, conv.nodes, conv.tactic) == ("CaskConvolution", ("Conv__25", "Relu"), "7144526460361122478")
    assert (conv.inputs, conv.outputs) == (("x:0",), ("Relu:0",))
    assert layer(log, "Conv__27 + Relu_1").tactic == "-9153228964338181824"
    topk = layer(log, "y + z")
    assert topk.type == "LogSoftmaxTopK"
    assert topk.outputs == ("(Unnamed Layer* 48) [TopK]_output_1", "(Unnamed Layer* 48) [TopK]_output_2")
    assert FusionEvent("fuse", "ConvReluFusion", ("Conv__25", "Relu"), line=286) in log.fusions
    assert FusionEvent("fuse", "SoftmaxTopKFusion", ("y", "z"), line=292) in log.fusions
    assert not [e for e in log.fusions if e.kind == "run"]  # 8.0 prints no "Running:" lines
    assert log.layer_counts["Original"] == 26
    assert log.layer_counts["After vertical fusions"] == 10
    assert log.layer_counts["After reformat layers"] == 12
    assert "8 of 10 layers come from 'Engine Layer Information:'" in log.warnings[0]


def test_trt8_2_log_running_lines_without_layer():
    log = parse_log(art(f"{COOK}/trt8.2.3_gtx1070/result-FP32.txt"))
    assert log.version == "8.2.3"
    assert FusionEvent("run", "ConvReluFusion", (), line=329) in log.fusions
    assert FusionEvent("fuse", "ConvReluFusion", ("Conv__25", "Relu"), line=330) in log.fusions
    removal = next(e for e in log.fusions if e.kind == "remove")
    assert (removal.pass_name, removal.layers) == ("ShuffleErasure", ("(Unnamed Layer* 44) [Shuffle]",))
    assert Counter(e.kind for e in log.fusions) == {"run": 25, "fuse": 15, "remove": 5}
    assert layer(log, "copied_squeeze_after_add_3").type == "NoOp"
    assert log.layer_counts["After vertical fusions"] == 10


@pytest.mark.parametrize("precision", ["FP32", "FP16"])
def test_trt8_4_logs_hex_tactics_and_running_on(precision):
    log = parse_log(art(f"{COOK}/trt8.4.1_gtx1070/result-{precision}.log"))
    assert log.version == "8.4.1"
    conv = layer(log, "Conv-1 + ReLU-2")
    assert (conv.nodes, conv.tactic) == (("Conv-1", "ReLU-2"), "0x632674f65e3422ae")
    assert (conv.inputs, conv.outputs) == (("tensor-0",), ("tensor-2",))
    assert layer(log, "MatMul-9 + ReLU-11").type == "CublasConvolution"
    assert layer(log, "Softmax-14 + ArgMax-15").tactic == "0x00000000000003e9"
    assert FusionEvent("run", "ConvReluFusion", ("Conv-1",), line=313) in log.fusions
    assert FusionEvent("fuse", "ConvReluFusion", ("Conv-1", "ReLU-2"), line=314) in log.fusions
    assert FusionEvent("fuse", "ConvReluFusion", ("MatMul-9", "ReLU-11"), line=318) in log.fusions
    assert (
        FusionEvent("remove", "ShuffleErasure", ("squeeze_after_ReLU-11 + reshape_before_MatMul-12",), line=320)
        in log.fusions
    )
    assert log.layer_counts == {
        "Original": 24,
        "After dead-layer removal": 24,
        "After Myelin optimization": 19,
        "After scale fusion": 16,
        "After dupe layer removal": 10,
        "After final dead-layer removal": 10,
        "After tensor merging": 10,
        "After vertical fusions": 10,
        "After slice removal": 10,
        "After concat removal": 10,
        "After reformat layers": 12,
    }
    # FP32 and FP16 engines differ only in where TensorRT put the reformat copies.
    reformats = [x.name for x in log.layers if x.type == "Reformat"]
    if precision == "FP32":
        assert reformats[0] == "Reformatting CopyNode for Output Tensor 0 to MaxPool-3"
    else:
        assert reformats[0] == "Reformatting CopyNode for Input Tensor 0 to Conv-4 + ReLU-5"


def test_trt10_14_log_foreign_nodes_and_backend_strategies():
    """Built at --builderOptimizationLevel=5: strategy 4 is kept, strategies 3 and 2 dropped."""
    log = parse_log(art(f"{COOK}/trt10.14.1_rtx6000ada/result-02.log"))
    assert log.version == "10.14.1"  # "[TensorRT v101401]"
    cast = layer(log, "{ForeignNode[ONNXTRT_castHelper_5...ONNXTRT_castHelper_6]}")
    assert (cast.type, cast.mapping) == ("Myelin", "name-join")
    assert cast.nodes == ("ONNXTRT_castHelper_5", "ONNXTRT_castHelper_6")  # the endpoints only
    assert (cast.inputs, cast.outputs) == (("(Unnamed Layer* 22) [TopK]_output (1)",), ("z",))
    # "ForeignNode {ForeignNode[node_linear]} metadata: [ONNX Layer: node_linear]" maps it exactly.
    linear = layer(log, "{ForeignNode[node_linear]}")
    assert (linear.nodes, linear.mapping) == (("node_linear",), "metadata")
    assert layer(log, "PWN((Unnamed Layer* 11) [ElementWise] + node_relu_2)").nodes == ("node_relu_2",)
    constant = layer(log, "gemm1.bias + ONNXTRT_Broadcast")
    assert (constant.type, constant.inputs, constant.outputs) == (
        "Constant",
        (),
        ("(Unnamed Layer* 10) [Shuffle]_output",),
    )
    conv = layer(log, "node_conv2d + node_relu")
    assert (conv.inputs, conv.outputs) == (("Reformatted Input Tensor 0 to node_conv2d + node_relu",), ("relu",))
    assert (
        FusionEvent("fuse", "EltReluFusion", ("(Unnamed Layer* 11) [ElementWise]", "node_relu_2"), line=530)
        in log.fusions
    )
    # The kept build (strategy 4): 13 layers + 3 reformats = the 16 engine layers. The
    # dropped builds' lines ("After vertical fusions: 5 layers", line 2819) are left out.
    assert log.layer_counts["After vertical fusions"] == 13
    assert log.layer_counts["After reformat layers"] == len(log.layers) == 16
    assert log.layer_counts["Original"] == 24  # logged before any strategy
    assert max(e.line for e in log.fusions) < 2801  # "Building graph using backend strategy 3"
    assert (
        sum(e == FusionEvent("fuse", "ConvReluFusion", ("node_conv2d", "node_relu"), line=526) for e in log.fusions)
        == 1
    )
    assert "10 of 16 layers" in log.warnings[0]


def test_polygraphy_engine_listing():
    log = parse_log(art(f"{COOK}/polygraphy_inspect_trt10.16.2/result-03.log"))
    assert (log.version, log.layers_from, log.warnings) == ("10.16.2", "polygraphy", [])
    conv = log.layers[0]
    assert (conv.name, conv.type, conv.nodes, conv.tactic) == (
        "node_conv2d + node_relu",
        "CaskConvolution",
        ("node_conv2d", "node_relu"),
        "0x5b8bf1b8028629d9",
    )
    assert (conv.inputs, conv.outputs) == (("x",), ("relu",))
    shape_call = log.layers[4]
    assert (shape_call.name, shape_call.type, shape_call.mapping, shape_call.tactic) == (
        "__mye258_0_myl4_0",
        "shape_call",
        "none",
        None,
    )
    softmax = layer(log, "__myl_MaxrSubExpSum_myl4_3")
    assert softmax.inputs == ("y", "y")
    assert softmax.outputs == ("__myln_k_arg__bb1_7_myl4", "__myln_k_arg__bb1_6_myl4")


def test_engine_inspector_text_of_an_api_built_network():
    """TensorRT 8.4's inspector prints 'Layers:' without Metadata; every name is '(Unnamed Layer* N)'."""
    log = parse_log(art(f"{COOK}/trt8.4.1_gtx1070/EngineInspector_result.log"))
    assert log.layers_from == "Layers:"
    assert [x.type for x in log.layers] == [
        "CaskConvolution",
        "TiledPooling",
        "FusedConvActConvolution",
        "TiledPooling",
        "NoOp",
        "CublasConvolution",
        "CudnnConvolution",
        "NoOp",
        "LogSoftmaxTopK",
    ]
    assert log.layers[0].tactic == "maxwell_scudnn_128x32_relu_small_nn_v0"
    assert log.layers[0].inputs == ("inputT0",)
    assert all(x.nodes == () for x in log.layers)
    assert log.version is None
    assert "states no TensorRT version; parsed anyway" in log.warnings[0]


def test_quoted_trt10_4_log_in_markdown():
    """docs_trtexec.md quotes a shortened 10.4 log: a 'Layers:' dump with a '...more' line."""
    log = parse_log(art(f"{FUZZY}/docs_trtexec.md"))
    assert log.version == "10.4.0"  # libnvinfer_builder_resource.so.10.4.0
    assert log.skipped_lines == 2  # "...more" and the closing code fence
    gemm = log.layers[2]
    assert gemm.name == "/classifier/classifier_6/Gemm_myl9_4"
    assert gemm.nodes == ("/classifier/classifier.6/Gemm",)
    assert gemm.inputs[0] == "output'.1_4"
    assert gemm.inputs[-1] == "classifier_6_bias _ ONNXTRT_Broadcast_6_constantHalf"
    assert FusionEvent("remove", "PoolingErasure", ("/avgpool/AveragePool",), line=145) in log.fusions
    assert log.layer_counts["After vertical fusions"] == 9


# ----------------------------------------------------------------------------- TensorRT-RTX

# The exact format of docs/TENSORRT-RTX.md, with both separators, names containing
# commas, brackets, dots and slashes, a local-function stack, a 1x1-conv GEMM suffix, and
# multi-stream signal/wait kernels.
RTX_DUMP = (
    "[11/22/2026-10:00:00] [TRT] [V] Layers:\r\n"
    "Name: /layer1/layer1.0/conv1/Conv_myl0_1, LayerType: runtime_fusion, "
    "Inputs: [ { Name: x, a tensor, Dimensions: [1,64,56,56], Format: (NHWC) Channel major format }], "
    "Constants: [ { Name: __mye12dconst_myl0, Dimensions: [64,64,3,3], Datatype: Float, Format: (Linear) Row major linear format }], "
    "Outputs: [ { Name: /layer1/layer1.0/relu/Relu_output_0, Dimensions: [1,64,56,56], Datatype: Float, Format: (NHWC) Channel major format }], "
    "TacticName: __myl_CorrMulAddRelu_0x1, StreamId: 0, "
    "Metadata: [ONNX Layer: /layer1/layer1.0/conv1/Conv]\x1e[ONNX Layer: /layer1/layer1.0/bn1/BatchNormalization]"
    "\x1f[ONNX Layer: /layer1/layer1.0/relu, clamp [0, inf]/Relu]\r\n"
    "Name: signal_0, LayerType: signal, Inputs: [], Constants: [], Outputs: [], TacticName: , StreamId: 0, EventId: 1, Metadata: \r\n"
    "Name: /layer1/downsample/downsample.0/Conv_myl0_2, LayerType: gemm, Inputs: [ { Name: x, a tensor, Dimensions: [1,64,56,56], Datatype: Float, Format: (NHWC) Channel major format }], "
    "Constants: [], Outputs: [ { Name: ds, Dimensions: [1,64,28,28], Datatype: Float, Format: (NHWC) Channel major format }], "
    "TacticName: sm80_xmma_gemm, StreamId: 1, EventId: 1, "
    "Metadata: [ONNX Layer: /layer1/downsample/downsample.0/Conv]__gemm_from_conv1x1\r\n"
    "Name: wait_0, LayerType: wait, Inputs: [], Constants: [], Outputs: [], TacticName: , StreamId: 0, EventId: 1, Metadata: \r\n"
    "Name: __myl_AddRelu_myl0_3, LayerType: kgen, Inputs: [ { Name: ds, Dimensions: [1,64,28,28], Datatype: Float, Format: (NHWC) Channel major format }], "
    "Constants: [], Outputs: [ { Name: y, Dimensions: [1,64,28,28], Datatype: Float, Format: (Linear) Row major linear format }], "
    "TacticName: __myl_AddRelu_0x2, StreamId: 0, "
    "Metadata: [ONNX Layer: /block/Add | block_fn (MyBlock)][ONNX Layer: /block/Relu | block_fn (MyBlock)]\r\n"
    "\r\n"
    "[11/22/2026-10:00:01] [TRT] [I] Engine generation completed in 0.07 seconds.\r\n"
)


def test_tensorrt_rtx_layers_dump():
    log = parse_log_text(RTX_DUMP, version="TensorRT-RTX 1.7.1")
    assert (log.layers_from, log.version, log.warnings, log.skipped_lines) == ("Layers:", "TensorRT-RTX 1.7.1", [], 0)
    assert [x.type for x in log.layers] == ["runtime_fusion", "signal", "gemm", "wait", "kgen"]
    conv = log.layers[0]
    assert conv.nodes == (
        "/layer1/layer1.0/conv1/Conv",
        "/layer1/layer1.0/bn1/BatchNormalization",
        "/layer1/layer1.0/relu, clamp [0, inf]/Relu",
    )
    assert (conv.mapping, conv.tactic) == ("metadata", "__myl_CorrMulAddRelu_0x1")
    assert conv.inputs == ("x, a tensor", "__mye12dconst_myl0")  # inputs, then constants
    assert conv.outputs == ("/layer1/layer1.0/relu/Relu_output_0",)
    signal = log.layers[1]
    assert (signal.nodes, signal.mapping, signal.tactic, signal.inputs) == ((), "none", None, ())
    assert log.layers[2].nodes == ("/layer1/downsample/downsample.0/Conv",)  # suffix is not the name
    assert log.layers[4].nodes == ("/block/Add", "/block/Relu")  # local-function stack removed


def test_real_tensorrt_rtx_1_7_dump():
    """Lines TensorRT-RTX 1.7.1.116 wrote (CPU-only build of conv-relu-conv-add-relu-softmax)."""
    text = (
        "[I] [TRT] Engine generation completed in 0.0749275 seconds.\n"
        "[V] [TRT] Layers:\n"
        "Name: __myl_Move_myl0_0, LayerType: kgen, Inputs: [ { Name: x, Dimensions: [1,8,16,16], Strides: [2048,256,16,1], "
        "StrideOrder: [3,2,1,0], Datatype: Float, Format: (Linear) Row major linear format }], Constants: [], Outputs: "
        "[ { Name: r1.1_2_myl0, Dimensions: [1,8,16,16], Strides: [2048,1,128,8], StrideOrder: [3,0,2,1], Datatype: Float, "
        "Format: (NHWC) Channel major format }], TacticName: __myl_Move_0x3ea98178ef1cd51b696fba1502422510, StreamId: 0, Metadata: \n"
        "Name: /layer1/conv2/Conv_myl0_2, LayerType: correlation, Inputs: [ { Name: y0.1_3_myl0, Dimensions: [1,8,16,16], "
        "Strides: [2048,1,128,8], StrideOrder: [3,0,2,1], Datatype: Float, Format: (NHWC) Channel major format }, { Name: "
        "y0.1_3_myl0, Dimensions: [1,8,16,16], Strides: [2048,1,128,8], StrideOrder: [3,0,2,1], Datatype: Float, Format: "
        "(NHWC) Channel major format }], Constants: [ { Name: __mye257dconst_myl0, Dimensions: [8,8,1,1], Strides: [8,1,8,8], "
        "StrideOrder: [3,0,2,1], Datatype: Float, Format: (NHWC) Channel major format }], Outputs: [ { Name: "
        "__myln_k_arg__bb1_4_myl0, Dimensions: [1,8,16,16], Strides: [2048,1,128,8], StrideOrder: [3,0,2,1], Datatype: "
        "Float, Format: (NHWC) Channel major format }], TacticName: __myelin_CASK_STUB, StreamId: 0, Metadata: "
        "[ONNX Layer: /layer1/conv2/Conv]\x1f[ONNX Layer: /layer1/relu2/Relu]\x1f[ONNX Layer: /layer1/Add]\n"
        "\n"
        "I/O Tensors:\n"
        " Name: x, IOMode: Input, DataType: Float, Dimensions: [1,8,16,16], Location: Device, IsShapeInferenceIO: false\n"
        "[V] [TRT] Adding 1 engine(s) to plan file.\n"
    )
    log = parse_log_text(text)
    assert [x.name for x in log.layers] == ["__myl_Move_myl0_0", "/layer1/conv2/Conv_myl0_2"]
    assert log.layers[0].mapping == "none"
    conv = log.layers[1]
    assert (conv.type, conv.nodes) == ("correlation", ("/layer1/conv2/Conv", "/layer1/relu2/Relu", "/layer1/Add"))
    assert conv.inputs == ("y0.1_3_myl0", "y0.1_3_myl0", "__mye257dconst_myl0")
    assert conv.outputs == ("__myln_k_arg__bb1_4_myl0",)
    assert log.skipped_lines == 0
    assert "states no TensorRT version" in log.warnings[0]


@pytest.mark.needs_rtx
def test_live_tensorrt_rtx_build_log_parses(tmp_path):
    """The builder's captured log (fusionlab.trt.build) feeds parse_log directly."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fusionlab.trt.build import build

    weights = numpy_helper.from_array(np.full((4, 4, 3, 3), 0.1, np.float32), "w")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], name="/stem/conv, 0/Conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="/stem/relu[0]/Relu"),
            helper.make_node("Sigmoid", ["r"], ["y"], name="/head/Sigmoid"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    result = build(tmp_path / "m.onnx", timeout=300)
    log = parse_log(result.log, version=f"TensorRT-RTX {result.version}")
    assert log.layers_from == "Layers:" and log.skipped_lines == 0 and log.warnings == []
    nodes = {node for x in log.layers for node in x.nodes}
    assert {"/stem/conv, 0/Conv", "/stem/relu[0]/Relu"} <= nodes
    conv = next(x for x in log.layers if "/stem/conv, 0/Conv" in x.nodes)
    assert conv.mapping == "metadata" and "/stem/relu[0]/Relu" in conv.nodes


# ----------------------------------------------------------------------------- log text details


def test_prefix_orders_timestamps_and_versions():
    text = (
        "&&&& RUNNING TensorRT.trtexec [TensorRT v8412] # trtexec --onnx=m.onnx\n"
        "[11/22/2026-10:00:00] [V] [TRT] Running: ConvReluFusion on /c/Conv\n"
        "[TRT] [V] ConvReluFusion: Fusing /c/Conv with /r/Relu\n"
        "[V] [TRT] After vertical fusions: 3 layers\n"
        "[11/22/2026-10:00:01] [V] [TRT] Engine Layer Information:\n"
        "Layer(CaskConvolution): /c/Conv + /r/Relu, Tactic: 0x00000000000003e8, x[Half(1,3,8,8)] -> r[Half(1,8,8,8)]\n"
        "Layer(CaskPooling): /p/MaxPool, Tactic: -12, r[Half(1,8,8,8)] -> y[Half(1,8,4,4)]\n"
    )
    log = parse_log_text(text, source="build.log")
    assert log.version == "8.4.12"
    assert log.fusions == [
        FusionEvent("run", "ConvReluFusion", ("/c/Conv",), line=2),
        FusionEvent("fuse", "ConvReluFusion", ("/c/Conv", "/r/Relu"), line=3),
    ]
    assert log.layer_counts == {"After vertical fusions": 3}
    assert [(x.nodes, x.tactic) for x in log.layers] == [
        (("/c/Conv", "/r/Relu"), "0x00000000000003e8"),
        (("/p/MaxPool",), "-12"),
    ]
    assert log.layers[1].inputs == ("r",)


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("[I] TensorRT version: 8.6.1", "8.6.1"),
        ("[I] TensorRT version: 8003", "8.0.3"),
        ("&&&& RUNNING TensorRT.trtexec [TensorRT v101401] [b48] # trtexec", "10.14.1"),
        ("[V] Loaded Module: tensorrt | Version: 10.16.2.5 | Path: [...]", "10.16.2"),
        ("[V] [TRT] Loaded shared library libnvinfer_builder_resource.so.10.4.0", "10.4.0"),
        ("[I] TensorRT-RTX version: 1.7.1.116", "TensorRT-RTX 1.7.1"),
        ("[I] Using TensorRT-RTX for an ahead-of-time build", "TensorRT-RTX"),
    ],
)
def test_version_statements(line, version):
    log = parse_log_text(
        f"{line}\n[V] [TRT] Engine Layer Information:\nLayer(NoOp): n, Tactic: 0x0, a (Float[1]) -> b (Float[1])\n"
    )
    assert log.version == version
    assert not any("version" in w for w in log.warnings)


def test_unknown_version_is_parsed_with_a_warning():
    text = "[I] TensorRT version: 11.2.0\n[V] [TRT] Engine Layer Information:\nLayer(NoOp): n, Tactic: 0x0, \n"
    log = parse_log_text(text, source="future.log")
    assert (log.version, [x.name for x in log.layers]) == ("11.2.0", ["n"])
    assert log.warnings[0].startswith("future.log: TensorRT 11.2.0 is not among the versions")
    assert "parsed anyway" in log.warnings[0]


def test_qdq_fusion_lines_and_unparsed_lines_are_counted():
    text = (
        "[V] [TRT] Running: QuantizeDoubleInputNodes on /m/conv/Conv\n"
        "[V] [TRT] QuantizeDoubleInputNodes: fusing /n/_input_quantizer/QuantizeLinear into /m/conv/Conv\n"
        "[V] [TRT] QuantizeDoubleInputNodes: fusing (/m/_input_quantizer/DequantizeLinear and "
        "/m/_weight_quantizer/DequantizeLinear) into /m/conv/Conv\n"
        "[V] [TRT] Removing /m/_input_quantizer/DequantizeLinear\n"
        "[V] [TRT] Merging layers: /a/Conv + /a/Relu || /b/Conv + /b/Relu\n"
        "[V] [TRT] Fusing convolution weights from Conv_0 with scale BatchNormalization_1\n"
        "[V] [TRT] SomeFutureFusion: Fusing in a way nobody has seen\n"
        "[V] [TRT] Engine Layer Information:\n"
        "Layer(CaskConvolution): /m/conv/Conv, Tactic: 0x1, a (Int8[1,8,4,4]) -> b (Int8[1,8,4,4])\n"
        "Layer(garbled line\n"
        "[V] [TRT] done\n"
    )
    log = parse_log_text(text)
    assert log.fusions[1:] == [
        FusionEvent("fuse", "QuantizeDoubleInputNodes", ("/n/_input_quantizer/QuantizeLinear",), "/m/conv/Conv", 2),
        FusionEvent(
            "fuse",
            "QuantizeDoubleInputNodes",
            ("/m/_input_quantizer/DequantizeLinear", "/m/_weight_quantizer/DequantizeLinear"),
            "/m/conv/Conv",
            3,
        ),
        FusionEvent("remove", "QuantizeDoubleInputNodes", ("/m/_input_quantizer/DequantizeLinear",), line=4),
        FusionEvent("merge", None, ("/a/Conv + /a/Relu", "/b/Conv + /b/Relu"), line=5),
        FusionEvent("fuse", None, ("Conv_0", "BatchNormalization_1"), line=6),
    ]
    assert log.skipped_lines == 2  # the unknown "Fusing" line and the garbled layer line
    assert [x.name for x in log.layers] == ["/m/conv/Conv"]


def test_last_layers_dump_wins_over_engine_layer_information():
    text = (
        "[V] [TRT] Engine Layer Information:\n"
        "Layer(CaskConvolution): a + b, Tactic: 0x1, x (Float[1]) -> y (Float[1])\n"
        "[V] [TRT] Layers:\n"
        "Name: old, LayerType: kgen, Inputs: [], Outputs: [], Metadata: [ONNX Layer: old]\n"
        "[V] [TRT] Layers:\n"
        "Name: a + b, LayerType: CaskConvolution, Inputs: [], Outputs: [], Metadata: [ONNX Layer: a][ONNX Layer: b]\n"
    )
    log = parse_log_text(text, version="10.8.0")
    assert [(x.name, x.nodes, x.mapping) for x in log.layers] == [("a + b", ("a", "b"), "metadata")]
    assert log.warnings == []


def test_the_last_build_not_dropped_is_kept():
    text = (
        "[V] [TRT] Original: 9 layers\n"
        "[V] [TRT] Building graph using backend strategy 4\n"
        "[V] [TRT] ConvReluFusion: Fusing a with b\n"
        "[V] [TRT] After vertical fusions: 6 layers\n"
        "[V] [TRT] Building graph using backend strategy 3\n"
        "[V] [TRT] After vertical fusions: 2 layers\n"
        "[V] [TRT] Engine Layer Information:\n"
        "Layer(Myelin): {ForeignNode[a...c]}, Tactic: 0x0, x (Float[1]) -> y (Float[1])\n"
    )
    log = parse_log_text(text, version="10.9.0")
    assert (log.layer_counts, log.fusions) == ({"Original": 9, "After vertical fusions": 2}, [])
    dropped = text.replace("strategy 3\n", "strategy 3\n[V] [TRT] Skip backend strategy 3since it is slower\n")
    log = parse_log_text(dropped, version="10.9.0")
    assert log.layer_counts == {"Original": 9, "After vertical fusions": 6}
    assert log.fusions == [FusionEvent("fuse", "ConvReluFusion", ("a", "b"), line=3)]


def test_log_without_layers_says_how_to_get_them(tmp_path):
    path = tmp_path / "build.log"
    path.write_text("[V] [TRT] ConvReluFusion: Fusing conv with relu\n[I] done\n")
    with pytest.raises(ArtifactError) as error:
        parse_log(path)
    message = error.value.message
    assert message.startswith(f"{path}: no layer information")
    assert "--verbose --profilingVerbosity=detailed" in message
    assert "ProfilingVerbosity.DETAILED" in message and "VERBOSE" in message


def test_utf16_log_from_powershell(tmp_path):
    path = tmp_path / "build.log"
    text = "[V] [TRT] Engine Layer Information:\r\nLayer(Reformat): r, Tactic: 0x0, a (Float[1]) -> b (Half[1])\r\n"
    path.write_bytes(text.encode("utf-16"))
    assert [x.name for x in parse_log(path).layers] == ["r"]


def test_layer_info_from_a_log(tmp_path):
    path = tmp_path / "build.log"
    path.write_text("[TRT] [V] Layers:\nName: a, LayerType: kgen, Inputs: [], Outputs: [], Metadata: [ONNX Layer: a]\n")
    info = parse_layer_info(path)
    assert (info.names_only, [x.nodes for x in info.layers]) == (False, [("a",)])


# ----------------------------------------------------------------------------- names and metadata


@pytest.mark.parametrize(
    ("name", "nodes"),
    [
        ("Conv_3 + PWN(PWN(Sigmoid_4), Mul_5)", ("Conv_3", "Sigmoid_4", "Mul_5")),
        ("{ForeignNode[/a/Conv.../b/Relu]}", ("/a/Conv", "/b/Relu")),
        ("{ForeignNode[node_linear]}", ("node_linear",)),
        ("Reformatting CopyNode for Input Tensor 0 to a + b", ()),
        ("__myl_CorrMulAddRelu_myl0_3", ()),
        ("(Unnamed Layer* 6) [Shuffle] + reshape_before_MatMul-9", ("reshape_before_MatMul-9",)),
        ("/layer1/layer1.0/conv1/Conv", ("/layer1/layer1.0/conv1/Conv",)),
    ],
)
def test_split_layer_name(name, nodes):
    assert split_layer_name(name) == nodes


@pytest.mark.parametrize(
    ("metadata", "nodes"),
    [
        ("[ONNX Layer: a]\x1e[ONNX Layer: b]", ("a", "b")),
        ("[ONNX Layer: a]\x1f[ONNX Layer: b]", ("a", "b")),
        ("[ONNX Layer: a][ONNX Layer: b][ONNX Layer: a]", ("a", "b")),
        ("[ONNX Layer: x [0], y]\x1f[ONNX Layer: /m/a.b/Conv]", ("x [0], y", "/m/a.b/Conv")),
        ("[ONNX Layer: /c/Conv]__gemm_from_conv1x1", ("/c/Conv",)),
        ("[ONNX Layer: /f/Add | outer (Block) | inner (Layer)]", ("/f/Add",)),
        ("", ()),
    ],
)
def test_parse_metadata(metadata, nodes):
    assert parse_metadata(metadata) == nodes


# ----------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    ("relative", "total_ms"),
    [
        (f"{FUZZY}/alexnet/alexnet_fp16.profile.json", 0.524171),
        (f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.profile.json", 0.411273),
        (f"{TREX}/mobilenet.qat.onnx.engine.profile.json", 0.470389),
        (f"{TREX_OLD}/mobilenet_v2_residuals.qat.onnx.engine.profile.json", 0.407817),
    ],
)
def test_profile_totals(relative, total_ms):
    profile = parse_profile(art(relative))
    assert profile.total_ms == pytest.approx(total_ms, abs=1e-6)
    assert profile.total_percentage == pytest.approx(100.0, abs=0.01)


def test_alexnet_profile_records():
    profile = parse_profile(art(f"{FUZZY}/alexnet/alexnet_fp16.profile.json"))
    gemm = profile.layers[11]
    assert gemm.name == "/classifier/classifier_1/Gemm_myl9_2"
    assert (gemm.time_ms, gemm.average_ms, gemm.median_ms) == pytest.approx((3495.36, 0.239572, 0.239616), rel=1e-4)
    assert gemm.percentage == pytest.approx(45.7, abs=0.05)
    old = parse_profile(art(f"{TREX_OLD}/mobilenet.qat.onnx.engine.profile.json"))
    assert old.layers[0].median_ms is None  # 8.2 profiles have no medianMs


def test_dump_profile_table_matches_the_json_profile():
    table = parse_profile(art(f"{FUZZY}/docs_trtexec.md"))
    exported = parse_profile(art(f"{FUZZY}/alexnet/alexnet_fp16.profile.json"))
    assert table.iterations == exported.iterations == 14590
    assert [x.name for x in table.layers] == [x.name for x in exported.layers]
    first = table.layers[0]
    assert (first.time_ms, first.average_ms, first.median_ms, first.percentage) == (135.15, 0.0093, 0.0092, 1.8)
    assert table.total_ms == pytest.approx(exported.total_ms, abs=1e-3)


def test_profile_table_without_median(tmp_path):
    path = tmp_path / "run.log"
    path.write_text(
        "[01/01/2022-00:00:00] [I] === Profile (100 iterations ) ===\n"
        "[01/01/2022-00:00:00] [I]    Time(ms)     Avg.(ms)   Time(%)   Layer\n"
        "[01/01/2022-00:00:00] [I]        5.00       0.0500      62.5   Conv_0 + Relu_1\n"
        "[01/01/2022-00:00:00] [I]        3.00       0.0300      37.5   MaxPool 2\n"
        "[01/01/2022-00:00:00] [I]        8.00       0.0800     100.0   Total\n"
    )
    profile = parse_profile(path)
    assert profile.iterations == 100
    assert [(x.name, x.average_ms, x.median_ms, x.percentage) for x in profile.layers] == [
        ("Conv_0 + Relu_1", 0.05, None, 62.5),
        ("MaxPool 2", 0.03, None, 37.5),
    ]


# ----------------------------------------------------------------------------- matching


def test_profile_matches_its_layer_info():
    info = parse_layer_info(art(f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.graph.json"))
    profile = parse_profile(art(f"{FUZZY}/mobilenet_v2/mobilenet_v2_fp16.profile.json"))
    matched, unmatched = match_profile(info, profile, require_overlap=True)
    assert (len(matched), unmatched) == (57, [])
    observed, timing = matched[1]
    assert observed.nodes == ("/features/features.0/features.0.0/Conv", "/features/features.0/features.0.2/Clip")
    assert timing.name == observed.name
    assert timing.average_ms == pytest.approx(0.00787858)


def test_partly_matching_profile_reports_the_unmatched_names():
    """The 8.2 engine has 12 more layers (Reformat copies) than the 8.4 one it is profiled against."""
    info = parse_layer_info(art(f"{TREX}/mobilenet.qat.onnx.engine.graph.json"))
    profile = parse_profile(art(f"{TREX_OLD}/mobilenet.qat.onnx.engine.profile.json"))
    matched, unmatched = match_profile(info, profile, require_overlap=True)
    assert (len(matched), len(unmatched)) == (73, 12)
    assert (
        "Reformatting CopyNode for Output Tensor 0 to features.2.conv.2.weight + QuantizeLinear_90 + Conv_94"
        in unmatched
    )


def test_profile_of_another_engine():
    info = parse_layer_info(art(f"{FUZZY}/alexnet/alexnet_fp16.graph.json"))
    profile = parse_profile(art(f"{TREX_OLD}/mobilenet.qat.onnx.engine.profile.json"))
    matched, unmatched = match_profile(info, profile)
    assert (matched, len(unmatched)) == ([], 85)
    with pytest.raises(ArtifactError) as error:
        match_profile(info, profile, require_overlap=True)
    assert error.value.message == (
        f"profile {profile.source} and layer info {info.source} share no layer names: they come from different engines"
    )


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("parser", [parse_log, parse_layer_info, parse_profile])
def test_empty_file(tmp_path, parser):
    path = tmp_path / "empty.json"
    path.write_text(" \n")
    with pytest.raises(ArtifactError, match="file is empty") as error:
        parser(path)
    assert error.value.message == f"{path}: file is empty"


@pytest.mark.parametrize("parser", [parse_log, parse_layer_info, parse_profile])
def test_missing_file_and_directory(tmp_path, parser):
    with pytest.raises(ArtifactError) as error:
        parser(tmp_path / "nope.json")
    assert error.value.message == f"{tmp_path / 'nope.json'}: no such file"
    with pytest.raises(ArtifactError) as error:
        parser(tmp_path)
    assert error.value.message == f"{tmp_path}: is a directory, expected a file"


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (parse_layer_info, '{"Layers": [{"Name": "conv1 + relu1", "LayerType": "CaskConv'),
        (parse_profile, '[{"count": 10}, {"name": "conv1", "timeMs": 1.5, "averageMs"'),
    ],
)
def test_truncated_json(tmp_path, parser, text):
    path = tmp_path / "cut.json"
    path.write_text(text)
    with pytest.raises(ArtifactError) as error:
        parser(path)
    assert error.value.message == f"{path}: JSON ends early at line 1: the file is truncated"


def test_invalid_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"Layers": [1, 2,, 3]}')
    with pytest.raises(ArtifactError, match=r"not valid JSON: Expecting value at line 1 column 18"):
        parse_layer_info(path)


def test_binary_file(tmp_path):
    path = tmp_path / "model.plan"
    path.write_bytes(b"ftrt\x00\x00\x01\x02" * 64)
    with pytest.raises(ArtifactError, match=r"is a binary file \(a serialized engine\?\)"):
        parse_log(path)


def test_timing_json_given_as_profile(tmp_path):
    path = tmp_path / "times.json"
    path.write_text('[{"startEnqMs": 4.2, "endEnqMs": 4.3, "computeMs": 0.48, "latencyMs": 0.48}]')
    with pytest.raises(ArtifactError) as error:
        parse_profile(path)
    assert error.value.message == (
        f"{path}: is a trtexec --exportTimes timing file (one record per inference), not a "
        "per-layer profile: export one with trtexec --exportProfile=profile.json"
    )


def test_wrong_shapes(tmp_path):
    profile_as_info = tmp_path / "profile.json"
    profile_as_info.write_text('[{"count": 3}, {"name": "a", "timeMs": 1, "averageMs": 0.3, "percentage": 100}]')
    with pytest.raises(ArtifactError, match="found a trtexec --exportProfile per-layer profile"):
        parse_layer_info(profile_as_info)
    info_as_profile = tmp_path / "layers.json"
    info_as_profile.write_text('{"Layers": ["a"], "Bindings": []}')
    with pytest.raises(ArtifactError, match="found trtexec --exportLayerInfo layer information"):
        parse_profile(info_as_profile)
    no_average = tmp_path / "p.json"
    no_average.write_text(
        '[{"count": 3}, {"name": "a", "timeMs": 1, "percentage": 100}, {"name": "b", "averageMs": 1}]'
    )
    with pytest.raises(ArtifactError, match=r'profile record 1 has no number "averageMs" \(found None\)'):
        parse_profile(no_average)
    bad_layer = tmp_path / "l.json"
    bad_layer.write_text('{"Layers": ["a", 3]}')
    with pytest.raises(ArtifactError, match=r'layer 1 has no "Name": found a JSON int'):
        parse_layer_info(bad_layer)


@pytest.mark.parametrize(
    ("parser", "text"), [(parse_layer_info, '{"Layers": [], "Bindings": []}'), (parse_profile, '[{"count": 0}]')]
)
def test_no_layers(tmp_path, parser, text):
    path = tmp_path / "none.json"
    path.write_text(text)
    with pytest.raises(ArtifactError) as error:
        parser(path)
    assert error.value.message == f"{path}: lists no layers"


def test_log_text_and_paths_are_told_apart(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        parse_log("build.log")  # a str without a newline is a path
    text = "[V] [TRT] Engine Layer Information:\nLayer(NoOp): n, Tactic: 0x0, \n"
    assert parse_log(text).source == "<log text>"
