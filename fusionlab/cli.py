"""The ``fusionlab`` command line (typer + rich).

Every :class:`fusionlab.errors.FusionlabError` becomes one line on stderr,
``fusionlab: error: <message>``, and its exit code; no traceback escapes (set
``FUSIONLAB_DEBUG=1`` to see one for an internal error).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from fusionlab.errors import FusionlabError, InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Predict, verify and fix TensorRT layer fusions in ONNX models.")
INTERNAL_ERROR = 70


class Target(str, Enum):
    tensorrt = "tensorrt"
    tensorrt_rtx = "tensorrt-rtx"


class Precision(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


class Format(str, Enum):
    text = "text"
    json = "json"


class FailOn(str, Enum):
    missed = "missed"
    lint = "lint"


def _split(values: Optional[list[str]]) -> list[str] | None:
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file + rename (nothing half-written).

    Raises:
        InputError: the folder is missing or not writable.
    """
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None


@app.command()
def analyze(
    model: Path = typer.Argument(..., help="ONNX model file."),
    target: Target = typer.Option(Target.tensorrt, help="Builder whose fusions to predict."),
    precision: Precision = typer.Option(Precision.fp32, help="Builder precision (classic TensorRT flags)."),
    sm: float = typer.Option(8.6, help="GPU compute capability, e.g. 8.6 for SM 8.6."),
    fmt: Format = typer.Option(Format.text, "--format", help="text report or the documented JSON."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    select: Optional[list[str]] = typer.Option(None, help="Keep diagnostics whose code starts with these prefixes."),
    ignore: Optional[list[str]] = typer.Option(None, help="Drop diagnostics whose code starts with these prefixes."),
    fail_on: Optional[FailOn] = typer.Option(None, "--fail-on", help="Exit 1 when such diagnostics exist."),
) -> None:
    """Predict the engine layers TensorRT builds from MODEL and explain every missed fusion."""
    from fusionlab.analyze import analyze as run_analyze
    from fusionlab.report import render_text

    report = run_analyze(model, target=target.value, precision=precision.value, sm=sm,
                         select=_split(select), ignore=_split(ignore))
    if fmt is Format.json:
        text = report.dumps() + "\n"
        if output:
            write_atomic(output, text)
        else:
            sys.stdout.write(text)
    else:
        if output:
            console = Console(record=True, width=140, file=open(os.devnull, "w"))
            render_text(report, console)
            write_atomic(output, console.export_text())
        else:
            render_text(report, Console())
    if fail_on is FailOn.missed and report.missed:
        raise typer.Exit(1)
    if fail_on is FailOn.lint and (report.lints or report.missed):
        raise typer.Exit(1)


@app.command("rules")
def list_rules(fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """List every rule: code, name, targets and the TensorRT guide section it encodes."""
    from fusionlab.catalogue import catalogue_markdown, catalogue_rows
    import json

    if fmt is Format.json:
        sys.stdout.write(json.dumps(catalogue_rows(), indent=2) + "\n")
    else:
        sys.stdout.write(catalogue_markdown())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        app(args=argv, prog_name="fusionlab")  # click handles usage errors: exit 2
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except FusionlabError as exc:
        print(f"fusionlab: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fusionlab: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything unexpected: one line, distinct code
        if os.environ.get("FUSIONLAB_DEBUG"):
            raise
        print(f"fusionlab: internal error: {type(exc).__name__}: {exc} "
              "(set FUSIONLAB_DEBUG=1 for a traceback)", file=sys.stderr)
        return INTERNAL_ERROR


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
