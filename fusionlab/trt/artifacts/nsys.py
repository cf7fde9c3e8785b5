"""Per-layer profiles from Nsight Systems: the NVTX ranges TensorRT emits, read from an
``nsys export --type sqlite`` file with the standard library's :mod:`sqlite3`.

TensorRT marks each engine layer with an NVTX range named after the layer, one per layer
per inference, nested in the ``ExecutionContext::enqueue`` range of the call that ran it
(TensorRT's "Measuring Performance" chapter, "NVTX Tracing"; the names are the engine's
layer names at ``--profilingVerbosity=layer_names_only`` or ``detailed``, none at
``none``). A range text that is a JSON object is read as its ``"Name"``. ::

    trtexec --onnx=model.onnx --profilingVerbosity=detailed --saveEngine=model.engine --exportLayerInfo=layers.json
    nsys profile -t cuda,nvtx -o run trtexec --loadEngine=model.engine --profilingVerbosity=detailed
    nsys export --type sqlite run.nsys-rep          # writes run.sqlite
    fusionlab verify model.onnx --layer-info layers.json --profile run.sqlite

The export's tables used (Nsight Systems "SQLite Export Schema Reference"; checked
against a real export of Nsight Systems 2022.2, schema 2.9.1):

* ``NVTX_EVENTS``: ``start``, ``end`` (ns), ``eventType`` (59 ``NvtxPushPopRange``, 60
  ``NvtxStartEndRange``, 75 ``NvtxDomainCreate`` whose ``text`` is the domain's name),
  ``text`` or ``textId`` (-> ``StringIds.id``/``value``, for registered strings),
  ``globalTid`` (the thread; its low 24 bits are the thread id, the rest the process),
  ``domainId``.
* ``CUPTI_ACTIVITY_KIND_RUNTIME`` (``start``, ``globalTid``, ``correlationId``): the CUDA
  calls each range made on its thread; ``CUPTI_ACTIVITY_KIND_KERNEL``, ``..._MEMCPY`` and
  ``..._MEMSET`` (``start``, ``end``, ``globalPid``, ``correlationId``): the GPU work each
  call launched.

A layer's time in one inference is the NVTX range projected onto the GPU: from the start
of the first kernel, copy or memset its CUDA calls launched to the end of the last (0 for
a layer that launched none), as Nsight Systems' ``nvtx_gpu_proj_trace`` report computes
it. The range's own duration is host time, how long the CPU took to enqueue the work
(0.04 ms against 17.7 ms of GPU time for the kernel of the real export in
``tests/data/nsys/``): it is used only when the report holds no CUDA trace, with a warning. Ranges are read as layers when their parent is a TensorRT
runtime call of their own domain (``ExecutionContext::enqueue``, named ``Class::method``)
under an ``enqueue``/``execute`` range; with no such range, the outermost ranges of the
domain named ``TensorRT...`` (of every domain when there is none) are read, with a
warning. Ranges nested in a layer and ranges of other domains (Myelin's
``myelin-exec:myelinGraphExecute`` start/end ranges) are not layers. That is what public
``nsys stats`` NVTX summaries of TensorRT runs show: push/pop ranges
``TensorRT:ExecutionContext::enqueue`` and, as many times each,
``TensorRT:<layer name>`` (``TensorRT:{ForeignNode[...]}``, ``TensorRT:Reformatting
CopyNode for Output Tensor 0 to ...``). With CUDA graphs
(``trtexec --useCudaGraph``) the layers' work is launched outside their ranges: profile
without.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import dataclass

from fusionlab.errors import ArtifactError
from fusionlab.files import check_readable
from fusionlab.trt.artifacts.model import LayerTiming, Profile

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"
#: Largest export read, bytes (8 GiB: SQLite reads pages on demand; long captures are large).
NSYS_LIMIT = 8 << 30
#: ``NVTX_EVENTS.eventType`` values (the export's ``ENUM_NSYS_EVENT_TYPE``).
NVTX_PUSH_POP_RANGE, NVTX_START_END_RANGE, NVTX_DOMAIN_CREATE = 59, 60, 75
#: The tables of GPU work a CUDA call can launch.
GPU_TABLES = ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET")

_API_CALL = re.compile(r"^\w+::\w+$")  # ExecutionContext::enqueue, ExecutionContext::enqueueV3
_RUN_CALL = re.compile(r"^\w+::(?:enqueue|execute)\w*$", re.IGNORECASE)
_TID_BITS = 0xFFFFFF  # globalTid = process bits | thread id (low 24 bits); globalPid has them 0


@dataclass
class _Range:
    start: int
    end: int
    tid: int
    domain: int | None
    name: str
    parent: _Range | None = None


def is_sqlite(source: str | os.PathLike[str]) -> bool:
    """Whether the file starts with the SQLite 3 header (``SQLite format 3\\0``).

    Raises:
        ArtifactError: the file is missing, not a regular file, or cannot be read.
    """
    path = check_readable(source, NSYS_LIMIT, what="profile", error=ArtifactError)
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def parse_nsys(source: str | os.PathLike[str]) -> Profile:
    """Per-layer times from the TensorRT NVTX ranges of an ``nsys export --type sqlite`` file.

    Returns:
        The :class:`~fusionlab.trt.artifacts.Profile` :func:`parse_profile` returns for
        ``--exportProfile`` JSON: per layer, in order of first appearance, the time summed
        over every inference (``time_ms``), its mean and median per inference and its share
        of the sum (percent); ``iterations`` is the number of ``enqueue`` ranges (or the
        most times one layer ran). ``warnings`` say when host times or a fallback were used.

    Raises:
        ArtifactError: missing, unreadable or not an SQLite file; a corrupt database; no
            ``NVTX_EVENTS`` table (not an nsys export, or NVTX was not traced); no NVTX
            range at all.
    """
    path = check_readable(source, NSYS_LIMIT, what="Nsight Systems SQLite export", error=ArtifactError)
    name = str(source)
    try:
        db = sqlite3.connect(f"file:{path.absolute().as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ArtifactError(f"{name}: cannot be opened as an SQLite database: {exc}") from None
    try:
        return _read(name, db)
    except sqlite3.Error as exc:
        raise ArtifactError(f"{name}: cannot be read as an Nsight Systems SQLite export "
                            f"(nsys export --type sqlite): {exc}") from None
    finally:
        db.close()


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}


def _read(name: str, db: sqlite3.Connection) -> Profile:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "NVTX_EVENTS" not in tables:
        raise ArtifactError(
            f"{name}: has no NVTX_EVENTS table: not an Nsight Systems export with NVTX; profile "
            "with nsys profile -t cuda,nvtx and export with nsys export --type sqlite"
        )
    ranges, domains = _ranges(name, db, tables)
    if not ranges:
        raise ArtifactError(
            f"{name}: holds no NVTX ranges: TensorRT emits one per layer unless the engine was "
            "built with --profilingVerbosity=none; trace them with nsys profile -t cuda,nvtx"
        )
    warnings: list[str] = []
    layers, runs = _layer_ranges(ranges, domains, name, warnings)
    if not layers:
        raise ArtifactError(f"{name}: holds no TensorRT layer ranges inside its enqueue ranges")
    gpu = _gpu_projection(db, tables)
    if gpu is None:
        warnings.append(f"{name}: the report has no CUDA trace (nsys profile -t cuda,nvtx): layer times "
                        "are the NVTX ranges' host durations, not GPU time")
        times = [(r.name, (r.end - r.start) / 1e6) for r in layers]
    else:
        times = [(r.name, gpu(r) / 1e6) for r in layers]
    by_layer: dict[str, list[float]] = {}
    for layer, ms in times:
        by_layer.setdefault(layer, []).append(ms)
    total = sum(sum(v) for v in by_layer.values())
    timings = [
        LayerTiming(layer, sum(v), sum(v) / len(v), statistics.median(v), 100.0 * sum(v) / total if total else 0.0)
        for layer, v in by_layer.items()
    ]
    iterations = runs or max(len(v) for v in by_layer.values())
    return Profile(name, iterations, timings, warnings=warnings)


def _ranges(name: str, db: sqlite3.Connection, tables: set[str]) -> tuple[list[_Range], dict[int, str]]:
    cols = _columns(db, "NVTX_EVENTS")
    missing = {"start", "end", "eventType", "globalTid"} - cols
    if missing or not cols & {"text", "textId"}:
        raise ArtifactError(f"{name}: its NVTX_EVENTS table lacks the columns "
                            f"{', '.join(sorted(missing) or ['text or textId'])} of an nsys export")
    text = "n.text" if "text" in cols else "NULL"
    if "textId" in cols and "StringIds" in tables:
        text = f"COALESCE({text}, s.value)"
        join = "LEFT JOIN StringIds s ON s.id = n.textId"
    else:
        join = ""
    domain = "n.domainId" if "domainId" in cols else "NULL"
    domains = {d: str(t) for d, t in db.execute(
        f"SELECT {domain}, {text} FROM NVTX_EVENTS n {join} WHERE n.eventType = ?", (NVTX_DOMAIN_CREATE,))
        if d is not None and t is not None}
    rows = db.execute(
        f"SELECT n.start, n.\"end\", n.globalTid, {domain}, {text} FROM NVTX_EVENTS n {join} "
        "WHERE n.eventType IN (?, ?) AND n.\"end\" IS NOT NULL AND n.\"end\" >= n.start",
        (NVTX_PUSH_POP_RANGE, NVTX_START_END_RANGE))
    ranges = [_Range(int(s), int(e), int(t or 0), d, _layer_name(str(x))) for s, e, t, d, x in rows if x is not None]
    return ranges, domains


def _layer_name(text: str) -> str:
    """The layer name of a range's text: the text, or the ``"Name"`` of a JSON object."""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict) and isinstance(data.get("Name"), str):
            return data["Name"]
    return text


def _nest(ranges: list[_Range]) -> None:
    """Set each range's ``parent``: the innermost range of its thread that encloses it."""
    by_thread: dict[int, list[_Range]] = defaultdict(list)
    for r in ranges:
        by_thread[r.tid].append(r)
    for rs in by_thread.values():
        rs.sort(key=lambda r: (r.start, -r.end))
        stack: list[_Range] = []
        for r in rs:
            while stack and stack[-1].end < r.end:
                stack.pop()
            r.parent = stack[-1] if stack and stack[-1].start <= r.start else None
            stack.append(r)


def _under_a_run(r: _Range) -> bool:
    while r is not None:
        if _RUN_CALL.match(r.name):
            return True
        r = r.parent
    return False


def _layer_ranges(ranges: list[_Range], domains: dict[int, str], name: str,
                  warnings: list[str]) -> tuple[list[_Range], int | None]:
    _nest(ranges)
    runs = [r for r in ranges if _RUN_CALL.match(r.name)]
    if runs:
        layers = [r for r in ranges if not _API_CALL.match(r.name) and r.parent is not None
                  and r.domain == r.parent.domain and _API_CALL.match(r.parent.name)
                  and _under_a_run(r.parent)]
        outermost = [r for r in runs if not (r.parent and _under_a_run(r.parent))]
        return sorted(layers, key=lambda r: r.start), len(outermost)
    trt = {d for d, text in domains.items() if text.startswith("TensorRT")}
    chosen = [r for r in ranges if r.domain in trt] if trt else ranges
    warnings.append(
        f"{name}: no ExecutionContext::enqueue range; read the outermost NVTX ranges of "
        + (f"domain {', '.join(sorted(domains[d] for d in trt))}" if trt else "every domain")
        + " as layers"
    )
    kept = {id(r) for r in chosen}

    def outermost(r: _Range) -> bool:
        p = r.parent
        while p is not None:
            if id(p) in kept:
                return False
            p = p.parent
        return True

    return sorted((r for r in chosen if outermost(r)), key=lambda r: r.start), None


def _gpu_projection(db: sqlite3.Connection, tables: set[str]):
    """A function: NVTX range -> ns of GPU work its CUDA calls launched (first start to
    last end), or None when the report holds no CUDA trace."""
    need = {"start", "end", "correlationId", "globalPid"}
    gpu: dict[tuple[int, int], list[int]] = {}
    for table in GPU_TABLES:
        if table not in tables or not need <= _columns(db, table):
            continue
        for start, end, corr, pid in db.execute(
                f'SELECT start, "end", correlationId, globalPid FROM {table} WHERE correlationId IS NOT NULL'):
            key = (int(pid or 0) & ~_TID_BITS, int(corr))
            span = gpu.get(key)
            if span is None:
                gpu[key] = [int(start), int(end)]
            else:
                span[0], span[1] = min(span[0], int(start)), max(span[1], int(end))
    runtime = "CUPTI_ACTIVITY_KIND_RUNTIME"
    if not gpu or runtime not in tables or not {"start", "globalTid", "correlationId"} <= _columns(db, runtime):
        return None
    calls: dict[int, tuple[list[int], list[tuple[int, int]]]] = {}
    rows = db.execute(f"SELECT start, globalTid, correlationId FROM {runtime} "
                      "WHERE correlationId IS NOT NULL ORDER BY globalTid, start")
    for start, tid, corr in rows:
        span = gpu.get((int(tid) & ~_TID_BITS, int(corr)))
        if span is not None:
            starts, spans = calls.setdefault(int(tid), ([], []))
            starts.append(int(start))
            spans.append((span[0], span[1]))

    def project(r: _Range) -> int:
        starts, spans = calls.get(r.tid, ([], []))
        inside = spans[bisect.bisect_left(starts, r.start):bisect.bisect_right(starts, r.end)]
        if not inside:
            return 0
        return max(e for _, e in inside) - min(s for s, _ in inside)

    return project
