"""A small pattern vocabulary for ONNX graphs, matched backwards from an anchor.

A pattern reads like the formula it matches::

    op.Relu(op.Conv(name="conv"), name="act")
    op.Mul(op.Mul(Var("x"), op.Add(op.Erf(op.Div(Var("x"), Const(value=SQRT2))), Const(value=1.0))),
           Const(value=0.5))

Vocabulary (after TVM's dataflow patterns):

* :class:`Op` -- a layer whose kind is one of ``kinds`` (an ONNX op type, or the kind a
  fusion gave a fused layer, e.g. ``"PointWise"``). ``inputs=None`` leaves the inputs
  free; otherwise the first ``len(inputs)`` inputs must match, extra inputs (a Conv
  bias) are allowed. Inputs of commutative ops (Add, Mul, Max, Min, Sum, And, Or, Xor,
  Equal) are tried in both orders, so no rule writes operand-swapped copies.
* :class:`Var` -- any tensor; a name used twice must bind the same tensor (``Mul(x, x)``).
* :class:`Const` -- a constant tensor (initializer, Constant node, or a folded
  subgraph), optionally equal to ``value`` within ``rtol``/``atol`` in every element.
* ``a | b`` -- :class:`Alt`, the first alternative that matches (all are tried).

Algorithm (after torch.fx's ``SubgraphMatcher``): matching starts at the anchor, the
pattern's root, and walks producer edges backwards. Each step asks the *view* (the
engine's layer state) which layer produces a tensor, so a pattern matches the graph as
it is after earlier fusions: ``Relu(Conv)`` matches a Relu fed by a Conv layer that
already absorbed a BatchNormalization. Containment (an interior node's output must not
escape the match) is not part of matching; rules state it as the named check
``single-consumer``, so that a structural match that fails it is reported as a missed
fusion. Matching is a generator: every way to bind the pattern is produced, commutative
orders and alternatives included, with backtracking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import numpy as np

COMMUTATIVE = frozenset({"Add", "Mul", "Max", "Min", "Sum", "And", "Or", "Xor", "Equal"})


class View(Protocol):
    """What the matcher needs from the engine's layer state."""

    def producer_layer(self, tensor: str) -> Any | None: ...
    def layer_kind(self, layer: Any) -> str: ...
    def layer_inputs(self, layer: Any) -> tuple[str, ...]: ...
    def is_constant(self, tensor: str) -> bool: ...
    def const_value(self, tensor: str) -> np.ndarray | None: ...


@dataclass
class Bindings:
    """One way a pattern binds: Op names -> layers, Var/Const names -> tensors."""

    layers: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, str] = field(default_factory=dict)
    order: list[Any] = field(default_factory=list)  # bound layers, root first

    def copy(self) -> "Bindings":
        return Bindings(dict(self.layers), dict(self.tensors), list(self.order))


class Pattern:
    """Base of the pattern vocabulary."""

    def __or__(self, other: "Pattern") -> "Alt":
        return Alt(self, other)

    def size(self) -> int:
        """Number of :class:`Op` nodes (for :class:`Alt`, its largest option)."""
        return 0

    def root_kinds(self) -> frozenset[str]:
        """The layer kinds an anchor of this pattern can have."""
        return frozenset()

    def match(self, tensor: str, view: View, b: Bindings) -> Iterator[Bindings]:
        raise NotImplementedError


class Var(Pattern):
    """Any tensor, bound to ``name``; an unnamed Var matches anything."""

    def __init__(self, name: str | None = None):
        self.name = name

    def match(self, tensor, view, b):
        yield from _bind_tensor(self.name, tensor, b)

    def __repr__(self):
        return self.name or "_"


class Const(Pattern):
    """A constant tensor; with ``value``, every element within ``atol + rtol*|value|``.

    Args:
        name: binding name for the tensor (read its value with ``Match.value``).
        value: the expected value (scalar, broadcast over the constant's elements).
        rtol, atol: tolerances of ``numpy.allclose`` (defaults fit float16 exports).
    """

    def __init__(self, name: str | None = None, value: float | None = None,
                 rtol: float = 1e-3, atol: float = 1e-5):
        self.name, self.value, self.rtol, self.atol = name, value, rtol, atol

    def match(self, tensor, view, b):
        if not view.is_constant(tensor):
            return
        if self.value is not None:
            v = view.const_value(tensor)
            if v is None or v.size == 0 or not np.issubdtype(v.dtype, np.number):
                return
            if not np.allclose(v.astype(np.float64), self.value, rtol=self.rtol, atol=self.atol):
                return
        yield from _bind_tensor(self.name, tensor, b)

    def __repr__(self):
        return f"Const({self.value})" if self.value is not None else "Const"


class Op(Pattern):
    """A layer of one of ``kinds`` whose inputs match ``inputs`` (see module doc).

    Args:
        kinds: an op type or layer kind, or a tuple of them.
        inputs: input patterns, or ``None`` to leave inputs free.
        name: binding name (``Match.node(name)``, ``Match.layer(name)``).
        commute: try both input orders; default: the op is commutative.
        where: optional structural predicate on the layer's host ONNX node.
    """

    def __init__(self, kinds: str | tuple[str, ...], *inputs: Pattern, name: str | None = None,
                 commute: bool | None = None, free: bool = False,
                 where: Callable[[Any], bool] | None = None):
        self.kinds = frozenset((kinds,) if isinstance(kinds, str) else kinds)
        self.inputs = None if free else tuple(inputs)
        self.name = name
        self.commute = bool(self.kinds & COMMUTATIVE) if commute is None else commute
        self.where = where

    def size(self):
        return 1 + sum(p.size() for p in (self.inputs or ()))

    def root_kinds(self):
        return self.kinds

    def match(self, tensor, view, b):
        layer = view.producer_layer(tensor)
        if layer is None:
            return
        yield from self.match_layer(layer, view, b)

    def match_layer(self, layer, view, b: Bindings) -> Iterator[Bindings]:
        """Match this Op against ``layer`` itself (the anchor step)."""
        if view.layer_kind(layer) not in self.kinds:
            return
        if self.where is not None and not self.where(layer):
            return
        if self.name is not None and self.name in b.layers:
            if b.layers[self.name] is not layer:
                return
        elif any(bound is layer for bound in b.layers.values()):
            return
        b = b.copy()
        if self.name is not None:
            b.layers[self.name] = layer
        else:
            b.layers[f"#{len(b.order)}"] = layer
        b.order.append(layer)
        if self.inputs is None:
            yield b
            return
        ins = view.layer_inputs(layer)
        n = len(self.inputs)
        if len(ins) < n or any(not t for t in ins[:n]):
            return
        orders = [ins[:n]]
        if self.commute and n == 2 and ins[0] != ins[1]:
            orders.append((ins[1], ins[0]))
        for order in orders:
            yield from _match_seq(self.inputs, order, view, b)

    def __repr__(self):
        kinds = "|".join(sorted(self.kinds))
        if self.inputs is None:
            return f"{kinds}(...)"
        return f"{kinds}({', '.join(map(repr, self.inputs))})"


class Alt(Pattern):
    """Alternatives: every option that matches is produced, in order."""

    def __init__(self, *options: Pattern):
        self.options = []
        for o in options:
            self.options.extend(o.options if isinstance(o, Alt) else [o])

    def size(self):
        return max(o.size() for o in self.options)

    def root_kinds(self):
        return frozenset().union(*(o.root_kinds() for o in self.options))

    def match(self, tensor, view, b):
        for option in self.options:
            yield from option.match(tensor, view, b)

    def match_layer(self, layer, view, b):
        for option in self.options:
            if isinstance(option, (Op, Alt)):
                yield from option.match_layer(layer, view, b)

    def __repr__(self):
        return " | ".join(map(repr, self.options))


def _bind_tensor(name: str | None, tensor: str, b: Bindings) -> Iterator[Bindings]:
    """Bind ``name`` to ``tensor`` (a name bound before must be the same tensor)."""
    if name is None:
        yield b
        return
    bound = b.tensors.get(name)
    if bound is None:
        b = b.copy()
        b.tensors[name] = tensor
        yield b
    elif bound == tensor:
        yield b


def _match_seq(patterns, tensors, view, b) -> Iterator[Bindings]:
    if not patterns:
        yield b
        return
    for b2 in patterns[0].match(tensors[0], view, b):
        yield from _match_seq(patterns[1:], tensors[1:], view, b2)


class _OpFactory:
    """``op.Relu(x, name="act")`` is ``Op("Relu", x, name="act")``."""

    def __getattr__(self, kind: str) -> Callable[..., Op]:
        if kind.startswith("_"):
            raise AttributeError(kind)
        return lambda *inputs, **kw: Op(kind, *inputs, **kw)


op = _OpFactory()


def any_of(*kinds: str) -> Callable[..., Op]:
    """``any_of("Max", "Min")(x, y, name="m")``: an Op of several kinds."""
    return lambda *inputs, **kw: Op(tuple(kinds), *inputs, **kw)
