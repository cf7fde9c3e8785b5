"""``fusionlab.analyze``: the Python API of the main job."""

from __future__ import annotations

import contextlib
import gc
import math
import os

import onnx

from fusionlab import engine
from fusionlab.diagnostic import FINDING_STATUSES, Diagnostic
from fusionlab.errors import InputError
from fusionlab.graph import Graph, load_graph
from fusionlab.report import PredictedLayer, Report, select_diagnostics
from fusionlab.rule import Match


def compute_capability(sm: object) -> float:
    """``sm`` as a float compute capability: ``8.6``, ``8``, or a string ``"8.6"``.

    Raises:
        InputError: anything else (a bool, a word, zero, a negative or non-finite number).
    """
    value: float | None = None
    if isinstance(sm, (int, float)) and not isinstance(sm, bool):
        value = float(sm)
    elif isinstance(sm, str):
        try:
            value = float(sm.strip().lower().removeprefix("sm"))
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise InputError(f"sm must be a GPU compute capability such as 8.6, got {sm!r}")
    return value


def rule_selection(values: str | list[str] | tuple[str, ...] | None, known: list[str]) -> list[str] | None:
    """Normalise a ``select`` / ``ignore`` value to upper-case code prefixes.

    Args:
        values: one prefix (``"TRT1"``), comma-separated prefixes (``"trt1,TRT4"``), or a
            list of them; ``None`` or empty selects nothing particular.
        known: every rule code in the catalogue.

    Returns:
        The prefixes, upper case, or ``None`` when none was given.

    Raises:
        InputError: a prefix no code of the catalogue starts with
            (``unknown rule code or prefix NOPE``), or a value that is not a string.
    """
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out = []
    for value in values:
        if not isinstance(value, str):
            raise InputError(f"rule codes must be strings, got {value!r}")
        for part in value.split(","):
            code = part.strip().upper()
            if not code:
                continue
            if not any(k.startswith(code) for k in known):
                raise InputError(f"unknown rule code or prefix {part.strip()}")
            out.append(code)
    return out or None


def _node_ignored(d: Diagnostic, per_node: dict[str, list[str]]) -> bool:
    from fnmatch import fnmatchcase

    return any(any(d.code.startswith(c) for c in codes) and any(fnmatchcase(n, glob) for n in d.nodes)
               for glob, codes in per_node.items())


def _load_at(model, shapes) -> Graph:
    """Load ``model`` and infer its shapes at the opt shapes of ``shapes`` (checked
    against its inputs by :func:`fusionlab.shapes.resolve`)."""
    if shapes is None:
        return load_graph(model)
    from fusionlab.shapes import declared_inputs, resolve, with_symbols

    graph = load_graph(model, infer=False)
    opt = resolve(graph.model, shapes, graph.name).opt_shapes()
    graph.infer_shapes(with_symbols(declared_inputs(graph.model), opt))
    return graph


#: The ``metadata_props`` key of an ONNX node that suppresses findings on it.
IGNORE_KEY = "fusionlab.ignore"


def metadata_ignores(graph: Graph, known: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Per-node ignores an exporter wrote into the model: a node whose ``metadata_props``
    holds ``fusionlab.ignore = "TRT111,TRT5"`` (codes or prefixes, comma-separated,
    case-insensitive) suppresses the findings of those codes that name the node, as
    ``per-node-ignores`` does for a glob (the same filter applies both).

    Set it with ``onnx.helper.set_metadata_props(node, {"fusionlab.ignore": "TRT111"})``
    or ``node.metadata_props.add(key=..., value=...)`` (NodeProto metadata, ONNX IR 10).

    Returns:
        ``({glob: codes}, warnings)``: one exact-name glob (``glob.escape``) per annotated
        node, and one warning per code that no rule of the catalogue starts with (named
        with its node; the code is dropped, the analysis goes on).
    """
    from glob import escape

    found: dict[str, list[str]] = {}
    warnings: list[str] = []
    for name, node in graph.nodes.items():
        for entry in getattr(node.proto, "metadata_props", ()):
            if entry.key != IGNORE_KEY:
                continue
            codes = []
            for part in entry.value.split(","):
                code = part.strip().upper()
                if not code:
                    continue
                if any(k.startswith(code) for k in known):
                    codes.append(code)
                else:
                    warnings.append(f"warning: node {name!r}: metadata {IGNORE_KEY} names unknown rule code "
                                    f"or prefix {part.strip()!r}; it is ignored")
            if codes:
                found.setdefault(escape(name), []).extend(codes)
    return found, warnings


@contextlib.contextmanager
def _no_cyclic_gc():
    """Pause Python's cyclic garbage collector during one analysis: the engine allocates
    hundreds of thousands of small objects that all live until the report is built, and
    the collector's repeated scans of them cost ~17% on a 100k-node graph (benchmarks/)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyze(model: str | os.PathLike | bytes | onnx.ModelProto | Graph, *, target: str = "tensorrt",
            precision: str = "fp32", sm: float | str = 8.6, select: str | list[str] | None = None,
            ignore: str | list[str] | None = None,
            per_node_ignores: dict[str, list[str]] | None = None, shapes=None,
            name: str | None = None) -> Report:
    """Predict TensorRT's engine layers for an ONNX model and explain missed fusions.

    Args:
        model: a path to an ``.onnx`` file; an ``onnx.ModelProto``; its serialized
            ``bytes``; an object with a ``.model_proto`` (the ``torch.onnx.ONNXProgram`` of
            ``torch.onnx.export(..., dynamo=True)``); or a loaded Graph. An in-memory
            model must hold its weights: an initializer whose data is still in an
            external file is an InputError (see :func:`fusionlab.graph.in_memory_model`).
        target: ``"tensorrt"`` (documented classic fusions) or ``"tensorrt-rtx"``.
        precision: ``fp32``, ``fp16``, ``bf16`` or ``int8`` (classic builder flags).
        sm: the GPU's compute capability, e.g. ``8.6``.
        select, ignore: code prefixes of the diagnostics to keep / drop: one string
            (``"TRT1"``, ``"trt108,TRT4"``) or a list; case-insensitive.
        per_node_ignores: ``{glob: [code prefixes]}``: drop a diagnostic of those codes
            when any of its nodes matches the :func:`fnmatch.fnmatchcase` glob.
        shapes: input shapes to predict at: trtexec's ``"x:1x3x224x224,y:1x64"``, a
            mapping ``{"x": (1, 3, 224, 224)}``, or a :class:`fusionlab.shapes.ShapeRequest`
            (``shape_request(opt_shapes=..., min_shapes=..., max_shapes=...)``: the
            prediction is at the opt shapes). Ignored for a loaded ``Graph``, which keeps
            the shapes it was inferred with.
            A node's ``metadata_props`` key ``fusionlab.ignore`` adds its own codes (see
            :func:`metadata_ignores`).
        name: the report's ``model`` (default: the file name of a path, else the
            ``ModelProto``'s graph name, else ``"model"``).

    Returns:
        A :class:`fusionlab.report.Report`; ``report.to_json()`` is the documented shape.
        The report holds names and strings only (no graph, no weights): pickling the
        report of ``models/resnet18.onnx`` takes a few KB. External weight files are
        not read, except the bytes of a constant whose value a check needs (loaded with
        ``load_external_data=False``, read by :meth:`fusionlab.graph.Graph.const_value`).

    Raises:
        fusionlab.errors.InputError: the model cannot be loaded (see
            :func:`fusionlab.graph.load_graph`), an option is unknown, ``sm`` is not a
            compute capability (:func:`compute_capability`), or a ``select`` / ``ignore``
            code matches no rule (:func:`rule_selection`), or ``shapes`` is malformed or
            does not fit the model's inputs (:mod:`fusionlab.shapes`).
    """
    return analyze_matches(model, target=target, precision=precision, sm=sm, select=select,
                           ignore=ignore, per_node_ignores=per_node_ignores, shapes=shapes,
                           name=name)[0]


def analyze_matches(model: str | os.PathLike | bytes | onnx.ModelProto | Graph, *, target: str = "tensorrt",
                    precision: str = "fp32", sm: float | str = 8.6, select: str | list[str] | None = None,
                    ignore: str | list[str] | None = None,
                    per_node_ignores: dict[str, list[str]] | None = None, shapes=None,
                    name: str | None = None,
                    ) -> tuple[Report, list[tuple[Diagnostic, Match]]]:
    """:func:`analyze`, plus the engine's match behind each diagnostic (for rewrites).

    Returns:
        ``(report, pairs)``: the report as :func:`analyze` gives it, and one
        ``(diagnostic, match)`` pair per ``report.diagnostics`` entry, same order. A
        :class:`fusionlab.rule.Match` keeps the layer state and so the graph and its
        ``ModelProto``: keep the pairs only as long as the rewrite that needs them.

    Raises:
        as :func:`analyze`.
    """
    from fusionlab.registry import discover_rules

    report_name = name  # ``name`` is reused below for layer names
    sm = compute_capability(sm)
    known = [r.code for r in discover_rules()]
    select, ignore = rule_selection(select, known), rule_selection(ignore, known)
    per_node = {g: rule_selection(c, known) or [] for g, c in (per_node_ignores or {}).items()}
    with _no_cyclic_gc():
        graph = model if isinstance(model, Graph) else _load_at(model, shapes)
        result = engine.run(graph, target=target, precision=precision, sm=sm)
    from_metadata, warnings = metadata_ignores(graph, known)
    for glob, codes in from_metadata.items():
        per_node[glob] = per_node.get(glob, []) + codes
    names = {}
    layers = []
    for layer in result.layers:
        name = layer.namer.layer_name(layer.nodes, layer.kind) if layer.namer else layer.nodes[0]
        names.update({n: name for n in layer.nodes})
        layers.append(PredictedLayer(name, layer.kind, tuple(layer.nodes), tuple(layer.rules),
                                     tuple(sorted(getattr(layer, "tags", ())))))
    pairs = [
        (Diagnostic(d.code, d.rule, d.status, d.nodes, d.check, d.reason, d.cost,
                    names.get(d.nodes[0]) if d.nodes else None,
                    severity=m.rule.severity_of(d.check) if d.status in FINDING_STATUSES else None,
                    rejects=d.rejects), m)
        for d, m in result.matches
    ]
    order = {n: node.index for n, node in graph.nodes.items()}
    pairs.sort(key=lambda p: (order.get(p[0].nodes[0], 0) if p[0].nodes else 0, p[0].code))
    kept = {id(d) for d in select_diagnostics([d for d, _ in pairs], select, ignore)}
    pairs = [(d, m) for d, m in pairs if id(d) in kept and not _node_ignored(d, per_node)]
    absorbed = sorted(result.absorbed, key=order.__getitem__)
    report = Report(graph.name if report_name is None else str(report_name), target, precision, sm, len(graph.nodes), layers, absorbed,
                    [d for d, _ in pairs], list(graph.notes) + warnings)
    return report, pairs
