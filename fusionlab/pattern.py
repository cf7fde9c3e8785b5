"""The pattern language: ONNX subgraphs written like the formula they match.

A pattern reads like the formula it matches::

    op.Relu(op.Conv(name="conv"), name="act")
    op.Mul(op.Mul(Var("x"), op.Add(op.Erf(op.Div(Var("x"), Const(value=SQRT2))), Const(value=1.0))),
           Const(value=0.5))
    op.Conv(Through(("Reshape", "Transpose"), op.DequantizeLinear(Var("x"), name="dq"),
                    max_hops=2), Var("w"), name="conv", attrs={"group": 1})

Vocabulary (after TVM's dataflow patterns, torch.fx's ``SubgraphMatcher`` and
onnxscript's rewriter):

* :class:`Op` -- a layer whose kind is one of ``kinds`` (an ONNX op type, or the kind a
  fusion gave a fused layer, e.g. ``"PointWise"``; :data:`ANY` for every kind). The first ``len(inputs)`` inputs must
  match; with no inputs, the inputs are free; extra inputs (a Conv bias) are allowed.
  Inputs of commutative ops (Add, Mul, Max, Min, Sum, And, Or, Xor, Equal) are tried in
  both orders, so no rule writes operand-swapped copies. Predicates inside the pattern:
  ``attrs={"group": 1, "axis": lambda a: a in (-1, 3)}`` (ONNX attributes of the layer's
  host node; a missing attribute is ``None``), ``where=lambda node: ...`` (any predicate
  on the host :class:`fusionlab.graph.Node`), ``tagged="int8"`` / ``untagged="int8"``
  (tags earlier fusions gave the layer, see :attr:`fusionlab.rule.Rule.tags`).
  ``anywhere=True`` lets the input patterns match inputs at any positions, and
  ``rest=Const()`` requires every other input to be a constant: ``Op(("Add",
  "PointWise"), x, anywhere=True, rest=Const())`` is a layer whose only non-constant
  input is ``x``, whatever its operand order.
* :class:`Var` -- any tensor; a name used twice must bind the same tensor (``Mul(x, x)``);
  ``where=lambda tensor, view: ...`` constrains it (e.g. its shape).
* :class:`Const` -- a constant tensor (initializer, Constant node, or a folded
  subgraph), optionally equal to ``value`` within ``rtol``/``atol`` in every element.
* ``a | b`` -- :class:`Alt`: every alternative that matches, in order.
* :class:`Opt` -- an optional node: ``Opt(op.Cast(x))`` matches ``Cast(x)`` or ``x``.
* :class:`Through` -- a bounded path: ``Through(kinds, p, max_hops=N)`` matches ``p``
  reached from the tensor through at most ``N`` layers of ``kinds`` along input 0 (like
  TVM's ``dominates``, with the path's length bounded); the path's layers are bound under
  the pattern's ``name`` and, with ``join=True``, fuse with the match; ``via="data"``
  follows every non-constant input instead of input 0; ``inside=True`` also steps over
  nodes of kinds inside a layer the match already bound (a DequantizeLinear an INT8
  Conv layer absorbed).
* :class:`Ref` -- context: ``Ref(p)`` must match and binds its names, but its layers are
  not part of the match (not fused, not named in the diagnostic).

Algorithm (after torch.fx's ``SubgraphMatcher``): matching starts at the anchor, the
pattern's root, and walks producer edges backwards. Each step asks the *view* (the
engine's layer state) which layer produces a tensor, so a pattern matches the graph as
it is after earlier fusions: ``Relu(Conv)`` matches a Relu fed by a Conv layer that
already absorbed a BatchNormalization. Containment (an interior node's output must not
escape the match) is not part of matching; rules state it as the named check
``single-consumer``, so that a structural match that fails it is reported as a missed
fusion. Matching is a generator: every way to bind the pattern is produced (commutative
orders, alternatives, optional nodes and path lengths, shortest path first), with
backtracking; a layer binds at most once per match. :meth:`fusionlab.rule.Rule.find`
collects every binding of an anchor, orders them by :meth:`fusionlab.rule.Rule.prefer`,
and the engine applies the first whose checks hold.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, Mapping, Protocol

import numpy as np

COMMUTATIVE = frozenset({"Add", "Mul", "Max", "Min", "Sum", "And", "Or", "Xor", "Equal"})
#: The kind that matches every layer: ``Op(ANY, where=...)`` (a rule anchored on any
#: layer, e.g. constant folding); the engine's ``layers_of_kinds`` gives every layer for it.
ANY = "*"


class View(Protocol):
    """What the matcher needs from the engine's layer state
    (:class:`fusionlab.engine.LayerState` implements it)."""

    def producer_layer(self, tensor: str) -> Any | None: ...
    def layer_kind(self, layer: Any) -> str: ...
    def layer_inputs(self, layer: Any) -> tuple[str, ...]: ...
    def layer_node(self, layer: Any) -> Any: ...
    def layer_tags(self, layer: Any) -> frozenset[str]: ...
    def is_constant(self, tensor: str) -> bool: ...
    def const_value(self, tensor: str) -> np.ndarray | None: ...


class Bindings:
    """One way a pattern binds.

    Attributes:
        layers: Op binding name -> layer (unnamed Ops as ``"#<position>"``).
        tensors: Var/Const binding name -> tensor name.
        paths: Through binding name -> the path's layers, nearest the consumer first.
        order: every layer of the match, anchor first (the layers a fusion merges).
    """

    __slots__ = ("layers", "tensors", "paths", "order", "_ids")

    def __init__(self, layers=None, tensors=None, paths=None, order=None, ids=None):
        self.layers: dict[str, Any] = layers if layers is not None else {}
        self.tensors: dict[str, str] = tensors if tensors is not None else {}
        self.paths: dict[str, tuple] = paths if paths is not None else {}
        self.order: list[Any] = order if order is not None else []
        self._ids: frozenset[int] = ids if ids is not None else frozenset()

    def bound(self, layer: Any) -> bool:
        """Whether ``layer`` is already part of this binding."""
        return id(layer) in self._ids

    def with_layer(self, name: str | None, layer: Any) -> "Bindings":
        """A copy with ``layer`` bound (to ``name``, or anonymously) and appended to order."""
        layers = dict(self.layers)
        layers[name if name is not None else f"#{len(self.order)}"] = layer
        return Bindings(layers, self.tensors, self.paths, self.order + [layer],
                        self._ids | {id(layer)})

    def with_tensor(self, name: str, tensor: str) -> "Bindings":
        """A copy with the Var/Const ``name`` bound to ``tensor``."""
        return Bindings(self.layers, {**self.tensors, name: tensor}, self.paths, self.order,
                        self._ids)

    def with_path(self, name: str | None, path: tuple, join: bool) -> "Bindings":
        """A copy with a Through path bound (to ``name``) and, with ``join``, fused."""
        paths = {**self.paths, name: path} if name is not None else self.paths
        order = self.order + list(path) if join else self.order
        ids = self._ids | {id(layer) for layer in path}
        return Bindings(self.layers, self.tensors, paths, order, ids)

    def with_order(self, order: list) -> "Bindings":
        """A copy whose match layers are ``order`` (the bindings kept: :class:`Ref`)."""
        return Bindings(self.layers, self.tensors, self.paths, list(order), self._ids)

    def names(self) -> dict[str, Any]:
        """Every named binding: layers, tensors and paths in one mapping."""
        return {**{k: v for k, v in self.layers.items() if not k.startswith("#")},
                **self.tensors, **self.paths}

    def __repr__(self):
        return f"Bindings({self.names()!r})"


class Pattern:
    """Base of the pattern vocabulary."""

    def __or__(self, other: "Pattern") -> "Alt":
        return Alt(self, other)

    def size(self) -> int:
        """Number of :class:`Op` nodes (for :class:`Alt`, its largest option): the depth
        the engine revisits after a change."""
        return 0

    def root_kinds(self) -> frozenset[str]:
        """The layer kinds an anchor of this pattern can have."""
        return frozenset()

    def binding_names(self) -> dict[str, str]:
        """Every name this pattern binds -> ``"layer"``, ``"tensor"`` or ``"path"``."""
        return {}

    def match(self, tensor: str, view: View, b: Bindings) -> Iterator[Bindings]:
        """Every way this pattern binds the producer side of ``tensor``, extending ``b``."""
        raise NotImplementedError

    def match_layer(self, layer: Any, view: View, b: Bindings) -> Iterator[Bindings]:
        """Every way this pattern binds with ``layer`` itself as its root (the anchor step);
        patterns that cannot be a root produce nothing."""
        return iter(())


class Var(Pattern):
    """Any tensor, bound to ``name``; an unnamed Var matches anything.

    Args:
        name: binding name (``Match.tensor(name)``; a check parameter of that name gets
            the tensor name).
        where: ``where(tensor, view) -> bool``, e.g. a shape predicate
            (``lambda t, v: v.graph.shape(t) is not None``).
    """

    def __init__(self, name: str | None = None, *, where: Callable[[str, View], bool] | None = None):
        self.name, self.where = name, where

    def binding_names(self):
        return {self.name: "tensor"} if self.name else {}

    def match(self, tensor, view, b):
        if self.where is not None and not self.where(tensor, view):
            return
        yield from _bind_tensor(self.name, tensor, b)

    def __repr__(self):
        return self.name or "_"


class Const(Var):
    """A constant tensor; with ``value``, every element within ``atol + rtol*|value|``.

    Args:
        name: binding name for the tensor (read its value with ``Match.value``).
        value: the expected value (scalar, broadcast over the constant's elements).
        rtol, atol: tolerances of ``numpy.allclose`` (defaults fit float16 exports).
        where: ``where(tensor, view) -> bool``, as for :class:`Var`.
    """

    def __init__(self, name: str | None = None, value: float | None = None,
                 rtol: float = 1e-3, atol: float = 1e-5, *,
                 where: Callable[[str, View], bool] | None = None):
        super().__init__(name, where=where)
        self.value, self.rtol, self.atol = value, rtol, atol

    def match(self, tensor, view, b):
        if not view.is_constant(tensor):
            return
        if self.value is not None:
            v = view.const_value(tensor)
            if v is None or v.size == 0 or not np.issubdtype(v.dtype, np.number):
                return
            if not np.allclose(v.astype(np.float64), self.value, rtol=self.rtol, atol=self.atol):
                return
        yield from super().match(tensor, view, b)

    def __repr__(self):
        return f"Const({self.value})" if self.value is not None else "Const"


def _tags(value: str | tuple[str, ...] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset((value,) if isinstance(value, str) else value)


class Op(Pattern):
    """A layer of one of ``kinds`` whose inputs match ``inputs`` (see module doc).

    Args:
        kinds: an op type or layer kind, or a tuple of them.
        inputs: input patterns for the first ``len(inputs)`` inputs; none: inputs free.
        name: binding name (``Match.node(name)``, ``Match.layer(name)``; a check
            parameter of that name gets the layer's host :class:`fusionlab.graph.Node`).
        commute: try both input orders; default: the op is commutative.
        attrs: ONNX attribute predicates on the host node, ``{attr: value}`` (equality)
            or ``{attr: callable}``; a missing attribute is ``None``.
        where: predicate on the host :class:`fusionlab.graph.Node`.
        tagged: tag(s) the layer must carry; untagged: tag(s) it must not carry.
        anywhere: the input patterns match distinct input tensors at any positions (every
            assignment tried, in input order) instead of the first ``len(inputs)``: an
            epilogue whose data input may be any operand of a fused layer.
        rest: every other input tensor (each distinct non-empty input that no listed input
            pattern matched) must match ``rest``: ``Op(kinds, x, anywhere=True,
            rest=Const())`` is a layer whose only non-constant input is ``x``.
    """

    def __init__(self, kinds: str | tuple[str, ...], *inputs: Pattern, name: str | None = None,
                 commute: bool | None = None, attrs: Mapping[str, Any] | None = None,
                 where: Callable[[Any], bool] | None = None,
                 tagged: str | tuple[str, ...] | None = None,
                 untagged: str | tuple[str, ...] | None = None,
                 anywhere: bool = False, rest: Pattern | None = None):
        self.kinds = frozenset((kinds,) if isinstance(kinds, str) else kinds)
        self.inputs = tuple(inputs)
        self.name = name
        self.commute = bool(self.kinds & COMMUTATIVE) if commute is None else commute
        self.attrs = dict(attrs or {})
        self.where = where
        self.tagged, self.untagged = _tags(tagged), _tags(untagged)
        self.anywhere, self.rest = anywhere, rest
        if anywhere:
            self.commute = False  # every assignment is tried anyway

    def size(self):
        return 1 + sum(p.size() for p in self.inputs) + (self.rest.size() if self.rest else 0)

    def root_kinds(self):
        return self.kinds

    def binding_names(self):
        found = {self.name: "layer"} if self.name else {}
        for p in self.inputs + ((self.rest,) if self.rest is not None else ()):
            found.update(p.binding_names())
        return found

    def match(self, tensor, view, b):
        layer = view.producer_layer(tensor)
        if layer is None:
            return
        yield from self.match_layer(layer, view, b)

    def accepts(self, layer, view) -> bool:
        """Whether ``layer`` itself satisfies this Op (kind, tags, attributes, where),
        inputs aside."""
        if view.layer_kind(layer) not in self.kinds and ANY not in self.kinds:
            return False
        if self.tagged or self.untagged:
            tags = view.layer_tags(layer)
            if not self.tagged <= tags or self.untagged & tags:
                return False
        if self.attrs or self.where is not None:
            node = view.layer_node(layer)
            for key, want in self.attrs.items():
                have = node.attr(key)
                if not (want(have) if callable(want) else have == want):
                    return False
            if self.where is not None and not self.where(node):
                return False
        return True

    def match_layer(self, layer, view, b: Bindings) -> Iterator[Bindings]:
        if not self.accepts(layer, view):
            return
        if self.name is not None and self.name in b.layers:
            if b.layers[self.name] is not layer:
                return
            bound = b
        elif b.bound(layer):
            return
        else:
            bound = b.with_layer(self.name, layer)
        n = len(self.inputs)
        if not n and self.rest is None:
            yield bound
            return
        ins = view.layer_inputs(layer)
        if self.anywhere:
            distinct = list(dict.fromkeys(t for t in ins if t))
            for chosen in itertools.permutations(distinct, n):
                for b2 in _match_seq(self.inputs, chosen, view, bound):
                    yield from self._match_rest(ins, chosen, view, b2)
            return
        if len(ins) < n or any(not t for t in ins[:n]):
            return
        orders = [tuple(ins[:n])]
        if self.commute and n == 2 and ins[0] != ins[1]:
            orders.append((ins[1], ins[0]))
        for chosen in orders:
            for b2 in _match_seq(self.inputs, chosen, view, bound):
                yield from self._match_rest(ins, chosen, view, b2)

    def _match_rest(self, ins, chosen, view, b) -> Iterator[Bindings]:
        """``b`` when every input tensor not in ``chosen`` matches :attr:`rest`."""
        if self.rest is None:
            yield b
            return
        others = [t for t in dict.fromkeys(ins) if t and t not in chosen]
        yield from _match_seq((self.rest,) * len(others), others, view, b)

    def __repr__(self):
        kinds = "|".join(sorted(self.kinds))
        if not self.inputs:
            return f"{kinds}(...)"
        return f"{kinds}({', '.join(map(repr, self.inputs))})"


class Alt(Pattern):
    """Alternatives: every option that matches is produced, in order (``p | q``)."""

    def __init__(self, *options: Pattern):
        self.options: list[Pattern] = []
        for o in options:
            self.options.extend(o.options if type(o) is Alt else [o])

    def size(self):
        return max(o.size() for o in self.options)

    def root_kinds(self):
        return frozenset().union(*(o.root_kinds() for o in self.options))

    def binding_names(self):
        found: dict[str, str] = {}
        for o in self.options:
            found.update(o.binding_names())
        return found

    def match(self, tensor, view, b):
        for option in self.options:
            yield from option.match(tensor, view, b)

    def match_layer(self, layer, view, b):
        for option in self.options:
            yield from option.match_layer(layer, view, b)

    def __repr__(self):
        return " | ".join(map(repr, self.options))


class Opt(Alt):
    """An optional node: ``Opt(op.Cast(x, name="cast"))`` matches ``Cast(x)`` or, when
    there is no Cast, ``x`` itself (the Op then binds nothing).

    Args:
        pattern: an :class:`Op` with exactly one input pattern (the one matched when the
            node is absent).

    Raises:
        TypeError: ``pattern`` is not an Op with one input.
    """

    def __init__(self, pattern: Op):
        if not isinstance(pattern, Op) or len(pattern.inputs) != 1:
            raise TypeError("Opt takes an Op with exactly one input pattern, e.g. Opt(op.Cast(x))")
        super().__init__(pattern, pattern.inputs[0])

    def __repr__(self):
        return f"Opt({self.options[0]!r})"


class Through(Pattern):
    """``inner`` reached through a bounded path of layers of ``kinds``.

    ``Through(("QuantizeLinear", "DequantizeLinear"), Const("w"), max_hops=2)`` matches a
    constant read directly, through a DequantizeLinear, or through a QuantizeLinear ->
    DequantizeLinear pair. Paths are tried depth first, the shorter path before its
    extensions (so the nearest ``inner`` comes first); each path layer binds once.

    Args:
        kinds: layer kinds the path may pass through.
        inner: the pattern at the end of the path.
        max_hops: the most path layers (0: ``inner`` only).
        name: binding name of the path (a tuple of layers, nearest the consumer first;
            a check parameter of that name gets the tuple).
        join: the path's layers fuse with the match (appended to ``Match.order``).
        where: predicate on each path layer's host :class:`fusionlab.graph.Node`.
        min_hops: the fewest path layers.
        via: ``"input0"`` (the path follows each layer's first input) or ``"data"``
            (every non-constant input, in input order: a path through pointwise math).
        inside: when the tensor is produced inside a layer the match already bound (a
            DequantizeLinear that an INT8 Conv layer absorbed, read by that layer's own
            Conv), step over the producing ONNX node if its op type is one of ``kinds``
            and go on from its input 0 (resolved); such steps bind nothing and count
            toward ``max_hops``. Needs a view with ``state`` (the engine's views).
    """

    def __init__(self, kinds: str | tuple[str, ...] | frozenset, inner: Pattern, *, max_hops: int,
                 name: str | None = None, join: bool = False,
                 where: Callable[[Any], bool] | None = None, min_hops: int = 0,
                 via: str = "input0", inside: bool = False):
        if via not in ("input0", "data"):
            raise ValueError(f"Through via must be 'input0' or 'data', not {via!r}")
        self.step = Op(tuple(kinds) if not isinstance(kinds, str) else kinds, where=where)
        self.inner, self.max_hops, self.min_hops = inner, max_hops, min_hops
        self.name, self.join, self.via, self.inside = name, join, via, inside

    def size(self):
        return self.max_hops + self.inner.size()

    def binding_names(self):
        found = {self.name: "path"} if self.name else {}
        found.update(self.inner.binding_names())
        return found

    def match(self, tensor, view, b):
        yield from self._walk(tensor, view, b, ())

    def _walk(self, tensor, view, b, path: tuple, skipped: int = 0) -> Iterator[Bindings]:
        if len(path) >= self.min_hops:
            yield from self.inner.match(tensor, view, b.with_path(self.name, path, self.join))
        if len(path) + skipped == self.max_hops:
            return
        layer = view.producer_layer(tensor)
        if layer is not None and self.inside and b.bound(layer):
            state = view.state
            node = state.graph.node_of(state.resolve(tensor))
            if node is not None and node.op_type in self.step.kinds and node.inputs and node.inputs[0]:
                yield from self._walk(state.resolve(node.inputs[0]), view, b, path, skipped + 1)
            return
        if layer is None or not self.step.accepts(layer, view) or b.bound(layer) \
                or any(p is layer for p in path):
            return
        ins = view.layer_inputs(layer)
        if self.via == "input0":
            nexts = ins[:1]
        else:
            nexts = [t for i, t in enumerate(ins) if t and t not in ins[:i] and not view.is_constant(t)]
        for t in nexts:
            if t:
                yield from self._walk(t, view, b, path + (layer,), skipped)

    def __repr__(self):
        return f"Through({'|'.join(sorted(self.step.kinds))}, {self.inner!r}, max_hops={self.max_hops})"


class Ref(Pattern):
    """``p`` as context: it must match and its names bind, but its layers are not part
    of the match (not fused, not in the diagnostic's nodes). ``Op("Expand",
    Ref(Through(POINTWISE, op.ReduceSum(name="reduction"), max_hops=4, via="data")))``
    is an Expand of a reduction's result, reported on the Expand alone."""

    def __init__(self, pattern: Pattern):
        self.pattern = pattern

    def size(self):
        return self.pattern.size()

    def binding_names(self):
        return self.pattern.binding_names()

    def match(self, tensor, view, b):
        for found in self.pattern.match(tensor, view, b):
            yield found.with_order(b.order)

    def __repr__(self):
        return f"Ref({self.pattern!r})"


def _bind_tensor(name: str | None, tensor: str, b: Bindings) -> Iterator[Bindings]:
    """Bind ``name`` to ``tensor`` (a name bound before must be the same tensor)."""
    if name is None:
        yield b
        return
    bound = b.tensors.get(name)
    if bound is None:
        yield b.with_tensor(name, tensor)
    elif bound == tensor:
        yield b


def _match_seq(patterns, tensors, view, b, i: int = 0) -> Iterator[Bindings]:
    if i == len(patterns):
        yield b
        return
    for b2 in patterns[i].match(tensors[i], view, b):
        yield from _match_seq(patterns, tensors, view, b2, i + 1)


class _OpFactory:
    """``op.Relu(x, name="act")`` is ``Op("Relu", x, name="act")``."""

    def __getattr__(self, kind: str) -> Callable[..., Op]:
        if kind.startswith("_"):
            raise AttributeError(kind)
        return lambda *inputs, **kw: Op(kind, *inputs, **kw)


op = _OpFactory()
