"""The text reports of ``fusionlab verify`` and ``verify --corpus`` (rich)."""

from __future__ import annotations

import os

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


CLASS_ROWS = 25  # error classes the text and Markdown tables show (JSON has them all)


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
    classes = result["classes"]
    if classes:
        table = Table(title=f"Disagreeing edges by error class (top {min(len(classes), CLASS_ROWS)} "
                            f"of {len(classes)}; all in --format json)", title_justify="left")
        for col in ("producer op", "consumer op", "error", "edges", "models", "example"):
            table.add_column(col, overflow="fold")
        for c in classes[:CLASS_ROWS]:
            table.add_row(markup(c["producer_op"]), markup(c["consumer_op"]), c["error"], str(c["count"]),
                          str(len(c["models"])), markup(c["examples"][0]))
        console.print(table)
    table = Table(title="Builder fusions no rule predicted (by op types)", title_justify="left")
    table.add_column("ops", overflow="fold")
    table.add_column("count")
    for sig, n in result["unpredicted"].items():
        table.add_row(markup(sig), str(n))
    console.print(table)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_corpus_markdown(result: dict, command: str) -> str:
    """``verify --corpus``'s result as Markdown (``--output-format markdown``): the
    command that made it, the summary, the per-model table (F1, or the failure and
    whether analyze flagged it before the build) and the error classes; the file
    benchmarks/FIDELITY.md is this output."""
    s = result["summary"]
    out = ["# Fidelity on the calibration corpus", "",
           "Regenerated by (from the corpus's saved build logs; drop `--logs` to build every model again):", "",
           "```", command, "```", "",
           "## Summary", "",
           f"- Models: {s['models']}; scored: {s['scored']}; failed builds: {s['failed']}, flagged by analyze "
           f"before the build: {s['failed_flagged']}/{s['failed']}.",
           f"- Fused-edge F1: mean **{s['mean_f1']}**, min **{s['min_f1']}**; {s['at_least_0.97']} models at "
           f"0.97 or more, {s['below_0.90']} below 0.90.", "",
           "## Per model", "", "| model | F1 | precision | recall | edges | build |", "|---|---|---|---|---|---|"]
    for path, m in result["models"].items():
        name = _cell(os.path.splitext(os.path.basename(path))[0])
        if "error" in m:
            flagged = ", ".join(m.get("flagged") or []) or "not flagged"
            out.append(f"| {name} | - | - | - | - | failed ({_cell(flagged)}): {_cell(m['error'][:160])} |")
        elif not m.get("scored", True) or m.get("f1") is None:
            out.append(f"| {name} | not scored | - | - | {m.get('edges', 0)} | ok |")
        else:
            out.append(f"| {name} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['edges']} | ok |")
    classes = result["classes"]
    out += ["", f"## Disagreeing edges by error class (top {min(len(classes), CLASS_ROWS)} of {len(classes)})", "",
            "| producer op | consumer op | error | edges | models | top models | example |",
            "|---|---|---|---|---|---|---|"]
    for c in classes[:CLASS_ROWS]:
        top = ", ".join(f"{m} {n}" for m, n in sorted(c["models"].items(), key=lambda kv: -kv[1])[:3])
        out.append(f"| {_cell(c['producer_op'])} | {_cell(c['consumer_op'])} | {c['error']} | {c['count']} | "
                   f"{len(c['models'])} | {_cell(top)} | {_cell(c['examples'][0])} |")
    return "\n".join(out) + "\n"
