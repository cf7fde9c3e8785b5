"""Per-layer profiles from every source TensorRT's "Measuring Performance" chapter names:
``trtexec --exportProfile`` (tests/test_artifacts.py), the ``IProfiler`` fusionlab ships
(``fusionlab.trt.LayerProfiler``) and Nsight Systems' NVTX ranges (``nsys export --type
sqlite``)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from fusionlab.errors import InputError
from fusionlab.trt.artifacts import parse_profile
from fusionlab.trt.profiler import LayerTimes, layer_profiler_class

ROOT = Path(__file__).resolve().parents[1]
ART = ROOT / "tests" / "data" / "trt-artifacts"
MOBILENET = ART / "fuzzylabs_trtexec_trt10.4" / "mobilenet_v2"
REAL_PROFILE = MOBILENET / "mobilenet_v2_fp16.profile.json"
REAL_LAYER_INFO = MOBILENET / "mobilenet_v2_fp16.graph.json"
MODEL = ROOT / "models" / "mobilenet_v2.onnx"


def _replay(profiler, profile_path: Path, runs=(0.5, 1.0, 1.5)) -> list[dict]:
    """Report a real trtexec profile's layers to ``profiler`` as TensorRT would: every layer
    once per inference, in engine order; inference ``i`` takes ``runs[i]`` times the layer's
    recorded average (so the mean and the median are that average)."""
    records = json.loads(profile_path.read_text())[1:]
    for factor in runs:
        for r in records:
            profiler.report_layer_time(r["name"], r["averageMs"] * factor)
    return records


def test_layer_times_written_read_back_by_the_profile_reader(tmp_path):
    times = LayerTimes()
    records = _replay(times, REAL_PROFILE)
    path = times.write(tmp_path / "profile.json")
    back = parse_profile(path)
    assert back.iterations == 3
    assert [t.name for t in back.layers] == [r["name"] for r in records]
    for t, r in zip(back.layers, records):
        assert t.average_ms == pytest.approx(r["averageMs"])
        assert t.median_ms == pytest.approx(r["averageMs"])
        assert t.time_ms == pytest.approx(3 * r["averageMs"])
        assert t.percentage == pytest.approx(r["percentage"], abs=0.01)  # trtexec rounds its own
    assert back.total_percentage == pytest.approx(100.0)


def test_verify_reads_what_the_profiler_wrote(tmp_path, cli):
    """The whole path a user takes: replay into the profiler, write, verify --profile."""
    times = LayerTimes()
    records = _replay(times, REAL_PROFILE, runs=(1.0, 1.0))
    times.write(tmp_path / "profile.json")
    code, out, err = cli("verify", MODEL, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", REAL_LAYER_INFO, "--profile", tmp_path / "profile.json",
                         "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["profile"]["total_ms"] == pytest.approx(0.411273, abs=1e-5)
    assert data["profile"]["layer_ms"] == {r["name"]: round(r["averageMs"], 5) for r in records}
    assert data["profile"]["unmatched_layers"] == []


def test_median_and_mean_differ_on_uneven_runs():
    times = LayerTimes()
    for ms in (1.0, 1.0, 7.0):
        times.report_layer_time("conv1 + relu1", ms)
    times.report_layer_time("fc", 2.0)
    (conv, fc) = times.profile().layers
    assert (conv.time_ms, conv.average_ms, conv.median_ms) == (9.0, 3.0, 1.0)
    assert conv.percentage == pytest.approx(100 * 9 / 11)
    assert times.iterations == 3
    times.reset()
    assert times.iterations == 0


def test_writing_an_empty_profiler_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(InputError, match="recorded no layer times"):
        LayerTimes().write(tmp_path / "profile.json")
    assert list(tmp_path.iterdir()) == []


def test_a_module_without_iprofiler_is_refused():
    with pytest.raises(InputError, match="has no IProfiler"):
        layer_profiler_class(types.ModuleType("not_tensorrt"))


def test_importing_fusionlab_trt_imports_no_tensorrt():
    code = ("import sys, fusionlab.trt, fusionlab.trt.profiler\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorrt', 'tensorrt_rtx')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.needs_rtx
def test_layer_profiler_is_a_tensorrt_rtx_iprofiler(tmp_path):
    import tensorrt_rtx

    from fusionlab.trt import LayerProfiler

    profiler = LayerProfiler()
    assert isinstance(profiler, tensorrt_rtx.IProfiler)
    assert layer_profiler_class(tensorrt_rtx) is LayerProfiler
    # the call TensorRT makes: the bound C++ method dispatches to the Python override
    records = json.loads(REAL_PROFILE.read_text())[1:]
    for r in records:
        tensorrt_rtx.IProfiler.report_layer_time(profiler, r["name"], r["averageMs"])
    back = parse_profile(profiler.write(tmp_path / "profile.json"))
    assert back.iterations == 1
    assert [(t.name, t.average_ms) for t in back.layers] == [
        (r["name"], pytest.approx(r["averageMs"], rel=1e-6)) for r in records]
