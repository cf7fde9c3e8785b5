"""Baselines: accept today's findings, report only new ones (``--baseline FILE``).

``fusionlab analyze MODEL --baseline FILE --write-baseline`` writes every missed / lint
diagnostic of the run to FILE; later runs with ``--baseline FILE`` drop the diagnostics the
file lists, so ``--fail-on`` and every format see only what is new. A diagnostic is
identified by its rule code and its ONNX node names (not by its reason, which quotes
values that may change). The file is JSON::

    {"fusionlab-baseline": 1, "model": str,
     "entries": [{"code": "TRT302", "nodes": ["/pooler/dense/Gemm", "/pooler/activation/Tanh"]}]}

Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fusionlab.diagnostic import FINDING_STATUSES
from fusionlab.errors import InputError
from fusionlab.files import write_atomic

VERSION = 1


def baseline_json(report) -> str:
    """The baseline file text of ``report`` (a :class:`fusionlab.report.Report`)."""
    entries = [{"code": d.code, "nodes": list(d.nodes)} for d in report.diagnostics
               if d.status in FINDING_STATUSES]
    return json.dumps({"fusionlab-baseline": VERSION, "model": report.model, "entries": entries},
                      indent=2) + "\n"


def write_baseline(path: str | Path, report) -> Path:
    """Write the baseline of ``report`` to ``path`` atomically.

    Raises:
        InputError: the file cannot be written.
    """
    return write_atomic(path, baseline_json(report))


def read_baseline(path: str | Path) -> set[tuple[str, tuple[str, ...]]]:
    """The ``(code, nodes)`` keys a baseline file lists.

    Raises:
        InputError: the file is missing, not JSON, or not a fusionlab baseline.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file does not exist (write it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a fusionlab baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("fusionlab-baseline") != VERSION \
            or not isinstance(data.get("entries"), list):
        raise InputError(f"{path}: not a fusionlab baseline (version {VERSION})")
    keys = set()
    for e in data["entries"]:
        if not (isinstance(e, dict) and isinstance(e.get("code"), str) and isinstance(e.get("nodes"), list)):
            raise InputError(f"{path}: bad baseline entry {e!r}")
        keys.add((e["code"], tuple(map(str, e["nodes"]))))
    return keys


def apply_baseline(report, keys: set[tuple[str, tuple[str, ...]]]):
    """A copy of ``report`` without the missed / lint diagnostics ``keys`` lists."""
    kept = [d for d in report.diagnostics
            if not (d.status in FINDING_STATUSES and (d.code, tuple(d.nodes)) in keys)]
    return dataclasses.replace(report, diagnostics=kept)
