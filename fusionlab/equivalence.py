"""Proof that a rewritten model computes what the original computes.

Two checks, both on every rewrite round (``fusionlab.rewriting``):

1. ``onnx.checker.check_model(model, full_check=True)``: the rewritten model is valid
   ONNX, and strict shape inference agrees with every node (the original is held to
   the same level it passes: a model that fails the full check itself is held to the
   plain check, with a warning).
2. ONNX Runtime (CPU, graph optimizations disabled so ORT's own fusions cannot hide
   or cause a difference) runs the original and the rewritten model on the same random
   inputs, for several seeds, and every graph output is compared element by element
   with ``|rewritten - original| <= atol + rtol * |original|`` (``numpy.allclose``'s
   rule; NaN equals NaN, an infinity equals the same infinity).

ONNX Runtime is used directly rather than through Polygraphy's comparator: Polygraphy's
default ``elemwise`` check passes an element that is within *either* tolerance, which
is looser than the rule above, and it would be one more dependency for one function.

Default tolerances (:data:`DEFAULT_TOLERANCES`, per output dtype, shown in the report;
``--atol`` / ``--rtol`` override them for every float output):

* float32 / float64: atol 1e-4, rtol 1e-3. An exact rewrite changes only the order of
  floating-point operations (a BatchNormalization folded into the weights computes
  ``(w * s) . x`` instead of ``s * (w . x)``); each reordering costs about one float32
  ulp (6e-8 relative) per op, and the errors add up along a deep network with
  activations of order 1 and logits of order 10-100: 1e-4 absolute plus 1e-3 relative
  leaves a margin of about 100x over what a ResNet-50 shows, while a wrong constant (a
  BN epsilon dropped, a bias added twice, a transposed weight) is off by 1e-2 or more.
* float16: atol 1e-2, rtol 1e-2; bfloat16: atol 5e-2, rtol 2e-2 (their ulp is 1e-3 and
  8e-3).
* int8 / uint8 / int4 / uint4 (a quantized output): atol 1 (one quantization step),
  rtol 0: a reordered float sum can round to the next step before a QuantizeLinear.
* other integers and bool: exact.

Q/DQ models: the rewrites fusionlab makes on Q/DQ graphs are exact (a DequantizeLinear
moved across MaxPool / Transpose / Reshape / Slice / Concat commutes bit for bit; a
redundant Q->DQ pair with equal scale and zero point is the identity on the values it
receives; an INT32 bias DequantizeLinear replaced by the float32 it computes is the
same float32), so their float outputs are held to the float tolerances above.

Requantization (``--allow-requantize``, ``allow_requantize=True``): a rewrite that
quantizes a float tensor is not exact and is off by default (reported, with the reason).
With the flag, TRT409 quantizes a float residual with the quantizer that already reads
that tensor: each value moves to that quantizer's grid, by at most half its step s
(more for a value outside the grid's range, which is clamped). The run then needs
``--atol`` (``--rtol`` optional); the tolerance is not derived from s, because s/2 bounds
the change only where it is made: after the Add, convolutions scale it by their weights
and every later QuantizeLinear rounds it to its own step (in the one-block test graph a
change of at most 0.025 at the Add, s = 0.05, moves an output quantized with step 0.1 by
a full 0.1), so no output bound follows from s alone, and what accuracy is acceptable is
the user's call. Without ``--atol`` the run stops before any check (exit 2) and names s
and s/2, a starting point. The report prints each requantized tensor (the quantizer
reused, scale, zero point, s/2, the grid's range) and the tolerance with that reason
(``report.requantized``, ``report.tolerance``). ``--atol`` applies to every float output
of the run, the exact passes' included; quantized outputs stay at one step.

Random inputs (:func:`random_inputs`): floats standard normal; an integer input read as
the indices of a Gather (directly or through Cast / Unsqueeze / Reshape) is drawn below
that Gather's table size (token ids below the vocabulary size); other integer inputs
in [0, 2) (attention masks, token type ids); bool inputs random. Symbolic dimensions:
``shapes`` (``--shapes name:1x64``) fixes an input's dims, and each symbolic dimension's
name then has that value in every input that uses it; a symbolic first dimension
defaults to 1 (batch); any other needs ``--shapes``.

Input size (:func:`check_input_bytes`): one seed's inputs may total at most
:data:`MAX_INPUT_BYTES` (1 GiB). Larger inputs (a graph input of 2^40 elements, ``--shapes``
giving a 25 GB tensor) are refused before anything is allocated, with a message naming
the input, its shape and size, and ``--shapes NAME:DIMS``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import onnx
from onnx import TensorProto

from fusionlab.errors import InputError, NotRunnable  # noqa: F401 - NotRunnable re-exported

#: Seeds of the random inputs.
SEEDS = (0, 1, 2)
#: (atol, rtol) per output dtype; missing dtypes compare exactly.
DEFAULT_TOLERANCES: dict[int, tuple[float, float]] = {
    TensorProto.FLOAT: (1e-4, 1e-3),
    TensorProto.DOUBLE: (1e-4, 1e-3),
    TensorProto.FLOAT16: (1e-2, 1e-2),
    TensorProto.BFLOAT16: (5e-2, 2e-2),
    TensorProto.INT8: (1.0, 0.0),
    TensorProto.UINT8: (1.0, 0.0),
    TensorProto.INT4: (1.0, 0.0),
    TensorProto.UINT4: (1.0, 0.0),
}
_FLOATS = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16)
#: Serialized size above which models go to ONNX Runtime through a file (protobuf's 2 GB limit).
_INLINE_LIMIT = 1_800_000_000
#: Integer inputs not read as Gather indices are drawn in [0, this).
INT_HIGH = 2
#: Largest total size of one seed's random inputs, bytes (1 GiB). The check keeps every
#: seed's inputs and ONNX Runtime's outputs, so a run needs several times this.
MAX_INPUT_BYTES = 1 << 30


@dataclass
class OutputDiff:
    """How far one graph output of the rewritten model is from the original's.

    Attributes:
        name: the graph output.
        dtype: its ONNX dtype name (``FLOAT``).
        shape: its shape in the first run.
        max_abs: the largest ``|rewritten - original|`` over every seed.
        max_rel: the largest ``|rewritten - original| / |original|`` (0 where both are 0).
        atol, rtol: the tolerances it was held to.
        passed: every element of every seed within ``atol + rtol * |original|``.
        seed: the seed of the worst element (the first failing seed when it failed).
    """

    name: str
    dtype: str
    shape: tuple
    max_abs: float
    max_rel: float
    atol: float
    rtol: float
    passed: bool
    seed: int

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "max_abs_diff": self.max_abs, "max_rel_diff": self.max_rel,
                "atol": self.atol, "rtol": self.rtol, "passed": self.passed, "seed": self.seed}


@dataclass
class Equivalence:
    """The result of comparing a rewritten model with the original."""

    outputs: list[OutputDiff]
    seeds: tuple[int, ...]
    input_shapes: dict[str, list[int]]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    @property
    def max_abs(self) -> float:
        return max((o.max_abs for o in self.outputs), default=0.0)

    def first_failure(self) -> OutputDiff | None:
        return next((o for o in self.outputs if not o.passed), None)

    def to_json(self) -> dict:
        return {"passed": self.passed, "seeds": list(self.seeds),
                "input_shapes": {k: list(v) for k, v in self.input_shapes.items()},
                "max_abs_diff": self.max_abs, "outputs": [o.to_json() for o in self.outputs]}


@dataclass
class Reference:
    """The original model's outputs on the random inputs, computed once per rewrite.

    Build it with :func:`reference`; compare candidates with :meth:`compare`.
    """

    feeds: list[dict[str, np.ndarray]]
    outputs: list[dict[str, np.ndarray]]
    output_names: list[str]
    output_types: dict[str, int]
    seeds: tuple[int, ...]
    input_shapes: dict[str, list[int]]
    atol: float | None = None
    rtol: float | None = None
    full_check: bool = True
    warnings: list[str] = field(default_factory=list)

    def tolerance(self, dtype: int) -> tuple[float, float]:
        """(atol, rtol) for an output of ``dtype`` (overrides apply to float outputs)."""
        atol, rtol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
        if dtype in _FLOATS:
            atol = atol if self.atol is None else self.atol
            rtol = rtol if self.rtol is None else self.rtol
        return atol, rtol

    def compare(self, model: onnx.ModelProto) -> Equivalence:
        """Run ``model`` on the reference inputs and compare every graph output.

        Raises:
            RuntimeError: ONNX Runtime cannot load or run ``model`` (the caller names
                the pass responsible).
        """
        session = _session(model)
        got_names = [o.name for o in session.get_outputs()]
        missing = [n for n in self.output_names if n not in got_names]
        if missing:
            raise RuntimeError(f"the rewritten model has no output {missing[0]!r}")
        worst: dict[str, OutputDiff] = {}
        for seed, feed, ref in zip(self.seeds, self.feeds, self.outputs):
            try:
                values = session.run(self.output_names, feed)
            except Exception as exc:  # onnxruntime raises its own C++-bound types
                raise RuntimeError(f"ONNX Runtime cannot run it: {_first_line(exc)}") from None
            for name, value in zip(self.output_names, values):
                diff = self._diff(name, seed, ref[name], np.asarray(value))
                prev = worst.get(name)
                if prev is None:
                    worst[name] = diff
                    continue
                if prev.passed and (not diff.passed or diff.max_abs > prev.max_abs):
                    prev.seed = diff.seed  # the first failing seed, else the worst one
                prev.passed = prev.passed and diff.passed
                prev.max_abs = max(prev.max_abs, diff.max_abs)
                prev.max_rel = max(prev.max_rel, diff.max_rel)
        return Equivalence([worst[n] for n in self.output_names], self.seeds, self.input_shapes)

    def _diff(self, name: str, seed: int, ref: np.ndarray, got: np.ndarray) -> OutputDiff:
        dtype = self.output_types.get(name, TensorProto.UNDEFINED)
        atol, rtol = self.tolerance(dtype)
        label = TensorProto.DataType.Name(dtype) if dtype else str(ref.dtype)
        if ref.shape != got.shape:
            return OutputDiff(name, label, tuple(got.shape), float("inf"), float("inf"), atol, rtol, False, seed)
        if ref.dtype == object or got.dtype == object:  # strings
            same = bool(np.array_equal(ref, got))
            return OutputDiff(name, label, tuple(ref.shape), 0.0 if same else float("inf"),
                              0.0 if same else float("inf"), atol, rtol, same, seed)
        a, b = ref.astype(np.float64), got.astype(np.float64)
        both_nan = np.isnan(a) & np.isnan(b)
        same_inf = np.isinf(a) & (a == b)
        with np.errstate(invalid="ignore", over="ignore"):
            absdiff = np.where(both_nan | same_inf, 0.0, np.abs(a - b))
            absdiff = np.where(np.isnan(absdiff), np.inf, absdiff)
            scale = np.abs(a)
            rel = np.where(absdiff == 0, 0.0, absdiff / np.where(scale == 0, np.inf, scale))
            rel = np.where((absdiff > 0) & (scale == 0), np.inf, rel)
            # NaN in the same place in both outputs is equal (absdiff 0); the tolerance's
            # scale there is 0, not NaN (NaN <= x is False)
            ok = absdiff <= atol + rtol * np.where(np.isinf(scale) | np.isnan(scale), 0.0, scale)
        return OutputDiff(name, label, tuple(ref.shape), float(absdiff.max(initial=0.0)),
                          float(rel.max(initial=0.0)), atol, rtol, bool(ok.all()), seed)


def full_check(model: onnx.ModelProto, full: bool = True) -> str | None:
    """``onnx.checker`` (``full_check``: strict shape inference too); the first line of
    the complaint, or None when the model passes."""
    try:
        if model.ByteSize() > _INLINE_LIMIT:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.onnx")
                onnx.save_model(model, path, save_as_external_data=True, location="model.onnx.data")
                onnx.checker.check_model(path, full_check=full)
        else:
            onnx.checker.check_model(model, full_check=full)
    except Exception as exc:  # checker and shape inference raise several types
        return _first_line(exc)
    return None


def reference(model: onnx.ModelProto, *, shapes=None, seeds: Sequence[int] = SEEDS,
              atol: float | None = None, rtol: float | None = None) -> Reference:
    """Run the original ``model`` on random inputs (one set per seed) and keep its outputs.

    Raises:
        InputError: a symbolic dimension has no value (``--shapes``), or a bad override.
        NotRunnable: ONNX Runtime cannot load or run the model.
    """
    for label, tol in (("--atol", atol), ("--rtol", rtol)):
        if tol is not None and not (tol >= 0 and np.isfinite(tol)):
            raise InputError(f"{label} must be a finite number >= 0, not {tol!r}")
    name = model.graph.name or "the model"
    notes: list[str] = []
    full = True
    problem = full_check(model, True)
    if problem is not None:
        full = False
        notes.append(f"the original model fails onnx.checker's full check ({problem}); the "
                     "rewritten model is held to the plain check")
    input_shapes = resolve_shapes(model, shapes)
    check_input_bytes(model, input_shapes)
    try:
        session = _session(model)
    except Exception as exc:
        raise NotRunnable(f"ONNX Runtime cannot load {name}: {_first_line(exc)}; the rewrite cannot "
                          "be proven equivalent (pass --no-check to write it unchecked)") from None
    out_names = [o.name for o in model.graph.output]
    out_types = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
    feeds, outputs = [], []
    for seed in seeds:
        feed = random_inputs(model, input_shapes, seed)
        try:
            values = session.run(out_names, feed)
        except Exception as exc:
            raise NotRunnable(f"ONNX Runtime cannot run {name} on inputs "
                              f"{', '.join(f'{k}{list(v)}' for k, v in input_shapes.items())}: "
                              f"{_first_line(exc)}; the rewrite cannot be proven equivalent "
                              "(pass --no-check to write it unchecked, or --shapes)") from None
        feeds.append(feed)
        outputs.append({n: np.asarray(v) for n, v in zip(out_names, values)})
    return Reference(feeds, outputs, out_names, out_types, tuple(seeds), input_shapes, atol, rtol,
                     full, notes)


def resolve_shapes(model: onnx.ModelProto, shapes=None) -> dict[str, list[int]]:
    """Concrete shapes of the graph inputs (see module doc for symbolic dimensions).

    Raises:
        InputError: an override names no input or has the wrong rank, or a symbolic
            dimension other than the first has no value.
        NotRunnable: a graph input is not a typed tensor (a sequence, map or optional).
    """
    from fusionlab.trt.build import parse_shapes

    overrides = parse_shapes(shapes)
    inits = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    for v in inputs:
        kind = v.type.WhichOneof("value")
        if kind != "tensor_type" or v.type.tensor_type.elem_type == TensorProto.UNDEFINED:
            raise NotRunnable(f"input {v.name} is {(kind or 'untyped').replace('_type', '')}-typed, not a "
                              "typed tensor; the equivalence check draws random tensors only (pass "
                              "--no-check to write the rewrite unchecked)")
    names = {v.name for v in inputs}
    for key in overrides:
        if key not in names:
            raise InputError(f"--shapes names {key!r}, which is not a graph input "
                             f"(inputs: {', '.join(sorted(names)) or 'none'})")
    params: dict[str, int] = {}
    dims_of: dict[str, list] = {}
    for v in inputs:
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in v.type.tensor_type.shape.dim]
        dims_of[v.name] = dims
        if v.name in overrides:
            given = overrides[v.name]
            if v.type.tensor_type.HasField("shape") and len(given) != len(dims):
                raise InputError(f"--shapes {v.name}:{'x'.join(map(str, given))} has rank {len(given)}; "
                                 f"input {v.name} has rank {len(dims)}")
            for d, g in zip(dims, given):
                if isinstance(d, str):
                    params.setdefault(d, g)
    out: dict[str, list[int]] = {}
    for v in inputs:
        if v.name in overrides:
            out[v.name] = list(overrides[v.name])
            continue
        dims = []
        for i, d in enumerate(dims_of[v.name]):
            if isinstance(d, int) and d > 0:
                dims.append(d)
            elif isinstance(d, str) and d in params:
                dims.append(params[d])
            elif i == 0:
                dims.append(1)
            elif isinstance(d, int):  # a fixed dim_value of 0 or below
                raise InputError(f"input {v.name} has the dimension {d} (axis {i}), not a size >= 1; "
                                 f"give its size with --shape {v.name}:"
                                 + "x".join(str(x) if isinstance(x, int) and x > 0 else "N"
                                            for x in dims_of[v.name]))
            else:
                raise InputError(f"input {v.name} has the symbolic dimension {d or '?'} (axis {i}); "
                                 f"give its size with --shapes {v.name}:"
                                 + "x".join(str(x) if isinstance(x, int) and x > 0 else "N"
                                            for x in dims_of[v.name]))
        out[v.name] = dims
    return out


def _itemsize(dtype: int) -> int:
    """Bytes per element numpy uses for an ONNX dtype (8 for strings and unknown types)."""
    try:
        np_type = onnx.helper.tensor_dtype_to_np_dtype(dtype)
    except Exception:  # UNDEFINED, STRING on some onnx versions, a dtype onnx does not know
        return 8
    return 8 if np_type == object else max(int(np_type.itemsize), 1)


def _size_text(n: int) -> str:
    if n >= 1 << 50:
        return f"{n:.3g} bytes"
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} bytes"


def check_input_bytes(model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]],
                      limit: int = MAX_INPUT_BYTES) -> int:
    """Refuse, before any allocation, random inputs larger than ``limit`` in total.

    Args:
        model: the model whose graph inputs ``shapes`` describes (for the dtypes).
        shapes: graph input name -> concrete dims (:func:`resolve_shapes`).
        limit: the largest total size of one seed's inputs, bytes (:data:`MAX_INPUT_BYTES`).

    Returns:
        The total size of one seed's inputs, bytes (Python ints: no overflow).

    Raises:
        InputError: (exit code 2) a dimension is not a positive integer, or the inputs
            total more than ``limit``; the message names the largest input, its shape and
            size, and ``--shape NAME:DIMS``.
    """
    types = {v.name: v.type.tensor_type.elem_type for v in model.graph.input}
    sizes: dict[str, int] = {}
    for name, dims in shapes.items():
        n = _itemsize(types.get(name, TensorProto.FLOAT))
        for d in dims:
            if not isinstance(d, int) or isinstance(d, bool) or d < 1:
                raise InputError(f"input {name} has the dimension {d!r} in {list(dims)}; every "
                                 f"dimension must be a positive integer (give one with --shape {name}:DIMS)")
            n *= d
        sizes[name] = n
    total = sum(sizes.values())
    if total > limit:
        name = max(sizes, key=sizes.get)
        dims = "x".join(map(str, shapes[name])) or "scalar"
        dtype = TensorProto.DataType.Name(types.get(name, TensorProto.FLOAT) or TensorProto.FLOAT)
        total_text = "" if total == sizes[name] else f" (all inputs {_size_text(total)})"
        raise InputError(f"input {name} of shape {dims} ({dtype}) is {_size_text(sizes[name])}{total_text}, "
                         f"over the {_size_text(limit)} limit of the equivalence check's random inputs; "
                         f"give a smaller one with --shape {name}:DIMS (or skip the check with --no-check)")
    return total


def random_inputs(model: onnx.ModelProto, shapes: Mapping[str, list[int]], seed: int) -> dict[str, np.ndarray]:
    """One random value per graph input (see module doc for the distributions).

    Raises:
        InputError: the inputs would exceed :data:`MAX_INPUT_BYTES` (:func:`check_input_bytes`).
    """
    check_input_bytes(model, shapes)
    rng = np.random.default_rng(seed)
    tables = _gather_table_sizes(model)
    types = {v.name: v.type.tensor_type.elem_type for v in model.graph.input}
    feed: dict[str, np.ndarray] = {}
    for name, dims in shapes.items():
        dtype = types.get(name, TensorProto.FLOAT)
        np_type = onnx.helper.tensor_dtype_to_np_dtype(dtype)
        if dtype in _FLOATS:
            value = rng.standard_normal(dims).astype(np_type)
        elif dtype == TensorProto.BOOL:
            value = rng.integers(0, 2, dims).astype(bool)
        elif np.issubdtype(np_type, np.integer):
            info = np.iinfo(np_type)
            if name in tables:
                low, high = 0, tables[name]
            elif np_type.itemsize == 1:
                low, high = int(info.min), int(info.max) + 1
            else:
                low, high = 0, INT_HIGH
            value = rng.integers(low, high, dims, dtype=np.int64).astype(np_type)
        elif dtype == TensorProto.STRING:
            value = np.array(["a"], dtype=object).reshape([1] * len(dims)) if dims else np.array("a", dtype=object)
        else:
            value = rng.standard_normal(dims).astype(np_type)
        feed[name] = value
    return feed


def _gather_table_sizes(model: onnx.ModelProto) -> dict[str, int]:
    """Graph inputs used as Gather indices (through Cast / Unsqueeze / Reshape / Squeeze /
    Flatten / Identity) -> the smallest gathered table's size on that axis."""
    sizes = {t.name: list(t.dims) for t in model.graph.initializer}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for t in node.input:
            consumers.setdefault(t, []).append(node)
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    sizes[node.output[0]] = list(a.t.dims)
    passthrough = ("Cast", "Unsqueeze", "Reshape", "Squeeze", "Flatten", "Identity")
    found: dict[str, int] = {}
    for v in model.graph.input:
        frontier, seen = [v.name], set()
        while frontier:
            t = frontier.pop()
            if t in seen:
                continue
            seen.add(t)
            for node in consumers.get(t, ()):
                if node.op_type in passthrough and node.input[0] == t:
                    frontier.extend(node.output)
                elif node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == t:
                    dims = sizes.get(node.input[0])
                    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                    if dims and -len(dims) <= axis < len(dims) and dims[axis] > 0:
                        found[v.name] = min(found.get(v.name, dims[axis]), dims[axis])
    return found


def _session(model: onnx.ModelProto):
    import onnxruntime as ort

    # ONNX Runtime's own log lines ("[W:onnxruntime:, graph.cc ...] Removing initializer",
    # the default logger's thread-affinity warnings) never reach stderr: errors come back
    # as exceptions, which fusionlab reports as its one line
    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if model.ByteSize() <= _INLINE_LIMIT:
        return ort.InferenceSession(model.SerializeToString(), options, providers=providers)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        onnx.save_model(model, path, save_as_external_data=True, location="model.onnx.data")
        return ort.InferenceSession(path, options, providers=providers)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:400]
    return type(exc).__name__
