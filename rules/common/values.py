"""Constant values in reasons and the GELU formulas (TRT103, TRT108, TRT201-TRT208)."""

from __future__ import annotations

import numpy as np

from fusionlab.pattern import Alt, Const
from fusionlab.pattern import op as _op
from fusionlab.rule import Match, fmt_shape


def is_activation(tensor: str, view) -> bool:
    """A tensor computed at run time, not a constant (a ``Var(where=...)`` predicate):
    an operand of a batched MatMul rather than a weight."""
    return not view.is_constant(tensor)


def constant_of(state, tensor: str) -> np.ndarray | None:
    """Value of a constant tensor, also once constant folding absorbed its Constant node.

    ``LayerState.const_value`` answers ``None`` for a Constant node's output after TRT001
    folded it (the fold records the tensor, not its value); this falls back to the graph.
    """
    value = state.const_value(tensor)
    if value is None and state.is_constant(tensor):
        value = state.graph.const_value(state.resolve(tensor))
    return value



#: Relative tolerance of the GELU constants (sqrt(2), 1/sqrt(2), 1, 0.5, sqrt(2/pi),
#: 0.044715, 3): the pattern language's ``Const`` default, loose enough for float16
#: exports (sqrt(2) in float16 is 1.4140625, 1.1e-4 off) and for ``1.414`` (1.5e-4 off),
#: tight enough to reject the typos 0.44715 / 0.044615 and 2/pi without the square root.
GELU_RTOL = 1e-3


def gelu_forms(x, one_plus) -> Alt:
    """``0.5 * x * one_plus`` in the three association orders exporters write it.

    ``Mul(Mul(x, one_plus), 0.5)`` (PyTorch's legacy exporter), ``Mul(Mul(x, 0.5),
    one_plus)`` (Hugging Face NewGELU), ``Mul(x, Mul(one_plus, 0.5))`` (onnxscript's second
    erf form); operand order inside each Mul is free (commutative matching). Bindings:
    ``out`` the last Mul, ``inner`` the other one, ``half`` the 0.5 constant.
    """
    return Alt(
        _op.Mul(_op.Mul(x, one_plus, name="inner"), Const("half"), name="out"),
        _op.Mul(_op.Mul(x, Const("half"), name="inner"), one_plus, name="out"),
        _op.Mul(x, _op.Mul(one_plus, Const("half"), name="inner"), name="out"),
    )


def _shortest(x) -> str:
    """The shortest text that reads back as ``x`` in its own dtype (float32 0.44715 is
    ``0.44715``, not ``0.44714999``)."""
    if isinstance(x, np.floating):
        return np.format_float_positional(x, unique=True, trim="-")
    return str(x)


def fmt_value(value: np.ndarray) -> str:
    """A constant for a reason: ``1.5``, or ``a [4] constant in 0.5..2``."""
    v = np.asarray(value)
    if v.size == 1:
        return _shortest(v.reshape(-1)[0])
    return f"a {fmt_shape(v.shape)} constant in {_shortest(v.min())}..{_shortest(v.max())}"


def constants_mismatch(m: Match, expected: list[tuple[str, float, str]], what: str,
                       rtol: float = GELU_RTOL) -> str | None:
    """Compare bound constants with the values a formula needs.

    ``expected`` lists ``(binding, value, label)``; bindings absent from the match (another
    alternative) are skipped, and so are constants whose value cannot be read (a folded
    subgraph). Returns ``None`` when all match, else one sentence naming each node, the
    value it uses and the value ``what`` needs.
    """
    graph, state = m.state.graph, m.state
    wrong = []
    for name, want, label in expected:
        if name not in m.tensors:
            continue
        tensor = m.tensor(name)
        value = constant_of(state, tensor)
        if value is None or value.size == 0 or not np.issubdtype(value.dtype, np.number):
            continue
        if np.allclose(value.astype(np.float64), want, rtol=rtol, atol=0.0):
            continue
        reader = next((n for n in m.nodes if tensor in
                       [state.resolve(t) for t in graph.nodes[n].inputs if t]), tensor)
        need = f"{want:.8g}" if label == f"{want:.8g}" else f"{label} = {want:.8g}"
        wrong.append(f"{reader} uses {fmt_value(value)} where {what} needs {need}")
    if not wrong:
        return None
    return "; ".join(wrong) + f" (relative tolerance {rtol:g})"




