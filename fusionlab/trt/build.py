"""Build an ONNX model with TensorRT-RTX or classic TensorRT and keep the full log.

The engine build runs in a subprocess (``python <path>/_build_worker.py``, run by file
path so that it imports only the standard library and TensorRT, not fusionlab) because TensorRT can crash the process on some inputs and can take arbitrarily long:
the parent enforces ``timeout`` by killing the worker's process group, and turns a
crash, a timeout or a rejection into a :class:`~fusionlab.errors.BuildError`.

The log keeps every message at every severity, one per line, in trtexec's layout
without the timestamp: ``[V] [TRT] message``, with ``[V]`` VERBOSE, ``[I]`` INFO,
``[W]`` WARNING, ``[E]`` ERROR and ``[F]`` INTERNAL_ERROR. A multi-line message (the
``Layers:`` dump) is kept intact: its continuation lines carry no tag, as in trtexec.
fusionlab's own notes read ``[W] fusionlab: message``; the first line states the version
as trtexec does (``[I] fusionlab: TensorRT-RTX version: 1.7.1.116``), so
:func:`fusionlab.trt.artifacts.parse_log_text` reads the log as it reads trtexec's.

Example::

    result = build("model.onnx", progress=lambda phase, step, steps: ...)
    print(result.layers_dump)   # "Layers:\\nName: ..., Metadata: [ONNX Layer: conv0]..."
"""

from __future__ import annotations

import importlib.util
import json
import math
import operator
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fusionlab.errors import BuildError, BuilderUnavailable, InputError
from fusionlab.files import atomic_files

__all__ = [
    "BUILDERS",
    "BuildResult",
    "ProgressCallback",
    "available_builders",
    "build",
    "parse_shapes",
]

#: builder name -> (Python module, name shown to users)
BUILDERS: dict[str, tuple[str, str]] = {
    "tensorrt-rtx": ("tensorrt_rtx", "TensorRT-RTX"),
    "tensorrt": ("tensorrt", "TensorRT"),
}

_INSTALL_HINTS = {
    "tensorrt-rtx": "pip install tensorrt-rtx (or fusionlab[rtx])",
    "tensorrt": "pip install tensorrt",
}

#: ``progress(phase, step, steps)``: ``step`` completed steps out of ``steps``; 0 at
#: the start of a phase, ``steps`` at its end. Phases nest (TensorRT's own names).
ProgressCallback = Callable[[str, int, int], None]

#: The worker script, run by path (``-m fusionlab.trt._build_worker`` would import the
#: fusionlab package first).
_WORKER = Path(__file__).resolve().with_name("_build_worker.py")
_TAIL_LINES = 10
_KILL_GRACE = 5.0  # seconds to wait for a killed worker to be reaped


@dataclass(frozen=True)
class BuildResult:
    """What one successful build produced.

    Attributes:
        builder: "tensorrt-rtx" or "tensorrt".
        version: the TensorRT module's ``__version__``, e.g. "1.7.1.116".
        log: every message, one per line, ``[V] [TRT] message``; multi-line messages intact.
        layers_dump: the VERBOSE message starting with ``Layers:`` (one line per kernel,
            ``Metadata: [ONNX Layer: a]\\x1f[ONNX Layer: b]``), or None if none was logged.
        parser_errors: errors the ONNX parser recorded although parsing succeeded.
        seconds: wall-clock time of the whole build, worker start-up included.
        engine_bytes: size of the serialized engine.
    """

    builder: str
    version: str
    log: str
    layers_dump: str | None
    parser_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    engine_bytes: int = 0


def available_builders() -> list[str]:
    """The builders whose Python module can be found, without importing it.

    ``"tensorrt-rtx"`` if ``tensorrt_rtx`` is installed, ``"tensorrt"`` if ``tensorrt``
    is. Finding a module does not prove it loads (a broken install still fails in
    :func:`build`, with :class:`BuilderUnavailable`).
    """
    return [name for name, (module, _) in BUILDERS.items() if _module_found(module)]


def parse_shapes(
    shapes: Mapping[str, Sequence[int]] | Iterable[str] | str | None,
) -> dict[str, list[int]]:
    """Normalize input shapes to ``{name: [dims]}``.

    Accepts a mapping (``{"x": (1, 3, 224, 224)}``), strings ``"name:1x3x224x224"``
    (several separated by commas or spaces, or given as a list), or None. The name is
    everything before the last colon, so ONNX names containing colons work.

    Raises:
        InputError: a malformed entry, a non-positive dimension or a repeated name.
    """
    out: dict[str, list[int]] = {}
    if shapes is None:
        return out
    if isinstance(shapes, Mapping):
        for name, dims in shapes.items():
            out[str(name)] = _checked_dims(str(name), dims, f"{name}: {dims!r}")
        return out
    if isinstance(shapes, str):
        shapes = [shapes]
    for item in shapes:
        for spec in str(item).replace(",", " ").split():
            name, sep, dims_text = spec.rpartition(":")
            if not sep or not name or not dims_text:
                raise InputError(
                    f"bad --shapes entry {spec!r}: expected NAME:DIMxDIM..., e.g. x:1x3x224x224"
                )
            try:
                dims = [int(d) for d in dims_text.lower().split("x")]
            except ValueError:
                raise InputError(
                    f"bad --shapes entry {spec!r}: dimensions must be integers separated by 'x'"
                ) from None
            if name in out:
                raise InputError(f"--shapes gives input {name!r} twice")
            out[name] = _checked_dims(name, dims, spec)
    return out


def build(
    model_path: str | os.PathLike[str],
    *,
    builder: str = "tensorrt-rtx",
    timeout: float = 600.0,
    save_engine: str | os.PathLike[str] | None = None,
    timing_cache: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    shapes: Mapping[str, Sequence[int]] | Iterable[str] | str | None = None,
    precision: str = "fp32",
    precision_flags: Sequence[str] | None = None,
    profile: Mapping[str, Sequence[Sequence[int]]] | None = None,
) -> BuildResult:
    """Build ``model_path`` with ``builder`` in a subprocess and return its log.

    The worker parses the file with ``OnnxParser.parse_from_file`` (external data
    next to the model works), sets ``ProfilingVerbosity.DETAILED``, adds one
    optimization profile fixing every dynamic input (from ``shapes``; a dynamic
    dimension 0 defaults to 1, any other needs ``shapes``), and calls
    ``build_serialized_network``. TensorRT-RTX networks are strongly typed.

    Args:
        model_path: the ONNX file.
        builder: "tensorrt-rtx" or "tensorrt".
        timeout: seconds before the worker's process group is killed.
        save_engine: where to write the serialized engine (atomically), if anywhere.
        timing_cache: classic TensorRT only: loaded if the file exists, saved after the
            build. Ignored (with a ``[W]`` log line) for TensorRT-RTX, whose
            ``ITimingCache.serialize()`` crashes.
        progress: called in the caller's thread as ``progress(phase, step, steps)``.
        shapes: input shapes, see :func:`parse_shapes`.
        precision: ``fp32``, ``fp16``, ``bf16`` or ``int8``: the builder flags of a classic
            TensorRT build (``int8`` also allows FP16, as trtexec does); ignored, with a
            ``[W]`` log line, for TensorRT-RTX, whose networks are strongly typed.
        precision_flags: ``BuilderFlag`` names to set instead of ``precision``'s own
            (trtexec's ``--fp16 --int8``: ``("FP16", "INT8")``, see
            :mod:`fusionlab.precision`).
        profile: ``{input name: (min, opt, max)}``, each a list of dims: the optimization
            profile's range for that input (trtexec's ``--minShapes/--optShapes/
            --maxShapes``, validated by :func:`fusionlab.shapes.resolve_profile`); an input
            named here takes its range from it instead of ``shapes``.

    Raises:
        InputError: the model path does not exist, a bad option, or a dynamic input
            dimension with no shape.
        BuilderUnavailable: the builder's module cannot be imported.
        BuildError: the parser rejected the model (message names the nodes), the builder
            failed, crashed or timed out. The exception carries ``log`` (the log so far),
            ``log_tail`` (its last error lines, or last lines) and ``parser_errors``.
    """
    if builder not in BUILDERS:
        raise InputError(f"unknown builder {builder!r}: choose one of {', '.join(BUILDERS)}")
    if precision not in ("fp32", "fp16", "bf16", "int8"):
        raise InputError(f"unknown precision {precision!r}: choose one of fp32, fp16, bf16, int8")
    module, display = BUILDERS[builder]
    path = Path(model_path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise InputError(f"model {str(path)!r} {what}")
    timeout = check_timeout(timeout)
    for option, value in (("--save-engine", save_engine), ("--timing-cache", timing_cache)):
        if value is not None and not Path(value).absolute().parent.is_dir():
            raise InputError(f"{option} {str(value)!r}: directory does not exist")
    if not _module_found(module):
        raise BuilderUnavailable(f"{display} is not installed: {_INSTALL_HINTS[builder]}")

    request = {
        "builder": builder,
        "module": module,
        "model": str(path.absolute()),
        "save_engine": None,
        "timing_cache": str(Path(timing_cache).absolute()) if timing_cache is not None else None,
        "timing_cache_out": None,
        "shapes": parse_shapes(shapes),
        "precision": precision,
    }
    if precision_flags is not None:
        unknown = sorted(set(precision_flags) - {"FP16", "BF16", "INT8"})
        if unknown:
            raise InputError(f"unknown precision flag {unknown[0]!r}: choose among FP16, BF16, INT8")
        request["precision_flags"] = list(precision_flags)
    if profile:
        request["profile"] = {str(name): [_checked_dims(str(name), list(dims), f"{name}: {list(dims)}")
                                          for dims in rng] for name, rng in profile.items()}
    # The worker writes the engine and the updated cache to temp files of ours; they
    # replace the targets only when the build succeeded (fusionlab.files).
    targets = [Path(p).absolute() for p in (save_engine, timing_cache) if p is not None]
    with atomic_files(*targets) as temps:
        outputs = iter(temps)
        if save_engine is not None:
            request["save_engine"] = str(next(outputs))
        if timing_cache is not None:
            request["timing_cache_out"] = str(next(outputs))
        result = _run_worker(request, display, path.name, timeout, progress)
        for tmp in temps:
            if tmp.stat().st_size == 0:  # not written (a TensorRT-RTX timing cache)
                tmp.unlink()
    return result


#: Longest build timeout accepted, seconds (about 11.6 days); larger values overflow
#: the waits of ``queue`` and ``subprocess`` (OverflowError on ``inf`` or ``1e300``).
MAX_TIMEOUT = 1e6


def check_timeout(timeout: object, option: str = "timeout") -> float:
    """Return ``timeout`` as float seconds when it is finite and 0 < t <= :data:`MAX_TIMEOUT`.

    Raises:
        InputError: (exit code 2) not a number, NaN, infinite, zero, negative or above
            the maximum; the message names ``option``.
    """
    try:
        value = float(timeout)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{option} must be a number of seconds, not {timeout!r}") from None
    if math.isnan(value) or not 0 < value <= MAX_TIMEOUT:
        raise InputError(f"{option} must be a finite number of seconds, more than 0 and at most "
                         f"{MAX_TIMEOUT:g}, not {value:g}")
    return value


# --------------------------------------------------------------------------- internals


def _module_found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _checked_dims(name: str, dims: list, spec: str) -> list[int]:
    try:
        if isinstance(dims, (str, bytes)) or any(isinstance(d, bool) for d in dims):
            raise TypeError
        out = [operator.index(d) for d in dims]
    except TypeError:
        out = []
    if not out or any(d < 1 for d in out):
        raise InputError(
            f"bad --shapes entry {spec!r}: every dimension of {name} must be a positive integer"
        )
    return out


class _Log:
    """The log as it arrives: formatted lines plus the error messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.layers_dump: str | None = None

    def add(self, severity: str, message: str, origin: str = "TRT") -> None:
        line = (
            f"[{severity}] [TRT] {message}"
            if origin == "TRT"
            else f"[{severity}] {origin}: {message}"
        )
        self.lines.append(line)
        if severity in ("E", "F"):
            self.errors.append(line)
        elif severity == "V" and message.startswith("Layers:"):
            self.layers_dump = message

    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")

    def tail(self, stderr: str = "") -> str:
        """The last error lines; else the last lines of the log and of stderr."""
        if self.errors:
            return "\n".join(self.errors[-_TAIL_LINES:])
        lines = [line for msg in self.lines[-_TAIL_LINES:] for line in msg.splitlines()]
        lines = lines[-_TAIL_LINES:]
        lines += [line for line in stderr.splitlines() if line.strip()][-_TAIL_LINES:]
        return "\n".join(lines)


def _build_error(
    message: str, log: _Log, stderr: str = "", parser_errors: list[str] | None = None
) -> BuildError:
    error = BuildError(message)
    error.log = log.text()
    error.log_tail = log.tail(stderr)
    error.parser_errors = list(parser_errors or [])
    error.stderr = stderr
    return error


def _worker_env() -> dict[str, str]:
    """The environment for the worker: unbuffered, so every message arrives as it is
    sent, and the parent's pid (the worker exits if it is no longer its parent)."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["_FUSIONLAB_BUILD_PARENT"] = str(os.getpid())  # _build_worker.die_with_parent
    return env


def _reader(stream, messages: queue.Queue) -> None:
    for line in stream:
        messages.put(line)
    messages.put(None)


#: Signals that end fusionlab while a worker runs; their handler kills the worker's
#: process group first (SIGINT is KeyboardInterrupt, handled by the ``finally``).
_FATAL_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextmanager
def _restoring(restore: Callable[[], None]):
    try:
        yield
    finally:
        restore()


def _kill_on_signals(running: list[subprocess.Popen]) -> Callable[[], None]:
    """Install SIGTERM/SIGHUP handlers that SIGKILL the process group of the worker in
    ``running`` (appended once it is started, so no signal slips in between) and exit
    with ``128 + signal`` (``SystemExit``, so ``finally`` blocks remove temp files);
    returns the function restoring the previous handlers. A no-op outside the main
    thread (Python only lets the main thread set handlers). SIGKILL of fusionlab
    itself is covered by the worker (``PR_SET_PDEATHSIG``, see ``_build_worker``).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}

    def handler(signum, frame):
        for proc in running:
            _kill_group(proc)
        print(f"fusionlab: terminated by {signal.Signals(signum).name}; build worker killed",
              file=sys.stderr)
        raise SystemExit(128 + signum)

    for sig in _FATAL_SIGNALS:
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover - not settable here
            pass

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    _kill_group(proc)
    try:
        proc.wait(timeout=_KILL_GRACE)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
        pass


def _signal_name(returncode: int) -> str:
    """``-11`` -> ``"signal SIGSEGV"``."""
    try:
        return f"signal {signal.Signals(-returncode).name}"
    except ValueError:
        return f"signal {-returncode}"


def _run_worker(
    request: dict,
    display: str,
    model_name: str,
    timeout: float,
    progress: ProgressCallback | None,
) -> BuildResult:
    log = _Log()
    start = time.monotonic()
    deadline = start + timeout
    result: dict | None = None
    error: dict | None = None
    running: list[subprocess.Popen] = []  # the worker, once started, for the signal handlers
    restore = _kill_on_signals(running)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as stderr_file, \
            _restoring(restore):
        proc = subprocess.Popen(
            [sys.executable, str(_WORKER), json.dumps(request)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=_worker_env(),
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=hasattr(os, "killpg"),
        )
        running.append(proc)
        messages: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_reader, args=(proc.stdout, messages), daemon=True)
        reader.start()
        timed_out = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                try:
                    line = messages.get(timeout=remaining)
                except queue.Empty:
                    timed_out = True
                    break
                if line is None:  # the worker closed its stdout: it is exiting
                    break
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    log.add("I", f"unexpected worker output: {line.rstrip()}", "fusionlab")
                    continue
                kind = message.get("type")
                if kind == "log":
                    log.add(
                        message.get("severity", "V"),
                        message.get("message", ""),
                        message.get("origin", "TRT"),
                    )
                elif kind == "progress":
                    if progress is not None:
                        progress(message["phase"], int(message["step"]), int(message["steps"]))
                elif kind == "result":
                    result = message
                    break  # the last message; don't wait for the worker's EOF
                elif kind == "error":
                    error = message
                    break
            if not timed_out:
                try:
                    proc.wait(timeout=_KILL_GRACE)
                except subprocess.TimeoutExpired:
                    pass  # a result is in; a worker stuck in teardown is killed below
        finally:
            # Also on KeyboardInterrupt, SIGTERM/SIGHUP or an exception raised by ``progress``.
            _kill(proc)
            reader.join(timeout=_KILL_GRACE)
            if proc.stdout is not None:
                proc.stdout.close()
        seconds = time.monotonic() - start
        stderr_file.seek(0)
        stderr = stderr_file.read()

    if timed_out:
        raise _build_error(
            f"{display} build of {model_name} timed out after {timeout:g} s", log, stderr
        )
    if error is not None:
        kind, text = error.get("kind"), error.get("message", "")
        if kind == "unavailable":
            hint = _INSTALL_HINTS[request["builder"]]
            raise BuilderUnavailable(f"{display} cannot be imported ({text}): {hint}")
        if kind == "input":
            raise InputError(text)
        if kind == "internal":
            text = f"{display} build of {model_name} failed: {text}"
        raise _build_error(text, log, stderr, error.get("parser_errors"))
    if result is None and proc.returncode is not None and proc.returncode < 0:
        raise _build_error(
            f"{display} builder crashed ({_signal_name(proc.returncode)}) "
            f"while building {model_name}",
            log,
            stderr,
        )
    if result is None:
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
        detail = f": {last.strip()}" if last else ""
        raise _build_error(
            f"{display} build worker exited with code {proc.returncode} and no result "
            f"while building {model_name}{detail}",
            log,
            stderr,
        )
    return BuildResult(
        builder=request["builder"],
        version=str(result.get("version", "")),
        log=log.text(),
        layers_dump=log.layers_dump,
        parser_errors=list(result.get("parser_errors") or []),
        seconds=seconds,
        engine_bytes=int(result.get("engine_bytes", 0)),
    )
