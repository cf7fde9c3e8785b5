"""Several models in one ``fusionlab analyze`` run: which files the arguments name, the
summary table printed after the reports, and one output that holds every report.

``fusionlab analyze a.onnx b.onnx models/``: each argument is a model file or a folder
searched (recursively) for ``*.onnx`` files, sorted; a file named twice is analyzed once.
With more than one model the outputs combine as follows (one model: exactly the
single-model output):

* ``full`` / ``concise`` / ``github``: the reports one after the other (``github``
  workflow commands name their file, so nothing is added); ``full`` and ``concise`` end
  with the summary table of :func:`summary_table`.
* ``json``: a JSON **list**, one report object (:meth:`fusionlab.report.Report.to_json`)
  per model analyzed, in argument order; a model that failed is not in the list (its one
  ``fusionlab: error:`` line is on stderr, and the exit code is 2).
* ``sarif``: one SARIF log with one run whose ``artifacts`` and ``results`` hold every
  model (GitHub code scanning takes one run per tool); the per-model options are in the
  run's ``properties.models``.

Standard library only (the reports are rendered by :mod:`fusionlab.formats`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fusionlab.errors import InputError

#: Summary table columns after the model's name.
COLUMNS = ("layers", "errors", "warnings", "infos")


def model_paths(args: list[Path]) -> list[tuple[Path, InputError | None]]:
    """The model files ``args`` name, in order: a file as given, a folder's ``*.onnx`` files
    (searched recursively, sorted by path); each file once (by resolved path).

    Returns:
        ``(path, error)`` pairs: ``error`` is an :class:`InputError` for a folder holding
        no ``.onnx`` file (the path is the folder), else ``None``. A file that does not
        exist or is no model is returned as is (loading it reports the problem).
    """
    out: list[tuple[Path, InputError | None]] = []
    seen: set[Path] = set()
    for arg in args:
        if arg.is_dir():
            found = sorted(p for p in arg.rglob("*.onnx") if p.is_file())
            if not found:
                out.append((arg, InputError(f"{arg}: folder holds no .onnx file")))
            files = found
        else:
            files = [arg]
        for path in files:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                out.append((path, None))
    return out


@dataclass
class Outcome:
    """One model's result in a several-model run.

    Attributes:
        path: the model file as found.
        report: its report (after baseline and selection), or ``None`` if it failed.
        error: the one-line message of its failure, or ``None``.
        exit_code: 0, 1 (``--fail-on`` matched) or the error's exit code.
    """

    path: Path
    report: object | None = None
    error: str | None = None
    exit_code: int = 0


def severity_counts(report) -> dict[str, int]:
    """``{"layers", "errors", "warnings", "infos"}`` of one report: predicted layers and its
    findings (:attr:`fusionlab.report.Report.findings`) of each severity."""
    findings = report.findings
    return {"layers": len(report.layers),
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "infos": sum(f.severity == "info" for f in findings)}


def summary_rows(outcomes: list[Outcome]) -> list[list[str]]:
    """One row per model: its path, then the :data:`COLUMNS` counts, or ``failed`` and
    the error message for a model that could not be analyzed."""
    rows = []
    for o in outcomes:
        if o.report is None:
            rows.append([str(o.path), "failed", "", "", "", o.error or ""])
        else:
            counts = severity_counts(o.report)
            rows.append([str(o.path), *(str(counts[c]) for c in COLUMNS)])
    return rows


def summary_table(outcomes: list[Outcome]) -> str:
    """The summary as plain aligned text (never wrapped, so model paths stay whole), a
    header line then one line per model, then a total line; ends in a newline."""
    from fusionlab.text import printable

    header = ["model", *COLUMNS]
    rows = [[printable(c) for c in r] for r in summary_rows(outcomes)]
    done = [o for o in outcomes if o.report is not None]
    totals = [sum(severity_counts(o.report)[c] for o in done) for c in COLUMNS]
    failed = len(outcomes) - len(done)
    rows.append([f"total ({len(outcomes)} models" + (f", {failed} failed)" if failed else ")"),
                 *map(str, totals)])
    widths = [max(len(r[i]) for r in [header, *rows] if i < len(r)) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:len(header)], widths[1:])]
        cells += row[len(header):]  # a failed model's message, unpadded
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def combine_json(reports: list) -> str:
    """The ``json`` output of several reports: a JSON list of their objects."""
    return json.dumps([r.to_json() for r in reports], indent=2) + "\n"


def combine_sarif(logs: list[dict]) -> str:
    """One SARIF 2.1.0 log from the single-model logs of :func:`fusionlab.formats.sarif.to_sarif`:
    the first log's run with every log's artifacts and results (each result's
    ``artifactLocation`` already names its model); per-model options under
    ``properties.models``."""
    merged = json.loads(json.dumps(logs[0]))
    run = merged["runs"][0]
    run["artifacts"], run["results"], models = [], [], []
    for log in logs:
        (one,) = log["runs"]
        run["artifacts"].extend(one["artifacts"])
        run["results"].extend(one["results"])
        models.append({"uri": one["artifacts"][0]["location"]["uri"], **one.get("properties", {})})
    run["properties"] = {"models": models}
    return json.dumps(merged, indent=2) + "\n"
