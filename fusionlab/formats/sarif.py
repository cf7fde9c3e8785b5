"""``--output-format sarif``: the report as a SARIF 2.1.0 log (OASIS Static Analysis
Results Interchange Format), for GitHub code scanning and other SARIF viewers.

One run, tool ``fusionlab``; ``tool.driver.rules`` is the rule catalogue (every rule of
the built-in pack and the installed packs): ``id`` the code, ``name`` the rule name,
``shortDescription`` the docstring's summary, ``fullDescription`` its "What it fuses",
``help`` its "Why it matters", "Conditions" and "Source", ``helpUri`` the
section of docs/FUSIONS.md the rule (or its package) cites, as a URI relative to
the repository root. One result per finding (:class:`fusionlab.report.Finding`) and per
rule of it: ``ruleId``, ``level`` (``error`` / ``warning`` / ``note`` for ``info``), the
reason as ``message.text``, a location whose ``artifactLocation.uri`` is the model path
and whose ``logicalLocations`` name the ONNX nodes. The dict is built here (the shape is
small) and ``tests/test_formats.py`` validates it against the SARIF 2.1.0 JSON schema.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import PurePath

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: Documentation every rule falls back to when it cites no section.
DEFAULT_HELP = "docs/FUSIONS.md"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
_ANCHOR = re.compile(r"docs/FUSIONS\.md#[A-Za-z0-9_-]+")


def help_uri(rule: type) -> str:
    """The first section link into docs/FUSIONS.md the rule's docstring cites, else the one its
    module's or package's docstring cites, else ``docs/FUSIONS.md``."""
    docs = [rule.__doc__ or ""]
    module = sys.modules.get(rule.__module__)
    docs.append(getattr(module, "__doc__", None) or "")
    package = sys.modules.get(rule.__module__.rpartition(".")[0])
    docs.append(getattr(package, "__doc__", None) or "")
    for doc in docs:
        found = _ANCHOR.search(doc)
        if found:
            return found.group()
    return DEFAULT_HELP


def rule_descriptor(rule: type) -> dict:
    """The SARIF ``reportingDescriptor`` of one rule class."""
    sections = rule.doc_sections()
    summary = sections.get("Summary") or inspect.cleandoc(rule.__doc__ or rule.name)
    help_text = " ".join(f"{k}: {sections[k]}" for k in ("Why it matters", "Conditions", "Source")
                         if sections.get(k))
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": " ".join(summary.split())},
        "fullDescription": {"text": sections.get("What it fuses") or " ".join(summary.split())},
        "help": {"text": help_text or " ".join(summary.split())},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"kind": rule.kind, "targets": list(rule.targets)},
    }


def _uri(path: str) -> str:
    p = PurePath(path)
    return p.as_posix()


def to_sarif(report, model_uri: str) -> dict:
    """The SARIF 2.1.0 log (a JSON-ready dict) of ``report`` (a
    :class:`fusionlab.report.Report`) whose model file is ``model_uri``.

    Raises:
        fusionlab.errors.InputError: a rule pack fails to load (from
            :func:`fusionlab.registry.discover_rules`).
    """
    from fusionlab import __version__
    from fusionlab.registry import discover_rules

    rules = discover_rules()
    index = {r.code: i for i, r in enumerate(rules)}
    results = []
    for f in report.findings:
        logical = [{"name": n, "kind": "onnxNode"} for n in f.nodes]
        for code, reason, check in zip(f.codes, f.reasons, f.checks):
            result = {
                "ruleId": code,
                "level": LEVELS[f.severity],
                "message": {"text": reason},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": _uri(model_uri)}},
                    "logicalLocations": logical,
                }],
                "properties": {"status": f.status, "check": check, "cost": f.cost,
                               "layer": f.layer, "findingRules": list(f.codes)},
            }
            if code in index:
                result["ruleIndex"] = index[code]
            results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "fusionlab",
                "version": __version__,
                "informationUri": "docs/FUSIONS.md",
                "rules": [rule_descriptor(r) for r in rules],
            }},
            "artifacts": [{"location": {"uri": _uri(model_uri)}}],
            "results": results,
            "properties": {"target": report.target, "precision": report.precision, "sm": report.sm},
        }],
    }
