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


def test_a_profiler_class_per_tensorrt_module(tmp_path):
    """Classic ``tensorrt`` is not installed here: a module with an ``IProfiler`` base
    stands in for it, to show each module gets its own subclass."""
    class IProfiler:
        def __init__(self):
            self.base_initialised = True

    classic = types.ModuleType("tensorrt")
    classic.IProfiler = IProfiler
    cls = layer_profiler_class(classic)
    assert layer_profiler_class(classic) is cls and issubclass(cls, (IProfiler, LayerTimes))
    profiler = cls()
    assert profiler.base_initialised
    profiler.report_layer_time("conv1 + relu1", 0.25)
    assert parse_profile(profiler.write(tmp_path / "p.json")).layers[0].average_ms == 0.25


def test_without_any_tensorrt_module_the_error_says_what_to_install(monkeypatch):
    from fusionlab.errors import BuilderUnavailable
    from fusionlab.trt import profiler

    for name in profiler.RUNTIME_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # makes ``import name`` fail
    with pytest.raises(BuilderUnavailable, match="pip install tensorrt-rtx"):
        layer_profiler_class()


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
    # what the README has users do: context.profiler = profiler (an attribute of the context)
    assert isinstance(getattr(tensorrt_rtx.IExecutionContext, "profiler"), property)
    # the call TensorRT makes: the bound C++ method dispatches to the Python override
    records = json.loads(REAL_PROFILE.read_text())[1:]
    for r in records:
        tensorrt_rtx.IProfiler.report_layer_time(profiler, r["name"], r["averageMs"])
    back = parse_profile(profiler.write(tmp_path / "profile.json"))
    assert back.iterations == 1
    assert [(t.name, t.average_ms) for t in back.layers] == [
        (r["name"], pytest.approx(r["averageMs"], rel=1e-6)) for r in records]


# --- Nsight Systems: nsys export --type sqlite ---------------------------------------

NSYS = ROOT / "tests" / "data" / "nsys"
#: A real ``nsys export --type sqlite`` of an MPI + CUDA saxpy run (Nsight Systems
#: 2022.2.1, NERSC Perlmutter), from hpcgroup/pipit (MIT): tests/data/SOURCES.md.
REAL_EXPORT = NSYS / "saxpy-mpi-cuda_nsys_perlmutter0.sqlite"
#: The thread and process ids of that export, reused by the hand-built files.
TID, PID = 302119224788637, 302119223558144


def _insert(db, table: str, **values) -> None:
    """Insert a row, giving every other NOT NULL column of the real schema a 0."""
    for _, column, _, notnull, _, _ in db.execute(f'PRAGMA table_info("{table}")'):
        if notnull and column not in values:
            values[column] = 0
    names = ", ".join(f'"{c}"' for c in values)
    db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(values))})', list(values.values()))


def _tensorrt_export(path: Path, records: list[dict], runs: int = 3, cuda: bool = True) -> Path:
    """Build by hand an ``nsys export --type sqlite`` of ``runs`` TensorRT inferences.

    No TensorRT nsys export is published in a public repository we could find, so this
    file is made here, with the tables copied from the real export's own ``CREATE
    TABLE`` statements (REAL_EXPORT). What TensorRT emits is modelled as its guide
    describes: per inference a user range ``inference`` holding TensorRT's
    ``ExecutionContext::enqueue`` range (domain ``TensorRT``), holding one range per
    engine layer (the real layer names of ``records``, a trtexec profile) whose
    ``cudaLaunchKernel`` runs a kernel as long as the profile's ``averageMs``. The
    first layer launches two kernels with a gap between them (its time is their span);
    the second layer's range text is a JSON object with the layer's ``Name``; the third
    holds a nested range and a ``myelin-exec:myelinGraphExecute`` start/end range (as
    Myelin layers do), and a ``myelin-exec`` range sits between layers: none is a layer.
    """
    real = __import__("sqlite3").connect(f"file:{REAL_EXPORT}?mode=ro", uri=True)
    tables = ["StringIds", "NVTX_EVENTS"] + (
        ["CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_KERNEL"] if cuda else [])
    schema = [real.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0] for t in tables]
    real.close()
    db = __import__("sqlite3").connect(path)
    for sql in schema:
        db.execute(sql)
    strings: dict[str, int] = {}

    def sid(text: str) -> int:
        if text not in strings:
            strings[text] = len(strings) + 1
            _insert(db, "StringIds", id=strings[text], value=text)
        return strings[text]

    def nvtx(start, end, text, domain=0, registered=True, event=59):
        row = {"textId": sid(text)} if registered else {"text": text}
        _insert(db, "NVTX_EVENTS", start=start, end=end, eventType=event, globalTid=TID, domainId=domain, **row)

    _insert(db, "NVTX_EVENTS", start=1000, eventType=75, globalTid=TID, domainId=1, text="TensorRT")
    _insert(db, "NVTX_EVENTS", start=1001, eventType=75, globalTid=TID, domainId=2, text="myelin-exec")
    host, gpu, corr = 10_000, 50_000, 0
    for _ in range(runs):
        run_start = host
        host += 1000
        enqueue_start = host
        for i, r in enumerate(records):
            start, ns = host, round(r["averageMs"] * 1e6)
            kernels = [(0, ns // 2), (ns // 2 + 200, ns)] if i == 0 else [(0, ns)]
            for k, (a, b) in enumerate(kernels):
                corr += 1
                if cuda:
                    _insert(db, "CUPTI_ACTIVITY_KIND_RUNTIME", start=host + 100 + k * 300, end=host + 300 + k * 300,
                            globalTid=TID, correlationId=corr, nameId=sid("cudaLaunchKernel_v7000"))
                    _insert(db, "CUPTI_ACTIVITY_KIND_KERNEL", start=gpu + a, end=gpu + b, globalPid=PID,
                            correlationId=corr, demangledName=sid("sm80_xmma_fprop"), shortName=sid("xmma"))
            gpu += ns + 500
            host += 2000
            if i == 1:
                text = json.dumps({"Name": r["name"], "LayerType": "CaskConvolution", "TacticValue": "0x1"})
                nvtx(start, host, text, domain=1, registered=False)
            else:
                nvtx(start, host, r["name"], domain=1)
            if i == 2:
                nvtx(start + 10, host - 10, "__myl_MulAdd", domain=1)
                nvtx(start + 20, host - 20, "myelinGraphExecute", domain=2, event=60)
            if i == 3:
                nvtx(host + 10, host + 90, "myelinTensorGetMemory", domain=2, event=60)
            host += 100
        nvtx(enqueue_start, host, "ExecutionContext::enqueue", domain=1)
        host += 1000
        nvtx(run_start, host, "inference")
        host += 5000
    db.commit()
    db.close()
    return path


def test_real_nsys_export_copy_is_unmodified():
    digest = __import__("hashlib").sha256(REAL_EXPORT.read_bytes()).hexdigest()
    assert digest == "38a44cf4de905da66bd1f73f35b23fc4fa0e7f1979bf6f8468ba41fe8f6cf7c6"


def test_real_nsys_export_ranges_are_timed_on_the_gpu():
    """The real export has no TensorRT ranges (an MPI + CUDA program): its NVTX ranges are
    read as layers, with a warning, and each gets the GPU time of the work it launched."""
    import sqlite3

    profile = parse_profile(REAL_EXPORT)
    assert [t.name for t in profile.layers] == ["MPI_Init", "MPI_Send", "saxpy", "MPI_Recv", "MPI_Finalize"]
    assert any("no ExecutionContext::enqueue range" in w for w in profile.warnings)
    saxpy = next(t for t in profile.layers if t.name == "saxpy")
    db = sqlite3.connect(f"file:{REAL_EXPORT}?mode=ro", uri=True)
    kernels = [(e - s) / 1e6 for s, e in db.execute('SELECT start, "end" FROM CUPTI_ACTIVITY_KIND_KERNEL')]
    host = [(e - s) / 1e6 for s, e in db.execute(
        "SELECT start, \"end\" FROM NVTX_EVENTS WHERE text = 'saxpy' AND eventType = 59")]
    db.close()
    assert len(kernels) == len(host) == 5
    assert saxpy.average_ms == pytest.approx(sum(kernels) / 5)
    assert saxpy.median_ms == pytest.approx(__import__("statistics").median(kernels))
    assert saxpy.average_ms > 100 * max(host)  # the range's own length is host time
    assert saxpy.percentage == pytest.approx(100.0)  # the MPI calls launched no GPU work
    assert {t.name: t.time_ms for t in profile.layers if t.name != "saxpy"} == dict.fromkeys(
        ["MPI_Init", "MPI_Send", "MPI_Recv", "MPI_Finalize"], 0.0)


def test_tensorrt_nsys_export_gives_the_profile_trtexec_gave(tmp_path):
    records = json.loads(REAL_PROFILE.read_text())[1:]
    profile = parse_profile(_tensorrt_export(tmp_path / "run.sqlite", records))
    assert profile.warnings == []
    assert profile.iterations == 3
    assert [t.name for t in profile.layers] == [r["name"] for r in records]  # no __myl_, no enqueue
    for t, r in zip(profile.layers, records):
        assert t.average_ms == pytest.approx(r["averageMs"], abs=1e-6)
        assert t.time_ms == pytest.approx(3 * r["averageMs"], abs=3e-6)
    assert profile.total_ms == pytest.approx(0.411273, abs=1e-4)


def test_verify_takes_an_nsys_export_as_profile(tmp_path, cli):
    records = json.loads(REAL_PROFILE.read_text())[1:]
    export = _tensorrt_export(tmp_path / "run.sqlite", records)
    code, out, err = cli("verify", MODEL, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", REAL_LAYER_INFO, "--profile", export, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["profile"]["total_ms"] == pytest.approx(0.411273, abs=1e-4)
    assert data["profile"]["layer_ms"] == pytest.approx({r["name"]: round(r["averageMs"], 5) for r in records},
                                                        abs=1.5e-5)  # whole ns, then 5 decimals
    assert data["profile"]["unmatched_layers"] == []


def test_an_export_without_cuda_trace_falls_back_to_host_time_with_a_warning(tmp_path, cli):
    records = json.loads(REAL_PROFILE.read_text())[1:]
    export = _tensorrt_export(tmp_path / "run.sqlite", records, runs=2, cuda=False)
    profile = parse_profile(export)
    assert {t.average_ms for t in profile.layers} == {0.002}  # each range is 2 us of host time
    code, out, err = cli("verify", MODEL, "--target", "tensorrt", "--precision", "fp16",
                         "--layer-info", REAL_LAYER_INFO, "--profile", export, "--format", "json")
    assert code == 0, err
    assert any("no CUDA trace" in w for w in json.loads(out)["warnings"])


def _one_line_error(cli, profile: Path) -> str:
    code, out, err = cli("verify", MODEL, "--target", "tensorrt", "--layer-info", REAL_LAYER_INFO,
                         "--profile", profile)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fusionlab: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_a_corrupt_sqlite_file_is_one_line_and_exit_2(tmp_path, cli):
    bad = tmp_path / "run.sqlite"
    bad.write_bytes(REAL_EXPORT.read_bytes()[:100] + b"\x00garbage" * 1000)
    assert "cannot be read as an Nsight Systems SQLite export" in _one_line_error(cli, bad)


def test_a_sqlite_file_that_is_no_nsys_export_is_refused(tmp_path, cli):
    import sqlite3

    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE layers (name TEXT, ms REAL)")
    db.commit()
    db.close()
    assert "has no NVTX_EVENTS table" in _one_line_error(cli, other)


def test_an_export_without_nvtx_ranges_is_refused(tmp_path, cli):
    export = _tensorrt_export(tmp_path / "run.sqlite", [], runs=0)
    assert "holds no NVTX ranges" in _one_line_error(cli, export)


def test_an_unexported_nsys_report_says_how_to_export_it(tmp_path, cli):
    report = tmp_path / "run.nsys-rep"
    report.write_bytes(b"\x00\x01not sqlite")
    assert "nsys export --type sqlite" in _one_line_error(cli, report)


def test_nothing_is_written_next_to_a_read_export(tmp_path):
    """Opened read-only: no -journal or -wal file appears, the file is unchanged."""
    records = json.loads(REAL_PROFILE.read_text())[1:4]
    export = _tensorrt_export(tmp_path / "run.sqlite", records)
    before = export.read_bytes()
    parse_profile(export)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.sqlite"] and export.read_bytes() == before
