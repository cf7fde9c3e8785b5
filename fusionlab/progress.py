"""Progress bars of the long steps (live builds, ``verify --corpus``, ``rewrite --verify``).

A bar is drawn with :mod:`rich.progress` on stderr, and only when stderr is a terminal:
piped or redirected (CI logs, tests, ``2> log``) nothing is written, so logs hold only
the report and the ``fusionlab: ...`` lines. The bar is transient: it is erased when
the step ends.

Callers pass the library functions a plain callback, ``progress(description, step,
steps)`` (``step`` steps done out of ``steps``; ``steps`` 0 when unknown), the shape
:data:`fusionlab.trt.build.ProgressCallback` already has; :class:`StepProgress` makes
such callbacks. rich only: no onnx, numpy or networkx.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fusionlab.text import markup

__all__ = ["Callback", "StepProgress", "stderr_console"]

#: ``progress(description, step, steps)``: ``step`` of ``steps`` done (``steps`` 0: unknown).
Callback = Callable[[str, int, int], None]
#: Longest description shown (a model or builder phase name is cut to this).
WIDTH = 60


def stderr_console() -> Console | None:
    """The console progress bars draw on: stderr when it is a terminal, else ``None``
    (no bar). Tests replace this function to inject a ``Console(force_terminal=True)``."""
    return Console(stderr=True) if sys.stderr.isatty() else None


class StepProgress:
    """A context manager showing one transient progress bar per task, or nothing.

    Example::

        with StepProgress() as bars:
            result = calibrate(folder, progress=bars.callback("verify"))

    Args:
        console: where to draw; default :func:`stderr_console` (``None`` when stderr is
            not a terminal, then every callback does nothing).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = stderr_console() if console is None else console
        self._bar: Progress | None = None

    @property
    def enabled(self) -> bool:
        """Whether bars are drawn (a console was found or given)."""
        return self.console is not None

    def __enter__(self) -> StepProgress:
        if self.console is not None:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                 transient=True)
            self._bar.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def callback(self, prefix: str = "") -> Callback | None:
        """A ``progress(description, step, steps)`` callback drawing one task of the bar,
        its description ``prefix: description``; ``None`` when no bar is drawn (the
        library functions then skip the calls)."""
        if self._bar is None:
            return None
        bar = self._bar
        task = bar.add_task(markup(prefix), total=None)

        def progress(description: str, step: int, steps: int) -> None:
            text = f"{prefix}: {description}" if prefix and description else (prefix or description)
            if len(text) > WIDTH:
                text = text[:WIDTH - 3] + "..."
            bar.update(task, description=markup(text), completed=step, total=steps or None)

        return progress
