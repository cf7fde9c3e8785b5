"""trtexec's spellings on analyze, verify and rewrite: --fp16/--bf16/--int8/--best,
--shapes and --minShapes/--optShapes/--maxShapes; the warnings for ignored options; and
``fusionlab rules CODE``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx
import pytest

from fusionlab.errors import InputError
from fusionlab.precision import choose_precision
from fusionlab.shapes import parse_spec, shape_request

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
BERT = MODELS / "bert_tiny.onnx"
RESNET = MODELS / "resnet18.onnx"
MOBILENET_ART = ROOT / "tests" / "data" / "trt-artifacts" / "fuzzylabs_trtexec_trt10.4" / "mobilenet_v2"


def _json(cli, *args):
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out), err


def _summary(cli, model, *args):
    data, _ = _json(cli, "analyze", model, *args)
    return data


def _error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("fusionlab: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def dynamic_bert(tmp_path_factory) -> Path:
    """models/bert_tiny.onnx with its two inputs declared [batch, seq] (the export is static)."""
    model = onnx.load(str(BERT))
    for v in model.graph.input:
        dims = v.type.tensor_type.shape.dim
        dims[0].dim_param, dims[1].dim_param = "batch", "seq"
    path = tmp_path_factory.mktemp("dyn") / "bert_dynamic.onnx"
    onnx.save(model, str(path))
    return path


def _dynamic_batch(source: Path, folder: Path) -> Path:
    model = onnx.load(str(source))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    path = folder / f"{source.stem}_dynamic.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def dynamic_resnet(tmp_path_factory) -> Path:
    """models/resnet18.onnx with a symbolic batch dimension."""
    return _dynamic_batch(RESNET, tmp_path_factory.mktemp("dynr"))


@pytest.fixture(scope="module")
def dynamic_mobilenet(tmp_path_factory) -> Path:
    """models/mobilenet_v2.onnx with a symbolic batch dimension."""
    return _dynamic_batch(MODELS / "mobilenet_v2.onnx", tmp_path_factory.mktemp("dynm"))


@pytest.fixture
def rows_model(save_model):
    """x [N, 64] -> MatMul W [64, 64] -> Relu: the GEMM's rows M = N, symbolic."""
    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", ["N", 64]), g.weight([64, 64])], name="mm")
    return save_model(g.model([g.node("Relu", [y], name="relu")]), "rows.onnx")


# ---------------------------------------------------------------- precision flags

def test_int8_flag_predicts_what_precision_int8_predicts_and_differs_from_fp32(cli):
    int8 = _summary(cli, RESNET, "--int8")
    assert int8 == _summary(cli, RESNET, "--precision", "int8")
    fp32 = _summary(cli, RESNET)
    assert int8["precision"] == "int8" and fp32["precision"] == "fp32"
    assert len(int8["layers"]) < len(fp32["layers"])  # conv + relu + pool in INT8 only (TRT111)


def test_fp16_flag_makes_the_gelu_fusions_of_bert(cli):
    fp32 = _summary(cli, BERT)
    fp16 = _summary(cli, BERT, "--fp16")
    checks = lambda d: {(x["code"], x["check"]) for x in d["diagnostics"] if x["status"] == "missed"}  # noqa: E731
    assert ("TRT108", "precision-fp16-or-int8") in checks(fp32)
    assert ("TRT108", "precision-fp16-or-int8") not in checks(fp16)
    assert len(fp16["layers"]) < len(fp32["layers"])
    assert fp16 == _summary(cli, BERT, "--precision", "fp16")


@pytest.mark.parametrize("flags, precision", [
    (("--fp16", "--int8"), "int8"), (("--best",), "int8"), (("--bf16",), "bf16"),
    (("--fp16", "--bf16"), "fp16"), (("--bf16", "--int8"), "int8"),
])
def test_flags_combine_onto_the_lowest_precision_enabled(cli, flags, precision):
    data = _summary(cli, BERT, *flags)
    assert data["precision"] == precision
    assert data["layers"] == _summary(cli, BERT, "--precision", precision)["layers"]


def test_best_enables_bf16_only_from_sm_8_0_as_trtexec_does():
    assert choose_precision(best=True, sm=8.6).flags == ("FP16", "BF16", "INT8")
    assert choose_precision(best=True, sm=7.5).flags == ("FP16", "INT8")
    assert choose_precision(fp16=True, int8=True).flags == ("FP16", "INT8")
    assert choose_precision("int8").flags == ("INT8", "FP16")  # as before: INT8 also allows FP16


@pytest.mark.parametrize("command", ["analyze", "verify", "rewrite"])
def test_precision_and_a_flag_together_is_a_usage_error(cli, command, tmp_path):
    extra = ["--dry-run"] if command == "rewrite" else ["--layer-info", MOBILENET_ART / "mobilenet_v2_fp16.graph.json"] \
        if command == "verify" else []
    code, out, err = cli(command, MODELS / "mobilenet_v2.onnx", "--precision", "fp16", "--int8", *extra)
    assert code == 2 and out == ""
    assert "--precision fp16" in _error_line(err) and "--int8" in err


def test_the_classic_build_worker_sets_every_flag_given():
    from fusionlab.trt import _build_worker as worker

    class Flags:
        FP16, BF16, INT8 = "FP16", "BF16", "INT8"

    class Trt:
        BuilderFlag = Flags

    class Config:
        def __init__(self):
            self.flags = []

        def set_flag(self, flag):
            self.flags.append(flag)

    config = Config()
    worker._set_precision(Trt, config, "tensorrt", "int8", None, ["FP16", "INT8"])
    assert config.flags == ["FP16", "INT8"]
    config = Config()
    worker._set_precision(Trt, config, "tensorrt", "fp16", None)
    assert config.flags == ["FP16"]


def test_verify_with_files_takes_the_flags(cli):
    args = ("verify", MODELS / "mobilenet_v2.onnx", "--target", "tensorrt",
            "--layer-info", MOBILENET_ART / "mobilenet_v2_fp16.graph.json")
    flags, _ = _json(cli, *args, "--fp16")
    spelled, _ = _json(cli, *args, "--precision", "fp16")
    assert flags["precision"] == "fp16" and flags["score"] == spelled["score"]


# ---------------------------------------------------------------- shapes

def test_a_dynamic_bert_predicts_more_layers_until_given_its_shapes(cli, dynamic_bert):
    static = _summary(cli, BERT)
    dynamic = _summary(cli, dynamic_bert)
    assert len(dynamic["layers"]) > len(static["layers"])  # the issue: 54 vs 51
    assert any("symbolic shapes" in n for n in dynamic["notes"])
    for spelling in (["--shapes", "input_ids:1x64,attention_mask:1x64"],
                     ["--shape", "input_ids:1x64", "--shape", "attention_mask:1x64"],
                     ["--optShapes=input_ids:1x64,attention_mask:1x64"],
                     ["--shapes", "input_ids:1x64"]):  # attention_mask shares [batch, seq]
        given = _summary(cli, dynamic_bert, *spelling)
        assert given["layers"] == static["layers"], spelling
        assert not any("symbolic shapes" in n for n in given["notes"])


def test_analyze_predicts_at_the_opt_shapes(cli, rows_model):
    def lints(*args):
        data = _summary(cli, rows_model, *args)
        return sorted(x["check"] for x in data["diagnostics"] if x["code"] == "TRT506")

    assert lints("--fp16") == []                                         # N symbolic: not reported
    assert lints("--fp16", "--shapes", "x:40x64") == ["batch-multiple-of-32"]
    assert lints("--fp16", "--shapes", "x:64x64") == []
    assert lints("--shapes", "x:40x64") == []                            # FP32: no Tensor Core rule
    assert lints("--fp16", "--minShapes", "x:1x64", "--optShapes", "x:40x64", "--maxShapes", "x:128x64") \
        == ["batch-multiple-of-32"]
    assert lints("--shapes", "x:70000x64") == ["batch-at-most-65536"]


def test_config_shapes_take_the_same_syntax(cli, dynamic_bert, tmp_path):
    import shutil

    model = tmp_path / "bert.onnx"
    shutil.copy(dynamic_bert, model)
    (tmp_path / "fusionlab.toml").write_text('shapes = "input_ids:1x64,attention_mask:1x64"\n')
    assert _summary(cli, model)["layers"] == _summary(cli, BERT)["layers"]
    # the command line wins over the file
    assert any("input_ids[2, 64]" in n for n in _summary(cli, model, "--shapes", "input_ids:2x64")["notes"])
    (tmp_path / "fusionlab.toml").write_text('shapes = "input_ids:0x64"\n')
    code, _, err = cli("analyze", model)
    assert code == 2 and "fusionlab.toml" in _error_line(err) and "not positive" in err


def test_quoted_names_hold_colons(cli, save_model):
    from fusionlab.testing import GraphBuilder

    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x:0", ["N", 64]), g.weight([64, 64])], name="mm")
    path = save_model(g.model([g.node("Relu", [y], name="relu")]), "colon.onnx")
    for spec in ("'x:0':40x64", "\\'x:0\\':40x64", "x:0:40x64"):
        data = _summary(cli, path, "--fp16", "--shapes", spec)
        assert any("x:0[40, 64]" in n for n in data["notes"]), spec
    assert parse_spec("'a:b':1x2, c:3,'d,e':scalar") == {"a:b": (1, 2), "c": (3,), "d,e": ()}


@pytest.mark.parametrize("args, words", [
    (["--shapes", "nope:1x64"], ["'nope'", "not an input", "input_ids"]),
    (["--shapes", "input_ids:1x64x3"], ["rank 3", "rank 2"]),
    (["--shapes", "input_ids:0x64"], ["not positive"]),
    (["--shapes", "input_ids:-1x64"], ["not positive"]),
    (["--shapes", "input_ids:1x99999999999"], ["larger than"]),
    (["--shapes", "input_ids:100000x100000"], ["absurd"]),
    (["--shapes", "input_ids:1xabc"], ["integers"]),
    (["--shapes", "input_ids"], ["NAME:DIM"]),
    (["--shapes", "'input_ids:1x64"], ["quote"]),
    (["--shapes", "input_ids:1x64,input_ids:2x64"], ["twice"]),
    (["--minShapes", "input_ids:4x64", "--optShapes", "input_ids:2x64", "--maxShapes", "input_ids:8x64"],
     ["--minShapes input_ids:4x64", "larger than --optShapes", "axis 0"]),
    (["--minShapes", "input_ids:1x64", "--optShapes", "input_ids:2x64", "--maxShapes", "input_ids:1x64"],
     ["--optShapes input_ids:2x64", "larger than --maxShapes"]),
    (["--minShapes", "input_ids:1x64", "--maxShapes", "input_ids:2x64"], ["need --optShapes"]),
    (["--minShapes", "input_ids:1x64", "--optShapes", "input_ids:2x64"], ["--maxShapes", "all three"]),
    (["--minShapes", "input_ids:1x64", "--optShapes", "input_ids:2x64,attention_mask:2x64",
      "--maxShapes", "input_ids:4x64,attention_mask:4x64"], ["attention_mask", "--minShapes"]),
    (["--optShapes", "input_ids:2x64", "--shapes", "input_ids:3x64"], ["outside the profile"]),
])
def test_bad_shapes_are_one_line_exit_2(cli, dynamic_bert, args, words):
    code, out, err = cli("analyze", dynamic_bert, *args)
    assert code == 2 and out == ""
    line = _error_line(err)
    for w in words:
        assert w in line, (w, line)


def test_a_dimension_the_model_fixes_cannot_change(cli):
    code, _, err = cli("analyze", RESNET, "--shapes", "input:2x3x224x224")
    assert code == 2 and "fixes axis 0 to 1, not 2" in _error_line(err)


@pytest.mark.parametrize("command", ["verify", "rewrite"])
def test_verify_and_rewrite_check_shapes_before_any_work(cli, dynamic_bert, tmp_path, command):
    extra = ["--dry-run"] if command == "rewrite" else []
    code, out, err = cli(command, dynamic_bert, "--optShapes", "input_ids:2x64", "--maxShapes", "input_ids:1x64",
                         "--minShapes", "input_ids:1x64", *extra)
    assert code == 2 and "larger than --maxShapes" in _error_line(err)
    code, out, err = cli(command, dynamic_bert, "--shapes", "token_ids:1x64", *extra)
    assert code == 2 and "'token_ids'" in _error_line(err)


def test_rewrite_checks_equivalence_at_the_opt_shapes(cli, dynamic_mobilenet):
    data, _ = _json(cli, "rewrite", dynamic_mobilenet, "--dry-run", "--minShapes", "input:1x3x224x224",
                    "--optShapes", "input:2x3x224x224", "--maxShapes", "input:4x3x224x224")
    assert data["equivalence"]["input_shapes"] == {"input": [2, 3, 224, 224]}


def test_shape_request_keeps_the_profile():
    request = shape_request(min_shapes="x:1x3,y:5", opt_shapes="x:2x3,y:5", max_shapes="x:4x3,y:5")
    resolved = request.resolve({"x": ("N", 3), "y": (5,)})
    assert resolved.ranges() == {"x": [[1, 3], [2, 3], [4, 3]]}
    assert resolved.fixed() == {"y": [5]}
    assert resolved.opt_shapes() == {"x": [2, 3], "y": [5]}
    with pytest.raises(InputError, match="twice"):
        parse_spec(["x:1", "x:2"])


@pytest.mark.needs_rtx
def test_verify_builds_an_optimization_profile(cli, dynamic_resnet, tmp_path):
    log = tmp_path / "build.log"
    data, _ = _json(cli, "verify", dynamic_resnet, "--minShapes", "input:1x3x224x224",
                    "--optShapes", "input:2x3x224x224", "--maxShapes", "input:4x3x224x224", "--save-log", log)
    assert data["score"]["f1"] is not None
    dims = set(re.findall(r"Name: input, Dimensions: (\[[^\]]*\])", log.read_text()))
    assert dims == {"[-1,3,224,224]"}  # a range: the kernels take a dynamic batch
    data, _ = _json(cli, "verify", dynamic_resnet, "--shapes", "input:3x3x224x224", "--save-log", log)
    assert set(re.findall(r"Name: input, Dimensions: (\[[^\]]*\])", log.read_text())) == {"[3,3,224,224]"}


# ---------------------------------------------------------------- ignored options

@pytest.mark.parametrize("model", [RESNET, BERT, MODELS / "resnet18_qdq_floatbias.onnx"])
def test_rtx_ignores_precision_with_a_warning(cli, model):
    plain = _summary(cli, model, "--target", "tensorrt-rtx")
    code, out, err = cli("analyze", model, "--target", "tensorrt-rtx", "--fp16", "--int8", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["layers"] == plain["layers"] and data["diagnostics"] == plain["diagnostics"]  # really ignored
    warned = [x for x in err.splitlines() if x.startswith("fusionlab: warning: ")]
    assert len(warned) == 2 and len(data["warnings"]) == 2
    for option, line in zip(("--fp16", "--int8"), warned, strict=True):
        assert line.startswith(f"fusionlab: warning: {option} is ignored for --target tensorrt-rtx")
    assert plain["warnings"] == []


def test_rtx_does_not_ignore_sm(cli):
    """TRT501 asks which Tensor Cores the GPU has, on TensorRT-RTX too: no warning."""
    code, out, err = cli("analyze", RESNET, "--target", "tensorrt-rtx", "--sm", "7.5", "--format", "json")
    data = json.loads(out)
    assert code == 0 and "warning" not in err and data["warnings"] == []
    lint = lambda d: [x for x in d["diagnostics"] if x["code"] == "TRT501"]  # noqa: E731
    assert lint(data) == [] and lint(_summary(cli, RESNET, "--target", "tensorrt-rtx"))


def test_a_classic_target_ignores_nothing(cli):
    code, out, err = cli("analyze", RESNET, "--int8", "--sm", "7.5", "--format", "json")
    assert code == 0 and "warning" not in err and json.loads(out)["warnings"] == []


def test_config_precision_on_rtx_warns_naming_the_file(cli, tmp_path):
    import shutil

    model = tmp_path / "r.onnx"
    shutil.copy(MODELS / "mobilenet_v2.onnx", model)
    (tmp_path / "fusionlab.toml").write_text('precision = "fp16"\ntarget = "tensorrt-rtx"\n')
    data, err = _json(cli, "analyze", model)
    assert data["warnings"] and "fusionlab.toml" in data["warnings"][0] and "strongly typed" in err


def test_verify_with_files_warns_about_build_options(cli):
    data, err = _json(cli, "verify", MODELS / "mobilenet_v2.onnx", "--target", "tensorrt",
                      "--layer-info", MOBILENET_ART / "mobilenet_v2_fp16.graph.json", "--timeout", "5", "--jobs", "2")
    assert "fusionlab: warning: --timeout 5.0 is ignored: nothing is built" in err
    assert "fusionlab: warning: --jobs 2 applies to --corpus only" in err
    assert any(w.startswith("--timeout") for w in data["warnings"])


def test_rewrite_without_verify_warns_about_timeout(cli):
    data, err = _json(cli, "rewrite", MODELS / "mobilenet_v2.onnx", "--dry-run", "--timeout", "5",
                      "--target", "tensorrt-rtx", "--precision", "int8")
    assert "fusionlab: warning: --timeout 5.0 is ignored without --verify" in err
    assert "fusionlab: warning: --precision int8 is ignored for --target tensorrt-rtx" in err
    assert sum(w.startswith(("--timeout", "--precision")) for w in data["warnings"]) == 2


@pytest.mark.needs_rtx
def test_live_rtx_verify_warns_about_precision_and_timing_cache(cli, tmp_path):
    cache = tmp_path / "timing.cache"
    data, err = _json(cli, "verify", MODELS / "resnet18_qdq_floatbias.onnx", "--target", "tensorrt-rtx",
                      "--best", "--timing-cache", cache)
    assert "fusionlab: warning: --best is ignored for --target tensorrt-rtx" in err
    assert "fusionlab: warning: --timing-cache" in err
    assert [w.split(" ")[0] for w in data["warnings"][:2]] == ["--best", "--timing-cache"]
    assert not cache.exists()


# ---------------------------------------------------------------- rules CODE

def test_rules_code_prints_the_whole_doc_as_plain_text(cli):
    code, out, err = cli("rules", "TRT103")
    assert code == 0, err
    assert out.startswith("TRT103 conv-gelu\n")
    assert "`" not in out and "[bold" not in out and "|" not in out.split("\n", 1)[0]
    for sentence in ("What it fuses:", "Why it matters:", "Conditions:", "Source: TensorRT Developer Guide",
                     "inside-graph (tensorrt-rtx only)"):
        assert sentence in out
    assert cli("rules", "trt103")[1] == out and cli("rules", "conv-gelu")[1] == out


def test_rules_code_with_target_shows_what_applies_there(cli):
    rtx = cli("rules", "TRT103", "--target", "tensorrt-rtx")[1]
    classic = cli("rules", "TRT103", "--target", "tensorrt")[1]
    assert "checks applied: single-consumer, inside-graph" in rtx
    assert "checks not applied: precision-fp16-or-int8, sm-7.5-or-newer" in rtx
    assert "checks applied: precision-fp16-or-int8, sm-7.5-or-newer, single-consumer" in classic
    assert "TensorRT-RTX differs" in rtx.split("On tensorrt-rtx:")[1]
    info = cli("rules", "TRT111", "--target", "tensorrt-rtx")[1]
    assert "pool-separate-on-rtx (tensorrt-rtx only): a failure is a finding of severity info" in info


def test_rules_unknown_code_is_one_line_exit_2(cli):
    code, out, err = cli("rules", "TRT999")
    assert code == 2 and out == "" and "'TRT999'" in _error_line(err)


def test_rules_target_lists_only_that_targets_rules(cli):
    rows = json.loads(cli("rules", "--target", "tensorrt-rtx", "--format", "json")[1])
    every = json.loads(cli("rules", "--format", "json")[1])
    assert rows and len(rows) < len(every) and all("tensorrt-rtx" in r["targets"] for r in rows)
