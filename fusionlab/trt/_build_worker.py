"""Subprocess that builds one TensorRT engine; run by :func:`fusionlab.trt.build.build`.

Usage (internal)::

    python path/to/_build_worker.py '<request JSON>'

The request is a JSON object: ``builder`` ("tensorrt-rtx" or "tensorrt"), ``module``
(the Python module to import, by default ``tensorrt_rtx`` or ``tensorrt``), ``model``
(path of the ONNX file), ``save_engine`` (path or null: where to write the engine),
``timing_cache`` (path or null: the cache to load, if the file exists),
``timing_cache_out`` (path or null: where to write the updated cache), ``shapes`` (``{input name: [dims]}``) and optionally ``parser_flags`` (names of
``OnnxParserFlag`` members to set, e.g. to reproduce a parser crash), ``precision`` and
optionally ``precision_flags`` (``BuilderFlag`` names, e.g. ``["FP16", "INT8"]``, set
instead of the precision's own) and ``profile`` (``{input name: [min, opt, max]}``, each
a list of dims: an optimization profile range; overrides ``shapes`` for that input).

The builder runs in its own process because TensorRT can crash the whole process on
some inputs (a UINT8 zero point, ``ITimingCache.serialize()`` on TensorRT-RTX) and can
take arbitrarily long; the parent enforces a timeout by killing the process group.

Protocol: the worker writes one JSON object per line to its *original* standard
output, which it keeps for itself; anything else written to fd 1 (native TensorRT
prints, stray ``print``) is redirected to standard error. Message types:

* ``{"type": "log", "severity": "V", "message": "..."}``: every builder/parser message
  as it happens, so the parent keeps the log even if the process dies; the worker's
  own notes add ``"origin": "fusionlab"``.
* ``{"type": "progress", "phase": "...", "step": N, "steps": M}``: from an
  ``IProgressMonitor``; ``step`` counts the completed steps (0 at phase start).
* ``{"type": "result", "version": "...", "engine_bytes": N, "parser_errors": [...],
  "build_seconds": S}``: the build succeeded.
* ``{"type": "error", "kind": "...", "message": "...", "parser_errors": [...]}``: the
  build failed; ``kind`` is ``unavailable`` (module cannot be imported), ``input`` (bad
  model or shapes), ``parser`` (ONNX parser rejection), ``build`` (the builder returned
  no engine) or ``internal`` (an unexpected exception; its traceback is on stderr).

This module imports nothing from fusionlab, and the parent runs it by file path (not
``-m fusionlab.trt._build_worker``, which would import the package first), so that it
imports only the standard library and TensorRT: nothing delays the build and its first
messages (a timeout test counts on a parse within seconds on a busy machine), nothing of
fusionlab can break it. It writes its files plainly to the paths it is given: the parent
hands it temp files and installs them atomically (:mod:`fusionlab.files`) once the build
succeeded.

Testing hook: the environment variable ``_FUSIONLAB_BUILD_WORKER_FAULT`` makes the
worker misbehave on purpose after the model is parsed: ``sigsegv`` (the process kills
itself with SIGSEGV, like a crash inside TensorRT), ``hang`` (it sleeps forever),
``exit`` (it exits with code 7 without a result).
"""

from __future__ import annotations

import json
import os
import sys
import time

MODULES = {"tensorrt-rtx": "tensorrt_rtx", "tensorrt": "tensorrt"}
DISPLAY = {"tensorrt-rtx": "TensorRT-RTX", "tensorrt": "TensorRT"}
FAULT_ENV = "_FUSIONLAB_BUILD_WORKER_FAULT"


class WorkerFailure(Exception):
    """A failure reported to the parent as an ``error`` message."""

    def __init__(self, kind: str, message: str, parser_errors: list[str] | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.parser_errors = parser_errors or []


class Channel:
    """The JSON-lines channel to the parent (the process's original stdout)."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        # From now on fd 1 is stderr: native prints cannot corrupt the protocol.
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, **message: object) -> None:
        self._out.write(json.dumps(message, ensure_ascii=False) + "\n")
        self._out.flush()


def _severity_tags(trt) -> dict:
    sev = trt.ILogger.Severity
    return {
        sev.INTERNAL_ERROR: "F",
        sev.ERROR: "E",
        sev.WARNING: "W",
        sev.INFO: "I",
        sev.VERBOSE: "V",
    }


def _make_logger(trt, channel: Channel):
    tags = _severity_tags(trt)

    class Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.saw_layers = False

        def log(self, severity, msg) -> None:  # noqa: D401 - TensorRT callback
            tag = tags.get(severity, "V")
            if tag in ("E", "F"):
                self.errors.append(msg)
            elif msg.startswith("Layers:"):
                self.saw_layers = True
            channel.send(type="log", severity=tag, message=msg)

    return Logger()


def _make_progress_monitor(trt, channel: Channel):
    if not hasattr(trt, "IProgressMonitor"):  # classic TensorRT < 10
        return None

    class ProgressMonitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._phases: dict[str, list[int]] = {}  # phase -> [steps done, steps]

        def _send(self, phase_name: str, done: int) -> None:
            state = self._phases.setdefault(phase_name, [0, 0])
            state[0] = done
            channel.send(type="progress", phase=phase_name, step=done, steps=state[1])

        def phase_start(self, phase_name, parent_phase, num_steps) -> None:
            self._phases[phase_name] = [0, int(num_steps)]
            self._send(phase_name, 0)

        def step_complete(self, phase_name, step) -> bool:
            self._send(phase_name, int(step) + 1)
            return True

        def phase_finish(self, phase_name) -> None:
            done, steps = self._phases.get(phase_name, [0, 0])
            if done != steps:  # TensorRT usually completed every step already
                self._send(phase_name, steps)
            self._phases.pop(phase_name, None)

    return ProgressMonitor()


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _network_flags(trt, builder_name: str) -> int:
    flags = 0
    names = trt.NetworkDefinitionCreationFlag.__members__
    if builder_name == "tensorrt-rtx":
        # Every TensorRT-RTX network is strongly typed; ask for it explicitly anyway.
        if "STRONGLY_TYPED" in names:
            flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    elif "EXPLICIT_BATCH" in names and _version_tuple(trt.__version__)[:1] < (10,):
        # Classic TensorRT 8.x: ONNX models need explicit batch (implied from 10.0).
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    return flags


def _parser_errors(parser) -> list[str]:
    """Every parser error as one line: ``node 'name' (Op, #index): description``."""
    errors = []
    for i in range(parser.num_errors):
        err = parser.get_error(i)
        desc = " ".join(str(err.desc()).split())
        node = err.node() if hasattr(err, "node") else -1
        name = err.node_name() if hasattr(err, "node_name") else ""
        op = err.node_operator() if hasattr(err, "node_operator") else ""
        if name or op or node >= 0:
            where = f"node '{name}'" if name else f"node #{node}"
            details = ", ".join(x for x in (op, f"#{node}" if name and node >= 0 else "") if x)
            errors.append(f"{where} ({details}): {desc}" if details else f"{where}: {desc}")
        else:
            errors.append(desc)
    return errors


def _dims(shape) -> list[int]:
    return [int(d) for d in shape]


def _checked_range(name: str, declared: list[int], wanted: list[int], option: str) -> None:
    if len(wanted) != len(declared):
        raise WorkerFailure(
            "input",
            f"{option} gives {name} {len(wanted)} dimensions "
            f"({'x'.join(map(str, wanted))}) but the model's input has "
            f"{len(declared)} {tuple(declared)}",
        )
    for axis, (have, want) in enumerate(zip(declared, wanted, strict=True)):
        if have >= 0 and have != want:
            raise WorkerFailure(
                "input",
                f"{option} gives {name} dimension {axis} = {want} but the "
                f"model fixes it to {have}",
            )


def _add_profile(trt, builder, network, config, shapes: dict[str, list[int]],
                 ranges: dict[str, list[list[int]]] | None = None) -> None:
    """Add one optimization profile covering every dynamic input dimension.

    An input named in ``ranges`` (``[min, opt, max]`` dims, trtexec's --minShapes/
    --optShapes/--maxShapes) gets that range; one named in ``shapes`` is fixed to it
    (min = opt = max); otherwise a dynamic dimension 0 (the batch) becomes 1, and any
    other dynamic dimension is an input error.
    """
    ranges = ranges or {}
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    by_name = {t.name: t for t in inputs}
    unknown = sorted((set(shapes) | set(ranges)) - set(by_name))
    if unknown:
        raise WorkerFailure(
            "input",
            f"--shapes names {', '.join(repr(u) for u in unknown)}, not an input of the model "
            f"(inputs: {', '.join(repr(n) for n in by_name) or 'none'})",
        )
    profile = None
    for tensor in inputs:
        declared = _dims(tensor.shape)
        if tensor.name in ranges:
            lo, wanted, hi = (list(d) for d in ranges[tensor.name])
            for option, dims in (("--minShapes", lo), ("--optShapes", wanted), ("--maxShapes", hi)):
                _checked_range(tensor.name, declared, dims, option)
        elif tensor.name in shapes:
            wanted = list(shapes[tensor.name])
            _checked_range(tensor.name, declared, wanted, "--shapes")
            lo = hi = wanted
        else:
            wanted = []
            for axis, have in enumerate(declared):
                if have >= 0:
                    wanted.append(have)
                elif axis == 0:
                    wanted.append(1)
                else:
                    raise WorkerFailure(
                        "input",
                        f"input {tensor.name} has dynamic dimension {axis} "
                        f"(shape {tuple(declared)}); give its shape with --shapes "
                        f"{tensor.name}:" + "x".join(str(d if d >= 0 else "N") for d in declared),
                    )
            lo = hi = wanted
        if all(d >= 0 for d in declared):
            continue
        if getattr(tensor, "is_shape_tensor", False):
            raise WorkerFailure(
                "input", f"input {tensor.name} is a shape tensor; fusionlab cannot set its values"
            )
        if profile is None:
            profile = builder.create_optimization_profile()
        profile.set_shape(tensor.name, lo, wanted, hi)
    if profile is not None:
        config.add_optimization_profile(profile)


#: Builder flags a classic-TensorRT precision enables (FP32 is always allowed).
PRECISION_FLAGS = {"fp32": (), "fp16": ("FP16",), "bf16": ("BF16",), "int8": ("INT8", "FP16")}


def _set_precision(trt, config, builder_name: str, precision: str, channel: Channel,
                   flags: list[str] | None = None) -> None:
    """Set the BuilderFlag(s) of ``precision`` (or the ``flags`` named, e.g. ``["FP16",
    "INT8"]`` from trtexec's ``--fp16 --int8``) on a classic TensorRT build config.

    TensorRT-RTX networks are strongly typed (precision comes from the ONNX types and
    Q/DQ nodes), so there the option is ignored with a warning unless it is fp32.
    """
    names = PRECISION_FLAGS[precision] if flags is None else tuple(flags)
    if builder_name == "tensorrt-rtx":
        if names:
            channel.send(type="log", severity="W", origin="fusionlab",
                         message=f"--precision {precision} is ignored for TensorRT-RTX: its networks "
                                 "are strongly typed (precision comes from the ONNX types)")
        return
    for name in names:
        flag = getattr(trt.BuilderFlag, name, None)
        if flag is None:
            raise WorkerFailure("build", f"this TensorRT has no BuilderFlag.{name} for --precision {precision}")
        config.set_flag(flag)


def _write(path: str, data) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _layer_information(trt, engine_bytes, channel: Channel) -> None:
    """Classic TensorRT only: log the detailed per-layer information as ``Layers:``.

    Classic builders may not log the ``Layers:`` message; the engine inspector gives
    the same text but needs to deserialize the engine, hence a GPU. Never used for
    TensorRT-RTX (deserializing fails without a GPU).
    """
    try:
        runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        engine = runtime.deserialize_cuda_engine(engine_bytes)
        inspector = engine.create_engine_inspector()
        text = inspector.get_engine_information(trt.LayerInformationFormat.ONELINE)
    except Exception as exc:  # pragma: no cover - needs classic TensorRT and a GPU
        channel.send(
            type="log",
            severity="W",
            origin="fusionlab",
            message=f"engine inspector unavailable: {exc}",
        )
        return
    if text and not text.startswith("Layers:"):
        text = "Layers:\n" + text
    if text:
        channel.send(type="log", severity="V", message=text.rstrip("\n"))


def _fault(stage: str) -> None:
    fault = os.environ.get(FAULT_ENV, "")
    if not fault:
        return
    if fault == "sigsegv":
        import signal

        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(10)  # the signal is delivered before this returns
    elif fault == "hang":
        while True:
            time.sleep(1)
    elif fault == "exit":
        os._exit(7)


def run(request: dict, channel: Channel) -> None:
    builder_name = request["builder"]
    module_name = request.get("module") or MODULES[builder_name]
    display = DISPLAY[builder_name]
    try:
        import importlib

        trt = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or a broken install raising OSError
        raise WorkerFailure("unavailable", f"{type(exc).__name__}: {exc}") from exc

    # First log line, in the words trtexec uses, so log parsers learn the version.
    channel.send(
        type="log",
        severity="I",
        origin="fusionlab",
        message=f"{display} version: {trt.__version__}",
    )
    model = request["model"]
    model_name = os.path.basename(model)
    logger = _make_logger(trt, channel)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt, builder_name))
    parser = trt.OnnxParser(network, logger)
    for flag in request.get("parser_flags") or []:  # names of OnnxParserFlag members
        parser.set_flag(getattr(trt.OnnxParserFlag, flag))
    ok = parser.parse_from_file(model)
    parser_errors = _parser_errors(parser)
    if not ok:
        shown = "; ".join(parser_errors) if parser_errors else "no error reported"
        raise WorkerFailure(
            "parser", f"{display} ONNX parser rejected {model_name}: {shown}", parser_errors
        )

    config = builder.create_builder_config()
    verbosity = trt.ProfilingVerbosity  # DETAILED from 8.2; VERBOSE before
    detailed = "DETAILED" if "DETAILED" in verbosity.__members__ else "VERBOSE"
    config.profiling_verbosity = getattr(verbosity, detailed)
    _add_profile(trt, builder, network, config, request.get("shapes") or {}, request.get("profile"))
    _set_precision(trt, config, builder_name, request.get("precision") or "fp32", channel,
                   request.get("precision_flags"))

    monitor = _make_progress_monitor(trt, channel)
    if monitor is not None:
        config.progress_monitor = monitor

    cache_path = request.get("timing_cache")
    cache = None
    if cache_path:
        if builder_name == "tensorrt-rtx":
            # ITimingCache.serialize() crashes TensorRT-RTX 1.x; it keeps no useful
            # timings on a CPU-only build anyway.
            channel.send(
                type="log",
                severity="W",
                origin="fusionlab",
                message="--timing-cache is ignored for TensorRT-RTX",
            )
        else:
            blob = b""
            if os.path.isfile(cache_path):
                with open(cache_path, "rb") as f:
                    blob = f.read()
            cache = config.create_timing_cache(blob)
            config.set_timing_cache(cache, False)

    _fault("build")
    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    build_seconds = time.perf_counter() - start
    if serialized is None:
        last = logger.errors[-1] if logger.errors else "no error message"
        last = " ".join(last.split())
        raise WorkerFailure("build", f"{display} builder failed to build {model_name}: {last}")

    engine_bytes = int(serialized.nbytes)
    if request.get("save_engine"):
        _write(request["save_engine"], serialized)
    if cache is not None and request.get("timing_cache_out"):
        updated = config.get_timing_cache()
        _write(request["timing_cache_out"], updated.serialize())
    if builder_name == "tensorrt" and not logger.saw_layers:
        _layer_information(trt, serialized, channel)

    channel.send(
        type="result",
        version=str(trt.__version__),
        engine_bytes=engine_bytes,
        parser_errors=parser_errors,
        build_seconds=build_seconds,
    )


def main(argv: list[str]) -> int:
    import faulthandler

    faulthandler.enable()  # a native crash still prints the Python stack to stderr
    channel = Channel()
    if len(argv) != 2:
        channel.send(type="error", kind="build", message="usage: _build_worker REQUEST_JSON")
        return 2
    try:
        run(json.loads(argv[1]), channel)
    except WorkerFailure as failure:
        channel.send(
            type="error",
            kind=failure.kind,
            message=failure.message,
            parser_errors=failure.parser_errors,
        )
        return 1
    except Exception as exc:  # an unexpected error: report it; the traceback goes to stderr
        import traceback

        traceback.print_exc()
        channel.send(type="error", kind="internal", message=f"{type(exc).__name__}: {exc}")
        return 1
    return 0


PARENT_ENV = "_FUSIONLAB_BUILD_PARENT"


def die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this worker when its parent dies
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, through ctypes), then exit at once if the
    parent (its pid is in ``_FUSIONLAB_BUILD_PARENT``) is already gone, the race
    prctl cannot cover. Elsewhere a no-op: the parent's signal handlers and its
    ``finally`` kill the worker's process group instead.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return
    expected = os.environ.get(PARENT_ENV)
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os._exit(1)  # the parent died before prctl: nobody reads our results


if __name__ == "__main__":
    die_with_parent()  # first: before TensorRT's import, which takes seconds
    # Run by path: Python put this file's folder (fusionlab/trt) first on sys.path, where
    # build.py and artifacts/ would shadow any top-level module of those names.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    sys.exit(main(sys.argv))
