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
from fusionlab.files import check_outputs, write_atomic
from fusionlab.text import printable

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
    """verify's and rewrite's report formats (``text`` is the old name of ``full``)."""
    full = "full"
    text = "text"
    json = "json"


class OutputFormat(str, Enum):
    """analyze's report formats (fusionlab.formats.FORMATS; ``text`` = ``full``)."""
    full = "full"
    concise = "concise"
    json = "json"
    sarif = "sarif"
    github = "github"
    text = "text"


class FailOn(str, Enum):
    """``--fail-on`` thresholds; ``missed`` and ``lint`` are old spellings of ``warning``."""
    error = "error"
    warning = "warning"
    info = "info"
    missed = "missed"
    lint = "lint"


def _timeout(value: float) -> float:
    """typer callback of ``--timeout``: finite, 0 < t <= 1e6 s (fusionlab.trt.build.check_timeout)."""
    from fusionlab.trt.build import check_timeout

    return check_timeout(value, "--timeout")


def _failing(findings, fail_on: FailOn) -> bool:
    """Whether a finding is at least as severe as ``fail_on`` (``missed``: a missed fusion
    of severity warning or error; ``lint``: any finding of severity warning or error)."""
    from fusionlab.diagnostic import SEVERITIES

    if fail_on is FailOn.missed:
        findings = [f for f in findings if f.status == "missed"]
    level = "warning" if fail_on in (FailOn.missed, FailOn.lint) else fail_on.value
    return any(SEVERITIES.index(f.severity) <= SEVERITIES.index(level) for f in findings)


def _default_format(output: Optional[Path]) -> str:
    """``full`` on a terminal and with ``-o`` (the rich report at 140 columns, as before),
    ``concise`` when stdout is piped or redirected."""
    return "full" if output is not None or sys.stdout.isatty() else "concise"


def _split(values: Optional[list[str]]) -> list[str] | None:
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


#: Built-in defaults of analyze's settings (a config file or an option overrides them).
ANALYZE_DEFAULTS = {"target": "tensorrt", "precision": "fp32", "sm": 8.6, "select": None,
                    "extend-select": [], "ignore": None, "fail-on": None, "output-format": None,
                    "per-node-ignores": {}}


def _in_force(settings, **given) -> dict:
    """Options given on the command line over the config file's values over the defaults."""
    values = dict(ANALYZE_DEFAULTS)
    values.update(settings.values)
    values.update({k.replace("_", "-"): v for k, v in given.items() if v is not None})
    return values


@app.command()
def analyze(
    model: Path = typer.Argument(..., help="ONNX model file."),
    target: Optional[Target] = typer.Option(None, help="Builder whose fusions to predict (default tensorrt)."),
    precision: Optional[Precision] = typer.Option(None, help="Builder precision, classic TensorRT flags (default fp32)."),
    sm: Optional[float] = typer.Option(None, help="GPU compute capability, e.g. 8.6 for SM 8.6 (default 8.6)."),
    fmt: Optional[OutputFormat] = typer.Option(
        None, "--output-format", "--format",
        help="full (rich report; default on a terminal), concise (one finding a line; default "
             "when piped), json, sarif (SARIF 2.1.0) or github (workflow annotations)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    select: Optional[list[str]] = typer.Option(None, help="Keep diagnostics whose code starts with these prefixes."),
    extend_select: Optional[list[str]] = typer.Option(None, "--extend-select", help="Prefixes added to --select (or to the config's select)."),
    ignore: Optional[list[str]] = typer.Option(None, help="Drop diagnostics whose code starts with these prefixes."),
    fail_on: Optional[FailOn] = typer.Option(None, "--fail-on", help="Exit 1 when a finding is this severe or more (error, warning, info)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default: fusionlab.toml or pyproject.toml [tool.fusionlab] above MODEL)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Drop the findings this baseline file lists (report only new ones)."),
    write_baseline: bool = typer.Option(False, "--write-baseline", help="Write this run's findings to the --baseline file and exit 0."),
) -> None:
    """Predict the engine layers TensorRT builds from MODEL and explain every missed fusion."""
    from fusionlab.analysis import analyze as run_analyze
    from fusionlab.config import settings_for
    from fusionlab.formats import render
    from fusionlab.report import render_text

    if output is not None:
        from fusionlab.graph import model_files

        check_outputs({"-o/--output": output}, [*model_files(model), baseline])
    if write_baseline and baseline is None:
        raise InputError("--write-baseline needs --baseline FILE (the file to write)")
    accepted = None
    if write_baseline:
        from fusionlab.graph import model_files

        check_outputs({"-o/--output": output, "--baseline": baseline}, model_files(model))
    elif baseline is not None:
        from fusionlab.baseline import read_baseline

        accepted = read_baseline(baseline)  # before the analysis: a bad file fails fast
    settings = settings_for(model, config)
    opts = _in_force(settings, target=target and target.value, precision=precision and precision.value,
                     sm=sm, select=_split(select), extend_select=_split(extend_select),
                     ignore=_split(ignore), fail_on=fail_on and fail_on.value,
                     output_format=fmt and fmt.value)
    chosen = None if opts["select"] is None else opts["select"] + list(opts["extend-select"])
    report = run_analyze(model, target=opts["target"], precision=opts["precision"], sm=opts["sm"],
                         select=chosen, ignore=opts["ignore"], per_node_ignores=opts["per-node-ignores"])
    if write_baseline:
        from fusionlab.baseline import write_baseline as write_file

        write_file(baseline, report)
        print(f"fusionlab: wrote {len([d for d in report.diagnostics if d.status in ('missed', 'lint')])} "
              f"diagnostics to baseline {baseline}", file=sys.stderr)
        return
    if accepted is not None:
        from fusionlab.baseline import apply_baseline

        report = apply_baseline(report, accepted)
    name = opts["output-format"] or _default_format(output)
    name = "full" if name == "text" else name
    if name == "full":
        _emit_rich(output, lambda c: render_text(report, c))
    else:
        _write(output, render(report, name, str(model)))
    if opts["fail-on"] is not None and _failing(report.findings, FailOn(opts["fail-on"])):
        raise typer.Exit(1)


@app.command("config")
def show_config(
    model: Optional[Path] = typer.Argument(None, help="Model (or folder) whose settings to show (default: the current folder)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file to read instead of searching."),
) -> None:
    """Print the analyze settings in force: the file found (or given) and every key."""
    import json

    from fusionlab.config import settings_for

    settings = settings_for(model, config)
    values = _in_force(settings)
    sys.stdout.write(f"# config file: {settings.path if settings.path else 'none found (built-in defaults)'}\n")
    for key, value in values.items():
        where = "file" if key in settings.values else "default"
        sys.stdout.write(f"{key} = {json.dumps(value)}  # {where}\n")


def _default_verify_target() -> Target:
    from fusionlab.trt.build import available_builders

    found = available_builders()
    if "tensorrt" in found and "tensorrt-rtx" not in found:
        return Target.tensorrt
    return Target.tensorrt_rtx


@app.command()
def verify(
    model: Optional[Path] = typer.Argument(None, help="ONNX model file (omit with --corpus)."),
    target: Optional[Target] = typer.Option(None, help="Builder: tensorrt-rtx (default when installed) or tensorrt."),
    precision: Precision = typer.Option(Precision.fp32, help="Builder precision the prediction assumes."),
    sm: float = typer.Option(8.6, help="GPU compute capability the prediction assumes."),
    layer_info: Optional[Path] = typer.Option(None, "--layer-info", help="trtexec --exportLayerInfo JSON (no build)."),
    log: Optional[Path] = typer.Option(None, "--log", help="trtexec --verbose build log (no build)."),
    profile: Optional[Path] = typer.Option(None, "--profile", help="trtexec --exportProfile JSON."),
    timeout: float = typer.Option(600.0, callback=_timeout, help="Seconds before a live build is killed (0 < t <= 1e6)."),
    save_log: Optional[Path] = typer.Option(None, "--save-log", help="Write the live build's full log here."),
    save_engine: Optional[Path] = typer.Option(None, "--save-engine", help="Write the serialized engine here."),
    timing_cache: Optional[Path] = typer.Option(None, "--timing-cache", help="Classic TensorRT timing cache, reused across builds."),
    shapes: Optional[list[str]] = typer.Option(None, "--shape", help="Input shape for dynamic inputs, name:1x3x224x224."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Verify every .onnx under this folder; print the calibration table."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Parallel builds with --corpus."),
    min_f1: Optional[float] = typer.Option(None, "--min-f1", min=0.0, max=1.0, help="Exit 1 when the fused-edge F1 is below this (or not scored)."),
    fmt: Format = typer.Option(Format.full, "--output-format", "--format", help="full (rich report) or json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
) -> None:
    """Build MODEL with TensorRT (or read the files a build left) and score analyze's prediction."""
    import json

    from fusionlab.verification import calibrate, corpus_exit_code, corpus_json, render_corpus, render_verification
    from fusionlab.verification import verify as run_verify

    tgt = (target or (_default_verify_target() if not (layer_info or log) else Target.tensorrt)).value
    if corpus is not None:
        if model is not None:
            raise InputError("give either MODEL or --corpus, not both")
        check_outputs({"-o/--output": output})
        result = calibrate(corpus, jobs=jobs, target=tgt, precision=precision.value, sm=sm,
                           timeout=timeout, shapes=shapes)
        _emit(fmt, output, json.dumps(corpus_json(result), indent=2) + "\n", lambda c: render_corpus(result, c))
        code = corpus_exit_code(result, min_f1)
        if code:
            raise typer.Exit(code)
        return
    if model is None:
        raise InputError("verify needs MODEL (or --corpus DIR)")
    from fusionlab.graph import model_files

    check_outputs({"-o/--output": output, "--save-log": save_log, "--save-engine": save_engine,
                   "--timing-cache": timing_cache},
                  [*model_files(model), layer_info, log, profile])
    progress = None
    bar = None
    if not (layer_info or log) and fmt is not Format.json and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True, console=Console(stderr=True))
        task = bar.add_task("building", total=None)

        def progress(phase: str, step: int, steps: int) -> None:
            bar.update(task, description=phase[:60], completed=step, total=steps or None)

        bar.start()
    try:
        v = run_verify(model, target=tgt, precision=precision.value, sm=sm, layer_info=layer_info, log=log,
                       profile=profile, timeout=timeout, save_log=save_log, save_engine=save_engine,
                       timing_cache=timing_cache, shapes=shapes, progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    _emit(fmt, output, json.dumps(v.to_json(), indent=2) + "\n", lambda c: render_verification(v, c))
    f1 = v.comparison.score.f1
    if min_f1 is not None and (f1 is None or f1 < min_f1):
        raise typer.Exit(1)


@app.command()
def rewrite(
    model: Path = typer.Argument(..., help="ONNX model file."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write the rewritten model."),
    in_place: bool = typer.Option(False, "--in-place", help="Overwrite MODEL (needed to write over the input)."),
    passes: Optional[list[str]] = typer.Option(None, "--passes", help="Passes to run (names, rule names or codes; comma-separated). Default: all."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing."),
    target: Target = typer.Option(Target.tensorrt, help="Builder whose fusions to make happen."),
    precision: Precision = typer.Option(Precision.fp32, help="Builder precision (classic TensorRT flags)."),
    sm: float = typer.Option(8.6, help="GPU compute capability, e.g. 8.6 for SM 8.6."),
    shapes: Optional[list[str]] = typer.Option(None, "--shape", help="Size of symbolic input dims, name:1x3x224x224."),
    atol: Optional[float] = typer.Option(None, "--atol", help="Absolute tolerance of float outputs (default per dtype)."),
    rtol: Optional[float] = typer.Option(None, "--rtol", help="Relative tolerance of float outputs (default per dtype)."),
    no_check: bool = typer.Option(False, "--no-check", help="Skip the ONNX Runtime equivalence check (write unchecked)."),
    allow_requantize: bool = typer.Option(False, "--allow-requantize", help="Quantize a float residual with the scale of the quantizer that already reads it (TRT409; rounds values, not exact: needs --atol)."),
    verify_build: bool = typer.Option(False, "--verify", help="Build before and after with TensorRT-RTX (or TensorRT) and count engine layers."),
    timeout: float = typer.Option(600.0, callback=_timeout, help="Seconds before a --verify build is killed (0 < t <= 1e6)."),
    fmt: OutputFormat = typer.Option(OutputFormat.full, "--output-format", "--format",
                                     help="full (rich report), json, or concise / sarif / github: the findings left in the rewritten model."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Write the report to this file instead of stdout."),
) -> None:
    """Rewrite MODEL so TensorRT makes the fusions it misses; prove the outputs unchanged."""
    import json

    from fusionlab.rewriting import check_output_path, has_external_data, render_rewrite, write_model_atomic
    from fusionlab.rewriting import rewrite as run_rewrite

    if in_place and output is not None and output.resolve() != model.resolve():
        raise InputError("give either --in-place or -o/--output, not both")
    dest = model if in_place else output
    if dest is None and not dry_run:
        raise InputError("rewrite needs -o/--output OUT.onnx (or --in-place, or --dry-run)")
    if dest is not None and not dry_run:
        if not in_place and model.exists() and dest.exists() and dest.resolve() == model.resolve():
            raise InputError(f"{dest}: is the input model; pass --in-place to overwrite it")
        check_output_path(dest)
    from fusionlab.graph import model_files

    inputs = model_files(model)
    outputs = {"-o/--output": None if dry_run else dest, "--report": report_file}
    if dest is not None and not dry_run and (len(inputs) > 1 or in_place):
        outputs["-o/--output's external data"] = dest.with_name(f"{dest.name}.data")
    check_outputs(outputs, inputs,
                  updates=("-o/--output", "-o/--output's external data") if in_place else ())
    # NotRunnable (ONNX Runtime cannot run the input) is one error line, exit 2
    new, report = run_rewrite(model, target=target.value, precision=precision.value, sm=sm,
                              passes=_split(passes), check=not no_check, allow_unchecked=dry_run,
                              shapes=shapes, atol=atol, rtol=rtol, verify=verify_build, timeout=timeout,
                              allow_requantize=allow_requantize)
    for w in report.warnings:
        print(f"fusionlab: warning: {printable(w)}", file=sys.stderr)
    written = None
    if not dry_run and dest is not None and not (in_place and not report.changed):
        external = has_external_data(model) or new.ByteSize() > 1_800_000_000
        written = write_model_atomic(new, dest, external)
    data = report.to_json()
    data["output"] = None if written is None else [str(p) for p in written]
    data["dry_run"] = dry_run
    if fmt in (OutputFormat.concise, OutputFormat.sarif, OutputFormat.github):
        from fusionlab.formats import render

        _write(report_file, render(report.after, fmt.value, str(model if dry_run or dest is None else dest)))
        return
    _emit(Format.json if fmt is OutputFormat.json else Format.full, report_file, json.dumps(data, indent=2) + "\n",
          lambda c: render_rewrite(report, c, output=None if dry_run else str(dest), dry_run=dry_run))


def _write(output: Optional[Path], text: str) -> None:
    """``text`` to the file ``output`` (atomically) or to stdout."""
    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


def _emit(fmt: Format, output: Optional[Path], json_text: str, render) -> None:
    if fmt is Format.json:
        _write(output, json_text)
    else:
        _emit_rich(output, render)


def _emit_rich(output: Optional[Path], render) -> None:
    """Run ``render(console)`` on the terminal, or into the file ``output`` (140 columns)."""
    if output:
        console = Console(record=True, width=140, file=open(os.devnull, "w"), emoji=False)
        render(console)
        write_atomic(output, console.export_text())
    else:
        render(Console(emoji=False))


@app.command("rules")
def list_rules(fmt: Format = typer.Option(Format.text, "--format")) -> None:
    """List every rule: code, name, targets and the TensorRT guide section it encodes."""
    import json

    from fusionlab.catalogue import catalogue_markdown, listed_rows

    rows = listed_rows()  # the built-in catalogue is data: no rule, onnx or numpy imported
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        sys.stdout.write(catalogue_markdown(rows))


def _version(value: bool) -> None:
    if value:
        from fusionlab import __version__

        sys.stdout.write(f"fusionlab {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print fusionlab's version and exit.")) -> None:
    """Predict, verify and fix TensorRT layer fusions in ONNX models."""


def _usage_errors() -> tuple:
    """click's ``(NoArgsIsHelpError, UsageError)``: vendored by typer >= 0.2x as
    ``typer._click``, the ``click`` package before (whose older releases have no
    ``NoArgsIsHelpError``: then ``()``, which catches nothing)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return getattr(exceptions, "NoArgsIsHelpError", ()), exceptions.UsageError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    NoArgsIsHelpError, UsageError = _usage_errors()
    try:
        # standalone_mode=False: a usage error (an unknown option, a value out of range)
        # comes back here and becomes one line, instead of click's multi-line panel
        result = app(args=argv, prog_name="fusionlab", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except NoArgsIsHelpError as exc:  # `fusionlab` or `fusionlab analyze` alone: the help
        exc.show()
        return exc.exit_code
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "fusionlab"
        print(f"fusionlab: error: {printable(exc.format_message())} (see `{printable(command)} --help`)",
              file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except FusionlabError as exc:
        print(f"fusionlab: error: {printable(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fusionlab: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything unexpected: one line, distinct code
        if os.environ.get("FUSIONLAB_DEBUG"):
            raise
        print(f"fusionlab: internal error: {type(exc).__name__}: {printable(exc)} "
              "(set FUSIONLAB_DEBUG=1 for a traceback)", file=sys.stderr)
        return INTERNAL_ERROR


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
