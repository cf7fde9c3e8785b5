"""Machine and plain-text renderings of an analysis report, one module per format.

``full`` is the rich terminal report (:func:`fusionlab.report.render_text`); the others
are plain strings built here: ``concise`` (:mod:`.concise`), ``json`` (the documented
shape, :meth:`fusionlab.report.Report.dumps`), ``sarif`` (:mod:`.sarif`, SARIF 2.1.0) and
``github`` (:mod:`.github`, GitHub Actions workflow commands). :func:`render` is the one
dispatch the CLI calls for every format but ``full``.
"""

from __future__ import annotations

#: Every ``--output-format`` value; ``text`` is the old spelling of ``full``.
FORMATS = ("full", "concise", "json", "sarif", "github")


def render(report, fmt: str, model_uri: str | None = None) -> str:
    """The report in format ``fmt`` (any of :data:`FORMATS` but ``full``) as text ending
    in a newline.

    Args:
        report: a :class:`fusionlab.report.Report`.
        fmt: ``concise``, ``json``, ``sarif`` or ``github``.
        model_uri: the model's path as the user gave it (the file findings point at);
            default ``report.model``.

    Raises:
        ValueError: ``fmt`` is not one of these formats (the CLI's choices prevent it).
    """
    uri = model_uri if model_uri is not None else report.model
    if fmt == "json":
        return report.dumps() + "\n"
    if fmt == "concise":
        from fusionlab.formats.concise import render_concise

        return render_concise(report, uri)
    if fmt == "sarif":
        import json

        from fusionlab.formats.sarif import to_sarif

        return json.dumps(to_sarif(report, uri), indent=2) + "\n"
    if fmt == "github":
        from fusionlab.formats.github import render_github

        return render_github(report, uri)
    raise ValueError(f"no plain renderer for format {fmt!r}")
