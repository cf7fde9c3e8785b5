"""``fusionlab rewrite``: make missed fusions happen, and prove nothing else changed.

The passes are the rules' rewrites (``Rule.rewrite``, see :mod:`fusionlab.rule`); this
module knows no rule. The driver:

1. Loads the model (external data read into memory), names every unnamed node the way
   analyze does (``<op_type>_<index>``), and, unless ``check=False``, runs the original in
   ONNX Runtime once on random inputs (:func:`fusionlab.equivalence.reference`).
2. Round after round (at most ``max_rounds``): analyze the current model (target,
   precision, SM); take every diagnostic whose rule has a rewrite selected by
   ``passes`` and whose status is in the rule's ``rewrites_on``; a *missed* one that
   failed a check the rewrite does not fix (``Rule.fixes``) is reported as not
   rewritable with the check's reason. The others are applied in the report's order
   (topological) on an ``onnx_graphsurgeon`` graph, skipping a match that shares a node
   with one already applied this round (it is retried next round). Every node a
   rewrite creates or changes gets ``metadata_props`` ``fusionlab.rewrite`` (the rule
   codes) and ``fusionlab.rewrite.description``. Then ``cleanup().toposort()`` and export.
3. After each round, the round's model must keep the graph inputs and outputs (names,
   order), pass ``onnx.checker`` (full check), and match the original's outputs in ONNX
   Runtime within tolerance (:mod:`fusionlab.equivalence`). When it does not, each
   pass of the round is replayed alone to name the one responsible, and
   :class:`fusionlab.errors.EquivalenceError` (exit 4) names it with the output and the
   difference. Nothing is returned or written.
4. Stops when a round changes nothing. The rewritten model keeps the input's IR
   version, opsets, producer, model metadata, graph name, inputs and outputs.

A rewrite that cannot fix a match without changing the math raises
:class:`CannotRewrite`; the match is reported with the reason, never silently changed.
The one exception is opt-in: with ``allow_requantize`` a rewrite that quantizes a float
tensor with an existing quantizer's scale (it rounds the values) may apply, records it
(:meth:`RewriteOptions.requantize`), and the run's outputs are held to the user's
``atol`` / ``rtol`` (required; see :mod:`fusionlab.equivalence`).
"""

from __future__ import annotations

import inspect
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import onnx

from fusionlab.errors import EquivalenceError, InputError

if TYPE_CHECKING:  # pragma: no cover
    import onnx_graphsurgeon as gs

    from fusionlab.equivalence import Equivalence, Reference
    from fusionlab.report import Report
    from fusionlab.rule import Match, Rule

#: Rounds of analyze -> rewrite before the driver gives up (with a warning).
MAX_ROUNDS = 16
#: ``metadata_props`` keys stamped on rewritten nodes.
STAMP_KEY = "fusionlab.rewrite"
STAMP_DESCRIPTION = "fusionlab.rewrite.description"


class CannotRewrite(Exception):
    """Raised by a rule's ``rewrite`` when the match cannot be fixed without changing the
    model's math; ``reason`` names what blocks it (reported, never silently changed).
    Raise it before editing the graph."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------- helpers for rewrites
def node_of(graph: "gs.Graph", name: str) -> "gs.Node":
    """The node named ``name`` in the onnx-graphsurgeon ``graph``.

    Raises:
        CannotRewrite: no such node (an earlier rewrite of the round removed it).
    """
    for node in graph.nodes:
        if node.name == name:
            return node
    raise CannotRewrite(f"node {name!r} is no longer in the graph")


def tensor_of(graph: "gs.Graph", name: str) -> "gs.Tensor":
    """The tensor named ``name`` (a Variable or Constant) in ``graph``.

    Raises:
        CannotRewrite: no such tensor.
    """
    tensor = graph.tensors().get(name)
    if tensor is None:
        raise CannotRewrite(f"tensor {name!r} is not in the graph")
    return tensor


def fresh_name(graph: "gs.Graph", stem: str) -> str:
    """A node / tensor name not used in ``graph``: ``stem``, else ``stem_2``, ``stem_3``..."""
    used = {n.name for n in graph.nodes} | set(graph.tensors())
    name, k = stem, 1
    while name in used:
        k += 1
        name = f"{stem}_{k}"
    return name


def constant(graph: "gs.Graph", stem: str, value: np.ndarray) -> "gs.Constant":
    """A new ``gs.Constant`` holding ``value`` under a fresh name."""
    import onnx_graphsurgeon as gs

    return gs.Constant(fresh_name(graph, stem), np.ascontiguousarray(value))


def constant_value(tensor: "gs.Tensor") -> np.ndarray | None:
    """The value of a ``gs.Constant`` (or of a Constant node's output), else None."""
    import onnx_graphsurgeon as gs

    if isinstance(tensor, gs.Constant):
        return np.asarray(tensor.values)
    if len(tensor.inputs) == 1 and tensor.inputs[0].op == "Constant":
        value = tensor.inputs[0].attrs.get("value")
        if isinstance(value, gs.Constant):
            return np.asarray(value.values)
    return None


def bypass(node: "gs.Node", becomes: "gs.Tensor") -> None:
    """Erase ``node``: every consumer of its first output reads ``becomes`` instead."""
    out = node.outputs[0]
    for consumer in list(out.outputs):
        for i, t in enumerate(consumer.inputs):
            if t is out:
                consumer.inputs[i] = becomes
    node.outputs.clear()
    node.inputs.clear()


def erase(graph: "gs.Graph", node: "gs.Node", keep: "gs.Tensor") -> None:
    """Erase ``node`` whose first output equals ``keep`` (an identity): its readers read
    ``keep``. When that output is a graph output, ``keep``'s producer writes the graph
    output instead (so output names stay).

    Raises:
        CannotRewrite: the output is a graph output and ``keep`` is a graph input, a
            constant, another graph output or read by other nodes (renaming it would
            change the graph's interface or another reader).
    """
    out = node.outputs[0]
    if out in graph.outputs:
        producer = keep.inputs[0] if len(keep.inputs) == 1 else None
        readers = [c for c in keep.outputs if c is not node]
        if producer is None or keep in graph.inputs or keep in graph.outputs or readers:
            why = ("a graph input" if keep in graph.inputs else "a constant" if producer is None
                   else "a graph output" if keep in graph.outputs else f"also read by {readers[0].name}")
            raise CannotRewrite(f"{node.name} writes graph output {out.name} from {keep.name}, which is "
                                f"{why}; erasing it would rename a graph output")
        node.outputs.clear()
        node.inputs.clear()
        producer.outputs[producer.outputs.index(keep)] = out
        return
    bypass(node, keep)


def qdq_pair(graph: "gs.Graph", x: "gs.Tensor", scale: "gs.Tensor", zero_point: "gs.Tensor | None",
             axis: int | None, stem: str, out: "gs.Tensor | None" = None) -> "gs.Tensor":
    """Add QuantizeLinear -> DequantizeLinear on ``x`` (same scale, zero_point and axis);
    returns the dequantized tensor (``out`` when given, else a new one)."""
    import onnx_graphsurgeon as gs

    attrs = {} if axis is None else {"axis": int(axis)}
    qin = [x, scale] + ([zero_point] if zero_point is not None else [])
    q_out = gs.Variable(fresh_name(graph, f"{stem}_q_out"),
                        dtype=zero_point.dtype if zero_point is not None else np.int8)
    graph.nodes.append(gs.Node("QuantizeLinear", fresh_name(graph, f"{stem}_QuantizeLinear"), attrs,
                               inputs=qin, outputs=[q_out]))
    dq_out = out if out is not None else gs.Variable(fresh_name(graph, f"{stem}_dq_out"), dtype=x.dtype)
    graph.nodes.append(gs.Node("DequantizeLinear", fresh_name(graph, f"{stem}_DequantizeLinear"), attrs,
                               inputs=[q_out, scale] + ([zero_point] if zero_point is not None else []),
                               outputs=[dq_out]))
    return dq_out


# ----------------------------------------------------------------- options of a rewrite
@dataclass
class Requantization:
    """A float tensor quantized by a rewrite (``allow_requantize``): its values now round
    to a quantization grid, so the outputs change.

    Attributes:
        node: the node that now reads the quantized tensor (the residual Add).
        tensor: the float tensor.
        quantizer: the QuantizeLinear whose scale and zero_point were reused.
        scale, zero_point: the reused parameters (one value, or one per channel).
        step: the largest scale: the grid's step.
        max_change: ``step / 2``, the largest change of a value inside ``range``.
        range: ``(low, high)``, the values the grid holds; a value outside is clamped
            to it (and changes by more).
        inserted: the nodes added (TRT409: the DequantizeLinear of the shared quantizer).
    """

    node: str
    tensor: str
    quantizer: str
    scale: list[float]
    zero_point: list[int]
    step: float
    max_change: float
    range: tuple[float, float] | None
    inserted: tuple[str, ...]

    def to_json(self) -> dict:
        return {"node": self.node, "tensor": self.tensor, "quantizer": self.quantizer,
                "scale": self.scale if len(self.scale) > 1 else self.scale[0],
                "zero_point": self.zero_point if len(self.zero_point) > 1 else self.zero_point[0],
                "step": self.step, "max_change": self.max_change,
                "range": None if self.range is None else list(self.range), "inserted": list(self.inserted)}


@dataclass
class RewriteOptions:
    """What the run allows, for the rewrites that ask (``rewrite(self, m, graph, options)``:
    the driver passes it to a rewrite whose signature has a parameter ``options``).

    Attributes:
        allow_requantize: a float tensor may be quantized with an existing quantizer's
            scale (``fusionlab rewrite --allow-requantize``); not exact.
        requantized: what the call quantized (filled by :meth:`requantize`).
    """

    allow_requantize: bool = False
    requantized: list[Requantization] = field(default_factory=list)

    def requantize(self, node: str, tensor: str, quantizer: str, scale: np.ndarray,
                   zero_point: np.ndarray | None, inserted: Sequence[str]) -> Requantization:
        """Record that ``tensor`` (read by ``node``) is now quantized with ``quantizer``'s
        ``scale`` / ``zero_point``; call it once the graph is edited."""
        # the scale's own precision, printed short (a float32 0.05 stays 0.05)
        s = np.array([float(str(v)) for v in np.asarray(scale).reshape(-1)], np.float64)
        zp = np.zeros(1, np.int64) if zero_point is None else np.asarray(zero_point).reshape(-1)
        dtype = np.uint8 if zero_point is None else np.asarray(zero_point).dtype  # ONNX: no zero point = uint8
        grid = None
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            lows = (info.min - zp.astype(np.float64)) * s
            highs = (info.max - zp.astype(np.float64)) * s
            grid = (float(lows.max()), float(highs.min()))
        step = float(np.abs(s).max())
        record = Requantization(node, tensor, quantizer, [float(v) for v in s], [int(v) for v in zp], step,
                                step / 2, grid, tuple(inserted))
        self.requantized.append(record)
        return record


# ----------------------------------------------------------------- the report
@dataclass
class Change:
    """One rewrite applied.

    Attributes:
        round: the rewrite round (1-based).
        pass_name, code, rule: the pass and its rule.
        nodes: the ONNX nodes of the match it fixed (names in the model of that round).
        description: the rewrite's one-line description.
        stamped: the nodes it created or changed (stamped with ``fusionlab.rewrite``).
        status, check: the diagnostic's status and failed check, when it was missed.
        requantized: what the rewrite quantized (``allow_requantize``): not exact.
    """

    round: int
    pass_name: str
    code: str
    rule: str
    nodes: tuple[str, ...]
    description: str
    stamped: tuple[str, ...]
    status: str
    check: str | None
    requantized: tuple[Requantization, ...] = ()

    def to_json(self) -> dict:
        return {"round": self.round, "pass": self.pass_name, "code": self.code, "rule": self.rule,
                "nodes": list(self.nodes), "description": self.description, "stamped": list(self.stamped),
                "status": self.status, "check": self.check,
                "requantized": [r.to_json() for r in self.requantized]}


@dataclass
class Refusal:
    """A match a pass could not fix without changing the math, with the reason."""

    pass_name: str
    code: str
    rule: str
    nodes: tuple[str, ...]
    check: str | None
    reason: str

    def to_json(self) -> dict:
        return {"pass": self.pass_name, "code": self.code, "rule": self.rule, "nodes": list(self.nodes),
                "check": self.check, "reason": self.reason}


@dataclass
class BuildCount:
    """A live build's engine layers (``--verify``)."""

    builder: str
    version: str | None = None
    layers: int | None = None
    layers_with_nodes: int | None = None
    seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {"builder": self.builder, "version": self.version, "layers": self.layers,
                "layers_with_onnx_nodes": self.layers_with_nodes,
                "seconds": None if self.seconds is None else round(self.seconds, 2), "error": self.error}


@dataclass
class RewriteReport:
    """What ``fusionlab rewrite`` did to one model.

    Attributes:
        model: the input's name.
        target, precision, sm: the analysis options.
        passes: the passes that were selected.
        rounds: analyze -> rewrite rounds run (the last one changes nothing).
        changes: every rewrite applied, in order.
        refused: matches that cannot be fixed without changing the math, with reasons.
        before, after: analyze's reports of the input and of the rewritten model.
        equivalence: the final model against the original (None when not checked).
        checker: ``"full"``, ``"plain"`` (the input fails the full check) or ``None``.
        warnings: loud notes (unchecked model, round limit, ...).
        seconds: wall-clock time of the rewrite and its checks.
        builds: ``{"before": BuildCount, "after": BuildCount}`` with ``verify``.
        allow_requantize: the run allowed requantization (``--allow-requantize``).
        tolerance: when something was requantized and checked: the float outputs'
            ``atol`` / ``rtol`` (the user's) and ``why`` they are the user's.
    """

    model: str
    target: str
    precision: str
    sm: float
    passes: list[str]
    rounds: int
    changes: list[Change]
    refused: list[Refusal]
    before: "Report"
    after: "Report"
    equivalence: "Equivalence | None"
    checker: str | None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    builds: dict[str, BuildCount] = field(default_factory=dict)
    allow_requantize: bool = False
    tolerance: dict | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def requantized(self) -> list[Requantization]:
        """Every tensor a rewrite quantized (not exact), in order."""
        return [r for c in self.changes for r in c.requantized]

    def counts(self) -> dict[str, int]:
        """Changes per pass."""
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.pass_name] = out.get(c.pass_name, 0) + 1
        return out

    def to_json(self) -> dict:
        return {
            "model": self.model, "target": self.target, "precision": self.precision, "sm": self.sm,
            "passes": self.passes, "rounds": self.rounds, "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "summary": {
                "changes": len(self.changes), "by_pass": self.counts(), "refused": len(self.refused),
                "layers_before": len(self.before.layers), "layers_after": len(self.after.layers),
                "missed_before": len(self.before.missed), "missed_after": len(self.after.missed),
                "max_abs_diff": None if self.equivalence is None else self.equivalence.max_abs,
            },
            "changes": [c.to_json() for c in self.changes],
            "refused": [r.to_json() for r in self.refused],
            "missed_before": [d.to_json() for d in self.before.missed],
            "missed_after": [d.to_json() for d in self.after.missed],
            "checker": self.checker,
            "equivalence": None if self.equivalence is None else self.equivalence.to_json(),
            "builds": {k: v.to_json() for k, v in self.builds.items()},
            "allow_requantize": self.allow_requantize,
            "requantized": [r.to_json() for r in self.requantized],
            "tolerance": self.tolerance,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------- passes
def available_passes() -> dict[str, type["Rule"]]:
    """Pass name -> rule, for every rule that has a rewrite (sorted by rule code)."""
    from fusionlab import engine

    found: dict[str, type] = {}
    for rule in engine.discover_rules():
        name = rule.rewrite_pass()
        if name is not None:
            found[name] = rule
    return found


def select_passes(passes: Sequence[str] | None) -> dict[str, type["Rule"]]:
    """The passes named in ``passes`` (pass names, rule names or codes); all when None.

    Raises:
        InputError: a name that is no pass.
    """
    available = available_passes()
    if passes is None:
        return available
    chosen: dict[str, type] = {}
    for want in passes:
        hit = [(n, r) for n, r in available.items() if want in (n, r.name, r.code)]
        if not hit:
            raise InputError(f"unknown rewrite pass {want!r}; passes: {', '.join(available) or 'none'}")
        chosen.update(hit)
    return {n: r for n, r in available.items() if n in chosen}


# ----------------------------------------------------------------- the driver
def rewrite(model: str | os.PathLike | onnx.ModelProto, *, target: str = "tensorrt",
            precision: str = "fp32", sm: float = 8.6, passes: Sequence[str] | None = None,
            check: bool = True, allow_unchecked: bool = False, shapes=None,
            atol: float | None = None, rtol: float | None = None,
            seeds: Sequence[int] | None = None, max_rounds: int = MAX_ROUNDS,
            verify: bool = False, timeout: float = 600.0,
            allow_requantize: bool = False) -> tuple[onnx.ModelProto, RewriteReport]:
    """Rewrite ``model`` so that TensorRT fuses what it missed; prove the outputs unchanged.

    Args:
        model: a path to an ``.onnx`` file (external data is read) or a ``ModelProto``
            (not modified).
        target, precision, sm: as for :func:`fusionlab.analyze`.
        passes: pass names (or rule names / codes) to run; all passes when None.
        check: run the ONNX Runtime equivalence check (the checker always runs).
        allow_unchecked: when ONNX Runtime cannot run the original, rewrite anyway and
            say so in ``report.warnings`` instead of raising :class:`NotRunnable`.
        shapes: values of symbolic input dimensions (``{"x": [1, 3, 224, 224]}`` or
            ``"x:1x3x224x224"``), for the check and the builds.
        atol, rtol: tolerances of float outputs (default: per dtype, see
            :mod:`fusionlab.equivalence`).
        seeds: seeds of the random inputs (default 0, 1, 2).
        max_rounds: bound on analyze -> rewrite rounds.
        verify: also build the original and the rewritten model with TensorRT-RTX (or
            classic TensorRT when only it is installed) and count engine layers.
        timeout: seconds per build.
        allow_requantize: let a rewrite quantize a float tensor with the scale of a
            quantizer that already quantizes it for another reader (TRT409: a float
            residual). Not exact: it rounds the values; the outputs are then held to
            ``atol`` / ``rtol``, which must be given (``InputError`` otherwise, naming the
            quantization step) unless ``check`` is off. ``report.requantized`` lists what
            was quantized, ``report.tolerance`` the tolerance and why.

    Returns:
        ``(rewritten ModelProto, RewriteReport)``; the input model itself when nothing
        changed.

    Raises:
        InputError: the model cannot be loaded, an option is wrong, an unknown pass,
            a requantization without ``atol``.
        NotRunnable: ONNX Runtime cannot run the original and ``allow_unchecked`` is off.
        EquivalenceError: a pass made an invalid model or changed an output beyond
            tolerance (names the pass, the output and the difference).
        BuilderUnavailable: ``verify`` and no TensorRT builder is installed.
    """
    from fusionlab import equivalence
    from fusionlab.analysis import analyze_matches
    from fusionlab.graph import load_graph
    from fusionlab.rule import PRECISIONS, TARGETS

    start = time.monotonic()
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if max_rounds < 1:
        raise InputError(f"max_rounds must be >= 1, not {max_rounds}")
    builder = _builder_for(target) if verify else None
    selected = select_passes(passes)
    original, name, path = _load(model, load_graph)
    working = named_copy(original)
    warnings: list[str] = []

    before, matches_now = analyze_matches(working, target=target, precision=precision, sm=sm)
    checker = "full"
    problem = equivalence.full_check(original, True)
    if problem is not None:
        checker = "plain" if equivalence.full_check(original, False) is None else None
        warnings.append(f"the input fails onnx.checker's full check ({problem}); the rewritten model is "
                        + ("held to the plain check" if checker else "not checked by onnx.checker"))
    ref: Reference | None = None
    if check:
        try:
            ref = equivalence.reference(original, shapes=shapes, seeds=tuple(seeds or equivalence.SEEDS),
                                        atol=atol, rtol=rtol)
        except equivalence.NotRunnable as exc:
            if not allow_unchecked:
                raise
            warnings.append(f"NOT CHECKED: {exc.message}")
    else:
        warnings.append("NOT CHECKED: the ONNX Runtime equivalence check was skipped (--no-check)")

    current, report_now = working, before
    changes: list[Change] = []
    refused: dict[tuple, Refusal] = {}
    stamps: dict[str, list[tuple[str, str]]] = {}
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        items = _candidates(matches_now, selected, refused)
        if not items:
            break
        result = _apply(current, items, rounds, stamps, refused, allow_requantize)
        if result is None:
            break
        candidate, round_changes = result
        requantized = [r for c in round_changes for r in c.requantized]
        if requantized and ref is not None and atol is None:
            r = requantized[0]
            raise InputError(
                f"--allow-requantize: quantizing {r.tensor} (read by {r.node}) with {r.quantizer}'s scale rounds it "
                f"by up to {r.max_change:.4g} (half the step {r.step:.4g}){' and more rewrites' if len(requantized) > 1 else ''}; "
                "the change passes through the layers after it, so give the output tolerance you accept with "
                "--atol (and --rtol), or --no-check; nothing written")
        _hold(candidate, current, original, ref, checker, round_changes, items, rounds, stamps, allow_requantize)
        changes.extend(round_changes)
        current = candidate
        report_now, matches_now = analyze_matches(current, target=target, precision=precision, sm=sm)
    else:
        if _candidates(matches_now, selected, refused):
            warnings.append(f"stopped after {max_rounds} rounds with rewrites still possible")

    final = current if changes else original
    after = report_now
    eq = None
    if ref is not None:
        eq = ref.compare(final) if changes else _identity_equivalence(ref)
        warnings.extend(ref.warnings)
    report = RewriteReport(name, target, precision, sm, list(selected), rounds, changes,
                           list(refused.values()), before, after, eq, checker, warnings,
                           allow_requantize=allow_requantize)
    if report.requantized and ref is not None:
        report.tolerance = _requantize_tolerance(report.requantized, ref)
    if builder is not None:
        report.builds = {"before": build_count(path or original, builder, shapes, timeout),
                         "after": build_count(final, builder, shapes, timeout)}
        b, a = report.builds["before"], report.builds["after"]
        if a.error and not b.error:
            warnings.append(f"the rewritten model does not build with {builder} ({a.error}) while the input does")
        elif a.layers is not None and b.layers is not None and a.layers > b.layers:
            warnings.append(f"the rewritten model builds into more engine layers ({b.layers} -> {a.layers})")
    report.seconds = time.monotonic() - start
    return final, report


def _requantize_tolerance(requantized: list[Requantization], ref: "Reference") -> dict:
    """The tolerance a requantizing run's float outputs were held to, and why."""
    from onnx import TensorProto

    atol, rtol = ref.tolerance(TensorProto.FLOAT)
    worst = max(requantized, key=lambda r: r.max_change)
    why = (f"--atol {atol:g} / --rtol {rtol:g}, given by the user: --allow-requantize rounded "
           f"{len(requantized)} float tensor{'s' if len(requantized) > 1 else ''} to an existing quantizer's grid, "
           f"by up to {worst.max_change:.4g} at {worst.node} (half the step {worst.step:.4g} of {worst.quantizer}; "
           "more for a value clamped to the grid's range); that change passes through every layer after it "
           "(convolutions scale it, later quantizers round it to their own step), so no output tolerance "
           "follows from the steps alone")
    return {"atol": atol, "rtol": rtol, "source": "user", "max_change_at_input": worst.max_change,
            "step": worst.step, "why": why}


def _builder_for(target: str) -> str:
    from fusionlab.errors import BuilderUnavailable
    from fusionlab.trt.build import available_builders

    found = available_builders()
    if not found:
        raise BuilderUnavailable("--verify needs TensorRT-RTX or TensorRT: pip install tensorrt-rtx (or fusionlab[rtx])")
    if target == "tensorrt" and "tensorrt" in found:
        return "tensorrt"
    return "tensorrt-rtx" if "tensorrt-rtx" in found else found[0]


def _load(model, load_graph) -> tuple[onnx.ModelProto, str, Path | None]:
    """The model with every external tensor in memory, its display name and path."""
    if isinstance(model, onnx.ModelProto):
        load_graph(model, infer=False)  # the same validation analyze does
        return model, model.graph.name or "model", None
    path = Path(model)
    graph = load_graph(path, infer=False)  # bad paths, cycles, missing external data
    proto = graph.model
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        try:
            onnx.external_data_helper.load_external_data_for_model(proto, str(path.parent))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read external data: {exc}") from None
    return proto, path.name, path


def named_copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose nodes all have the unique names analyze gives them
    (``<op_type>_<index>`` for unnamed nodes, ``_2``... for repeated names)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    used: set[str] = set()
    for i, node in enumerate(copy.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        node.name = name
    return copy


def _candidates(matches, selected: dict, refused: dict) -> list[tuple[Any, "Match", str]]:
    """(diagnostic, match, pass) for every rewritable diagnostic of ``matches`` (the pairs
    of :func:`fusionlab.analysis.analyze_matches`); records refusals."""
    passes = {rule.code: name for name, rule in selected.items()}
    items = []
    for d, m in matches:
        rule = m.rule
        pass_name = passes.get(rule.code)
        if pass_name is None or d.status not in rule.rewrites_on:
            continue
        if d.status == "missed" and rule.fixes is not None and d.check not in rule.fixes:
            key = (rule.code, d.check, d.reason)  # the same finding may come with 2 node sets
            refused.setdefault(key, Refusal(pass_name, rule.code, rule.name, d.nodes, d.check, d.reason))
            continue
        items.append((d, m, pass_name))
    return items


def _signature(graph) -> dict[int, tuple]:
    sig = {}
    for node in graph.nodes:
        attrs = tuple(sorted((k, repr(v) if isinstance(v, (int, float, str, bytes, list, tuple)) else id(v))
                             for k, v in node.attrs.items()))
        sig[id(node)] = (node.op, node.name, node.domain, attrs,
                         tuple(id(t) for t in node.inputs), tuple(id(t) for t in node.outputs))
    return sig


def _apply(model: onnx.ModelProto, items, round_no: int, stamps: dict | None,
           refused: dict | None, allow_requantize: bool = False) -> tuple[onnx.ModelProto, list[Change]] | None:
    """Apply ``items`` on ``model`` (non-overlapping); the new model and the changes, or
    None when nothing changed. ``stamps`` (node -> [(code, description)]) is updated."""
    import onnx_graphsurgeon as gs

    graph = gs.import_onnx(model)
    touched: set[str] = set()
    changes: list[Change] = []
    new_stamps: dict[str, list[tuple[str, str]]] = {}
    for d, m, pass_name in items:
        rule = m.rule
        if touched & set(m.nodes):
            continue
        nodes_before = {id(n): n for n in graph.nodes}
        before = _signature(graph)
        options = RewriteOptions(allow_requantize)
        try:
            if "options" in inspect.signature(rule.rewrite).parameters:
                description = rule.rewrite(m, graph, options=options)
            else:
                description = rule.rewrite(m, graph)
        except CannotRewrite as exc:
            if _signature(graph) != before:
                raise RuntimeError(f"rewrite pass {pass_name} ({rule.code}) edited the graph and then "
                                   f"raised CannotRewrite on {', '.join(m.nodes)}") from None
            if refused is not None:
                key = (rule.code, d.check, exc.reason)
                refused.setdefault(key, Refusal(pass_name, rule.code, rule.name, d.nodes, d.check, exc.reason))
            continue
        except Exception as exc:
            raise RuntimeError(f"rewrite pass {pass_name} ({rule.code}) failed on {', '.join(m.nodes)}: "
                               f"{type(exc).__name__}: {exc}") from exc
        after = _signature(graph)
        changed = [n.name for n in graph.nodes if before.get(id(n)) != after[id(n)]]
        gone = [n.name for i, n in nodes_before.items() if i not in after]
        if description is None:
            if changed or gone:
                raise RuntimeError(f"rewrite pass {pass_name} ({rule.code}) changed the graph at "
                                   f"{', '.join(m.nodes)} but returned no description")
            continue
        stamped = [n for n in changed if n] or [n for n in m.nodes if any(x.name == n for x in graph.nodes)]
        for n in stamped:
            new_stamps.setdefault(n, []).append((rule.code, description))
        touched |= set(m.nodes) | set(changed) | set(gone)
        changes.append(Change(round_no, pass_name, rule.code, rule.name, tuple(m.nodes), description,
                              tuple(stamped), d.status, d.check, tuple(options.requantized)))
    if not changes:
        return None
    merged = {k: list(v) for k, v in (stamps or {}).items()}
    for k, v in new_stamps.items():
        merged.setdefault(k, []).extend(v)
    graph.cleanup(remove_unused_graph_inputs=False).toposort()
    alive = {n.name for n in graph.nodes}
    for c in changes:
        c.stamped = tuple(n for n in c.stamped if n in alive)
    merged = {k: v for k, v in merged.items() if k in alive}
    out = _export(graph, model, merged)
    if stamps is not None:
        stamps.clear()
        stamps.update(merged)
    return out, changes


def _export(graph, template: onnx.ModelProto, stamps: dict[str, list[tuple[str, str]]]) -> onnx.ModelProto:
    """``graph`` as a model that keeps everything of ``template`` but its graph's nodes:
    IR version, opsets, producer, metadata, functions, graph name and doc, value_info of
    the tensors that still exist, and each node's own ``metadata_props``; plus stamps."""
    import onnx_graphsurgeon as gs

    exported = gs.export_onnx(graph, do_type_check=False)
    out = onnx.ModelProto()
    for fd, value in template.ListFields():
        if fd.name == "graph":
            continue
        repeated = fd.is_repeated if hasattr(fd, "is_repeated") else fd.label == fd.LABEL_REPEATED
        if repeated:
            getattr(out, fd.name).extend(value)
        elif fd.message_type is not None:
            getattr(out, fd.name).CopyFrom(value)
        else:
            setattr(out, fd.name, value)
    g = out.graph
    g.CopyFrom(exported.graph)
    g.name = template.graph.name
    g.doc_string = template.graph.doc_string
    produced = {t for n in g.node for t in n.output}
    del g.value_info[:]
    g.value_info.extend(v for v in template.graph.value_info if v.name in produced)
    # graph inputs/outputs: the template's own ValueInfoProtos (types and symbolic dims)
    inits = {t.name for t in g.initializer}
    t_inputs = [v for v in template.graph.input if v.name not in {t.name for t in template.graph.initializer}]
    del g.input[:]
    g.input.extend(t_inputs)
    g.input.extend(v for v in template.graph.input if v.name in inits and v not in t_inputs)
    del g.output[:]
    g.output.extend(template.graph.output)
    meta = {n.name: list(n.metadata_props) for n in template.graph.node if n.metadata_props}
    for node in g.node:
        for entry in meta.get(node.name, ()):
            if entry.key not in (STAMP_KEY, STAMP_DESCRIPTION):
                node.metadata_props.add().CopyFrom(entry)
        if node.name in stamps:
            codes = []
            for code, _ in stamps[node.name]:
                if code not in codes:
                    codes.append(code)
            node.metadata_props.add(key=STAMP_KEY, value=",".join(codes))
            node.metadata_props.add(key=STAMP_DESCRIPTION, value="; ".join(d for _, d in stamps[node.name]))
    return out


def _io(model: onnx.ModelProto) -> tuple[list[str], list[str]]:
    inits = {t.name for t in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in inits], [v.name for v in model.graph.output]


def _problem(candidate, original, ref, checker) -> tuple[str, Any] | None:
    """Why ``candidate`` is not equivalent to ``original``, or None."""
    from fusionlab import equivalence

    if _io(candidate) != _io(original):
        (ci, co), (oi, oo) = _io(candidate), _io(original)
        return "io", f"graph inputs/outputs became {ci} / {co} (the input has {oi} / {oo})"
    produced = {t for n in candidate.graph.node for t in n.output}
    inputs = set(_io(candidate)[0]) | {t.name for t in candidate.graph.initializer}
    lost = [o for o in _io(candidate)[1] if o not in produced and o not in inputs]
    if lost:
        return "io", f"graph output {lost[0]!r} is no longer produced"
    if checker is not None:
        issue = equivalence.full_check(candidate, checker == "full")
        if issue is not None:
            return "checker", f"the model fails onnx.checker ({'full check' if checker == 'full' else 'check'}): {issue}"
    if ref is not None:
        try:
            eq = ref.compare(candidate)
        except RuntimeError as exc:
            return "ort", f"ONNX Runtime cannot run the rewritten model: {exc}"
        if not eq.passed:
            return "diff", eq.first_failure()
    return None


def _hold(candidate, current, original, ref, checker, changes: list[Change], items, round_no, stamps,
          allow_requantize: bool = False) -> None:
    """Raise EquivalenceError naming the guilty pass when ``candidate`` is not equivalent."""
    problem = _problem(candidate, original, ref, checker)
    if problem is None:
        return
    guilty = list(dict.fromkeys(c.pass_name for c in changes))
    found = None
    if len(guilty) > 1:
        for pass_name in guilty:
            alone = _apply(current, [it for it in items if it[2] == pass_name], round_no, None, None,
                           allow_requantize)
            if alone is None:
                continue
            p = _problem(alone[0], original, ref, checker)
            if p is not None:
                found, problem = [pass_name], p
                break
    names = found or guilty
    rules = {c.pass_name: c.code for c in changes}
    who = " + ".join(f"{n} ({rules[n]})" for n in names)
    at = [c for c in changes if c.pass_name in names]
    where = "; ".join(f"{c.description}" for c in at[:3]) + (f"; ... ({len(at) - 3} more)" if len(at) > 3 else "")
    kind, detail = problem
    if kind == "diff":
        d = detail
        msg = (f"rewrite pass {who} changed output {d.name!r}: max |diff| {d.max_abs:.4g} (relative "
               f"{d.max_rel:.4g}) exceeds atol {d.atol:g} + rtol {d.rtol:g} x |original| (seed {d.seed}), "
               f"round {round_no}: {where}; nothing written")
    else:
        msg = f"rewrite pass {who} is not proven equivalent: {detail}, round {round_no}: {where}; nothing written"
    error = EquivalenceError(msg)
    error.pass_name = names[0]
    error.passes = names
    error.output = detail.name if kind == "diff" else None
    error.diff = detail if kind == "diff" else None
    raise error


def _identity_equivalence(ref: "Reference"):
    from fusionlab.equivalence import Equivalence, OutputDiff
    from onnx import TensorProto

    outs = []
    for name in ref.output_names:
        dtype = ref.output_types.get(name, 0)
        atol, rtol = ref.tolerance(dtype)
        label = TensorProto.DataType.Name(dtype) if dtype else "?"
        outs.append(OutputDiff(name, label, tuple(ref.outputs[0][name].shape), 0.0, 0.0, atol, rtol, True, ref.seeds[0]))
    return Equivalence(outs, ref.seeds, ref.input_shapes)


# ----------------------------------------------------------------- builds and writing
def build_count(model: onnx.ModelProto | str | os.PathLike, builder: str, shapes=None,
                timeout: float = 600.0) -> BuildCount:
    """Build ``model`` live and count its engine layers (all, and those with ONNX nodes).
    A failed build is recorded in ``error`` (a missing builder raises)."""
    from fusionlab.errors import BuildError
    from fusionlab.trt.artifacts import parse_log_text
    from fusionlab.trt.build import build

    with tempfile.TemporaryDirectory(prefix="fusionlab-build-") as tmp:
        if isinstance(model, onnx.ModelProto):
            path = Path(tmp) / "model.onnx"
            save_model(model, path, external=model.ByteSize() > 1_800_000_000)
        else:
            path = Path(model)
        try:
            result = build(path, builder=builder, timeout=timeout, shapes=shapes)
        except BuildError as exc:
            return BuildCount(builder, error=exc.message)
    layers = parse_log_text(result.log).layers
    return BuildCount(builder, result.version, len(layers), sum(1 for layer in layers if layer.nodes),
                      result.seconds)


def has_external_data(path: str | os.PathLike) -> bool:
    """Whether the ONNX file at ``path`` keeps any initializer in external data."""
    proto = onnx.load_model(str(path), load_external_data=False)
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)


def save_model(model: onnx.ModelProto, path: Path, external: bool) -> None:
    """Plain save (no atomicity): with ``external``, all tensors in ``<name>.data`` beside it."""
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=f"{path.name}.data", size_threshold=1024)
    else:
        onnx.save_model(model, str(path))


def check_output_path(path: Path) -> None:
    """Fail early (before any work) when ``path`` cannot be written.

    Raises:
        InputError: the folder is missing, not a folder, or not writable; the path is a folder.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the output model's file name")
    if not folder.exists():
        raise InputError(f"{path}: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise InputError(f"{path}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: folder {str(folder)!r} is not writable")


def write_model_atomic(model: onnx.ModelProto, path: Path, external: bool) -> list[Path]:
    """Write ``model`` to ``path`` through temp files + rename, nothing half-written.

    With ``external`` the tensors go to ``<name>.data`` beside ``path`` (written first,
    renamed first; each file is always whole). Returns the files written.

    Raises:
        InputError: the folder is missing or not writable, or a write fails (the temp
            files are removed).
    """
    check_output_path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}."))
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    written: list[Path] = []
    try:
        try:
            save_model(model, tmp / path.name, external)
        except ValueError as exc:  # protobuf's 2 GB limit without external data
            raise InputError(f"{path}: cannot write: {exc}") from None
        if external:
            data = tmp / f"{path.name}.data"
            if data.exists():
                os.replace(data, folder / data.name)
                written.append(folder / data.name)
        os.replace(tmp / path.name, path)
        written.insert(0, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        for leftover in tmp.glob("*"):
            leftover.unlink(missing_ok=True)
        tmp.rmdir()
    return written


# ----------------------------------------------------------------- text report
def render_rewrite(report: RewriteReport, console, *, output: str | None = None, dry_run: bool = False) -> None:
    """Print the before/after report on a ``rich.console.Console``."""
    from rich.table import Table

    b, a = report.before, report.after
    dest = " (dry run: nothing written)" if dry_run else (f" -> {output}" if output else "")
    console.print(f"[bold]{report.model}[/]{dest}  target {report.target}, precision {report.precision}, "
                  f"SM {report.sm}", highlight=False)
    by_pass = ", ".join(f"{k} {n}" for k, n in report.counts().items()) or "none"
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
                return f"failed ({first[:160]}{'...' if len(first) > 160 else ''})"
            return f"{c.layers} ({c.layers_with_nodes} with ONNX nodes)"

        console.print(f"builder {report.builds['after'].builder} {ab.version or bb.version or ''}: engine layers "
                      f"{fmt(bb)} -> {fmt(ab)}", highlight=False)
    console.print(f"onnx.checker: {report.checker or 'not run'} check passed" if report.checker
                  else "onnx.checker: not run", highlight=False)
    eq = report.equivalence
    if eq is not None:
        shapes = ", ".join(f"{k}[{'x'.join(map(str, v))}]" for k, v in eq.input_shapes.items())
        console.print(f"ONNX Runtime: outputs equal within tolerance on seeds "
                      f"{', '.join(map(str, eq.seeds))}, inputs {shapes}", highlight=False)
        table = Table(title="Outputs, rewritten vs original", title_justify="left")
        for col in ("output", "dtype", "max |diff|", "max rel", "atol", "rtol", ""):
            table.add_column(col, overflow="fold")
        for o in eq.outputs:
            table.add_row(o.name, o.dtype, f"{o.max_abs:.3g}", f"{o.max_rel:.3g}", f"{o.atol:g}", f"{o.rtol:g}",
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
            table.add_row(r.tensor, r.node, r.quantizer, scale, zp, f"{r.max_change:.4g}", grid)
        console.print(table)
        if report.tolerance:
            console.print(f"Tolerance: {report.tolerance['why']}", highlight=False)
    for w in report.warnings:
        console.print(f"[bold yellow]warning:[/] {w}", highlight=False)
    if report.changes:
        table = Table(title="Rewrites", title_justify="left")
        for col in ("round", "pass", "code", "nodes", "change"):
            table.add_column(col, overflow="fold")
        for c in report.changes:
            table.add_row(str(c.round), c.pass_name, c.code, _short(c.nodes), c.description)
        console.print(table)
    if report.refused:
        table = Table(title="Not rewritten: fixing these would change the math", title_justify="left")
        for col in ("code", "rule", "check", "nodes", "reason"):
            table.add_column(col, overflow="fold")
        for r in report.refused:
            table.add_row(r.code, r.rule, r.check or "", _short(r.nodes), r.reason)
        console.print(table)
    if a.missed:
        table = Table(title="Missed fusions left", title_justify="left")
        for col in ("code", "rule", "check", "nodes", "reason"):
            table.add_column(col, overflow="fold")
        for d in a.missed:
            table.add_row(d.code, d.rule, d.check or "", _short(d.nodes), d.reason)
        console.print(table)


def _short(nodes, limit: int = 4) -> str:
    nodes = tuple(nodes)
    if len(nodes) <= limit:
        return ", ".join(nodes)
    return ", ".join(nodes[:limit]) + f", ... (+{len(nodes) - limit})"
