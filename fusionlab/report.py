"""The analysis report: predicted engine layers, absorbed nodes and diagnostics.

``Report.to_json()`` gives the documented, stable JSON shape (more keys may be added)::

    {"model": str, "target": str, "nodes": int,
     "layers": [{"name": str, "nodes": [onnx node names], "rules": [codes]}],
     "absorbed": [onnx node names],
     "diagnostics": [{"code": str, "rule": str, "status": "predicted"|"missed"|"lint",
                      "nodes": [names], "check": str|null, "reason": str}],
     "parser_rejects": [{"code": str, "rule": str, "nodes": [names], "reason": str}]}

``parser_rejects`` lists the diagnostics that are inputs TensorRT's ONNX parser rejects
(``Rule.rejects``); when it is not empty no engine is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fusionlab.diagnostic import Diagnostic
from fusionlab.text import markup


@dataclass(frozen=True)
class PredictedLayer:
    """One predicted engine layer.

    Attributes:
        name: the name TensorRT gives it (``conv1 + relu1``, ``PWN(add1, relu1)``).
        kind: the layer's kind: the host ONNX op type or the fused kind.
        nodes: ONNX node names, topological order.
        rules: codes of the rules that fused it (empty for a lone node).
    """

    name: str
    kind: str
    nodes: tuple[str, ...]
    rules: tuple[str, ...]

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "nodes": list(self.nodes), "rules": list(self.rules)}


@dataclass
class Report:
    """What ``fusionlab analyze`` found in one model.

    Attributes:
        model: file name (or graph name for an in-memory model).
        target, precision, sm: the analysis options.
        nodes: number of ONNX nodes analyzed (main graph).
        layers: predicted engine layers, topological order.
        absorbed: ONNX nodes TensorRT folds or erases (in no layer).
        diagnostics: predicted / missed / lint / absorbed records.
        notes: what was not analyzed and why (unknown ops, subgraphs, symbolic shapes).

    A report holds names and strings only, never the graph or its weights (the matches
    a rewrite needs come from :func:`fusionlab.analysis.analyze_matches`).
    """

    model: str
    target: str
    precision: str
    sm: float
    nodes: int
    layers: list[PredictedLayer]
    absorbed: list[str]
    diagnostics: list[Diagnostic]
    notes: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[Diagnostic]:
        """Diagnostics of one status; missed fusions most costly first."""
        found = [d for d in self.diagnostics if d.status == status]
        if status in ("missed", "lint"):
            found.sort(key=lambda d: -d.cost)
        return found

    @property
    def missed(self) -> list[Diagnostic]:
        return self.by_status("missed")

    @property
    def lints(self) -> list[Diagnostic]:
        return self.by_status("lint")

    @property
    def parser_rejects(self) -> list[Diagnostic]:
        """The inputs TensorRT's ONNX parser rejects (lints of rules with ``rejects``):
        when there is one, no engine is built and ``layers`` is what the builder would
        make only once they are fixed."""
        return [d for d in self.diagnostics if d.rejects]

    def layer_of(self, node: str) -> PredictedLayer | None:
        """The predicted layer holding ONNX node ``node``."""
        for layer in self.layers:
            if node in layer.nodes:
                return layer
        return None

    def to_json(self) -> dict:
        """The documented JSON shape (see module doc)."""
        return {
            "model": self.model,
            "target": self.target,
            "precision": self.precision,
            "sm": self.sm,
            "nodes": self.nodes,
            "summary": {"layers": len(self.layers), "absorbed": len(self.absorbed),
                        "missed": len(self.missed), "lint": len(self.lints)},
            "parser_rejects": [{"code": d.code, "rule": d.rule, "nodes": list(d.nodes), "reason": d.reason}
                               for d in self.parser_rejects],
            "layers": [layer.to_json() for layer in self.layers],
            "absorbed": list(self.absorbed),
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "notes": list(self.notes),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def select_diagnostics(diags: list[Diagnostic], select: list[str] | None,
                       ignore: list[str] | None) -> list[Diagnostic]:
    """Keep diagnostics whose code starts with a ``select`` prefix and none of ``ignore``
    (ruff's prefix selection: ``TRT1`` selects TRT100-TRT199)."""
    out = []
    for d in diags:
        if select and not any(d.code.startswith(p) for p in select):
            continue
        if ignore and any(d.code.startswith(p) for p in ignore):
            continue
        out.append(d)
    return out


def render_text(report: Report, console) -> None:
    """Print the readable terminal report on a ``rich.console.Console``.

    Model-derived strings go through :func:`fusionlab.text.markup`: no control character,
    bidi control or rich markup from a node name reaches the console.
    """
    from rich.table import Table

    missed, lints = report.missed, report.lints
    console.print(
        f"[bold]{markup(report.model)}[/]  target {markup(report.target)}, precision {markup(report.precision)}, SM {report.sm}\n"
        f"{report.nodes} ONNX nodes -> {len(report.layers)} predicted layers "
        f"({len(report.absorbed)} absorbed), [bold]{len(missed)} missed fusions[/], {len(lints)} lints"
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/] {markup(note)}", highlight=False)
    rejects = report.parser_rejects
    if rejects:
        console.print(f"[bold red]error:[/] the parser will reject this model ({len(rejects)} parser "
                      "rejections): no engine is built until they are fixed; the predicted layers below "
                      "assume they are", highlight=False)
        console.print(findings_table("Parser rejections", rejects))
    lints = [d for d in lints if not d.rejects]
    for title, rows in (("Missed fusions (most costly first)", missed), ("Lints", lints)):
        if rows:
            console.print(findings_table(title, rows))
    table = Table(title="Predicted engine layers", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("layer", overflow="fold")
    table.add_column("kind")
    table.add_column("rules")
    for i, layer in enumerate(report.layers):
        table.add_row(str(i), markup(layer.name), markup(layer.kind), markup(",".join(layer.rules)))
    console.print(table)


def findings_table(title: str, rows):
    """A ``rich.table.Table`` of findings (code, rule, check, nodes, reason): diagnostics,
    or a rewrite's refusals, which carry the same fields. Every cell passes through
    :func:`fusionlab.text.markup` (names are data, never markup or terminal codes)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for col in ("code", "rule", "check", "nodes", "reason"):
        table.add_column(col, overflow="fold")
    for d in rows:
        table.add_row(markup(d.code), markup(d.rule), markup(d.check or ""), markup(short_nodes(d.nodes)), markup(d.reason))
    return table


def short_nodes(nodes, limit: int = 4) -> str:
    """``a, b, c, d, ... (+n)``: at most ``limit`` node names, then how many more."""
    nodes = tuple(nodes)
    if len(nodes) <= limit:
        return ", ".join(nodes)
    return ", ".join(nodes[:limit]) + f", ... (+{len(nodes) - limit})"
