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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx
import onnx_graphsurgeon as gs
from onnx import TensorProto

from fusionlab import equivalence
from fusionlab.analysis import analyze_matches
from fusionlab.equivalence import Equivalence, OutputDiff
from fusionlab.errors import EquivalenceError, InputError
from fusionlab.graph import load_graph, node_names
from fusionlab.rewriting.builds import build_count, builder_for
from fusionlab.rewriting.edit import CannotRewrite
from fusionlab.rewriting.options import Requantization, RewriteOptions
from fusionlab.rewriting.passes import select_passes
from fusionlab.rewriting.report import Change, Refusal, RewriteReport
from fusionlab.rule import PRECISIONS, TARGETS
from fusionlab.shapes import declared_inputs, with_symbols
from fusionlab.shapes import resolve as resolve_shapes

if TYPE_CHECKING:  # pragma: no cover
    from fusionlab.equivalence import Reference
    from fusionlab.rule import Match

#: Rounds of analyze -> rewrite before the driver gives up (with a warning).
MAX_ROUNDS = 16
#: Largest graph rewrite takes, in nodes (analyze takes any size). Each round analyzes,
#: runs onnx.checker's full check and ONNX Runtime on the whole graph, so a larger graph
#: stops at once with exit 2 instead of running for many minutes.
MAX_NODES = 100_000
#: ``metadata_props`` keys stamped on rewritten nodes.
STAMP_KEY = "fusionlab.rewrite"
STAMP_DESCRIPTION = "fusionlab.rewrite.description"


def rewrite(model: str | os.PathLike | onnx.ModelProto, *, target: str = "tensorrt",
            precision: str = "fp32", sm: float = 8.6, passes: Sequence[str] | None = None,
            check: bool = True, allow_unchecked: bool = False, shapes=None,
            atol: float | None = None, rtol: float | None = None,
            seeds: Sequence[int] | None = None, max_rounds: int = MAX_ROUNDS,
            verify: bool = False, timeout: float = 600.0,
            allow_requantize: bool = False,
            precision_flags: Sequence[str] | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> tuple[onnx.ModelProto, RewriteReport]:
    """Rewrite ``model`` so that TensorRT fuses what it missed; prove the outputs unchanged.

    Args:
        model: a path to an ``.onnx`` file (external data is read) or a ``ModelProto``
            (not modified).
        target, precision, sm: as for :func:`fusionlab.analyze`.
        passes: pass names (or rule names / codes) to run; all passes when None.
        check: run the ONNX Runtime equivalence check (the checker always runs).
        allow_unchecked: when ONNX Runtime cannot run the original, rewrite anyway and
            say so in ``report.warnings`` instead of raising :class:`NotRunnable`.
        shapes: values of symbolic input dimensions (``{"x": [1, 3, 224, 224]}``,
            trtexec's ``"x:1x3x224x224"``, or a :class:`fusionlab.shapes.ShapeRequest`
            with min/opt/max shapes), checked against the model's inputs: the analysis
            and the check run at the opt shapes, ``verify``'s builds get the range.
        precision_flags: the classic builder flags of ``verify``'s builds
            (:mod:`fusionlab.precision`).
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
        progress: ``progress(description, step, steps)`` (:mod:`fusionlab.progress`),
            called with each ``verify`` build's phases (``build 1/2, input: ...``).

    Returns:
        ``(rewritten ModelProto, RewriteReport)``; the input model itself when nothing
        changed.

    Raises:
        InputError: the model cannot be loaded, has more than :data:`MAX_NODES` nodes, an
            option is wrong, an unknown pass, a requantization without ``atol``.
        NotRunnable: ONNX Runtime cannot run the original, a pass changed it and
            ``allow_unchecked`` is off (an unchanged model is returned as is).
        EquivalenceError: a pass made an invalid model or changed an output beyond
            tolerance (names the pass, the output and the difference).
        BuilderUnavailable: ``verify`` and no TensorRT builder is installed.
    """
    start = time.monotonic()
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if max_rounds < 1:
        raise InputError(f"max_rounds must be >= 1, not {max_rounds}")
    builder = builder_for(target) if verify else None
    selected = select_passes(passes)
    original, name, path = _load(model)
    if len(original.graph.node) > MAX_NODES:
        raise InputError(f"{name}: has {len(original.graph.node)} nodes; rewrite takes at most {MAX_NODES} "
                         "(fusionlab.rewriting.MAX_NODES; analyze takes any size)")
    profile = resolve_shapes(original, shapes, name)
    declared = declared_inputs(original)
    shapes = with_symbols(declared, profile.opt_shapes()) if profile else None
    working = named_copy(original)
    warnings: list[str] = []

    before, matches_now = analyze_matches(working, target=target, precision=precision, sm=sm, shapes=profile or None)
    checker = "full"
    problem = equivalence.full_check(original, True)
    if problem is not None:
        checker = "plain" if equivalence.full_check(original, False) is None else None
        warnings.append(f"the input fails onnx.checker's full check ({problem}); the rewritten model is "
                        + ("held to the plain check" if checker else "not checked by onnx.checker"))
    ref: Reference | None = None
    pending: equivalence.NotRunnable | None = None
    if check:
        try:
            ref = equivalence.reference(original, shapes=shapes, seeds=tuple(seeds or equivalence.SEEDS),
                                        atol=atol, rtol=rtol)
        except equivalence.NotRunnable as exc:
            if not allow_unchecked:
                pending = exc  # raised once a pass changes the model: an unchanged one needs no proof
            else:
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
        report_now, matches_now = analyze_matches(current, target=target, precision=precision, sm=sm,
                                                  shapes=profile or None)
    else:
        if _candidates(matches_now, selected, refused):
            warnings.append(f"stopped after {max_rounds} rounds with rewrites still possible")

    if pending is not None and changes:
        raise pending
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
        fixed = {k: v for k, v in with_symbols(declared, profile.fixed()).items() if k not in profile.ranges()}
        report.builds = {"before": build_count(path or original, builder, fixed, timeout, profile.ranges(),
                                               precision_flags, _phases(progress, "build 1/2, input")),
                         "after": build_count(final, builder, fixed, timeout, profile.ranges(), precision_flags,
                                              _phases(progress, "build 2/2, rewritten"))}
        b, a = report.builds["before"], report.builds["after"]
        if a.error and not b.error:
            warnings.append(f"the rewritten model does not build with {builder} ({a.error}) while the input does")
        elif a.layers is not None and b.layers is not None and a.layers > b.layers:
            warnings.append(f"the rewritten model builds into more engine layers ({b.layers} -> {a.layers})")
    report.seconds = time.monotonic() - start
    return final, report


def _phases(progress: Callable[[str, int, int], None] | None, what: str):
    """The builder's ``progress(phase, step, steps)`` forwarded as ``what: phase``."""
    if progress is None:
        return None
    progress(what, 0, 0)
    return lambda phase, step, steps: progress(f"{what}: {phase}", step, steps)


def _requantize_tolerance(requantized: list[Requantization], ref: Reference) -> dict:
    """The tolerance a requantizing run's float outputs were held to, and why."""
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


def _load(model) -> tuple[onnx.ModelProto, str, Path | None]:
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
    (:func:`fusionlab.graph.node_names`)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for node, name in zip(copy.graph.node, node_names(copy.graph.node)):
        node.name = name
    return copy


def _candidates(matches, selected: dict, refused: dict) -> list[tuple[Any, Match, str]]:
    """(diagnostic, match, pass) for every rewritable diagnostic; records refusals."""
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


def _identity_equivalence(ref: Reference):
    outs = []
    for name in ref.output_names:
        dtype = ref.output_types.get(name, 0)
        atol, rtol = ref.tolerance(dtype)
        label = TensorProto.DataType.Name(dtype) if dtype else "?"
        outs.append(OutputDiff(name, label, tuple(ref.outputs[0][name].shape), 0.0, 0.0, atol, rtol, True, ref.seeds[0]))
    return Equivalence(outs, ref.seeds, ref.input_shapes)
