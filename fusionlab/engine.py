"""The rule engine: runs rules over a layer state and predicts TensorRT's engine layers.

The engine knows no rule. It runs the :class:`fusionlab.rule.Rule` subclasses that
:mod:`fusionlab.registry` discovers (the built-in pack and installed packs), keeps the *layer state* (every ONNX node starts as its own layer;
fusions merge layers, erasures and constant folding absorb nodes), and runs rules the
way TensorRT's builder runs its fusion passes:

1. Rules run in phases (``Rule.phase``), lowest first.
2. In a phase, every rule finds its structural matches, anchored on layers of its
   pattern's root kinds (an index by kind, so the cost grows with the number of
   candidates, not with graph size x rules).
3. Matches are sorted larger first (more layers, then more nodes), then by the anchor's
   topological position, then by rule code; this order is the tie-break everywhere.
4. A match whose checks all hold is applied unless an earlier match of the same round
   already changed one of its layers; a match whose check fails is a *missed* fusion.
5. The round repeats until nothing changes; then the next phase starts.
6. Rounds after the first only anchor on layers downstream (within the largest
   pattern's depth) of what the previous round changed: a match walks backwards from
   its anchor, so nothing else can match differently. This keeps the cost linear.
7. A skipped match (the *loser* of an overlap) that never applies and whose nodes did
   not end in one layer is reported as missed with check ``no-overlap``, naming the
   winning rule.
8. A merge that would make the layer graph cyclic (a path leaving the merged layers and
   coming back, as in A -> B -> C merging A and C without B) is refused with
   :class:`CyclicMerge`, as torch.fx's ``validate_partition`` refuses such a partition:
   it is a rule's bug, never a fusion TensorRT makes. The check is incremental (the
   layers keep topological ranks, kept valid after each merge as Pearce and Kelly's
   dynamic topological order does), so it costs the layers between the merged ones,
   not the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from fusionlab.diagnostic import Diagnostic
from fusionlab.errors import CyclicMerge, InputError  # noqa: F401 - CyclicMerge re-exported
from fusionlab.graph import Graph
from fusionlab.pattern import ANY
from fusionlab.registry import discover_rules
from fusionlab.rule import PRECISIONS, TARGETS, Context, Match, Rule

MAX_ROUNDS = 64
#: ONNX ops that quantize a constant into another constant (see LayerState.is_constant).
QUANTIZE_OPS = ("QuantizeLinear", "DequantizeLinear")
#: Rounds after the first revisit layers this many hops downstream of a change, at least.
MIN_DEPTH = 8


@dataclass(eq=False)
class Layer:
    """A predicted engine layer: ONNX nodes (topological order) and a kind.

    ``kind`` is the host's op type for fusions that continue a layer (a Conv with a
    fused ReLU is still kind ``Conv``) or the fused kind (``PointWise``, ``Gelu``...).
    ``host`` is the node whose inputs stand for the layer's inputs in patterns.
    """

    nodes: list[str]
    kind: str
    host: str | None
    index: int
    rules: list[str] = field(default_factory=list)
    namer: Rule | None = None
    #: what earlier fusions made of the layer (``Rule.tags`` of every rule that merged it),
    #: e.g. ``"int8"``; patterns ask for tags (``Op(..., tagged="int8")``), never for codes.
    tags: frozenset[str] = frozenset()
    #: position in a topological order of the layer graph (LayerState keeps it valid
    #: across merges; ``index`` stays the first node's position, the tie-break).
    rank: int = -1

    @property
    def host_or_first(self) -> str:
        return self.host or self.nodes[0]


class LayerState:
    """Layers, absorbed nodes and aliases; the :class:`fusionlab.pattern.View` rules match on."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.layer_of: dict[str, Layer] = {}
        self.by_kind: dict[str, dict[int, Layer]] = {}
        self.absorbed: dict[str, str] = {}  # node -> rule code
        self.alias: dict[str, str] = {}  # erased output -> the tensor it becomes
        self.folded: set[str] = set()  # tensors made constant by folding
        self.folded_values: dict[str, np.ndarray] = {}  # values a fold rule computed
        #: when set, anchors are restricted to these layers (ids): the rounds after the
        #: first only revisit layers downstream of what the previous round changed.
        self.candidates: set[int] | None = None
        self.changed: list[list[str]] = []  # node lists of layers changed this round
        self.ctx: Context | None = None  # the analysis options (set by run)
        for name, node in graph.nodes.items():
            layer = Layer([name], node.op_type, name, node.index, rank=node.index)
            self.layer_of[name] = layer
            self.by_kind.setdefault(node.op_type, {})[id(layer)] = layer

    # ------------------------------------------------------------- the View
    def resolve(self, tensor: str) -> str:
        while tensor in self.alias:
            tensor = self.alias[tensor]
        return tensor

    def producer_layer(self, tensor: str) -> Layer | None:
        tensor = self.resolve(tensor)
        if tensor in self.folded:
            return None
        src = self.graph.producer.get(tensor)
        if src is None or src in self.absorbed:
            return None
        return self.layer_of[src]

    def layer_kind(self, layer: Layer) -> str:
        return layer.kind

    def layer_node(self, layer: Layer):
        """The layer's host :class:`fusionlab.graph.Node` (its first node without a host)."""
        return self.graph.nodes[layer.host_or_first]

    def layer_tags(self, layer: Layer) -> frozenset[str]:
        return layer.tags

    def layer_inputs(self, layer: Layer) -> tuple[str, ...]:
        if layer.host is not None:
            return tuple(self.resolve(t) if t else t for t in self.graph.nodes[layer.host].inputs)
        members = set(layer.nodes)
        seen: list[str] = []
        for name in layer.nodes:
            for t in self.graph.nodes[name].inputs:
                t = self.resolve(t) if t else t
                if t and self.graph.producer.get(t) not in members and t not in seen:
                    seen.append(t)
        return tuple(seen)

    def is_constant(self, tensor: str) -> bool:
        """Initializers, Constant outputs, folded tensors, and quantized weights: the output
        of a QuantizeLinear / DequantizeLinear of a constant (TensorRT quantizes weights
        once, at build time; the Q/DQ node itself stays for the Q/DQ rules to place)."""
        for _ in range(3):
            tensor = self.resolve(tensor)
            if tensor in self.folded or self.graph.is_constant(tensor):
                return True
            node = self.graph.node_of(tensor)
            if node is None or node.op_type not in QUANTIZE_OPS:
                return False
            tensor = node.inputs[0]
        return False

    def const_value(self, tensor: str) -> np.ndarray | None:
        tensor = self.resolve(tensor)
        if tensor in self.folded:
            value = self.folded_values.get(tensor)
            return value if value is not None else self.graph.const_value(tensor)
        return self.graph.const_value(tensor)

    # ------------------------------------------------------------- queries
    @property
    def state(self) -> "LayerState":
        """Itself: a pattern predicate's view is a LayerState or a :class:`NodeView`, and
        both name the layer state ``view.state``."""
        return self

    def node_view(self, absorbed: bool = False) -> "NodeView":
        """The graph as written (:class:`NodeView`), made once per state; ``absorbed``:
        with the nodes a fold or an erasure absorbed (the parser's view, rule level
        ``"onnx"``)."""
        key = "_onnx_view" if absorbed else "_node_view"
        view = self.__dict__.get(key)
        if view is None:
            view = NodeView(self, absorbed)
            setattr(self, key, view)
        return view

    def layers_of_kinds(self, kinds: Iterable[str]) -> list[Layer]:
        """Live layers of these kinds (:data:`fusionlab.pattern.ANY`: of every kind) that
        this round may anchor on (after the first round: downstream of a change), in
        topological order of their first node."""
        cand = self.candidates
        kinds = self.by_kind if ANY in kinds else kinds
        found = [layer for k in kinds for lid, layer in self.by_kind.get(k, {}).items()
                 if cand is None or lid in cand]
        return sorted(found, key=lambda layer: layer.index)

    def downstream(self, nodes: Iterable[str], depth: int) -> set[int]:
        """Ids of the layers holding ``nodes`` or reading from them within ``depth`` hops."""
        frontier = set(nodes)
        seen_nodes = set(frontier)
        for _ in range(depth):
            nxt = set()
            for n in frontier:
                for t in self.graph.nodes[n].outputs:
                    for c in self.graph.consumers.get(t, ()):
                        if c not in seen_nodes:
                            nxt.add(c)
            # a whole layer is one hop: its members' readers are the next hop
            grown = set()
            for c in nxt:
                grown.update(self.layer_of[c].nodes if c not in self.absorbed else (c,))
            frontier = grown - seen_nodes
            seen_nodes |= grown
            if not frontier:
                break
        return {id(self.layer_of[n]) for n in seen_nodes if n not in self.absorbed}

    def layer_outputs(self, layer: Layer) -> list[str]:
        """Tensors produced by the layer's nodes that are read outside it or are graph outputs."""
        members = set(layer.nodes)
        out = []
        for name in layer.nodes:
            for t in self.graph.nodes[name].outputs:
                if not t:
                    continue
                readers = self.graph.consumers.get(t, ())
                if t in self.graph.outputs or any(r not in members for r in readers):
                    out.append(t)
        return out or [t for t in self.graph.nodes[layer.nodes[-1]].outputs if t]

    def is_absorbed(self, node: str) -> bool:
        return node in self.absorbed

    def live_layers(self) -> list[Layer]:
        seen: dict[int, Layer] = {}
        for name, layer in self.layer_of.items():
            if name not in self.absorbed:
                seen[id(layer)] = layer
        return sorted(seen.values(), key=lambda layer: layer.index)

    # ------------------------------------------------------------- changes
    def _drop(self, layer: Layer) -> None:
        self.by_kind.get(layer.kind, {}).pop(id(layer), None)

    def _succ(self, layer: Layer, origin: Layer | None = None) -> Iterator[Layer]:
        """Live layers other than ``layer`` reading an output of it (may repeat). Absorbed
        nodes are looked through: an erased node's readers read its input, so it is an edge."""
        origin = origin or layer
        nodes, consumers, layer_of, absorbed = self.graph.nodes, self.graph.consumers, self.layer_of, self.absorbed
        for n in layer.nodes:
            for t in nodes[n].outputs:
                for c in consumers.get(t, ()):
                    other = layer_of[c]
                    if c in absorbed:
                        yield from self._succ(other, origin)
                    elif other is not origin:
                        yield other

    def _pred(self, layer: Layer, origin: Layer | None = None) -> Iterator[Layer]:
        """Live layers other than ``layer`` producing an input of it (may repeat; absorbed
        nodes are looked through, as in :meth:`_succ`)."""
        origin = origin or layer
        nodes, producer, layer_of, absorbed = self.graph.nodes, self.graph.producer, self.layer_of, self.absorbed
        for n in layer.nodes:
            for t in nodes[n].inputs:
                src = producer.get(t)
                if src is None:
                    continue
                other = layer_of[src]
                if src in absorbed:
                    yield from self._pred(other, origin)
                elif other is not origin:
                    yield other

    def closes_cycle(self, layers: list[Layer]) -> bool:
        """Whether merging ``layers`` would make the layer graph cyclic: a path leaves them
        and comes back (the check :meth:`merge` makes, without raising). Costs the layers
        ranked between the group's lowest and highest, as :meth:`_reorder` does. For rules
        that join groups found separately (a partition's pieces), before they propose it."""
        group = {id(layer) for layer in layers}
        hi = max(layer.rank for layer in layers)
        seen: set[int] = set()
        stack = [n for layer in layers for n in self._succ(layer) if id(n) not in group and n.rank < hi]
        while stack:
            cur = stack.pop()
            if id(cur) in seen:
                continue
            seen.add(id(cur))
            for nxt in self._succ(cur):
                if id(nxt) in group:
                    return True
                if nxt.rank < hi and id(nxt) not in seen:
                    stack.append(nxt)
        return False

    def _reorder(self, layers: list[Layer], rule: Rule) -> int:
        """Refuse the merge of ``layers`` if it closes a cycle (:class:`CyclicMerge`), else
        make room for it in the topological ranks; returns the merged layer's rank.

        Ranks are a topological order, so a path that leaves the group and comes back
        only visits layers ranked between the group's lowest (``lo``) and highest
        (``hi``). A forward search from the group below ``hi`` finds such a path (or the
        group's descendants F in the window); a backward search above ``lo`` finds its
        ancestors B. The window's ranks held by B, the group and F are dealt again: B
        first, then the merged layer, then F, each in its old order (Pearce and Kelly,
        "A dynamic topological sort algorithm for directed acyclic graphs", 2006); every
        other layer keeps its rank.
        """
        group = {id(layer) for layer in layers}
        lo = min(layer.rank for layer in layers)
        hi = max(layer.rank for layer in layers)
        if len(layers) < 2:
            return lo
        parent: dict[int, Layer | None] = {}
        forward: list[Layer] = []
        stack: list[Layer] = []
        for layer in layers:
            for nxt in self._succ(layer):
                if id(nxt) not in group and nxt.rank < hi and id(nxt) not in parent:
                    parent[id(nxt)] = layer
                    stack.append(nxt)
        while stack:
            cur = stack.pop()
            forward.append(cur)
            for nxt in self._succ(cur):
                if id(nxt) in group:
                    raise CyclicMerge(rule.code, rule.name, sorted({n for la in layers for n in la.nodes},
                                      key=lambda n: self.graph.nodes[n].index),
                                      self._path(cur, parent, group) + [nxt.nodes[0]])
                if nxt.rank < hi and id(nxt) not in parent:
                    parent[id(nxt)] = cur
                    stack.append(nxt)
        backward: list[Layer] = []
        seen: set[int] = set()
        stack = [p for layer in layers for p in self._pred(layer)
                 if id(p) not in group and p.rank > lo]
        while stack:
            cur = stack.pop()
            if id(cur) in seen:
                continue
            seen.add(id(cur))
            backward.append(cur)
            stack.extend(p for p in self._pred(cur) if p.rank > lo and id(p) not in seen and id(p) not in group)
        if not forward and not backward:
            return lo
        backward.sort(key=lambda la: la.rank)
        forward.sort(key=lambda la: la.rank)
        slots = sorted([la.rank for la in backward] + [la.rank for la in layers]
                       + [la.rank for la in forward])
        for slot, la in zip(slots, backward):
            la.rank = slot
        for slot, la in zip(reversed(slots), reversed(forward)):
            la.rank = slot
        return slots[len(backward)]

    def _path(self, last: Layer, parent: dict[int, Layer | None], group: set[int]) -> list[str]:
        """ONNX nodes (the first of each layer) of the search path from the group to ``last``."""
        path = [last]
        while id(path[-1]) in parent and id(path[-1]) not in group:
            path.append(parent[id(path[-1])])
        return [la.nodes[0] for la in reversed(path)]

    def merge(self, layers: list[Layer], kind: str, host: str | None, rule: Rule) -> Layer:
        """Merge ``layers`` into one layer of ``kind``; returns it.

        Raises:
            CyclicMerge: a path through a layer outside ``layers`` connects two of them
                (the merged layer would feed itself); nothing is changed.
        """
        rank = self._reorder(layers, rule)
        names = sorted({n for layer in layers for n in layer.nodes}, key=lambda n: self.graph.nodes[n].index)
        codes: list[str] = []
        tags = frozenset(rule.tags)
        for layer in layers:
            self._drop(layer)
            codes.extend(c for c in layer.rules if c not in codes)
            tags |= layer.tags
        if rule.code not in codes:
            codes.append(rule.code)
        merged = Layer(names, kind, host, self.graph.nodes[names[0]].index, codes, rule,
                       tags=tags, rank=rank)
        for n in names:
            self.layer_of[n] = merged
        self.by_kind.setdefault(kind, {})[id(merged)] = merged
        self.changed.append(names)
        return merged

    def absorb(self, layer: Layer, rule: Rule, becomes: str | None) -> None:
        """Remove ``layer``: its output aliases ``becomes`` (erase) or is constant (fold)."""
        self._drop(layer)
        self.changed.append(list(layer.nodes))
        for n in layer.nodes:
            self.absorbed[n] = rule.code
        outputs = [t for n in layer.nodes for t in self.graph.nodes[n].outputs if t]
        for t in outputs:
            if becomes is None:
                self.folded.add(t)
            elif t != becomes:
                self.alias[t] = becomes


class NodeView:
    """The graph as written, for rules with ``level = "node"`` (lints that look at every
    node of an op type, whatever layer a fusion put it in): every live ONNX node is its
    own one-node layer, producer edges are the ONNX edges, constants are the graph's
    (initializers, Constant outputs). With ``absorbed`` (rule level ``"onnx"``: what
    TensorRT's ONNX parser imports) the nodes that constant folding or an erasure
    absorbed are anchors too. Implements :class:`fusionlab.pattern.View`; ``state`` is
    the layer state it was made from."""

    def __init__(self, state: LayerState, absorbed: bool = False):
        self.state = state
        self.graph = state.graph
        self.absorbed = absorbed
        self._layers: dict[str, Layer] = {}

    def _layer(self, name: str) -> Layer:
        layer = self._layers.get(name)
        if layer is None:
            node = self.graph.nodes[name]
            layer = self._layers[name] = Layer([name], node.op_type, name, node.index)
        return layer

    def layers_of_kinds(self, kinds: Iterable[str]) -> list[Layer]:
        """One-node layers of every live node (with ``absorbed``: every node) of these op
        types (ANY: of every type), in topological order."""
        kinds = set(kinds)
        return [self._layer(n) for n, node in self.graph.nodes.items()
                if (ANY in kinds or node.op_type in kinds)
                and (self.absorbed or not self.state.is_absorbed(n))]

    def producer_layer(self, tensor: str) -> Layer | None:
        src = self.graph.producer.get(tensor)
        return None if src is None else self._layer(src)

    def layer_kind(self, layer: Layer) -> str:
        return layer.kind

    def layer_inputs(self, layer: Layer) -> tuple[str, ...]:
        return tuple(self.graph.nodes[layer.nodes[0]].inputs)

    def layer_node(self, layer: Layer):
        return self.graph.nodes[layer.nodes[0]]

    def layer_tags(self, layer: Layer) -> frozenset[str]:
        return frozenset()

    def is_constant(self, tensor: str) -> bool:
        return self.graph.is_constant(tensor)

    def const_value(self, tensor: str) -> np.ndarray | None:
        return self.graph.const_value(tensor)


@dataclass
class EngineResult:
    """What :func:`run` predicts: live layers, absorbed nodes and diagnostics."""

    layers: list[Layer]
    absorbed: dict[str, str]
    diagnostics: list[Diagnostic]
    #: each diagnostic with the match it came from (for rewrites), same order.
    matches: list[tuple[Diagnostic, Match]] = field(default_factory=list)


class _Findings:
    """Diagnostics keyed by (rule code, node set, check slug), each with its match."""

    def __init__(self):
        self.diags: dict[tuple, Diagnostic] = {}
        self.matches: dict[tuple, Match] = {}
        #: (rule code, node) -> key of the "predicted" finding of that rule holding the node
        self._predicted: dict[tuple[str, str], tuple] = {}

    def add(self, m: Match, status: str, slug: str | None, reason: str, nodes=None) -> None:
        """Record a finding. A "predicted" finding replaces the rule's earlier predicted
        findings whose nodes it covers (a chain that grew over rounds is one finding, so
        findings stay linear in the graph, not quadratic), except for rules that rewrite
        on "predicted": their rewrite acts on each step's match."""
        nodes = m.nodes if nodes is None else nodes
        key = (m.rule.code, frozenset(nodes), slug)
        if status == "predicted" and "predicted" not in m.rule.rewrites_on:
            code = m.rule.code
            for n in nodes:
                old = self._predicted.get((code, n))
                if old is not None and old != key and old in self.diags and old[1] <= key[1]:
                    del self.diags[old]
                    del self.matches[old]
                self._predicted[(code, n)] = key
        self.matches[key] = m
        self.diags[key] = Diagnostic(m.rule.code, m.rule.name, status, nodes, slug, reason, m.rule.cost,
                                     rejects=status == "lint" and m.rule.is_rejection(slug))

    def reported(self, m: Match) -> bool:
        """Whether a check of this match already failed (it is not evaluated again)."""
        return any((m.rule.code, m.key, s) in self.diags for s, _, _ in m.rule.checks())


def run(graph: Graph, *, target: str = "tensorrt", precision: str = "fp32", sm: float = 8.6,
        rules: list[type[Rule]] | None = None) -> EngineResult:
    """Run every rule of ``target`` over ``graph`` (see module doc for the algorithm).

    Raises:
        InputError: unknown target or precision.
    """
    if target not in TARGETS:
        raise InputError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    state = LayerState(graph)
    ctx = Context(target, precision, sm, graph, state)
    state.ctx = ctx  # rules whose structure depends on the target read it in find/accept
    active = [r() for r in (rules if rules is not None else discover_rules()) if target in r.targets]
    findings = _Findings()
    for phase in sorted({r.phase for r in active}):
        _run_phase([r for r in active if r.phase == phase], state, ctx, findings)
    return EngineResult(state.live_layers(), dict(state.absorbed), list(findings.diags.values()),
                        [(d, findings.matches[k]) for k, d in findings.diags.items()])


def _run_phase(rules: list[Rule], state: LayerState, ctx: Context, findings: _Findings) -> None:
    losers: dict[tuple, tuple[Match, Rule]] = {}
    applied: set[tuple] = set()
    for rule in (r for r in rules if r.kind == "lint"):
        for m in rule.find(state):
            m, _ = _choose(rule, m, ctx)
            for slug, reason in _failures(rule, m, ctx):
                findings.add(m, "lint", slug, reason)
    rules = [r for r in rules if r.kind != "lint"]
    depth = max([p.size() for r in rules for p in r.patterns()] + [MIN_DEPTH])
    state.candidates = None
    for _ in range(MAX_ROUNDS):
        state.changed = []
        matches = [m for rule in rules for m in rule.find(state)]
        matches.sort(key=lambda m: (-len(m.order), -len(m.nodes), m.anchor.index, m.rule.code))
        touched: dict[int, Rule] = {}
        changed = False
        for m in matches:
            rule = m.rule
            key = (rule.code, m.key)
            if key in applied or findings.reported(m):
                continue
            m, failure = _choose(rule, m, ctx)
            if failure is not None:
                findings.add(m, "missed", *failure)
                continue
            winner = next((touched[id(layer)] for layer in m.order if id(layer) in touched), None)
            if winner is not None:
                losers[key] = (m, winner)
                continue
            nodes = m.nodes
            _apply(rule, m, state)
            applied.add(key)
            changed = True
            for layer in m.order:
                touched[id(layer)] = rule
            status = "absorbed" if rule.kind in ("erase", "fold") else "predicted"
            findings.add(m, status, None, rule.describe(m), nodes)
        if not changed:
            break
        state.candidates = state.downstream([n for names in state.changed for n in names], depth)
    state.candidates = None
    for key, (m, winner) in losers.items():
        if key in applied:
            continue
        homes = {id(state.layer_of[n]) for n in m.nodes if n not in state.absorbed}
        if len(homes) <= 1 or winner.code == m.rule.code:
            continue  # subsumed, or a rule overlapping itself (chains grow across rounds)
        rule = m.rule
        taken = [n for n in m.nodes if state.layer_of[n].rules and winner.code in state.layer_of[n].rules]
        reason = (f"{', '.join(taken) or ', '.join(m.nodes)} already fused by {winner.code} {winner.name}, "
                  f"which matched first (larger pattern or earlier node); the fusion needs them free")
        findings.add(m, "missed", "no-overlap", reason)


def _choose(rule: Rule, m: Match, ctx: Context) -> tuple[Match, tuple[str, str] | None]:
    """The first of ``m`` and its alternatives (in the rule's preference order) whose
    checks all hold, with ``None``; when every binding fails, ``m`` and its first failure
    (the preferred binding is the one reported)."""
    first = next(_failures(rule, m, ctx), None)
    if first is None:
        return m, None
    for alt in m.alternatives:
        if next(_failures(rule, alt, ctx), None) is None:
            return alt, None
    return m, first


def _failures(rule: Rule, m: Match, ctx: Context) -> Iterator[tuple[str, str]]:
    """``(slug, reason)`` of each check of ``rule`` that fails on ``m``, in order (lazily:
    a fusion stops at the first, a lint reports all)."""
    for slug, targets, fn in rule.checks():
        if ctx.target in targets:
            reason = fn(rule, m, ctx)
            if reason:
                yield slug, reason


def _apply(rule: Rule, m: Match, state: LayerState) -> None:
    if rule.kind == "fusion":
        layers = rule.fused(m)
        if rule.host:
            host_layer = m.layer(rule.host)
            kind, host = host_layer.kind, host_layer.host
        else:
            kind, host = rule.result_kind or m.anchor.kind, None
        state.merge(layers, kind, host, rule)
    elif rule.kind == "erase":
        for layer, becomes in rule.erased(m):
            state.absorb(layer, rule, becomes)
    elif rule.kind == "fold":
        for layer in m.order:
            state.absorb(layer, rule, None)
    else:  # pragma: no cover - guarded by discover
        raise InputError(f"rule {rule.code} has unknown kind {rule.kind!r}")
