"""``--output-format concise``: one finding per line, never wrapped, for grep and editors.

Each line is ``MODEL:NODE: CODES [rule-names] reason (nodes: a, b, ...)``:
``NODE`` is the finding's first ONNX node, the node list at the end names every node of
the group, whole (no line width applies). Names from the model pass through
:func:`fusionlab.text.printable`, so a newline in a node name cannot start a new line.
The last line is :func:`fusionlab.report.summary_line`.
"""

from __future__ import annotations

from fusionlab.report import Finding, summary_line
from fusionlab.text import printable


def concise_line(finding: Finding, model_uri: str) -> str:
    """One finding as one line (no trailing newline)."""
    first = finding.nodes[0] if finding.nodes else ""
    nodes = ", ".join(printable(n) for n in finding.nodes)
    return (f"{printable(model_uri)}:{printable(first)}: {finding.code} [{finding.rule}] "
            f"{printable(finding.reason)} (nodes: {nodes})")


def render_concise(report, model_uri: str) -> str:
    """Every finding of ``report`` (a :class:`fusionlab.report.Report`), one per line, then
    the summary line; ends in a newline."""
    findings = report.findings
    lines = [f"note: {printable(n)}" for n in report.notes]
    lines += [concise_line(f, model_uri) for f in findings]
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"
