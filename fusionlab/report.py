"""The analysis report: predicted engine layers, absorbed nodes and diagnostics.

``Report.to_json()`` gives the documented, stable JSON shape (more keys may be added)::

    {"model": str, "target": str, "nodes": int,
     "layers": [{"name": str, "nodes": [onnx node names], "rules": [codes]}],
     "absorbed": [onnx node names],
     "diagnostics": [{"code": str, "rule": str, "status": "predicted"|"missed"|"lint",
                      "nodes": [names], "check": str|null, "reason": str,
                      "severity": "error"|"warning"|"info"|null}],
     "findings": [Finding.to_json(): the missed / lint diagnostics merged per node group]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fusionlab.diagnostic import FINDING_STATUSES, SEVERITIES, Diagnostic
from fusionlab.text import markup


@dataclass(frozen=True)
class Finding:
    """One reported node group: the missed / lint diagnostics of every rule that reports
    exactly these nodes, merged (TRT108 fc-gelu and TRT302 mlp on one BERT MLP are one
    finding listing both rules).

    Attributes:
        codes, rules: the rules' codes and names, same order (by code).
        status: ``missed`` if any of them is a missed fusion, else ``lint``.
        severity: the most severe of theirs (``error`` > ``warning`` > ``info``).
        nodes: the ONNX node names, topological order.
        checks: each rule's failed check slug (``None`` where it has none).
        reasons: each rule's reason, same order.
        cost: the highest cost (3 high .. 1 low).
        layer: the predicted engine layer of the first node, if any.
    """

    codes: tuple[str, ...]
    rules: tuple[str, ...]
    status: str
    severity: str
    nodes: tuple[str, ...]
    checks: tuple[str | None, ...]
    reasons: tuple[str, ...]
    cost: int
    layer: str | None

    @property
    def code(self) -> str:
        """The codes joined with commas (``"TRT108,TRT302"``)."""
        return ",".join(self.codes)

    @property
    def rule(self) -> str:
        """The rule names joined with commas (``"fc-gelu,mlp"``)."""
        return ",".join(self.rules)

    @property
    def reason(self) -> str:
        """The reasons, ``CODE: reason`` each and joined with ``"; "`` when there are several."""
        if len(self.reasons) == 1:
            return self.reasons[0]
        return "; ".join(f"{c}: {r}" for c, r in zip(self.codes, self.reasons))

    def to_json(self) -> dict:
        return {"codes": list(self.codes), "rules": list(self.rules), "status": self.status,
                "severity": self.severity, "nodes": list(self.nodes),
                "checks": list(self.checks), "reasons": list(self.reasons), "cost": self.cost,
                "layer": self.layer}


def group_findings(diags: list[Diagnostic]) -> list[Finding]:
    """Merge the missed / lint diagnostics that name the same node group into one
    :class:`Finding` each, in the order of each group's first diagnostic."""
    groups: dict[tuple[str, ...], list[Diagnostic]] = {}
    for d in diags:
        if d.status in FINDING_STATUSES:
            groups.setdefault(tuple(d.nodes), []).append(d)
    out = []
    for nodes, ds in groups.items():
        ds = sorted(ds, key=lambda d: d.code)
        sev = min((d.severity or "warning" for d in ds), key=SEVERITIES.index)
        out.append(Finding(tuple(d.code for d in ds), tuple(d.rule for d in ds),
                           "missed" if any(d.status == "missed" for d in ds) else "lint",
                           sev, nodes, tuple(d.check for d in ds), tuple(d.reason for d in ds),
                           max(d.cost for d in ds), ds[0].layer))
    return out


def plural(n: int, word: str) -> str:
    """``"1 lint"``, ``"3 lints"``, ``"1 missed fusion"``, ``"2 missed fusions"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(findings: list[Finding]) -> str:
    """The last line of the full and concise reports: ``"Found 3 missed fusions and 1
    lint."`` or ``"No findings."``."""
    missed = sum(f.status == "missed" for f in findings)
    lints = len(findings) - missed
    if not findings:
        return "No findings."
    parts = [plural(n, w) for n, w in ((missed, "missed fusion"), (lints, "lint")) if n]
    return "Found " + " and ".join(parts) + "."


@dataclass(frozen=True)
class PredictedLayer:
    """One predicted engine layer.

    Attributes:
        name: the name TensorRT gives it (``conv1 + relu1``, ``PWN(add1, relu1)``).
        kind: the layer's kind: the host ONNX op type or the fused kind.
        nodes: ONNX node names, topological order.
        rules: codes of the rules that fused it (empty for a lone node).
        tags: what the fusions made of it (``Rule.tags`` of the rules that merged it,
            e.g. ``"int8"``), sorted; shown by the HTML report, not a JSON key.
    """

    name: str
    kind: str
    nodes: tuple[str, ...]
    rules: tuple[str, ...]
    tags: tuple[str, ...] = ()

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
        warnings: options the run ignored and why (``fusionlab.ignored``), one line each;
            the JSON has the key ``warnings`` only when there is one.

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
    warnings: list[str] = field(default_factory=list)

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

    @property
    def findings(self) -> list[Finding]:
        """The missed fusions and lints, one :class:`Finding` per node group, most severe
        then most costly first."""
        found = group_findings(self.diagnostics)
        found.sort(key=lambda f: (SEVERITIES.index(f.severity), -f.cost))
        return found

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
            "findings": [f.to_json() for f in self.findings],
            "notes": list(self.notes),
            # only when the run ignored an option: keeps every other report's JSON as it was
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    @classmethod
    def from_json(cls, data: str | bytes | dict) -> Report:
        """The report that :meth:`to_json` (``fusionlab analyze --output-format json``) wrote.

        Args:
            data: the JSON text (``str`` or ``bytes``) or the parsed ``dict``. Derived keys
                (``summary``, ``findings``) are recomputed, not read; unknown keys are
                ignored (the shape may gain keys). A diagnostic listed in
                ``parser_rejects`` (same code, nodes and reason) gets ``rejects=True``.

        Returns:
            A :class:`Report` with ``Report.from_json(r.to_json()).to_json() == r.to_json()``.

        Raises:
            fusionlab.errors.InputError: not JSON, or not the shape of an analyze report
                (a key missing or of the wrong type; the message names it).
        """
        from fusionlab.errors import InputError

        if isinstance(data, (str, bytes, bytearray)):
            try:
                data = json.loads(data)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"not a fusionlab report: invalid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InputError(f"not a fusionlab report: expected a JSON object, got {type(data).__name__}")
        try:
            rejects = {(r["code"], tuple(r["nodes"]), r["reason"]) for r in data.get("parser_rejects", [])}
            diags = []
            for d in data["diagnostics"]:
                nodes = tuple(_strings(d["nodes"], "diagnostics[].nodes"))
                diags.append(Diagnostic(
                    _string(d["code"], "code"), _string(d["rule"], "rule"), _string(d["status"], "status"),
                    nodes, d.get("check"), _string(d["reason"], "reason"), int(d.get("cost", 1)),
                    d.get("layer"), rejects=(d["code"], nodes, d["reason"]) in rejects,
                    severity=d.get("severity")))
            layers = [PredictedLayer(_string(la["name"], "layers[].name"), _string(la["kind"], "layers[].kind"),
                                     tuple(_strings(la["nodes"], "layers[].nodes")),
                                     tuple(_strings(la["rules"], "layers[].rules")))
                      for la in data["layers"]]
            return cls(_string(data["model"], "model"), _string(data["target"], "target"),
                       _string(data["precision"], "precision"), float(data["sm"]), int(data["nodes"]),
                       layers, _strings(data["absorbed"], "absorbed"), diags,
                       _strings(data.get("notes", []), "notes"))
        except KeyError as exc:
            raise InputError(f"not a fusionlab report: key {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"not a fusionlab report: {exc}") from None


def _string(value, key: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"key {key!r} must be a string, got {value!r}")
    return value


def _strings(values, key: str) -> list[str]:
    if not isinstance(values, list):
        raise TypeError(f"key {key!r} must be a list of strings, got {values!r}")
    return [_string(v, key) for v in values]


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


    findings = report.findings
    missed = [f for f in findings if f.status == "missed"]
    lints = [f for f in findings if f.status == "lint"]
    console.print(
        f"[bold]{markup(report.model)}[/]  target {markup(report.target)}, precision {markup(report.precision)}, SM {report.sm}\n"
        f"{plural(report.nodes, 'ONNX node')} -> {plural(len(report.layers), 'predicted layer')} "
        f"({len(report.absorbed)} absorbed), [bold]{plural(len(missed), 'missed fusion')}[/], "
        f"{plural(len(lints), 'lint')}", highlight=False
    )
    for note in report.notes:
        console.print(f"[yellow]note:[/] {markup(note)}", highlight=False)
    rejects = report.parser_rejects
    if rejects:
        console.print(f"[bold red]error:[/] the parser will reject this model ({plural(len(rejects), 'parser rejection')}): "
                      "no engine is built until they are fixed; the predicted layers below assume they are",
                      highlight=False)
        console.print(findings_table("Parser rejections", rejects))
    lints = [f for f in lints if f.severity != "error"]
    for title, rows in (("Missed fusions (most severe, then most costly first)", missed), ("Lints", lints)):
        if rows:
            console.print(findings_table(title, rows, severity=True))
    table = Table(title="Predicted engine layers", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("layer", overflow="fold")
    table.add_column("kind")
    table.add_column("rules")
    for i, layer in enumerate(report.layers):
        table.add_row(str(i), markup(layer.name), markup(layer.kind), markup(",".join(layer.rules)))
    console.print(table)
    console.print(summary_line(findings), highlight=False)


def findings_table(title: str, rows, *, severity: bool = False):
    """A ``rich.table.Table`` of findings (code, rule, check, nodes, reason): diagnostics,
    :class:`Finding` records (``check`` becomes the failed checks), or a rewrite's
    refusals, which carry the same fields; with ``severity``, a severity column first. Every cell passes
    through :func:`fusionlab.text.markup` (names are data, never markup or terminal codes)."""
    from rich.table import Table


    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for col in (("severity",) if severity else ()) + ("code", "rule", "check", "nodes", "reason"):
        table.add_column(col, overflow="fold")
    for d in rows:
        check = ",".join(c or "" for c in d.checks) if isinstance(d, Finding) else (d.check or "")
        cells = [markup(d.code), markup(d.rule), markup(check), markup(short_nodes(d.nodes)), markup(d.reason)]
        table.add_row(*([d.severity] if severity else []), *cells)
    return table


def short_nodes(nodes, limit: int = 4) -> str:
    """``a, b, c, d, ... (+n)``: at most ``limit`` node names, then how many more."""
    nodes = tuple(nodes)
    if len(nodes) <= limit:
        return ", ".join(nodes)
    return ", ".join(nodes[:limit]) + f", ... (+{len(nodes) - limit})"
