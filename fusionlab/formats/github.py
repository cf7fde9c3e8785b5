"""``--output-format github``: GitHub Actions workflow commands, one per finding.

``::warning file=MODEL,title=CODE rule-name::message`` (``::error`` for an ``error``
finding, ``::notice`` for ``info``), which GitHub shows as annotations on the run and on
the model file. Property values and the message are escaped as GitHub's toolkit does
(``@actions/core`` ``command.ts``): in the message ``%`` ``\\r`` ``\\n`` become ``%25``
``%0D`` ``%0A``; in a property value also ``:`` ``,`` become ``%3A`` ``%2C``. Other
control characters are written visibly (:func:`fusionlab.text.printable`).
"""

from __future__ import annotations

from fusionlab.report import Finding
from fusionlab.text import printable

#: Workflow command per finding severity.
COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (``%``, CR, LF, ``:``, ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _visible(text: str) -> str:
    # CR and LF stay for escape_data to encode; every other control is written visibly.
    return "\n".join("\r".join(printable(p) for p in line.split("\r")) for line in text.split("\n"))


def github_line(finding: Finding, model_uri: str) -> str:
    """One finding as one workflow command line (no trailing newline)."""
    title = f"{finding.code} {finding.rule}"
    nodes = ", ".join(finding.nodes)
    message = f"{finding.reason} (nodes: {nodes})"
    return (f"::{COMMANDS[finding.severity]} file={escape_property(_visible(model_uri))},"
            f"title={escape_property(title)}::{escape_data(_visible(message))}")


def render_github(report, model_uri: str) -> str:
    """Every finding of ``report`` as a workflow command, one per line (empty when there
    are none)."""
    return "".join(github_line(f, model_uri) + "\n" for f in report.findings)
