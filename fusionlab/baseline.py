"""Baselines: accept today's findings, report only new ones (``--baseline FILE``).

``fusionlab analyze MODEL... --baseline FILE --write-baseline`` writes every missed / lint
diagnostic of the run to FILE; later runs with ``--baseline FILE`` drop the diagnostics the
file lists, so ``--fail-on`` and every format see only what is new (as ruff's and other
linters' baselines do). A diagnostic is identified by its model, its rule code and its ONNX
node names (not by its reason, which quotes values that may change). The file is JSON, one
object per model::

    {"fusionlab-baseline": 1,
     "models": [{"model": "models/bert_tiny.onnx",
                 "entries": [{"code": "TRT302", "nodes": ["/pooler/dense/Gemm", ...]}]}]}

A file of one model may also be written flat (``{"fusionlab-baseline": 1, "model": str,
"entries": [...]}``, the first form of this file; still read). A model is found in the file
by the path it was analyzed as, else by its file name when exactly one entry has it; a
baseline of one model applies to a run of one model whatever its path (the same file
analyzed from another folder).

Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path, PurePath

from fusionlab.diagnostic import FINDING_STATUSES
from fusionlab.errors import InputError
from fusionlab.files import write_atomic

VERSION = 1

Keys = set[tuple[str, tuple[str, ...]]]


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The accepted findings of a baseline file, per model.

    Attributes:
        models: model path as analyzed (``Report.model``) -> ``{(code, node names)}``.
    """

    models: dict[str, Keys]

    def keys_for(self, model: str, alone: bool = True) -> Keys:
        """The accepted ``(code, nodes)`` keys of ``model`` (empty when the file does not
        name it): exact path, else the one entry with the same file name, else, when
        ``model`` is the only model of the run (``alone``), the only entry of a one-model
        baseline."""
        if model in self.models:
            return self.models[model]
        same = [k for k in self.models if PurePath(k).name == PurePath(model).name]
        if len(same) == 1:
            return self.models[same[0]]
        if alone and len(self.models) == 1:
            return next(iter(self.models.values()))
        return set()


def _entries(report) -> list[dict]:
    return [{"code": d.code, "nodes": list(d.nodes)} for d in report.diagnostics
            if d.status in FINDING_STATUSES]


def baseline_json(reports, models=None) -> str:
    """The baseline file text of ``reports`` (one :class:`fusionlab.report.Report` or a
    list of them, one per model); ``models``: the path each was analyzed as (default: the
    reports' ``model``, a file name)."""
    reports = list(reports) if isinstance(reports, (list, tuple)) else [reports]
    names = [str(m) for m in models] if models is not None else [r.model for r in reports]
    return json.dumps({"fusionlab-baseline": VERSION,
                       "models": [{"model": n, "entries": _entries(r)} for n, r in zip(names, reports)]},
                      indent=2) + "\n"


def write_baseline(path: str | Path, reports, models=None) -> Path:
    """Write the baseline of ``reports`` (a Report or a list of them, analyzed as the paths
    ``models``) to ``path`` atomically.

    Raises:
        InputError: the file cannot be written.
    """
    return write_atomic(path, baseline_json(reports, models))


def _keys(path: Path, entries) -> Keys:
    if not isinstance(entries, list):
        raise InputError(f"{path}: not a fusionlab baseline (version {VERSION})")
    keys = set()
    for e in entries:
        if not (isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("nodes"), list)):
            raise InputError(f"{path}: bad baseline entry {e!r}")
        keys.add((e["code"], tuple(map(str, e["nodes"]))))
    return keys


def read_baseline(path: str | Path) -> Baseline:
    """The accepted findings a baseline file lists, per model.

    Raises:
        InputError: the file is missing, not JSON, or not a fusionlab baseline.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file does not exist (write it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not a fusionlab baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("fusionlab-baseline") != VERSION:
        raise InputError(f"{path}: not a fusionlab baseline (version {VERSION})")
    if "models" in data:
        if not isinstance(data["models"], list):
            raise InputError(f"{path}: not a fusionlab baseline (version {VERSION})")
        models: dict[str, Keys] = {}
        for m in data["models"]:
            if not (isinstance(m, dict) and isinstance(m.get("model"), str)):
                raise InputError(f"{path}: bad baseline model {m!r}")
            models.setdefault(m["model"], set()).update(_keys(path, m.get("entries")))
        return Baseline(models)
    return Baseline({str(data.get("model", "")): _keys(path, data.get("entries"))})


def apply_baseline(report, baseline: Baseline | Keys, model: str | Path | None = None, alone: bool = True):
    """A copy of ``report`` without the missed / lint diagnostics ``baseline`` accepts for
    its model (a :class:`Baseline`, or a set of ``(code, nodes)`` keys); ``model``: the
    path it was analyzed as (default: ``report.model``); ``alone``: it is the run's only
    model (see :meth:`Baseline.keys_for`)."""
    if isinstance(baseline, Baseline):
        keys = baseline.keys_for(str(model) if model is not None else report.model, alone)
    else:
        keys = baseline
    kept = [d for d in report.diagnostics
            if not (d.status in FINDING_STATUSES and (d.code, tuple(d.nodes)) in keys)]
    return dataclasses.replace(report, diagnostics=kept)
