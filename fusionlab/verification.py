"""``fusionlab verify``: hold analyze's predictions to what a TensorRT builder really did.

Two sources of truth:

* a live build (:func:`fusionlab.trt.build.build`) with TensorRT-RTX (CPU-only, no GPU
  needed) or classic TensorRT on a GPU machine: the VERBOSE ``Layers:`` dump, whose
  ``Metadata`` names the ONNX nodes of each kernel;
* files a user brings from a GPU machine: ``trtexec --exportLayerInfo`` JSON, a
  ``--verbose`` build log, and ``--exportProfile`` JSON for per-layer times.

The comparison itself is :func:`fusionlab.compare.compare`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fusionlab.analysis import analyze
from fusionlab.compare import Comparison, compare
from fusionlab.errors import ArtifactError, InputError
from fusionlab.graph import load_graph
from fusionlab.report import Report

#: Target -> builder used for a live build.
BUILDER_OF_TARGET = {"tensorrt-rtx": "tensorrt-rtx", "tensorrt": "tensorrt"}


@dataclass
class MissedCost:
    """Time spent in engine layers that hold the nodes of one missed fusion.

    Attributes:
        code, rule, check: the missed fusion's diagnostic.
        nodes: its ONNX nodes.
        layers: names of the engine layers holding any of those nodes.
        ms: their summed average time per inference (milliseconds).
        percent: ``ms`` as a share of the profile's total (percent).
    """

    code: str
    rule: str
    check: str | None
    nodes: tuple[str, ...]
    layers: list[str]
    ms: float
    percent: float

    def to_json(self) -> dict:
        return {"code": self.code, "rule": self.rule, "check": self.check, "nodes": list(self.nodes),
                "layers": self.layers, "ms": round(self.ms, 5), "percent": round(self.percent, 3)}


@dataclass
class Verification:
    """analyze's report, the observed layers, their comparison and profile costs.

    Attributes:
        report: analyze's :class:`~fusionlab.report.Report`.
        observed: observed engine layers (``name``, ``type``, ``nodes``, ``mapping``).
        comparison: the :class:`~fusionlab.compare.Comparison`.
        source: "live TensorRT-RTX 1.7.1.116 build", "layer info X.json", ...
        mapping: how observed layers were mapped to ONNX nodes ("metadata" or "name-join").
        builder_version: the builder's version, when known.
        build_seconds: wall-clock time of a live build.
        profile_total_ms: the profile's mean inference time, when a profile was given.
        layer_ms: per observed layer name, its average time (ms).
        missed_costs: the cost of each missed fusion (profile required).
        unmatched_profile: profile layer names absent from the layer information.
        warnings: one-line notes (names-only layer info, unknown versions, skipped lines).
    """

    report: Report
    observed: list
    comparison: Comparison
    source: str
    mapping: str
    builder_version: str | None = None
    build_seconds: float | None = None
    profile_total_ms: float | None = None
    layer_ms: dict[str, float] = field(default_factory=dict)
    missed_costs: list[MissedCost] = field(default_factory=list)
    unmatched_profile: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        """analyze's JSON plus ``observed_layers``, ``score`` and the comparison."""
        data = self.report.to_json()
        cmp = self.comparison.to_json()
        data.update({
            "source": self.source,
            "mapping": self.mapping,
            "builder_version": self.builder_version,
            "build_seconds": None if self.build_seconds is None else round(self.build_seconds, 2),
            "observed_layers": [{"name": o.name, "type": o.type, "nodes": list(o.nodes)} for o in self.observed],
            "score": cmp.pop("score"),
            "profile": None if self.profile_total_ms is None else {
                "total_ms": round(self.profile_total_ms, 5),
                "layer_ms": {k: round(v, 5) for k, v in self.layer_ms.items()},
                "missed_cost": [c.to_json() for c in self.missed_costs],
                "unmatched_layers": self.unmatched_profile,
            },
            "warnings": self.warnings,
        })
        data.update(cmp)
        return data


def verify(model: str | os.PathLike, *, target: str = "tensorrt-rtx", precision: str = "fp32",
           sm: float = 8.6, layer_info: str | os.PathLike | None = None,
           log: str | os.PathLike | None = None, profile: str | os.PathLike | None = None,
           timeout: float = 600.0, save_log: str | os.PathLike | None = None,
           save_engine: str | os.PathLike | None = None, timing_cache: str | os.PathLike | None = None,
           shapes=None, progress: Callable[[str, int, int], None] | None = None) -> Verification:
    """Analyze ``model`` and compare the prediction with a build of it.

    With ``layer_info`` and/or ``log`` (files from a GPU machine) nothing is built: the
    layers come from the layer info (preferred) or the log. Otherwise the model is built
    live with the target's builder (``tensorrt-rtx`` -> TensorRT-RTX, ``tensorrt`` ->
    classic TensorRT).

    Raises:
        InputError: the model cannot be loaded or an option is wrong.
        ArtifactError: a file cannot be parsed, or the profile and the layer info share no
            layer name (they come from different engines).
        BuildError: the live build failed, crashed or timed out (exit code 3).
        BuilderUnavailable: the target's builder is not installed (exit code 5).
    """
    from fusionlab.trt import artifacts

    graph = load_graph(model)
    report = analyze(graph, target=target, precision=precision, sm=sm)
    warnings: list[str] = []
    version = seconds = None
    if profile is not None and layer_info is None and log is None:
        raise InputError("--profile needs --layer-info (or --log) from the same engine to name its layers")
    if layer_info is not None:
        info = artifacts.parse_layer_info(layer_info)
        observed, source = info.layers, f"layer info {layer_info}"
        warnings += info.warnings + ([info.message] if info.names_only and info.message else [])
        version = info.version
    elif log is not None:
        parsed = artifacts.parse_log(log)
        observed, source = parsed.layers, f"build log {log}"
        warnings += parsed.warnings
        version = parsed.version
        if parsed.skipped_lines:
            warnings.append(f"{parsed.skipped_lines} log lines in layer sections were not understood and skipped")
    else:
        from fusionlab.trt.build import build

        result = build(model, builder=BUILDER_OF_TARGET[target], timeout=timeout, save_engine=save_engine,
                       timing_cache=timing_cache, progress=progress, shapes=shapes, precision=precision)
        if save_log is not None:
            from fusionlab.cli import write_atomic

            write_atomic(Path(save_log), result.log)
        parsed = artifacts.parse_log_text(result.log, source=f"{Path(model).name} build",
                                          version=f"{'TensorRT-RTX ' if target == 'tensorrt-rtx' else ''}{result.version}")
        observed = parsed.layers
        warnings += parsed.warnings
        version, seconds = result.version, result.seconds
        source = f"live {'TensorRT-RTX' if target == 'tensorrt-rtx' else 'TensorRT'} {result.version} build"
    mapping = "+".join(sorted({o.mapping for o in observed if o.nodes})) or "none"
    comparison = compare(graph, report, observed)
    if comparison.unknown_nodes:
        warnings.append(f"{len(comparison.unknown_nodes)} node names in the engine are not in {graph.name} "
                        f"(e.g. {comparison.unknown_nodes[0]!r}): is it the same model?")
    v = Verification(report, observed, comparison, source, mapping, version, seconds, warnings=warnings)
    if profile is not None:
        _attribute_profile(v, artifacts.parse_profile(profile), artifacts)
    return v


def _attribute_profile(v: Verification, prof, artifacts) -> None:
    names = {o.name for o in v.observed}
    matched = [t for t in prof.layers if t.name in names]
    if not matched:
        raise ArtifactError(f"profile {prof.source} and the layer information share no layer names: "
                            "they come from different engines")
    v.profile_total_ms = prof.total_ms
    v.layer_ms = {t.name: t.average_ms for t in matched}
    v.unmatched_profile = [t.name for t in prof.layers if t.name not in names]
    if v.unmatched_profile:
        v.warnings.append(f"{len(v.unmatched_profile)} profile layers are not in the layer information "
                          f"(e.g. {v.unmatched_profile[0]!r}); their time is not attributed")
    for d in v.report.missed:
        layers = [o.name for o in v.observed if set(o.nodes) & set(d.nodes)]
        ms = sum(v.layer_ms.get(name, 0.0) for name in layers)
        pct = 100.0 * ms / v.profile_total_ms if v.profile_total_ms else 0.0
        v.missed_costs.append(MissedCost(d.code, d.rule, d.check, d.nodes, layers, ms, pct))
    v.missed_costs.sort(key=lambda c: -c.ms)


def render_verification(v: Verification, console) -> None:
    """Print the verification on a ``rich.console.Console``."""
    from rich.table import Table

    s = v.comparison.score
    r = v.report
    console.print(f"[bold]{r.model}[/]  target {r.target}; observed: {v.source} (mapping: {v.mapping})")
    console.print(f"predicted {len(r.layers)} layers, observed {len(v.observed)} engine layers; "
                  f"{len(v.comparison.builder_absorbed)} ONNX nodes in no engine layer")
    console.print(f"[bold]fused-edge score: precision {s.precision:.3f}, recall {s.recall:.3f}, "
                  f"F1 {s.f1:.3f}[/] over {s.edges} edges (tp {s.tp}, fp {s.fp}, fn {s.fn})")
    for w in v.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    counts: dict[str, int] = {}
    for status, _, _ in v.comparison.fusions:
        counts[status] = counts.get(status, 0) + 1
    console.print("predicted fusions: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
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
            table.add_row(name, ", ".join(nodes))
        if len(rows) > 40:
            table.add_row("...", f"{len(rows) - 40} more (use --format json)")
        console.print(table)
    if v.profile_total_ms is not None:
        console.print(f"profile: {v.profile_total_ms:.4f} ms per inference")
        table = Table(title="Time in layers holding a missed fusion", title_justify="left")
        for col in ("code", "rule", "check", "ms", "%", "layers"):
            table.add_column(col, overflow="fold")
        for c in v.missed_costs:
            table.add_row(c.code, c.rule, c.check or "", f"{c.ms:.4f}", f"{c.percent:.2f}", ", ".join(c.layers))
        console.print(table)


@dataclass
class RuleTally:
    """Calibration counts of one rule over a corpus of builds."""

    code: str
    predicted: int = 0
    confirmed: int = 0
    not_observed: int = 0
    unverifiable: int = 0


def _verify_one(args: tuple) -> tuple[str, dict | None, str | None]:
    path, kwargs = args
    from fusionlab.errors import FusionlabError

    try:
        v = verify(path, **kwargs)
    except FusionlabError as exc:
        return str(path), None, exc.message
    return str(path), _tally_input(v), None


def _tally_input(v: Verification) -> dict:
    layer_rules = {layer.name: layer.rules for layer in v.report.layers}
    return {
        "fusions": [(status, list(layer_rules.get(name, ())), name) for status, _, name in v.comparison.fusions],
        "unpredicted": [list(nodes) for status, nodes, _ in v.comparison.observed_fusions if status == "not-predicted"],
        "score": v.comparison.score.to_json(),
    }


def calibrate(corpus: str | os.PathLike, *, jobs: int = 1, **kwargs) -> dict:
    """Verify every ``*.onnx`` under ``corpus`` (a process pool of ``jobs`` workers).

    Returns ``{"models": {path: score or error}, "rules": [RuleTally...],
    "unpredicted": {op-type signature: count}}``: per rule, how often it was predicted,
    confirmed, not observed; and the builder's fusions no rule predicted, grouped by the
    ONNX op types they join (e.g. ``Conv+Relu``).

    Raises:
        InputError: ``corpus`` is not a folder or holds no ``.onnx`` file.
    """
    from concurrent.futures import ProcessPoolExecutor

    root = Path(corpus)
    if not root.is_dir():
        raise InputError(f"{root}: --corpus needs a folder of .onnx models")
    paths = sorted(root.rglob("*.onnx"))
    if not paths:
        raise InputError(f"{root}: no .onnx file in this folder")
    work = [(p, kwargs) for p in paths]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_verify_one, work))
    else:
        results = [_verify_one(w) for w in work]
    tallies: dict[str, RuleTally] = {}
    unpredicted: dict[str, int] = {}
    models: dict[str, dict] = {}
    for (path, data, error), p in zip(results, paths):
        if error is not None:
            models[path] = {"error": error}
            continue
        models[path] = data["score"]
        for status, codes, _ in data["fusions"]:
            for code in codes:
                t = tallies.setdefault(code, RuleTally(code))
                t.predicted += 1
                if status == "confirmed":
                    t.confirmed += 1
                elif status == "not-observed":
                    t.not_observed += 1
                else:
                    t.unverifiable += 1
        graph = load_graph(p, infer=False)
        for nodes in data["unpredicted"]:
            sig = "+".join(graph.nodes[n].op_type for n in nodes if n in graph.nodes)
            unpredicted[sig] = unpredicted.get(sig, 0) + 1
    return {"models": models, "rules": [tallies[c] for c in sorted(tallies)],
            "unpredicted": dict(sorted(unpredicted.items(), key=lambda kv: -kv[1]))}
