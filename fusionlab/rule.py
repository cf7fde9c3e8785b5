"""What a rule is: a code, a name, a pattern, named checks, and what a match does.

A rule lives in one file under ``rules/`` and subclasses :class:`Rule`::

    class ConvRelu(Rule):
        '''Convolution and ReLU fuse into one Convolution layer.

        What it fuses: ...
        Why it matters: ...
        Conditions: single-consumer.
        Source: TensorRT Developer Guide, "Types of Fusions": ReLU Convolution.
        '''
        code = "TRT101"
        name = "conv-relu"
        pattern = op.Relu(op.Conv(name="conv"), name="act")
        host = "conv"

        @check("single-consumer")
        def single(self, m, ctx):
            return single_consumer(m, ctx)

        @check("relu-not-leaky", targets=("tensorrt",))
        def not_leaky(self, conv, act):        # bindings by name: host ONNX nodes
            return None if act.op_type == "Relu" else f"{act.name} is {act.op_type}"

A check returns ``None`` when it holds, or the reason it fails: one sentence naming the
observed value and the one TensorRT needs. Its parameters are bound by name: ``m`` is the
:class:`Match`, ``ctx`` the :class:`Context`; any other name is a binding of the pattern:
an :class:`~fusionlab.pattern.Op` name gets the layer's host :class:`fusionlab.graph.Node`,
a :class:`~fusionlab.pattern.Var` / :class:`~fusionlab.pattern.Const` name the tensor's
name, a :class:`~fusionlab.pattern.Through` name the tuple of path layers; a binding the
match does not have (an :class:`~fusionlab.pattern.Opt` that matched nothing, the other
side of an ``|``) is ``None``. A parameter that names no binding is a ``TypeError`` when
the rule's checks are first read.

A rule's :meth:`Rule.find` collects *every* binding of each anchor and orders them by
:meth:`Rule.prefer`; the engine applies the first binding whose checks all hold and, when
none does, reports the preferred binding's first failure. The engine runs a fusion rule's checks in
the order they are written and reports the first failure as a *missed* fusion; a lint
rule reports every failed check as a *lint*.

Kinds (``Rule.kind``):

* ``"fusion"`` -- the matched layers become one layer (kind of the ``host`` binding,
  or ``result_kind``).
* ``"erase"`` -- the matched nodes vanish; consumers read ``Rule.erase_input(m)``.
* ``"fold"`` -- constant folding: the matched nodes vanish, their outputs are constants.
* ``"lint"`` -- nothing changes; failed checks are reported.

Rewrites (optional, ``fusionlab rewrite``): a rule may define ``rewrite(m, graph)``,
which edits an ``onnx_graphsurgeon.Graph`` in place so that the fusion happens (or the
fold is done offline) and returns a one-line description of the change, or ``None`` when
it changed nothing. ``rewrites_on`` names the statuses of the matches it is given
(``("missed",)``, ``("predicted", "missed")``...); ``fixes`` names the checks whose failure
the rewrite can repair (a missed match that failed any other check is reported as not
rewritable, with the check's reason, and the rewrite is not called); ``pass_name`` is the
name ``--passes`` selects it by (default: the rule's name). A rewrite that finds it cannot
fix a match without changing the model's math raises
:class:`fusionlab.rewriting.CannotRewrite` with the reason; it never approximates::

    rewrites_on = ("predicted", "missed")
    fixes = ("inside-graph",)

    def rewrite(self, m, graph):
        conv, bn = node_of(graph, m.node("conv").name), node_of(graph, m.node("scale").name)
        ...                      # fold bn's constants into conv's weights and bias
        return f"folded {bn.name} into {conv.name}'s weights and bias"

A rewrite may take a third parameter ``options`` (``rewrite(self, m, graph, options)``):
the driver then passes a :class:`fusionlab.rewriting.RewriteOptions`. With
``options.allow_requantize`` (``--allow-requantize``) a rewrite may quantize a float
tensor with the parameters of a quantizer that already reads it; it must record that
with ``options.requantize(...)`` (the run is then held to the user's ``--atol``).

Find nodes and tensors with :func:`fusionlab.rewriting.node_of` /
:func:`fusionlab.rewriting.tensor_of`; replace a changed constant with a new
``gs.Constant`` (do not edit arrays in place) so the driver sees the change and stamps
the node's ``metadata_props``.
"""

from __future__ import annotations

import inspect
import re
from functools import cached_property
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import numpy as np

from fusionlab.pattern import Bindings, Pattern

if TYPE_CHECKING:  # pragma: no cover
    from fusionlab.engine import Layer, LayerState
    from fusionlab.graph import Graph, Node

TARGETS = ("tensorrt", "tensorrt-rtx")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
DOC_SECTIONS = ("What it fuses", "Why it matters", "Conditions", "Source")


def check(slug: str, *, targets: tuple[str, ...] = TARGETS) -> Callable:
    """Mark a rule method as the named check ``slug``, applied on ``targets`` only."""

    def deco(fn):
        fn._check_slug = slug
        fn._check_targets = tuple(targets)
        return fn

    return deco


@dataclass
class Context:
    """Analysis options a check may depend on.

    Attributes:
        target: ``"tensorrt"`` (the documented classic rules) or ``"tensorrt-rtx"``.
        precision: ``fp32``, ``fp16``, ``bf16`` or ``int8`` -- the builder precision
            flags for classic TensorRT (TensorRT-RTX networks are strongly typed).
        sm: compute capability as a float, e.g. ``8.6`` for SM 8.6.
        graph: the :class:`fusionlab.graph.Graph` being analyzed.
        state: the engine's :class:`fusionlab.engine.LayerState`.
    """

    target: str
    precision: str
    sm: float
    graph: "Graph"
    state: "LayerState"

    @property
    def strongly_typed(self) -> bool:
        return self.target == "tensorrt-rtx"


@dataclass
class Match:
    """One structural match of a rule.

    ``layers`` maps each Op binding name to the layer it bound (root first in
    ``order``); ``tensors`` maps Var/Const names to tensor names; ``paths`` maps Through
    names to their layers. ``alternatives`` are the anchor's other bindings, in the rule's
    preference order (the engine tries them when this one fails a check).
    """

    rule: "Rule"
    layers: dict[str, "Layer"]
    tensors: dict[str, str]
    order: list["Layer"]
    state: "LayerState"
    paths: dict[str, tuple] = field(default_factory=dict)
    alternatives: list["Match"] = field(default_factory=list)

    @classmethod
    def of(cls, rule: "Rule", b: Bindings, state: "LayerState") -> "Match":
        return cls(rule, b.layers, b.tensors, b.order, state, b.paths)

    def binding(self, name: str) -> Any:
        """What a check parameter called ``name`` receives (see module doc): the host
        Node of an Op, the tensor of a Var/Const, the layers of a Through, else None."""
        if name in self.layers:
            return self.node(name)
        if name in self.tensors:
            return self.tensors[name]
        return self.paths.get(name)

    @property
    def anchor(self) -> "Layer":
        return self.order[0]

    def layer(self, name: str) -> "Layer":
        """The layer bound to the Op named ``name``."""
        return self.layers[name]

    def node(self, name: str) -> "Node":
        """The ONNX node that represents the layer bound to ``name`` (its host)."""
        return self.state.graph.nodes[self.layers[name].host_or_first]

    def tensor(self, name: str) -> str:
        """The tensor bound to the Var/Const ``name``."""
        return self.tensors[name]

    def value(self, name: str) -> np.ndarray | None:
        """The value of the constant bound to ``name``."""
        return self.state.const_value(self.tensors[name])

    @cached_property
    def nodes(self) -> tuple[str, ...]:
        """Every ONNX node of every bound layer, in topological order (computed once: a
        match's layers are never mutated, a fusion makes a new layer)."""
        names = {n for layer in self.order for n in layer.nodes}
        return tuple(sorted(names, key=lambda n: self.state.graph.nodes[n].index))

    @cached_property
    def key(self) -> frozenset[str]:
        return frozenset(self.nodes)


class Rule:
    """Base class of every rule (see module doc). Subclasses set the class attributes.

    Attributes:
        code: stable code, ``TRT`` + 3 digits.
        name: kebab-case name saying what is found.
        kind: ``fusion``, ``erase``, ``fold`` or ``lint``.
        phase: rules run in phases, lowest first; inside a phase, matches apply
            larger first until nothing changes.
        targets: the targets the rule belongs to.
        pattern: a :class:`Pattern`, or a tuple of them (tried in order).
        host: Op binding whose layer the fused layer continues (keeps its kind).
        result_kind: kind of the fused layer when there is no host.
        tags: tags the fused layer gets (and keeps through later fusions), which other
            rules' patterns ask for (``Op(..., tagged="int8")``) instead of rule codes.
        style: how the fused layer is named: ``join`` (``conv1 + relu1``), ``pwn``
            (``PWN(add1, relu1)``), ``mlp`` (``2-layer MLP``) or a fixed prefix.
        cost: how costly a miss is: 3 high, 2 medium, 1 low.
        rewrites_on, fixes, pass_name: the optional rewrite (module doc).
        rejects: a failed check of this lint is an input TensorRT's ONNX parser
            rejects: no engine is built (the report says the parser will reject the model).
            True for every check, or a tuple of the check slugs that are rejections.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    kind: ClassVar[str] = "fusion"
    phase: ClassVar[int] = 30
    targets: ClassVar[tuple[str, ...]] = TARGETS
    pattern: ClassVar[Pattern | tuple[Pattern, ...] | None] = None
    host: ClassVar[str | None] = None
    result_kind: ClassVar[str | None] = None
    #: ``"layer"``: patterns match the layer state (after earlier fusions); ``"node"``:
    #: they match the graph as written, every live node its own layer (lints); ``"onnx"``:
    #: as ``"node"``, and nodes that folding or an erasure absorbed are anchors too (what
    #: TensorRT's ONNX parser imports: parser checks).
    level: ClassVar[str] = "layer"
    tags: ClassVar[tuple[str, ...]] = ()
    style: ClassVar[str] = "join"
    cost: ClassVar[int] = 2
    #: Severity of this rule's findings (``fusionlab.diagnostic.SEVERITIES``): ``error``
    #: when TensorRT's parser rejects the model, ``warning`` (default) when the graph or
    #: the build options can fix it, ``info`` when nothing in the model can.
    severity: ClassVar[str] = "warning"
    #: Checks whose failure is ``info`` although the rule's severity is not: builder
    #: behaviour no graph change or option can change (TensorRT-RTX's separate MaxPool).
    info_checks: ClassVar[tuple[str, ...]] = ()
    #: statuses of the matches ``rewrite`` is given (see module doc); () = no rewrite.
    rewrites_on: ClassVar[tuple[str, ...]] = ()
    #: checks whose failure ``rewrite`` repairs; None = every check (the rewrite decides).
    fixes: ClassVar[tuple[str, ...] | None] = None
    #: name of the rewrite pass for ``--passes`` (default: ``name``).
    pass_name: ClassVar[str | None] = None
    #: a failed check is a parser rejection (the build stops before any layer is made).
    rejects: ClassVar[bool | tuple[str, ...]] = False

    @classmethod
    def is_rejection(cls, slug: str | None) -> bool:
        """Whether a failure of check ``slug`` is a parser rejection (see ``rejects``)."""
        return cls.rejects is True or (isinstance(cls.rejects, tuple) and slug in cls.rejects)

    # ------------------------------------------------------------ introspection
    @classmethod
    def severity_of(cls, check_slug: str | None) -> str:
        """The severity of a finding whose failed check is ``check_slug`` (``None`` for a
        lint without a check): ``error`` when it is a parser rejection
        (:meth:`is_rejection`), ``info`` for a slug in :attr:`info_checks`, else
        :attr:`severity`."""
        if cls.is_rejection(check_slug):
            return "error"
        return "info" if check_slug in cls.info_checks else cls.severity

    @classmethod
    def checks(cls) -> list[tuple[str, tuple[str, ...], Callable]]:
        """The named checks, in the order written: ``(slug, targets, call)``, where
        ``call(rule, m, ctx)`` runs the check with its parameters bound by name.

        Raises:
            TypeError: a check parameter names no binding of the rule's pattern.
        """
        cached = cls.__dict__.get("_checks_cache")
        if cached is not None:
            return cached
        found: dict[str, Callable] = {}
        for klass in reversed(cls.__mro__):
            for attr, fn in vars(klass).items():
                if callable(fn) and hasattr(fn, "_check_slug"):
                    found[attr] = fn
        ordered = sorted(found.values(), key=lambda fn: (fn.__module__ != cls.__module__, fn.__code__.co_firstlineno))
        known = cls.binding_names()
        result = [(fn._check_slug, fn._check_targets, _bind_check(cls, fn, known)) for fn in ordered]
        cls._checks_cache = result
        return result

    @classmethod
    def binding_names(cls) -> dict[str, str] | None:
        """Every name the rule's patterns bind -> ``"layer"``/``"tensor"``/``"path"``;
        ``None`` for a rule without a pattern (its ``find`` names the bindings)."""
        if cls.pattern is None:
            return None
        pats = cls.pattern if isinstance(cls.pattern, tuple) else (cls.pattern,)
        names: dict[str, str] = {}
        for p in pats:
            names.update(p.binding_names())
        return names

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring's fixed sections (``What it fuses`` ... ``Source``)."""
        doc = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, str] = {"Summary": doc.split("\n\n", 1)[0]}
        pattern = re.compile(r"^(%s):\s*" % "|".join(map(re.escape, DOC_SECTIONS)), re.M)
        parts = pattern.split(doc)
        for title, body in zip(parts[1::2], parts[2::2]):
            sections[title] = " ".join(body.split())
        return sections

    def patterns(self) -> tuple[Pattern, ...]:
        if self.pattern is None:
            return ()
        return self.pattern if isinstance(self.pattern, tuple) else (self.pattern,)

    def anchor_kinds(self) -> frozenset[str]:
        return frozenset().union(*(p.root_kinds() for p in self.patterns()))

    # ------------------------------------------------------------ behaviour
    def find(self, state: "LayerState") -> Iterator[Match]:
        """Every structural match, anchored on layers of the pattern's root kinds.

        One match per anchor: every binding of every pattern (in order) that
        :meth:`accept` keeps, sorted by :meth:`prefer` (stable: ties keep pattern order);
        the first is the match, the rest its ``alternatives``. Rules override ``find``
        only for structure no pattern can say (each says why).
        """
        view = state if self.level == "layer" else state.node_view(absorbed=self.level == "onnx")
        for anchor in view.layers_of_kinds(self.anchor_kinds()):
            found = [b for pattern in self.patterns()
                     for b in pattern.match_layer(anchor, view, Bindings())
                     if self.accept(b, state)]
            if not found:
                continue
            if len(found) > 1:
                found.sort(key=lambda b: self.prefer(b, state), reverse=True)
            m = Match.of(self, found[0], state)
            m.alternatives = [Match.of(self, b, state) for b in found[1:]]
            yield m

    def accept(self, b: Bindings, state: "LayerState") -> bool:
        """Extra structural filter on a binding (default: accept)."""
        return True

    def prefer(self, b: Bindings, state: "LayerState") -> Any:
        """Sort key of a binding, higher first (default: all equal, pattern order)."""
        return 0

    def fused(self, m: Match) -> list["Layer"]:
        """The layers a fusion merges (default: every bound layer)."""
        return list(m.order)

    def erased(self, m: Match) -> list[tuple["Layer", str | None]]:
        """For ``erase`` rules: each erased layer and the tensor its output becomes."""
        raise NotImplementedError

    def layer_name(self, nodes: list[str], kind: str) -> str:
        """The engine layer's name the way TensorRT writes it."""
        if self.style == "pwn":
            return f"PWN({', '.join(nodes)})"
        if self.style == "mlp":
            return f"{len(nodes)}-layer MLP"
        if self.style == "join":
            return " + ".join(nodes)
        return f"{self.style}({', '.join(nodes)})"

    rewrite: ClassVar[Callable[..., str | None] | None] = None
    """Optional: ``rewrite(self, m, graph) -> str | None`` (module doc)."""

    @classmethod
    def rewrite_pass(cls) -> str | None:
        """The rewrite pass's name, or None when the rule has no rewrite."""
        if cls.rewrite is None or not cls.rewrites_on:
            return None
        return cls.pass_name or cls.name

    def describe(self, m: Match) -> str:
        """One sentence for a predicted fusion."""
        return f"{', '.join(m.nodes)} fuse into one {self.result_kind or self.kind_of_host(m)} layer"

    def kind_of_host(self, m: Match) -> str:
        return m.layer(self.host).kind if self.host else (self.result_kind or "fused")


def _bind_check(rule: type, fn: Callable, known: dict[str, str] | None) -> Callable:
    """``fn(self, <names>)`` as ``call(rule, m, ctx)``: ``m`` and ``ctx`` pass through,
    every other parameter gets ``m.binding(name)``.

    Raises:
        TypeError: a parameter names no binding of the pattern (``known``).
    """
    params = list(inspect.signature(fn).parameters)[1:]
    if params == ["m", "ctx"]:
        return fn
    if known is not None:
        unknown = [p for p in params if p not in ("m", "ctx") and p not in known]
        if unknown:
            raise TypeError(f"{rule.__name__}.{fn.__name__}: check parameter(s) {', '.join(unknown)} "
                            f"name no binding of the pattern (it binds: {', '.join(sorted(known)) or 'nothing'})")

    def call(self, m, ctx):
        args = [m if p == "m" else ctx if p == "ctx" else m.binding(p) for p in params]
        return fn(self, *args)

    call.__name__ = fn.__name__
    call.__wrapped__ = fn
    return call


def consumers_outside(m: Match, layer: "Layer") -> list[str]:
    """Nodes outside the match that read any output of ``layer`` (graph outputs as
    ``<graph output x>``)."""
    inside = m.key
    out = []
    for tensor in m.state.layer_outputs(layer):
        for c in m.state.graph.consumers.get(tensor, ()):
            if c not in inside and not m.state.is_absorbed(c):
                out.append(c)
        if tensor in m.state.graph.outputs and layer is not m.anchor:
            out.append(f"<graph output {tensor}>")
    return out


def single_consumer(m: Match, ctx: Context | None = None) -> str | None:
    """The ``single-consumer`` check: no interior layer's output escapes the match.

    Returns the reason naming the first interior node whose output has other readers.
    """
    for layer in m.order[1:]:
        outside = consumers_outside(m, layer)
        if outside:
            node = layer.nodes[-1]
            readers = sorted(set(outside))
            inside = [c for c in m.state.graph.consumers.get(m.state.layer_outputs(layer)[0], ()) if c in m.key]
            return (f"{node} output has {len(readers) + len(inside)} consumers "
                    f"({', '.join(inside + readers)}); the fusion needs 1")
    return None


def fmt_shape(shape: Any) -> str:
    return "unknown" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"
