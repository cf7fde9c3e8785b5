"""``LayerProfiler``: a TensorRT ``IProfiler`` that writes what ``trtexec --exportProfile`` writes.

TensorRT's "Measuring Performance" chapter names three sources of per-layer times:
``trtexec --exportProfile`` (read by :func:`fusionlab.trt.artifacts.parse_profile`), an
``IProfiler`` the application attaches to its execution context (this module), and the
NVTX ranges Nsight Systems records (:mod:`fusionlab.trt.artifacts.nsys`). ::

    from fusionlab.trt import LayerProfiler

    context = engine.create_execution_context()
    profiler = LayerProfiler()
    context.profiler = profiler          # keep your own reference to write it afterwards
    for _ in range(100):
        context.execute_v2(bindings)
    profiler.write("profile.json")       # then: fusionlab verify --profile profile.json

TensorRT calls ``report_layer_time(layer_name, ms)`` once per layer after each
``execute_v2`` (Python API docs of ``tensorrt.IProfiler`` and ``tensorrt_rtx.IProfiler``;
C++ ``IProfiler::reportLayerTime``). The layer name is the engine layer's name, the same
as in ``--exportLayerInfo`` and the build log (its decimal index when the engine was built
with ``ProfilingVerbosity.NONE``).

The class subclasses the ``IProfiler`` of the TensorRT module the program already imported
(``tensorrt_rtx`` first, then ``tensorrt``), or of the first of them that imports; a
profiler of one module cannot be attached to a context of the other, so
:func:`layer_profiler_class` makes one for a given module. Nothing here imports TensorRT
until ``LayerProfiler`` is first used.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
from pathlib import Path
from types import ModuleType

from fusionlab.errors import BuilderUnavailable, InputError
from fusionlab.files import write_atomic
from fusionlab.trt.artifacts.model import LayerTiming, Profile

__all__ = ["LayerProfiler", "LayerTimes", "layer_profiler_class"]

#: The TensorRT Python modules whose ``IProfiler`` a profiler can subclass, in order of preference.
RUNTIME_MODULES = ("tensorrt_rtx", "tensorrt")


class LayerTimes:
    """Per-layer times accumulated over inferences (the part of :class:`LayerProfiler`
    that needs no TensorRT).

    Layers keep the order in which they were first reported (TensorRT reports them in
    engine order). Times are milliseconds.
    """

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        """Record one layer's time of one inference (TensorRT's callback).

        Args:
            layer_name: the engine layer's name.
            ms: its execution time, milliseconds.
        """
        self._times.setdefault(str(layer_name), []).append(float(ms))

    def reset(self) -> None:
        """Forget every recorded time (for example after warm-up runs)."""
        self._times.clear()

    @property
    def iterations(self) -> int:
        """The number of profiled inferences: the most times any layer was reported."""
        return max((len(v) for v in self._times.values()), default=0)

    def profile(self, source: str = "LayerProfiler") -> Profile:
        """The recorded times as the :class:`~fusionlab.trt.artifacts.Profile` that
        :func:`~fusionlab.trt.artifacts.parse_profile` returns for ``--exportProfile`` JSON:
        per layer the total over all inferences (``time_ms``), the mean and median per
        inference, and the share of the total in percent.

        Raises:
            InputError: no layer time was recorded (the profiler was not attached, or no
                inference ran since it was attached or reset).
        """
        if not self._times:
            raise InputError(
                "the profiler recorded no layer times: set context.profiler = LayerProfiler() "
                "before running inferences with context.execute_v2(...)"
            )
        total = sum(sum(v) for v in self._times.values())
        layers = [
            LayerTiming(
                name=name,
                time_ms=sum(times),
                average_ms=sum(times) / len(times),
                median_ms=statistics.median(times),
                percentage=100.0 * sum(times) / total if total else 0.0,
            )
            for name, times in self._times.items()
        ]
        return Profile(source, self.iterations, layers)

    def to_json(self) -> str:
        """The ``trtexec --exportProfile`` JSON of the recorded times:
        ``[{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}, ...]``.

        Raises:
            InputError: no layer time was recorded.
        """
        profile = self.profile()
        records: list[dict] = [{"count": profile.iterations}]
        records += [
            {"name": t.name, "timeMs": t.time_ms, "averageMs": t.average_ms, "medianMs": t.median_ms,
             "percentage": t.percentage}
            for t in profile.layers
        ]
        return json.dumps(records, indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_json` to ``path`` atomically (whole or not at all); returns the path.

        Raises:
            InputError: no layer time was recorded; the folder is missing or not writable.
        """
        return write_atomic(Path(path), self.to_json())


_CLASSES: dict[ModuleType, type] = {}


def _runtime_module() -> ModuleType:
    for name in RUNTIME_MODULES:  # the one the program already uses
        if sys.modules.get(name) is not None:
            return sys.modules[name]
    for name in RUNTIME_MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise BuilderUnavailable(
        "LayerProfiler subclasses TensorRT's IProfiler, but neither tensorrt_rtx nor tensorrt "
        "is installed: pip install tensorrt-rtx (or fusionlab[rtx]) or pip install tensorrt"
    )


def layer_profiler_class(trt: ModuleType | None = None) -> type:
    """The ``LayerProfiler`` class for one TensorRT Python module.

    Args:
        trt: ``tensorrt_rtx`` or ``tensorrt`` (any module with an ``IProfiler``); None for
            the one the program imported (``tensorrt_rtx`` first), else the first that imports.

    Returns:
        A subclass of :class:`LayerTimes` and ``trt.IProfiler`` (one class per module).

    Raises:
        BuilderUnavailable: ``trt`` is None and neither module can be imported.
        InputError: ``trt`` has no ``IProfiler``.
    """
    module = trt if trt is not None else _runtime_module()
    base = getattr(module, "IProfiler", None)
    if not isinstance(base, type):
        raise InputError(f"module {module.__name__!r} has no IProfiler class: pass tensorrt_rtx or tensorrt")
    cls = _CLASSES.get(module)
    if cls is None:

        def __init__(self) -> None:
            base.__init__(self)  # pybind11: the C++ trampoline must be constructed explicitly
            LayerTimes.__init__(self)

        cls = type("LayerProfiler", (LayerTimes, base), {
            "__init__": __init__,
            "__module__": __name__,
            "__qualname__": "LayerProfiler",
            "__doc__": (f"A ``{module.__name__}.IProfiler`` that accumulates per-layer times over "
                        "inferences and writes them as ``trtexec --exportProfile`` JSON "
                        "(see :class:`fusionlab.trt.profiler.LayerTimes`)."),
        })
        _CLASSES[module] = cls
    return cls


def __getattr__(name: str):
    # ``LayerProfiler`` is made on first use, so importing this module imports no TensorRT.
    if name == "LayerProfiler":
        return layer_profiler_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
