"""The text report of ``fusionlab rewrite`` (rich)."""

from __future__ import annotations

from rich.table import Table

from fusionlab.report import findings_table, short_nodes
from fusionlab.rewriting.report import BuildCount, RewriteReport
from fusionlab.text import markup


def render_rewrite(report: RewriteReport, console, *, output: str | None = None, dry_run: bool = False,
                   note: str | None = None) -> None:
    """Print the before/after report on a ``rich.console.Console``; model-derived strings
    pass through :func:`fusionlab.text.markup`. ``note`` (``nothing to rewrite: ...``)
    is printed first, in bold."""
    b, a = report.before, report.after
    if note:
        console.print(f"[bold]{markup(note)}[/]", highlight=False)
    dest = " (dry run: nothing written)" if dry_run else (f" -> {markup(output)}" if output else "")
    console.print(f"[bold]{markup(report.model)}[/]{dest}  target {markup(report.target)}, "
                  f"precision {markup(report.precision)}, "
                  f"SM {report.sm}", highlight=False)
    by_pass = markup(", ".join(f"{k} {n}" for k, n in report.counts().items()) or "none")
    console.print(f"{len(report.changes)} rewrites in {len({c.round for c in report.changes})} "
                  f"rounds ({by_pass}), {report.seconds:.2f} s", highlight=False)
    console.print(f"predicted engine layers {len(b.layers)} -> {len(a.layers)}; "
                  f"[bold]missed fusions {len(b.missed)} -> {len(a.missed)}[/]; "
                  f"ONNX nodes {b.nodes} -> {a.nodes}", highlight=False)
    if report.builds:
        bb, ab = report.builds["before"], report.builds["after"]

        def fmt(c: BuildCount) -> str:
            if c.error:
                first = c.error.splitlines()[0]
                return markup(f"failed ({first[:160]}{'...' if len(first) > 160 else ''})")
            return f"{c.layers} ({c.layers_with_nodes} with ONNX nodes)"

        console.print(f"builder {markup(report.builds['after'].builder)} {markup(ab.version or bb.version or '')}: engine layers "
                      f"{fmt(bb)} -> {fmt(ab)}", highlight=False)
    console.print(f"onnx.checker: {markup(report.checker or 'not run')} check passed" if report.checker
                  else "onnx.checker: not run", highlight=False)
    eq = report.equivalence
    if eq is not None:
        shapes = markup(", ".join(f"{k}[{'x'.join(map(str, v))}]" for k, v in eq.input_shapes.items()))
        console.print(f"ONNX Runtime: outputs equal within tolerance on seeds "
                      f"{', '.join(map(str, eq.seeds))}, inputs {shapes}", highlight=False)
        table = Table(title="Outputs, rewritten vs original", title_justify="left")
        for col in ("output", "dtype", "max |diff|", "max rel", "atol", "rtol", ""):
            table.add_column(col, overflow="fold")
        for o in eq.outputs:
            table.add_row(markup(o.name), markup(o.dtype), f"{o.max_abs:.3g}", f"{o.max_rel:.3g}", f"{o.atol:g}", f"{o.rtol:g}",
                          "ok" if o.passed else "FAIL")
        console.print(table)
    if report.requantized:
        table = Table(title="Requantized (--allow-requantize): values round to these grids, not exact",
                      title_justify="left")
        for col in ("tensor", "read by", "quantizer reused", "scale", "zero point", "max change", "grid range"):
            table.add_column(col, overflow="fold")
        for r in report.requantized:
            scale = f"{r.scale[0]:g}" if len(r.scale) == 1 else f"{len(r.scale)} values, max {r.step:g}"
            zp = str(r.zero_point[0]) if len(set(r.zero_point)) == 1 else "per channel"
            grid = "" if r.range is None else f"[{r.range[0]:g}, {r.range[1]:g}]"
            table.add_row(markup(r.tensor), markup(r.node), markup(r.quantizer), scale, zp, f"{r.max_change:.4g}", grid)
        console.print(table)
        if report.tolerance:
            console.print(f"Tolerance: {markup(report.tolerance['why'])}", highlight=False)
    for w in report.warnings:
        console.print(f"[bold yellow]warning:[/] {markup(w)}", highlight=False)
    if report.changes:
        table = Table(title="Rewrites", title_justify="left")
        for col in ("round", "pass", "code", "nodes", "change"):
            table.add_column(col, overflow="fold")
        for c in report.changes:
            table.add_row(str(c.round), markup(c.pass_name), markup(c.code), markup(short_nodes(c.nodes)),
                          markup(c.description))
        console.print(table)
    if report.refused:
        console.print(findings_table("Not rewritten: fixing these would change the math", report.refused))
    if a.missed:
        console.print(findings_table("Missed fusions left", a.missed))
