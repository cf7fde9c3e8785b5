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

app = typer.Typer(add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
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
    html = "html"
    markdown = "markdown"


class OutputFormat(str, Enum):
    """analyze's report formats (fusionlab.formats.FORMATS; ``text`` = ``full``)."""
    full = "full"
    concise = "concise"
    json = "json"
    sarif = "sarif"
    github = "github"
    html = "html"
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
ANALYZE_DEFAULTS = {"target": "tensorrt", "precision": "fp32", "sm": 8.6, "shapes": None, "select": None,
                    "extend-select": [], "ignore": None, "fail-on": None, "output-format": None,
                    "per-node-ignores": {}}


def _in_force(settings, **given) -> dict:
    """Options given on the command line over the config file's values over the defaults."""
    values = dict(ANALYZE_DEFAULTS)
    values.update(settings.values)
    values.update({k.replace("_", "-"): v for k, v in given.items() if v is not None})
    return values


#: help texts of the trtexec spellings shared by analyze, verify and rewrite
_FP16_HELP = ("trtexec --fp16: enable FP16 kernels (flags combine; fusionlab predicts at the lowest "
              "precision enabled: int8 if --int8, else fp16, else bf16). Not with --precision.")
_BF16_HELP = "trtexec --bf16: enable BF16 kernels (see --fp16)."
_INT8_HELP = "trtexec --int8: enable INT8 kernels (fusionlab precision int8; see --fp16)."
_BEST_HELP = "trtexec --best: enable every precision (FP16 + INT8, and BF16 on SM 8.0+; fusionlab precision int8)."
_SHAPES_HELP = ("trtexec --shapes: input shapes name:1x3x224x224,name2:... ('quoted:name':1x3 for a name "
                "with a colon; repeatable). Alone it fixes the inputs; with a profile it must lie inside it. "
                "--shape is the old spelling, same meaning.")
_MIN_HELP = "trtexec --minShapes: the optimization profile's smallest shapes (needs --optShapes and --maxShapes)."
_OPT_HELP = ("trtexec --optShapes: the profile's opt shapes, where fusionlab predicts and checks (alone: "
             "min = opt = max).")
_MAX_HELP = "trtexec --maxShapes: the optimization profile's largest shapes (needs --minShapes and --optShapes)."


def _precision_choice(precision, fp16: bool, bf16: bool, int8: bool, best: bool, sm: float,
                      default: str = "fp32"):
    """``--precision`` or trtexec's flags as a :class:`fusionlab.precision.PrecisionChoice`."""
    from fusionlab.precision import choose_precision

    value = precision.value if isinstance(precision, Enum) else precision
    return choose_precision(value, fp16=fp16, bf16=bf16, int8=int8, best=best, sm=sm, default=default)


def _shape_request(shapes, min_shapes, opt_shapes, max_shapes):
    """The four shape options, syntax checked (:func:`fusionlab.shapes.shape_request`)."""
    from fusionlab.shapes import shape_request

    return shape_request(shapes or None, min_shapes or None, opt_shapes or None, max_shapes or None)


#: command-line parameter -> the option name ignored-option warnings use
_OPTION_NAMES = {"precision": "--precision", "fp16": "--fp16", "bf16": "--bf16", "int8": "--int8",
                 "best": "--best", "sm": "--sm", "timeout": "--timeout", "save_log": "--save-log",
                 "save_engine": "--save-engine", "timing_cache": "--timing-cache", "jobs": "--jobs",
                 "min_shapes": "--minShapes", "max_shapes": "--maxShapes"}


def _given(ctx: typer.Context, values: dict) -> dict[str, str]:
    """The options of :data:`_OPTION_NAMES` given on the command line, name -> shown text."""
    out = {}
    for param, option in _OPTION_NAMES.items():
        source = ctx.get_parameter_source(param) if param in values else None
        if source is not None and source.name == "COMMANDLINE":
            v = values[param]
            v = v.value if isinstance(v, Enum) else v
            out[option] = option if isinstance(v, bool) else f"{option} {v if not isinstance(v, list) else ','.join(map(str, v))}"
    return out


def _ignored(command: str, target: str, given: dict[str, str], **mode) -> list[str]:
    """The warnings for the options ignored (:func:`fusionlab.ignored.ignored_options`);
    the command prints them once its input is known good (:func:`_print_warnings`), so a
    bad input still gets one error line."""
    from fusionlab.ignored import ignored_options

    return ignored_options(command, target, given, **mode)


def _print_warnings(warnings: list[str]) -> None:
    for w in warnings:
        print(f"fusionlab: warning: {printable(w)}", file=sys.stderr)


@app.command()
def analyze(
    ctx: typer.Context,
    model: list[Path] = typer.Argument(..., help="ONNX model files, or folders searched for *.onnx (several: a summary table at the end)."),
    target: Optional[Target] = typer.Option(None, help="Builder whose fusions to predict (default tensorrt)."),
    precision: Optional[Precision] = typer.Option(None, help="Builder precision, classic TensorRT flags (default fp32; or trtexec's --fp16 --bf16 --int8 --best)."),
    fp16: bool = typer.Option(False, "--fp16", help=_FP16_HELP),
    bf16: bool = typer.Option(False, "--bf16", help=_BF16_HELP),
    int8: bool = typer.Option(False, "--int8", help=_INT8_HELP),
    best: bool = typer.Option(False, "--best", help=_BEST_HELP),
    sm: Optional[float] = typer.Option(None, help="GPU compute capability, e.g. 8.6 for SM 8.6 (default 8.6)."),
    shapes: Optional[list[str]] = typer.Option(None, "--shapes", "--shape", help=_SHAPES_HELP),
    min_shapes: Optional[list[str]] = typer.Option(None, "--minShapes", help=_MIN_HELP),
    opt_shapes: Optional[list[str]] = typer.Option(None, "--optShapes", help=_OPT_HELP + " analyze predicts at them."),
    max_shapes: Optional[list[str]] = typer.Option(None, "--maxShapes", help=_MAX_HELP),
    fmt: Optional[OutputFormat] = typer.Option(
        None, "--output-format", "--format",
        help="full (rich report; default on a terminal), concise (one finding a line; default "
             "when piped), json, sarif (SARIF 2.1.0), github (workflow annotations) or html "
             "(the graph with its engine layers; needs -o)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report (of every model) to this file."),
    select: Optional[list[str]] = typer.Option(None, help="Keep diagnostics whose code starts with these prefixes."),
    extend_select: Optional[list[str]] = typer.Option(None, "--extend-select", help="Prefixes added to --select (or to the config's select)."),
    ignore: Optional[list[str]] = typer.Option(None, help="Drop diagnostics whose code starts with these prefixes."),
    fail_on: Optional[FailOn] = typer.Option(None, "--fail-on", help="Exit 1 when a finding is this severe or more (error, warning, info)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Settings file (default: fusionlab.toml or pyproject.toml [tool.fusionlab] above MODEL)."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="Drop the findings this baseline file lists (report only new ones; one model)."),
    write_baseline: bool = typer.Option(False, "--write-baseline", help="Write this run's findings to the --baseline file and exit 0."),
) -> None:
    """Predict the engine layers TensorRT builds from MODEL and explain every missed fusion."""
    from fusionlab.batch import model_paths
    from fusionlab.formats import render
    from fusionlab.graph import model_files
    from fusionlab.report import render_text

    found = model_paths(model)
    if len(found) == 1 and found[0][1] is not None:
        raise found[0][1]
    models = [p for p, err in found if err is None]
    if output is not None:
        check_outputs({"-o/--output": output}, [*(f for m in models for f in model_files(m)), baseline])
    _html_needs_file(fmt, output, "-o FILE")
    if fmt is OutputFormat.html and len(found) > 1:
        raise InputError(f"--output-format html draws one model, not {len(found)}: run analyze once per model")
    if write_baseline and baseline is None:
        raise InputError("--write-baseline needs --baseline FILE (the file to write)")
    accepted = None
    if write_baseline:
        check_outputs({"-o/--output": output, "--baseline": baseline},
                      [f for m in models for f in model_files(m)])
    elif baseline is not None:
        from fusionlab.baseline import read_baseline

        accepted = read_baseline(baseline)  # before the analysis: a bad file fails fast
    request = _shape_request(shapes, min_shapes, opt_shapes, max_shapes)
    given = dict(target=target and target.value, precision=precision and precision.value,
                 sm=sm, select=_split(select), extend_select=_split(extend_select),
                 ignore=_split(ignore), fail_on=fail_on and fail_on.value,
                 output_format=fmt and fmt.value)
    flags = dict(precision=precision, fp16=fp16, bf16=bf16, int8=int8, best=best, request=request,
                 shown=_given(ctx, locals()))
    if len(found) > 1:
        return _analyze_many(found, config, given, output, flags, accepted,
                             baseline if write_baseline else None)
    report, opts = _analyze_one(models[0], config, given, accepted, flags)
    if write_baseline:
        _write_baseline(baseline, [report], models)
        return
    name = opts["output-format"] or _default_format(output)
    name = "full" if name == "text" else name
    if name == "full":
        _emit_rich(output, lambda c: render_text(report, c))
    elif name == "html":
        from fusionlab.formats.html import render_html

        _html_needs_file(OutputFormat.html, output, "-o FILE")
        _write(output, render_html(report, models[0], model_uri=str(models[0])))
    else:
        _write(output, render(report, name, str(models[0])))
    if opts["fail-on"] is not None and _failing(report.findings, FailOn(opts["fail-on"])):
        raise typer.Exit(1)


def _write_baseline(path: Path, reports: list, models: list) -> None:
    """Write the baseline of ``reports`` (analyzed as the paths ``models``) to ``path``
    (--write-baseline) and say so on stderr."""
    from fusionlab.baseline import write_baseline as write_file
    from fusionlab.diagnostic import FINDING_STATUSES

    write_file(path, reports, models)
    count = sum(1 for r in reports for d in r.diagnostics if d.status in FINDING_STATUSES)
    several = f" of {len(reports)} models" if len(reports) > 1 else ""
    print(f"fusionlab: wrote {count} diagnostics{several} to baseline {path}", file=sys.stderr)


def _analyze_one(model: Path, config: Optional[Path], given: dict, accepted, flags: dict, alone: bool = True):
    """Analyze one model with the settings in force for it: ``(report, opts)``, without
    the findings the baseline ``accepted`` (or ``None``) lists for it (``alone``: the
    run's only model). ``flags``: the
    trtexec spellings (precision flags, the shape request, the options shown on the command
    line for the ignored-option warnings)."""
    from fusionlab.analysis import analyze as run_analyze
    from fusionlab.config import settings_for

    settings = settings_for(model, config)
    opts = _in_force(settings, **given)
    choice = _precision_choice(flags["precision"], flags["fp16"], flags["bf16"], flags["int8"], flags["best"],
                               opts["sm"], default=opts["precision"])
    request = flags["request"]
    if not request and opts.get("shapes"):
        request = _shape_request(opts["shapes"], None, None, None)
    shown = dict(flags["shown"])
    if "precision" in settings.values and not choice.spelled:
        shown["--precision"] = f"precision = {settings.values['precision']!r} in {settings.path}"
    warnings = _ignored("analyze", opts["target"], shown)
    chosen = None if opts["select"] is None else opts["select"] + list(opts["extend-select"])
    report = run_analyze(model, target=opts["target"], precision=choice.precision, sm=opts["sm"],
                         select=chosen, ignore=opts["ignore"], per_node_ignores=opts["per-node-ignores"],
                         shapes=request or None)
    _print_warnings(warnings)
    report.warnings.extend(warnings)
    if accepted is not None:
        from fusionlab.baseline import apply_baseline

        report = apply_baseline(report, accepted, model, alone)
    return report, opts


def _analyze_many(found, config: Optional[Path], given: dict, output: Optional[Path], flags: dict,
                  accepted=None, write_to: Optional[Path] = None) -> None:
    """analyze of several models (fusionlab.batch): each report, then the summary table;
    a model that fails prints its one error line and the others go on; exit with the
    worst code over the models. ``accepted``: the baseline read with --baseline;
    ``write_to``: the --write-baseline file (written with every model analyzed, and
    nothing else printed)."""
    import json

    from fusionlab.batch import Outcome, combine_json, combine_sarif, summary_table
    from fusionlab.formats import render
    from fusionlab.report import render_text

    outcomes, formats = [], []
    for path, problem in found:
        try:
            if problem is not None:
                raise problem
            report, opts = _analyze_one(path, config, given, accepted, flags, alone=False)
        except FusionlabError as exc:
            message = exc.message if exc.message.startswith(str(path)) else f"{path}: {exc.message}"
            print(f"fusionlab: error: {printable(message)}", file=sys.stderr)
            outcomes.append(Outcome(path, error=message, exit_code=exc.exit_code))
            continue
        formats.append(opts["output-format"])
        failing = opts["fail-on"] is not None and _failing(report.findings, FailOn(opts["fail-on"]))
        outcomes.append(Outcome(path, report, exit_code=1 if failing else 0))
    if write_to is not None:
        failed = [o for o in outcomes if o.report is None]
        if failed:  # a baseline without a model's findings would accept them all later
            raise InputError(f"--write-baseline: {len(failed)} of {len(outcomes)} models could not be "
                             f"analyzed; {write_to} not written")
        _write_baseline(write_to, [o.report for o in outcomes], [o.path for o in outcomes])
        return
    name = given["output_format"] or next((f for f in formats if f), None) or _default_format(output)
    name = "full" if name == "text" else name
    if name == "html":
        raise InputError(f"--output-format html draws one model, not {len(found)}: run analyze once per model")
    done = [o for o in outcomes if o.report is not None]
    if name == "full":
        def draw(console):
            for o in done:
                render_text(o.report, console)
                console.print()
            console.print(summary_table(outcomes), markup=False, highlight=False, soft_wrap=True, end="")

        _emit_rich(output, draw)
    elif name == "json":
        _write(output, combine_json([o.report for o in done]))
    elif name == "sarif":
        _write(output, combine_sarif([json.loads(render(o.report, "sarif", str(o.path))) for o in done]))
    else:
        text = "".join(render(o.report, name, str(o.path)) for o in done)
        _write(output, text + ("\n" + summary_table(outcomes) if name == "concise" else ""))
    worst = max((o.exit_code for o in outcomes), default=0)
    if worst:
        raise typer.Exit(worst)


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
    ctx: typer.Context,
    model: Optional[Path] = typer.Argument(None, help="ONNX model file (omit with --corpus)."),
    target: Optional[Target] = typer.Option(None, help="Builder: tensorrt-rtx (default when installed) or tensorrt."),
    precision: Optional[Precision] = typer.Option(None, help="Builder precision the prediction assumes (default fp32)."),
    fp16: bool = typer.Option(False, "--fp16", help=_FP16_HELP),
    bf16: bool = typer.Option(False, "--bf16", help=_BF16_HELP),
    int8: bool = typer.Option(False, "--int8", help=_INT8_HELP),
    best: bool = typer.Option(False, "--best", help=_BEST_HELP),
    sm: float = typer.Option(8.6, help="GPU compute capability the prediction assumes."),
    layer_info: Optional[Path] = typer.Option(None, "--layer-info", help="trtexec --exportLayerInfo JSON (no build)."),
    log: Optional[Path] = typer.Option(None, "--log", help="trtexec --verbose build log (no build)."),
    profile: Optional[Path] = typer.Option(None, "--profile", help=(
        "Per-layer times: trtexec --exportProfile JSON (or LayerProfiler's), or an nsys export --type sqlite file.")),
    timeout: float = typer.Option(600.0, callback=_timeout, help="Seconds before a live build is killed (0 < t <= 1e6)."),
    save_log: Optional[Path] = typer.Option(None, "--save-log", help="Write the live build's full log here."),
    save_engine: Optional[Path] = typer.Option(None, "--save-engine", help="Write the serialized engine here."),
    timing_cache: Optional[Path] = typer.Option(None, "--timing-cache", help="Classic TensorRT timing cache, reused across builds."),
    shapes: Optional[list[str]] = typer.Option(None, "--shapes", "--shape", help=_SHAPES_HELP),
    min_shapes: Optional[list[str]] = typer.Option(None, "--minShapes", help=_MIN_HELP),
    opt_shapes: Optional[list[str]] = typer.Option(None, "--optShapes", help=_OPT_HELP + " The build's profile spans min..max."),
    max_shapes: Optional[list[str]] = typer.Option(None, "--maxShapes", help=_MAX_HELP),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Verify every .onnx under this folder; print the calibration table."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Parallel builds with --corpus."),
    logs: Optional[Path] = typer.Option(None, "--logs", help="With --corpus: score each model against DIR/NAME.log (saved builds) instead of building."),
    save_logs: Optional[Path] = typer.Option(None, "--save-logs", help="With --corpus: write each live build's log to DIR/NAME.log."),
    min_f1: Optional[float] = typer.Option(None, "--min-f1", min=0.0, max=1.0, help="Exit 1 when the fused-edge F1 is below this (or not scored)."),
    fmt: Format = typer.Option(Format.full, "--output-format", "--format", help="full (rich report), json, html (predicted and built layers side by side; needs -o), or markdown (--corpus: benchmarks/FIDELITY.md)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
) -> None:
    """Build MODEL with TensorRT (or read the files a build left) and score analyze's prediction."""
    import json

    from fusionlab.verification import calibrate, corpus_exit_code, corpus_json, render_corpus, render_verification
    from fusionlab.verification import verify as run_verify

    tgt = (target or (_default_verify_target() if not (layer_info or log) else Target.tensorrt)).value
    _html_needs_file(fmt, output, "-o FILE")
    choice = _precision_choice(precision, fp16, bf16, int8, best, sm)
    request = _shape_request(shapes, min_shapes, opt_shapes, max_shapes)
    warnings = _ignored("verify", tgt, _given(ctx, locals()), live_build=not (layer_info or log),
                             corpus=corpus is not None)
    if corpus is not None:
        if model is not None:
            raise InputError("give either MODEL or --corpus, not both")
        if fmt is Format.html:
            raise InputError("--output-format html draws one model: verify --corpus takes full, json or markdown")
        if logs is not None and save_logs is not None:
            raise InputError("give either --logs (score saved builds) or --save-logs (save new builds), not both")
        from fusionlab.progress import StepProgress
        from fusionlab.verification import check_corpus_outputs

        for opt, value in (("--layer-info", layer_info), ("--log", log), ("--profile", profile),
                           ("--save-log", save_log), ("--save-engine", save_engine),
                           ("--timing-cache", timing_cache)):
            if value is not None:
                raise InputError(f"{opt} applies to one MODEL, not to --corpus")
        check_corpus_outputs(corpus, {"-o/--output": output, "--save-logs": save_logs})  # not a model of the corpus
        with StepProgress() as bars:
            result = calibrate(corpus, jobs=jobs, target=tgt, precision=choice.precision, sm=sm,
                               timeout=timeout, shapes=request or None, precision_flags=choice.flags,
                               progress=bars.callback("verify --corpus"), logs=logs, save_logs=save_logs)
        _print_warnings(warnings)
        data = corpus_json(result)
        data["warnings"] = warnings + list(data.get("warnings", []))
        if fmt is Format.markdown:
            from fusionlab.verification import render_corpus_markdown

            _write(output, render_corpus_markdown(result, _command_line()))
        else:
            _emit(fmt, output, json.dumps(data, indent=2) + "\n", lambda c: render_corpus(result, c))
        code = corpus_exit_code(result, min_f1)
        if code:
            raise typer.Exit(code)
        return
    if model is None:
        raise InputError("verify needs MODEL (or --corpus DIR)")
    for opt, value in (("--logs", logs), ("--save-logs", save_logs)):
        if value is not None:
            raise InputError(f"{opt} applies to --corpus; for one MODEL use {opt[:-1]} FILE")
    if fmt is Format.markdown:
        raise InputError("--output-format markdown is the --corpus table; one MODEL takes full, json or html")
    from fusionlab.graph import model_files

    check_outputs({"-o/--output": output, "--save-log": save_log, "--save-engine": save_engine,
                   "--timing-cache": timing_cache},
                  [*model_files(model), layer_info, log, profile])
    from fusionlab.progress import StepProgress

    with StepProgress() as bars:
        v = run_verify(model, target=tgt, precision=choice.precision, sm=sm, layer_info=layer_info, log=log,
                       profile=profile, timeout=timeout, save_log=save_log, save_engine=save_engine,
                       timing_cache=timing_cache, shapes=request or None, precision_flags=choice.flags,
                       progress=None if layer_info or log else bars.callback("building"))
    _print_warnings(warnings)
    v.warnings[:0] = warnings
    if fmt is Format.html:
        from fusionlab.formats.html import render_verification_html

        _write(output, render_verification_html(v, model, model_uri=str(model)))
    else:
        _emit(fmt, output, json.dumps(v.to_json(), indent=2) + "\n", lambda c: render_verification(v, c))
    f1 = v.comparison.score.f1
    if min_f1 is not None and (f1 is None or f1 < min_f1):
        raise typer.Exit(1)


@app.command()
def rewrite(
    ctx: typer.Context,
    model: Path = typer.Argument(..., help="ONNX model file."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write the rewritten model."),
    in_place: bool = typer.Option(False, "--in-place", help="Overwrite MODEL (needed to write over the input)."),
    passes: Optional[list[str]] = typer.Option(None, "--passes", help="Passes to run (names, rule names or codes; comma-separated). Default: all."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing."),
    target: Target = typer.Option(Target.tensorrt, help="Builder whose fusions to make happen."),
    precision: Optional[Precision] = typer.Option(None, help="Builder precision (classic TensorRT flags; default fp32)."),
    fp16: bool = typer.Option(False, "--fp16", help=_FP16_HELP),
    bf16: bool = typer.Option(False, "--bf16", help=_BF16_HELP),
    int8: bool = typer.Option(False, "--int8", help=_INT8_HELP),
    best: bool = typer.Option(False, "--best", help=_BEST_HELP),
    sm: float = typer.Option(8.6, help="GPU compute capability, e.g. 8.6 for SM 8.6."),
    shapes: Optional[list[str]] = typer.Option(None, "--shapes", "--shape", help=_SHAPES_HELP),
    min_shapes: Optional[list[str]] = typer.Option(None, "--minShapes", help=_MIN_HELP + " For --verify builds."),
    opt_shapes: Optional[list[str]] = typer.Option(None, "--optShapes", help=_OPT_HELP + " The equivalence check runs at them."),
    max_shapes: Optional[list[str]] = typer.Option(None, "--maxShapes", help=_MAX_HELP + " For --verify builds."),
    atol: Optional[float] = typer.Option(None, "--atol", help="Absolute tolerance of float outputs (default per dtype)."),
    rtol: Optional[float] = typer.Option(None, "--rtol", help="Relative tolerance of float outputs (default per dtype)."),
    no_check: bool = typer.Option(False, "--no-check", help="Skip the ONNX Runtime equivalence check (write unchecked)."),
    allow_requantize: bool = typer.Option(False, "--allow-requantize", help="Quantize a float residual with the scale of the quantizer that already reads it (TRT409; rounds values, not exact: needs --atol)."),
    verify_build: bool = typer.Option(False, "--verify", help="Build before and after with TensorRT-RTX (or TensorRT) and count engine layers."),
    timeout: float = typer.Option(600.0, callback=_timeout, help="Seconds before a --verify build is killed (0 < t <= 1e6)."),
    fmt: OutputFormat = typer.Option(OutputFormat.full, "--output-format", "--format",
                                     help="full (rich report), json, concise / sarif / github: the findings left in the rewritten model, or html: before and after (needs --report)."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Write the report to this file instead of stdout."),
) -> None:
    """Rewrite MODEL so TensorRT makes the fusions it misses; prove the outputs unchanged."""
    import json

    from fusionlab.rewriting import check_output_path, has_external_data, render_rewrite, write_model_atomic
    from fusionlab.rewriting import rewrite as run_rewrite

    choice = _precision_choice(precision, fp16, bf16, int8, best, sm)
    request = _shape_request(shapes, min_shapes, opt_shapes, max_shapes)
    ignored = _ignored("rewrite", target.value, _given(ctx, locals()), verify_build=verify_build)
    if in_place and output is not None and output.resolve() != model.resolve():
        raise InputError("give either --in-place or -o/--output, not both")
    dest = model if in_place else output
    _html_needs_file(fmt, report_file, "--report FILE")
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
    from fusionlab.progress import StepProgress

    # NotRunnable (ONNX Runtime cannot run the input) is one error line, exit 2
    with StepProgress() as bars:
        new, report = run_rewrite(model, target=target.value, precision=choice.precision, sm=sm,
                                  passes=_split(passes), check=not no_check, allow_unchecked=dry_run,
                                  shapes=request or None, atol=atol, rtol=rtol, verify=verify_build,
                                  timeout=timeout, allow_requantize=allow_requantize,
                                  precision_flags=choice.flags,
                                  progress=bars.callback("rewrite --verify") if verify_build else None)
    report.warnings[:0] = ignored
    _print_warnings(report.warnings)
    written = None
    unchanged = None
    if not dry_run and dest is not None and report.changed:
        external = has_external_data(model) or new.ByteSize() > 1_800_000_000
        written = write_model_atomic(new, dest, external)
    elif not dry_run and dest is not None:  # no copy of an unchanged model (nor its external data)
        unchanged = (f"nothing to rewrite: {model} unchanged"
                     + ("" if in_place else f"; {dest} not written"))
        print(f"fusionlab: {printable(unchanged)}", file=sys.stderr)
    data = report.to_json()
    data["output"] = None if written is None else [str(p) for p in written]
    data["dry_run"] = dry_run
    if unchanged is not None:
        data["note"] = unchanged
    if fmt is OutputFormat.html:
        from fusionlab.formats.html import render_rewrite_html

        _write(report_file, render_rewrite_html(report, model, new, model_uri=str(model)))
        return
    if fmt in (OutputFormat.concise, OutputFormat.sarif, OutputFormat.github):
        from fusionlab.formats import render

        _write(report_file, render(report.after, fmt.value, str(dest if written else model)))
        return
    _emit(Format.json if fmt is OutputFormat.json else Format.full, report_file, json.dumps(data, indent=2) + "\n",
          lambda c: render_rewrite(report, c, output=None if dry_run or unchanged else str(dest), dry_run=dry_run,
                                   note=unchanged))


def _html_needs_file(fmt, output: Optional[Path], option: str) -> None:
    """The HTML report is a page for a browser, never written to a terminal or a pipe:
    ``--output-format html`` needs the file option (exit 2 without it)."""
    if fmt is not None and fmt.value == "html" and output is None:
        raise InputError(f"--output-format html writes a file: give {option} (e.g. {option.split()[0]} report.html)")


def _write(output: Optional[Path], text: str) -> None:
    """``text`` to the file ``output`` (atomically) or to stdout."""
    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


def _command_line() -> str:
    """The command as the user typed it (``fusionlab`` and its arguments, shell-quoted)."""
    import shlex

    home = str(Path.home()).rstrip("/") + "/"

    def word(arg: str) -> str:  # ~/x stays ~/x (the shell expanded it): the command works for anyone
        return "~/" + shlex.quote(arg[len(home):]) if arg.startswith(home) and len(arg) > len(home) else shlex.quote(arg)

    return " ".join(["fusionlab", *(word(str(a)) for a in _ARGV)])


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
def list_rules(
    code: Optional[str] = typer.Argument(None, help="A rule code (TRT103) or name (conv-gelu): print its whole doc."),
    target: Optional[Target] = typer.Option(None, help="Show what differs on this builder (with CODE), or list "
                                                       "only its rules."),
    fmt: Format = typer.Option(Format.text, "--format"),
) -> None:
    """List every rule: code, name, targets and the TensorRT guide section it encodes; with
    CODE, print that rule's whole doc as plain text."""
    import json

    from fusionlab.catalogue import catalogue_markdown, find_row, listed_rows, rule_text

    if fmt is Format.html:
        raise InputError("fusionlab rules prints text or json (--format text|json)")
    rows = listed_rows()  # the built-in catalogue is data: no rule, onnx or numpy imported
    if code is not None:
        row = find_row(rows, code)
        if fmt is Format.json:
            sys.stdout.write(json.dumps(row, indent=2) + "\n")
        else:
            sys.stdout.write(rule_text(row, target and target.value))
        return
    if target is not None:
        rows = [r for r in rows if target.value in r["targets"]]
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


def _checked_paths(command):
    """``command`` wrapped so every path argument passes :func:`fusionlab.files.check_path`
    (no NUL byte, under PATH_MAX and NAME_MAX) before the command runs: one line, exit 2,
    instead of an ``OSError`` (File name too long) from whichever call meets it first."""
    import functools
    import inspect

    from fusionlab.files import check_path

    signature = inspect.signature(command)
    labels = {}
    for name, param in signature.parameters.items():
        decls = getattr(param.default, "param_decls", None) or ()
        labels[name] = next((d for d in decls if d.startswith("--")), None) or name.upper()

    @functools.wraps(command)
    def run(*args, **kwargs):
        for name, value in signature.bind_partial(*args, **kwargs).arguments.items():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Path):
                    check_path(item, labels[name])
        return command(*args, **kwargs)

    return run


for _info in app.registered_commands:
    _info.callback = _checked_paths(_info.callback)


def _usage_errors() -> tuple:
    """click's ``(NoArgsIsHelpError, UsageError)``: vendored by typer >= 0.2x as
    ``typer._click``, the ``click`` package before (whose older releases have no
    ``NoArgsIsHelpError``: then ``()``, which catches nothing)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return getattr(exceptions, "NoArgsIsHelpError", ()), exceptions.UsageError


_ARGV: list[str] = []  # this run's arguments, for outputs that quote their command


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    NoArgsIsHelpError, UsageError = _usage_errors()
    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    try:
        for arg in sys.argv[1:] if argv is None else argv:
            if "\x00" in str(arg):  # only the in-process API can pass one (exec cannot)
                raise InputError(f"argument {str(arg)[:60]!r}: contains a NUL byte")
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
