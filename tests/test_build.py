"""Tests of fusionlab.trt.build: the subprocess TensorRT builder and its failure modes.

The live tests build tiny ONNX graphs with TensorRT-RTX on the CPU (each build takes
0.3-0.5 s, worker start-up included; a parser rejection 0.15 s) and are skipped when
``tensorrt_rtx`` is not installed. The timeout, crash and bad-path tests do not depend
on TensorRT's bugs: the worker's ``_FUSIONLAB_BUILD_WORKER_FAULT`` hook simulates them.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fusionlab.errors import BuildError, BuilderUnavailable, InputError
from fusionlab.trt import build as build_module
from fusionlab.trt.build import BuildResult, available_builders, build, parse_shapes

HAVE_RTX = importlib.util.find_spec("tensorrt_rtx") is not None

FAULT_ENV = "_FUSIONLAB_BUILD_WORKER_FAULT"
N, C, H, W = 1, 8, 16, 16


# ----------------------------------------------------------------------------- graphs


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _conv(name: str, x: str, y: str, inits: list, cin: int = C, cout: int = C, seed: int = 0):
    inits += [
        _const(f"{name}.W", _rand(cout, cin, 3, 3, seed=seed) * 0.1),
        _const(f"{name}.B", _rand(cout, seed=seed + 1)),
    ]
    return helper.make_node(
        "Conv", [x, f"{name}.W", f"{name}.B"], [y], name=name, pads=[1, 1, 1, 1]
    )


def _model(nodes, inits, path, *, shape=(N, C, H, W), out_shape=None, opset=17) -> str:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape or shape))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def conv_relu(path, shape=(N, C, H, W)) -> str:
    """x -> conv0 -> relu0 -> conv1 -> y (the pattern sits inside the graph)."""
    inits: list = []
    nodes = [
        _conv("conv0", "x", "c0", inits),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        _conv("conv1", "r0", "y", inits, seed=2),
    ]
    return _model(nodes, inits, path, shape=shape)


def conv_bn_relu(path) -> str:
    """x -> conv0 -> bn0 -> relu0 -> conv1 -> y."""
    inits: list = []
    inits += [
        _const("bn0.scale", np.abs(_rand(C, seed=3)) + 0.5),
        _const("bn0.bias", _rand(C, seed=4)),
        _const("bn0.mean", _rand(C, seed=5)),
        _const("bn0.var", np.abs(_rand(C, seed=6)) + 0.5),
    ]
    nodes = [
        _conv("conv0", "x", "c0", inits),
        helper.make_node(
            "BatchNormalization",
            ["c0", "bn0.scale", "bn0.bias", "bn0.mean", "bn0.var"],
            ["b0"],
            name="bn0",
        ),
        helper.make_node("Relu", ["b0"], ["r0"], name="relu0"),
        _conv("conv1", "r0", "y", inits, seed=7),
    ]
    return _model(nodes, inits, path)


def conv_add_relu(path) -> str:
    """A residual block: x -> conv0 -> relu0 -> conv1 -> add0(+relu0) -> relu1 -> conv2."""
    inits: list = []
    nodes = [
        _conv("conv0", "x", "c0", inits),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        _conv("conv1", "r0", "c1", inits, seed=2),
        helper.make_node("Add", ["c1", "r0"], ["a0"], name="add0"),
        helper.make_node("Relu", ["a0"], ["r1"], name="relu1"),
        _conv("conv2", "r1", "y", inits, seed=4),
    ]
    return _model(nodes, inits, path)


def gelu_erf(path) -> str:
    """The erf GELU chain 0.5 * x * (1 + erf(x / sqrt 2)) between two convs."""
    inits: list = [
        _const("sqrt2", np.array(np.sqrt(2.0), np.float32)),
        _const("one", np.array(1.0, np.float32)),
        _const("half", np.array(0.5, np.float32)),
    ]
    nodes = [
        _conv("conv0", "x", "g_in", inits),
        helper.make_node("Div", ["g_in", "sqrt2"], ["d"], name="gelu.div"),
        helper.make_node("Erf", ["d"], ["e"], name="gelu.erf"),
        helper.make_node("Add", ["e", "one"], ["a"], name="gelu.add"),
        helper.make_node("Mul", ["g_in", "a"], ["m"], name="gelu.mul"),
        helper.make_node("Mul", ["m", "half"], ["g_out"], name="gelu.mul_half"),
        _conv("conv1", "g_out", "y", inits, seed=2),
    ]
    return _model(nodes, inits, path)


def qdq_conv(path, *, zero_point: int = 0, zp_type=np.int8) -> str:
    """x -> Q/DQ -> conv0 (INT8 weights through DQ) -> relu0 -> Q/DQ -> y.

    ``zero_point`` and ``zp_type`` set the activations' zero point: a non-zero value
    or UINT8 exercises the parser's rejections.
    """
    w = np.clip(np.round(_rand(C, C, 3, 3) * 40), -127, 127).astype(np.int8)
    inits = [
        _const("x.scale", np.array(0.05, np.float32)),
        _const("x.zp", np.array(zero_point, zp_type)),
        _const("w.q", w),
        _const("w.scale", np.full(C, 0.01, np.float32)),
        _const("w.zp", np.zeros(C, np.int8)),
        _const("conv0.B", _rand(C, seed=1)),
        _const("y.scale", np.array(0.05, np.float32)),
        _const("y.zp", np.array(zero_point, zp_type)),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x.scale", "x.zp"], ["xq"], name="quant_x"),
        helper.make_node("DequantizeLinear", ["xq", "x.scale", "x.zp"], ["xdq"], name="dequant_x"),
        helper.make_node(
            "DequantizeLinear", ["w.q", "w.scale", "w.zp"], ["wdq"], name="dequant_w", axis=0
        ),
        helper.make_node(
            "Conv", ["xdq", "wdq", "conv0.B"], ["c0"], name="conv0", pads=[1, 1, 1, 1]
        ),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        helper.make_node("QuantizeLinear", ["r0", "y.scale", "y.zp"], ["yq"], name="quant_y"),
        helper.make_node("DequantizeLinear", ["yq", "y.scale", "y.zp"], ["y"], name="dequant_y"),
    ]
    return _model(nodes, inits, path)


def kernels(dump: str) -> list[str]:
    """The kernel lines of a ``Layers:`` dump."""
    return [line for line in dump.splitlines() if line.startswith("Name: ")]


def onnx_layers(line: str) -> set[str]:
    """The ONNX node names in a kernel line's Metadata."""
    meta = line.partition("Metadata: ")[2]
    return {part.partition("]")[0] for part in meta.split("[ONNX Layer: ")[1:]}


def kernel_with(dump: str, *nodes: str) -> str | None:
    """The kernel line crediting all ``nodes``, if any."""
    return next((k for k in kernels(dump) if set(nodes) <= onnx_layers(k)), None)


# ----------------------------------------------------------------------------- no TensorRT needed


def test_available_builders_uses_find_spec():
    names = available_builders()
    assert set(names) <= {"tensorrt-rtx", "tensorrt"}
    assert ("tensorrt-rtx" in names) == HAVE_RTX


def test_missing_model_is_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build(tmp_path / "missing.onnx")


def test_unknown_builder_is_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown builder"):
        build(conv_relu(tmp_path / "m.onnx"), builder="tensorrt-llm")


def test_missing_module_is_builder_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "_module_found", lambda module: False)
    with pytest.raises(BuilderUnavailable, match="pip install tensorrt-rtx") as info:
        build(conv_relu(tmp_path / "m.onnx"))
    assert info.value.exit_code == 5
    assert (
        str(info.value)
        == "TensorRT-RTX is not installed: pip install tensorrt-rtx (or fusionlab[rtx])"
    )


def test_module_failing_to_import_is_builder_unavailable(tmp_path, monkeypatch):
    """find_spec may find a module that cannot load; the worker reports it."""
    monkeypatch.setattr(build_module, "_module_found", lambda module: True)
    monkeypatch.setitem(build_module.BUILDERS, "tensorrt", ("fusionlab_no_such_module", "TensorRT"))
    with pytest.raises(
        BuilderUnavailable,
        match=r"^TensorRT cannot be imported \(ModuleNotFoundError: .*\): pip install tensorrt$",
    ):
        build(conv_relu(tmp_path / "m.onnx"), builder="tensorrt", timeout=60)


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, {}),
        ("x:1x3x224x224", {"x": [1, 3, 224, 224]}),
        (["a:1x3", "b:2"], {"a": [1, 3], "b": [2]}),
        ("a:1x3,b:2", {"a": [1, 3], "b": [2]}),
        ("ns:x:4x5", {"ns:x": [4, 5]}),
        ({"x": (1, 2)}, {"x": [1, 2]}),
        ({"x": np.array([1, 2])}, {"x": [1, 2]}),
    ],
)
def test_parse_shapes(given, expected):
    assert parse_shapes(given) == expected


@pytest.mark.parametrize(
    "bad", ["x", "x:", "x:1xa", "x:0x3", "x:1,x:2", ":1x2", {"x": "1x2"}, {"x": [1.5]}, {"x": []}]
)
def test_parse_shapes_rejects(bad):
    with pytest.raises(InputError):
        parse_shapes(bad)


@pytest.fixture
def fake_builder(monkeypatch):
    """Pretend tensorrt_rtx is installed so the fault tests run without it."""
    monkeypatch.setattr(build_module, "_module_found", lambda module: True)


def test_timeout_is_build_error(tmp_path, fake_builder):
    with pytest.raises(BuildError, match=r"timed out after 0\.01 s") as info:
        build(conv_relu(tmp_path / "m.onnx"), timeout=0.01)
    assert info.value.exit_code == 3
    assert isinstance(info.value.log_tail, str)


@pytest.mark.needs_rtx
def test_hanging_worker_is_killed(tmp_path, monkeypatch):
    """The timeout kills a worker stuck after parsing; the log so far is kept."""
    monkeypatch.setenv(FAULT_ENV, "hang")
    with pytest.raises(
        BuildError, match=r"TensorRT-RTX build of m\.onnx timed out after 3 s"
    ) as info:
        build(conv_relu(tmp_path / "m.onnx"), timeout=3)
    assert "Parsing node: relu0 [Relu]" in info.value.log
    assert info.value.log_tail


@pytest.mark.needs_rtx
def test_crash_is_build_error(tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "sigsegv")
    with pytest.raises(BuildError) as info:
        build(conv_relu(tmp_path / "m.onnx"), timeout=60)
    assert str(info.value) == "TensorRT-RTX builder crashed (signal SIGSEGV) while building m.onnx"
    assert info.value.exit_code == 3
    # The log streamed before the crash survives it.
    assert "Parsing node: conv0 [Conv]" in info.value.log
    assert info.value.log_tail


@pytest.mark.needs_rtx
def test_worker_exit_without_result_is_build_error(tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "exit")
    with pytest.raises(BuildError, match="exited with code 7 and no result"):
        build(conv_relu(tmp_path / "m.onnx"), timeout=60)


# ----------------------------------------------------------------------------- live builds


@pytest.mark.needs_rtx
def test_conv_relu_fuses(tmp_path):
    phases: list[tuple[str, int, int]] = []
    engine = tmp_path / "m.engine"
    result = build(
        conv_relu(tmp_path / "m.onnx"),
        save_engine=engine,
        progress=lambda phase, step, steps: phases.append((phase, step, steps)),
    )
    assert isinstance(result, BuildResult)
    assert result.builder == "tensorrt-rtx"
    assert result.version.split(".")[0].isdigit()
    assert result.parser_errors == []
    assert result.layers_dump is not None and result.layers_dump.startswith("Layers:\nName: ")
    line = kernel_with(result.layers_dump, "conv0", "relu0")
    assert line is not None, result.layers_dump
    assert "[ONNX Layer: conv0]" in line and "[ONNX Layer: relu0]" in line
    # The log keeps every severity, one message per line, the dump intact.
    assert "[V] [TRT] Layers:\nName: " in result.log
    lines = result.log.splitlines()
    assert lines[0] == f"[I] fusionlab: TensorRT-RTX version: {result.version}"
    assert "[I] [TRT] Input filename:   " + str(tmp_path / "m.onnx") in lines
    assert "[V] [TRT] Parsing node: conv0 [Conv]" in lines
    assert result.layers_dump in result.log
    # The engine was saved atomically, with no temp file left behind.
    assert engine.stat().st_size == result.engine_bytes > 0
    assert {p.name for p in tmp_path.iterdir()} == {"m.engine", "m.onnx"}
    assert phases, "no progress reported"
    assert all(0 <= step <= steps for _, step, steps in phases)
    assert 0 < result.seconds < 60


@pytest.mark.needs_rtx
def test_conv_bn_relu_one_kernel(tmp_path):
    result = build(conv_bn_relu(tmp_path / "m.onnx"))
    line = kernel_with(result.layers_dump, "conv0", "bn0", "relu0")
    assert line is not None, result.layers_dump


@pytest.mark.needs_rtx
def test_residual_add_relu_fuses_into_a_conv(tmp_path):
    result = build(conv_add_relu(tmp_path / "m.onnx"))
    line = kernel_with(result.layers_dump, "add0", "relu1")
    assert line is not None, result.layers_dump
    assert onnx_layers(line) & {"conv0", "conv1"}, line


@pytest.mark.needs_rtx
def test_gelu_erf_chain_one_kernel(tmp_path):
    result = build(gelu_erf(tmp_path / "m.onnx"))
    gelu = {"gelu.div", "gelu.erf", "gelu.add", "gelu.mul", "gelu.mul_half"}
    line = kernel_with(result.layers_dump, *gelu)
    assert line is not None, result.layers_dump


@pytest.mark.needs_rtx
def test_qdq_conv_builds(tmp_path):
    result = build(qdq_conv(tmp_path / "m.onnx"))
    assert kernel_with(result.layers_dump, "conv0") is not None, result.layers_dump
    assert "Int8" in result.layers_dump


@pytest.mark.needs_rtx
def test_nonzero_zero_point_is_parser_rejection(tmp_path):
    with pytest.raises(BuildError) as info:
        build(qdq_conv(tmp_path / "zp.onnx", zero_point=3))
    message = str(info.value)
    assert message.startswith("TensorRT-RTX ONNX parser rejected zp.onnx: node 'quant_x'")
    assert "Non-zero zero point is not supported" in message
    assert "\n" not in message
    assert info.value.parser_errors and "quant_x" in info.value.parser_errors[0]
    assert "Non-zero zero point" in info.value.log_tail


@pytest.mark.needs_rtx
def test_uint8_zero_point_does_not_kill_pytest(tmp_path):
    """A UINT8 zero point of 128 is a BuildError (TensorRT-RTX 1.7.1's ONNX parser rejects
    the non-zero zero point), not a crash of the test process."""
    with pytest.raises(BuildError) as info:
        build(qdq_conv(tmp_path / "u8.onnx", zp_type=np.uint8, zero_point=128), timeout=120)
    assert info.value.exit_code == 3
    assert str(info.value).startswith("TensorRT-RTX ONNX parser rejected u8.onnx: node 'quant_x'")
    assert "Non-zero zero point is not supported" in str(info.value)


def _request(model: str, **extra) -> dict:
    request = {
        "builder": "tensorrt-rtx",
        "model": model,
        "save_engine": None,
        "timing_cache": None,
        "shapes": {},
    }
    return {**request, **extra}


@pytest.mark.needs_rtx
def test_builder_returning_no_engine_is_build_error(tmp_path):
    """The DLA asymmetric flag lets the parser accept a non-zero zero point; the builder won't."""
    model = qdq_conv(tmp_path / "zp.onnx", zero_point=3)
    request = _request(model, parser_flags=["ENABLE_UINT8_AND_ASYMMETRIC_QUANTIZATION_DLA"])
    with pytest.raises(
        BuildError, match=r"^TensorRT-RTX builder failed to build zp\.onnx: .*zero_point"
    ) as info:
        build_module._run_worker(request, "TensorRT-RTX", "zp.onnx", 60.0, None)
    assert "quant_x" in info.value.log_tail


def test_unexpected_worker_exception_is_build_error(tmp_path, fake_builder):
    request = _request(conv_relu(tmp_path / "m.onnx"), module="json")  # json has no ILogger
    with pytest.raises(BuildError, match=r"^TensorRT-RTX build of m\.onnx failed: AttributeError"):
        build_module._run_worker(request, "TensorRT-RTX", "m.onnx", 60.0, None)


@pytest.mark.needs_rtx
def test_real_parser_crash_is_build_error(tmp_path):
    """TensorRT-RTX 1.7 segfaults parsing a UINT8 zero point with the DLA asymmetric flag.

    The public API never sets that flag; the worker's ``parser_flags`` request key
    reproduces TensorRT's own crash, which must come back as a BuildError.
    """
    model = qdq_conv(tmp_path / "u8.onnx", zp_type=np.uint8)
    request = _request(model, parser_flags=["ENABLE_UINT8_AND_ASYMMETRIC_QUANTIZATION_DLA"])
    with pytest.raises(BuildError) as info:  # 1.7.1 crashes (SIGSEGV)
        build_module._run_worker(request, "TensorRT-RTX", "u8.onnx", 60.0, None)
    assert str(info.value) == "TensorRT-RTX builder crashed (signal SIGSEGV) while building u8.onnx"
    assert info.value.exit_code == 3
    assert "x.zp: invalid weights type of UInt8" in info.value.log_tail


@pytest.mark.needs_rtx
def test_dynamic_batch_defaults_to_one(tmp_path):
    result = build(conv_relu(tmp_path / "m.onnx", shape=("N", C, H, W)))
    assert "Dimensions: [1,8,16,16]" in result.layers_dump


@pytest.mark.needs_rtx
def test_dynamic_spatial_dims_need_shapes(tmp_path):
    model = conv_relu(tmp_path / "m.onnx", shape=("N", C, "h", "w"))
    with pytest.raises(InputError, match=r"input x has dynamic dimension 2 .*--shapes x:Nx8xNxN"):
        build(model)
    result = build(model, shapes="x:2x8x12x12")
    assert "Dimensions: [2,8,12,12]" in result.layers_dump
    with pytest.raises(InputError, match="not an input"):
        build(model, shapes="z:1x8x12x12")
    with pytest.raises(InputError, match="fixes it to 8"):
        build(model, shapes="x:1x4x12x12")


@pytest.mark.needs_rtx
def test_timing_cache_is_ignored_for_rtx(tmp_path):
    cache = tmp_path / "cache.bin"
    result = build(conv_relu(tmp_path / "m.onnx"), timing_cache=cache)
    assert "[W] fusionlab: --timing-cache is ignored for TensorRT-RTX" in result.log
    assert not cache.exists()


@pytest.mark.needs_rtx
def test_external_data_model(tmp_path):
    model = onnx.load(conv_relu(tmp_path / "m.onnx"))
    onnx.save(
        model,
        str(tmp_path / "ext.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="ext.data",
        size_threshold=0,
    )
    os.remove(tmp_path / "m.onnx")
    result = build(tmp_path / "ext.onnx")
    assert kernel_with(result.layers_dump, "conv0", "relu0") is not None


def test_unknown_precision_is_input_error(tmp_path):
    with pytest.raises(InputError, match="precision"):
        build(conv_relu(tmp_path / "m.onnx"), precision="fp8")


def test_classic_precision_sets_the_builder_flags():
    from types import SimpleNamespace

    from fusionlab.trt import _build_worker as worker

    flags = SimpleNamespace(FP16="FP16", INT8="INT8", BF16="BF16")
    trt = SimpleNamespace(BuilderFlag=flags)
    sent = []
    channel = SimpleNamespace(send=lambda **m: sent.append(m))
    for precision, expected in (("fp32", []), ("fp16", ["FP16"]), ("int8", ["INT8", "FP16"])):
        set_flags = []
        config = SimpleNamespace(set_flag=set_flags.append)
        worker._set_precision(trt, config, "tensorrt", precision, channel)
        assert set_flags == expected
    config = SimpleNamespace(set_flag=lambda f: pytest.fail("RTX networks are strongly typed"))
    worker._set_precision(trt, config, "tensorrt-rtx", "fp16", channel)
    assert "strongly typed" in sent[-1]["message"]


@pytest.mark.needs_rtx
def test_rtx_build_with_fp16_warns_and_builds(tmp_path):
    result = build(conv_relu(tmp_path / "m.onnx"), precision="fp16", timeout=120)
    assert "--precision fp16 is ignored for TensorRT-RTX" in result.log
    assert result.layers_dump and "[ONNX Layer:" in result.layers_dump
