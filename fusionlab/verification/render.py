"""The text reports of ``fusionlab verify`` and ``verify --corpus`` (rich)."""

from __future__ import annotations

from rich.table import Table

from fusionlab.text import markup
from fusionlab.verification.result import Verification


def render_verification(v: Verification, console) -> None:
    """Print the verification on a ``rich.console.Console``; model-derived strings pass
    through :func:`fusionlab.text.markup`."""
    s = v.comparison.score
    r = v.report
    console.print(f"[bold]{markup(r.model)}[/]  target {markup(r.target)}; observed: {markup(v.source)} (mapping: {markup(v.mapping)})")
    console.print(f"predicted {len(r.layers)} layers, observed {len(v.observed)} engine layers; "
                  f"{len(v.comparison.builder_absorbed)} ONNX nodes in no engine layer")
    if s.scored:
        console.print(f"[bold]fused-edge score: precision {s.precision:.3f}, recall {s.recall:.3f}, "
                      f"F1 {s.f1:.3f}[/] over {s.edges} edges (tp {s.tp}, fp {s.fp}, fn {s.fn})")
    else:
        _, why = v.not_paired()
        console.print(f"[bold red]fused-edge score: not scored[/] (0 paired edges): {markup(why)}", highlight=False)
    for w in v.warnings:
        console.print(f"[yellow]warning:[/] {markup(w)}", highlight=False)
    counts: dict[str, int] = {}
    for status, _, _ in v.comparison.fusions:
        counts[status] = counts.get(status, 0) + 1
    console.print("predicted fusions: " + markup(", ".join(f"{k} {n}" for k, n in sorted(counts.items()))))
    misses = [f for f in v.comparison.fusions if f[0] == "not-observed"]
    extra = [f for f in v.comparison.observed_fusions if f[0] == "not-predicted"]
    for title, rows in (("Predicted fusions the builder did not make", misses),
                        ("Builder fusions analyze did not predict", extra)):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("layer", overflow="fold")
        table.add_column("nodes", overflow="fold")
        for _, nodes, name in rows[:40]:
            table.add_row(markup(name), markup(", ".join(nodes)))
        if len(rows) > 40:
            table.add_row("...", f"{len(rows) - 40} more (use --format json)")
        console.print(table)
    if v.profile_total_ms is not None:
        console.print(f"profile: {v.profile_total_ms:.4f} ms per inference")
        table = Table(title="Time in layers holding a missed fusion", title_justify="left")
        for col in ("code", "rule", "check", "ms", "%", "layers"):
            table.add_column(col, overflow="fold")
        for c in v.missed_costs:
            table.add_row(markup(c.code), markup(c.rule), markup(c.check or ""), f"{c.ms:.4f}", f"{c.percent:.2f}",
                          markup(", ".join(c.layers)))
        console.print(table)


def render_corpus(result: dict, console) -> None:
    """Print :func:`~fusionlab.verification.corpus.calibrate`'s tables on a ``rich.console.Console``."""
    table = Table(title="Per model", title_justify="left")
    for col in ("model", "F1", "precision", "recall", "edges"):
        table.add_column(col, overflow="fold")
    for path, s in result["models"].items():
        if "error" in s:
            table.add_row(markup(path), "error", markup(s["error"]), "", "")
        elif not s.get("scored", True):
            table.add_row(markup(path), "not scored", "", "", str(s["edges"]))
        else:
            table.add_row(markup(path), f"{s['f1']:.3f}", f"{s['precision']:.3f}", f"{s['recall']:.3f}", str(s["edges"]))
    console.print(table)
    table = Table(title="Per rule", title_justify="left")
    for col in ("rule", "predicted", "confirmed", "not observed", "unverifiable"):
        table.add_column(col)
    for t in result["rules"]:
        table.add_row(markup(t.code), str(t.predicted), str(t.confirmed), str(t.not_observed), str(t.unverifiable))
    console.print(table)
    table = Table(title="Builder fusions no rule predicted (by op types)", title_justify="left")
    table.add_column("ops", overflow="fold")
    table.add_column("count")
    for sig, n in result["unpredicted"].items():
        table.add_row(markup(sig), str(n))
    console.print(table)
