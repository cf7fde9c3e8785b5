"""``--output-format html``: one self-contained HTML file that draws the ONNX graph with
its predicted engine layers, for analyze, verify and rewrite.

The page (template ``report.html.j2``, rendered with jinja2, autoescape on) holds:

* the graph, drawn in the browser by cytoscape.js with the dagre layout: every engine layer
  is one box (a compound node, collapsed); a click expands it to its ONNX nodes, which are
  built only then, 200 at a time (a 10k-node model draws as its layers), and collapses it
  again. Up to 1500 boxes are laid out by dagre, more by longest-path rank. Nodes
  in no layer (folded or erased) are small grey nodes. A layer holding a missed fusion has
  the class ``missed`` (red); the side panel shows the selected layer's or node's details
  (op, inputs and outputs with shapes, layer kind, rules, tags, findings with the failed
  check and reason);
* the same facts as plain DOM for reading and counting: a layers table (one
  ``tr[data-layer]`` per predicted layer), a findings list (one ``li[data-code]`` per
  finding, class ``missed`` or ``lint``);
* with verify: the predicted and the built layers side by side (two graphs over the same
  ONNX nodes), the producer -> consumer edges on which they disagree marked (class
  ``disagree``, listed in ``tr[data-edge]`` rows), and with a profile a per-layer time chart
  (Chart.js) and the time spent in layers holding a missed fusion;
* with rewrite: the model before and after, side by side.

Every model-derived string reaches the page either through jinja2's autoescape (the DOM
tables, through :func:`fusionlab.text.printable` so control characters show escaped) or
as JSON through ``|tojson`` (exact names, ``<``, ``>``, ``&`` and ``'`` escaped, read
with ``JSON.parse``). The JavaScript libraries are the files in ``vendor/`` (npm packages,
see ``vendor/README.md``), inlined: the page makes no network request and names no
``http(s)://`` source.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

#: The vendored libraries, in the order they are inlined (cytoscape-dagre needs cytoscape).
VENDOR_JS = ("cytoscape.min.js", "cytoscape-dagre.min.js", "chart.umd.min.js")
#: Scalar attribute values longer than this (characters) are cut in the side panel.
ATTR_CHARS = 80


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    """A packaged file's text (``report.js``, ``vendor/*.js``), its trailing
    ``//# sourceMappingURL=`` comment dropped (the maps are not shipped).

    Raises:
        RuntimeError: the file would end the inline ``<script>`` early (a broken install).
    """
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("//# sourceMappingURL=")]
    text = "\n".join(lines)
    if "</script" in text.lower() or "<!--" in text:
        raise RuntimeError(f"{name}: cannot be inlined in a <script> element")
    return text


def _environment():
    import jinja2

    from fusionlab.text import printable

    env = jinja2.Environment(loader=jinja2.PackageLoader(__name__, ""),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}
    from fusionlab.report import plural

    env.globals["zip"] = zip
    env.globals["plural"] = plural
    env.filters["printable"] = lambda s: printable("" if s is None else str(s))
    return env


def _shape(graph, tensor: str) -> str | None:
    shape = graph.shapes.get(tensor)
    if shape is None:
        return None
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _attr(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (int, float, str)):
        text = str(value)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        text = "[" + ", ".join(str(v) for v in value) + "]"
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= ATTR_CHARS else text[:ATTR_CHARS] + "..."


def graph_data(graph) -> dict:
    """The ONNX graph as the page's JSON: ``nodes`` (``[name, op_type]`` in topological
    order), ``edges`` (``[producer index, consumer index]``, one per producer -> consumer
    pair), ``io`` (per node: ``[[input, shape], ...], [[output, shape], ...], {attr:
    value}``; shapes as text, ``None`` when unknown; ``""`` marks an omitted input).

    Args:
        graph: a :class:`fusionlab.graph.Graph`.
    """
    names = list(graph.nodes)
    index = {n: i for i, n in enumerate(names)}
    nodes = [[n, graph.nodes[n].op_type] for n in names]
    edges = [[index[u], index[v]] for u, v in graph.nx.edges()]
    io = []
    for n in names:
        node = graph.nodes[n]
        io.append([[[t, _shape(graph, t) if t else None] for t in node.inputs],
                   [[t, _shape(graph, t)] for t in node.outputs],
                   {k: _attr(v) for k, v in node.attrs.items()}])
    return {"name": graph.name, "nodes": nodes, "edges": edges, "io": io, "index": index}


def _findings_json(report) -> list[dict]:
    return [f.to_json() for f in report.findings]


def _layer_view(report, gdata: dict, findings: list[dict], *, view_id: str, title: str,
                tags: dict | None = None) -> dict:
    """A view whose groups are ``report``'s predicted layers."""
    index = gdata["index"]
    owner = [-1] * len(gdata["nodes"])
    groups = []
    node_findings: dict[int, list[int]] = {}
    for fi, f in enumerate(findings):
        for n in f["nodes"]:
            if n in index:
                node_findings.setdefault(index[n], []).append(fi)
    for gi, layer in enumerate(report.layers):
        members = [index[n] for n in layer.nodes if n in index]
        for i in members:
            owner[i] = gi
        fis = sorted({fi for i in members for fi in node_findings.get(i, ())})
        groups.append({"name": layer.name, "kind": layer.kind, "rules": list(layer.rules),
                       "tags": sorted(getattr(layer, "tags", ()) or ()), "nodes": members,
                       "findings": fis,
                       "missed": any(findings[fi]["status"] == "missed" for fi in fis)})
    return {"id": view_id, "title": title, "graph": 0, "groups": groups, "owner": owner,
            "marked": [], "group_label": "predicted layer"}


def _built_view(v, gdata: dict, findings: list[dict]) -> dict:
    """A view whose groups are the engine layers a build made (``v.observed``): each
    observed layer naming a node of the model is a group; a node several kernels name is
    drawn in the first and listed in every group's ``nodes``."""
    index = gdata["index"]
    owner = [-1] * len(gdata["nodes"])
    missed_nodes = {index[n] for f in findings if f["status"] == "missed" for n in f["nodes"] if n in index}
    node_findings: dict[int, list[int]] = {}
    for fi, f in enumerate(findings):
        for n in f["nodes"]:
            if n in index:
                node_findings.setdefault(index[n], []).append(fi)
    groups = []
    for o in v.observed:
        members = [index[n] for n in o.nodes if n in index]
        if not members:
            continue
        gi = len(groups)
        for i in members:
            if owner[i] == -1:
                owner[i] = gi
        fis = sorted({fi for i in members for fi in node_findings.get(i, ())})
        groups.append({"name": o.name, "kind": o.type or "", "rules": [], "tags": [], "nodes": members,
                       "findings": fis, "missed": bool(missed_nodes & set(members)),
                       "ms": v.layer_ms.get(o.name)})
    return {"id": "built", "title": f"Built engine layers ({v.source})", "graph": 0, "groups": groups,
            "owner": owner, "marked": [], "group_label": "engine layer"}


def _mark(views: list[dict], gdata: dict, edge_errors) -> list[dict]:
    index = gdata["index"]
    marked = [[index[u], index[v], why] for u, v, why in edge_errors if u in index and v in index]
    for view in views:
        view["marked"] = marked
    return marked


def _page(data: dict, report, *, findings_report=None, extra: dict | None = None) -> str:
    env = _environment()
    template = env.get_template("report.html.j2")
    findings_report = findings_report or report
    return template.render(
        data=data, report=report, findings=findings_report.findings,
        vendor=[_asset(f"vendor/{name}") for name in VENDOR_JS], script=_asset("report.js"),
        style=_asset("report.css"), summary=_summary(findings_report), **(extra or {}))


def _summary(report) -> str:
    from fusionlab.report import summary_line

    return summary_line(report.findings)


def _load(model, graph):
    if graph is not None:
        return graph
    if model is None:
        raise ValueError("give the model (a path or an onnx.ModelProto) or its loaded graph")
    from fusionlab.graph import load_graph

    return load_graph(model)


def render_html(report, model: str | os.PathLike | None = None, *, graph=None,
                model_uri: str | None = None) -> str:
    """The HTML report of ``fusionlab analyze``: the graph with ``report``'s predicted
    layers and findings.

    Args:
        report: the :class:`fusionlab.report.Report` of ``model``.
        model: the ONNX model (a path or an ``onnx.ModelProto``) the report is of; loaded
            again for its structure (no weights), unless ``graph`` is given.
        graph: the model's loaded :class:`fusionlab.graph.Graph`, instead of ``model``.
        model_uri: the model path as the user gave it (shown in the title); default
            ``report.model``.

    Returns:
        The page, one ``str`` (UTF-8 when written).

    Raises:
        fusionlab.errors.InputError: ``model`` cannot be loaded.
        ValueError: neither ``model`` nor ``graph`` is given.
    """
    graph = _load(model, graph)
    gdata = graph_data(graph)
    findings = _findings_json(report)
    view = _layer_view(report, gdata, findings, view_id="predicted", title="Predicted engine layers")
    data = _data("analyze", report, model_uri, [gdata], [view], findings)
    return _page(data, report, extra={"mode": "analyze", "views": [view], "verification": None,
                                      "rewrite": None})


def _data(mode: str, report, model_uri, graphs, views, findings, **more) -> dict:
    for g in graphs:
        g.pop("index", None)
    return {"mode": mode, "model": model_uri or report.model, "target": report.target,
            "precision": report.precision, "sm": report.sm, "graphs": graphs, "views": views,
            "findings": findings, **more}


def render_verification_html(v, model: str | os.PathLike | None = None, *, graph=None,
                             model_uri: str | None = None) -> str:
    """The HTML report of ``fusionlab verify``: predicted layers (left) and the layers
    the builder made (right) over the same ONNX graph, the edges on which they disagree
    marked; with a profile, a per-layer time chart and the time of the layers that hold a
    missed fusion.

    Args:
        v: a :class:`fusionlab.verification.Verification`.
        model, graph, model_uri: as :func:`render_html`.

    Raises:
        fusionlab.errors.InputError: ``model`` cannot be loaded.
    """
    report = v.report
    graph = _load(model, graph)
    gdata = graph_data(graph)
    findings = _findings_json(report)
    predicted = _layer_view(report, gdata, findings, view_id="predicted", title="Predicted engine layers")
    built = _built_view(v, gdata, findings)
    _mark([predicted, built], gdata, v.comparison.edge_errors)
    chart = None
    if v.profile_total_ms is not None:
        missed_layers = {name for c in v.missed_costs for name in c.layers}
        ranked = sorted(v.layer_ms.items(), key=lambda kv: -kv[1])
        chart = {"total_ms": v.profile_total_ms,
                 "layers": [[name, ms, name in missed_layers] for name, ms in ranked]}
    score = v.comparison.score.to_json()
    data = _data("verify", report, model_uri, [gdata], [predicted, built], findings, chart=chart,
                 score=score)
    return _page(data, report, extra={"mode": "verify", "views": [predicted, built], "verification": v,
                                      "score": score, "rewrite": None})


def render_rewrite_html(result, before, after, *, model_uri: str | None = None) -> str:
    """The HTML report of ``fusionlab rewrite``: the model before (left) and after (right)
    the rewrite, each with its predicted layers; the findings listed are those left in
    the rewritten model, and the changes made and refused are tables.

    Args:
        result: the :class:`fusionlab.rewriting.report.RewriteReport` (``before`` and
            ``after`` are its analysis reports).
        before, after: the original and the rewritten model (paths, ``onnx.ModelProto``
            or loaded :class:`fusionlab.graph.Graph`).
        model_uri: the model path as the user gave it.

    Raises:
        fusionlab.errors.InputError: a model cannot be loaded.
    """
    from fusionlab.graph import Graph, load_graph

    graphs = [b if isinstance(b, Graph) else load_graph(b) for b in (before, after)]
    gb, ga = graph_data(graphs[0]), graph_data(graphs[1])
    fb, fa = _findings_json(result.before), _findings_json(result.after)
    vb = _layer_view(result.before, gb, fb, view_id="before", title="Before the rewrite: predicted layers")
    va = _layer_view(result.after, ga, fa, view_id="after", title="After the rewrite: predicted layers")
    va["graph"] = 1
    vb["findings_key"], va["findings_key"] = "findings_before", "findings"
    data = _data("rewrite", result.after, model_uri, [gb, ga], [vb, va], fa, findings_before=fb)
    return _page(data, result.after, extra={"mode": "rewrite", "views": [vb, va], "verification": None,
                                            "rewrite": result})
