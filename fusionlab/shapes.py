"""trtexec's input shape options: ``--shapes``, ``--minShapes``, ``--optShapes``, ``--maxShapes``.

Syntax (trtexec's): ``name:1x3x224x224,name2:1x64``. Entries are separated by commas
(spaces around them are allowed, as in trtexec's own example); the name is everything
before the entry's last colon, so ``input:0:1x3`` names ``input:0``; a name may also be
wrapped in single quotes (``'input:0':1x3``, or ``\\'input:0\\'`` as trtexec's help
spells it for a shell). ``scalar``, or nothing after the colon, is a 0-D shape. A
dimension is a positive integer of at most :data:`MAX_DIM`; an input of more than
:data:`MAX_ELEMENTS` elements is refused as absurd.

Semantics (trtexec's): ``--minShapes/--optShapes/--maxShapes`` are one optimization
profile; all three are needed, except that ``--optShapes`` alone means min = opt = max.
``--shapes`` alone fixes the inputs (min = opt = max); with a profile it gives the
shapes trtexec would run inference at, which must lie inside the profile. fusionlab
predicts (analyze), checks equivalence (rewrite) and fixes inputs the profile does not
name at the *opt* shapes; a live build (verify, ``rewrite --verify``) gets the range.

:func:`shape_request` checks the syntax (no model needed); :meth:`ShapeRequest.resolve`
checks it against a model's inputs: an unknown input name, a wrong rank, a dimension the
model fixes to another value, or min > opt > max on an axis is an
:class:`~fusionlab.errors.InputError` (exit 2) naming the option, the input and the axis.
Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fusionlab.errors import InputError

#: Largest dimension accepted (TensorRT's int32 volume limit per dimension).
MAX_DIM = 2**31 - 1
#: Most elements one input may have (2**32, 4 Gi elements: 16 GiB of float32).
MAX_ELEMENTS = 2**32
#: The options, in the order messages name them.
OPTIONS = ("--shapes", "--minShapes", "--optShapes", "--maxShapes")

Shapes = dict[str, tuple[int, ...]]


def _entries(text: str, option: str) -> list[str]:
    """Split a spec on commas (and spaces) outside single quotes; ``\\'`` is a quote."""
    text = text.replace("\\'", "'")
    out, cur, quoted = [], [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if not quoted and (ch == "," or ch.isspace()):
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if quoted:
        raise InputError(f"bad {option} spec {text!r}: a single quote is not closed")
    out.append("".join(cur))
    return [e for e in out if e]


def _dims(name: str, dims_text: str, entry: str, option: str) -> tuple[int, ...]:
    text = dims_text.strip().lower()
    if text in ("", "scalar"):
        return ()
    try:
        dims = tuple(int(d) for d in text.split("x"))
    except ValueError:
        raise InputError(f"bad {option} entry {entry!r}: dimensions must be integers separated by 'x' "
                         f"(e.g. {name}:1x3x224x224)") from None
    return checked_dims(name, dims, option)


def checked_dims(name: str, dims, option: str = "--shapes") -> tuple[int, ...]:
    """``dims`` as a tuple of ints, each 1 <= d <= :data:`MAX_DIM`, at most
    :data:`MAX_ELEMENTS` elements in all.

    Raises:
        InputError: a dimension that is not a positive integer, too large, or too many
            elements (the message names ``option`` and ``name``).
    """
    try:
        if isinstance(dims, (str, bytes)) or any(isinstance(d, bool) for d in dims):
            raise TypeError
        out = tuple(int(d) for d in dims if d == int(d))
        if len(out) != len(dims):
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{option} {name}: dimensions must be integers, got {dims!r}") from None
    shown = "x".join(map(str, out))
    bad = [d for d in out if d < 1]
    if bad:
        raise InputError(f"{option} {name}:{shown}: dimension {bad[0]} is not positive "
                         "(every dimension must be at least 1)")
    if any(d > MAX_DIM for d in out):
        raise InputError(f"{option} {name}:{shown}: dimension {max(out)} is larger than {MAX_DIM}")
    if math.prod(out) > MAX_ELEMENTS:
        raise InputError(f"{option} {name}:{shown}: {math.prod(out)} elements is absurd "
                         f"(at most {MAX_ELEMENTS} per input)")
    return out


def parse_spec(spec: str | Iterable[str] | Mapping | None, option: str = "--shapes") -> Shapes:
    """Parse trtexec shape specs into ``{name: dims}``.

    Args:
        spec: ``"x:1x3x224x224,y:1x64"``, a list of such strings (an option given several
            times), a mapping ``{"x": (1, 3, 224, 224)}``, or ``None`` (no shapes).
        option: the option's name, for messages.

    Raises:
        InputError: a malformed entry, a bad dimension (:func:`checked_dims`), or an input
            named twice.
    """
    out: Shapes = {}
    if spec is None:
        return out
    if isinstance(spec, Mapping):
        for name, dims in spec.items():
            if not isinstance(name, str) or not name:
                raise InputError(f"{option}: input names must be non-empty strings, got {name!r}")
            out[name] = checked_dims(name, dims, option)
        return out
    if isinstance(spec, str):
        spec = [spec]
    for item in spec:
        if not isinstance(item, str):
            raise InputError(f"{option}: expected a string NAME:DIMxDIM..., got {item!r}")
        for entry in _entries(item, option):
            if entry.startswith("'"):
                end = entry.find("'", 1)
                name, rest = entry[1:end], entry[end + 1:]
                if not rest.startswith(":"):
                    raise InputError(f"bad {option} entry {entry!r}: expected 'NAME':DIMxDIM...")
                dims_text = rest[1:]
            else:
                name, sep, dims_text = entry.rpartition(":")
                if not sep:
                    raise InputError(f"bad {option} entry {entry!r}: expected NAME:DIMxDIM..., "
                                     "e.g. input:1x3x224x224")
            if not name:
                raise InputError(f"bad {option} entry {entry!r}: the input name is empty")
            if name in out:
                raise InputError(f"{option} gives input {name!r} twice")
            out[name] = _dims(name, dims_text, entry, option)
    return out


def _show(name: str, dims: tuple) -> str:
    return f"{name}:{'x'.join(map(str, dims)) if dims else 'scalar'}"


@dataclass(frozen=True)
class ShapeProfile:
    """Input shapes checked against a model: one optimization profile.

    Attributes:
        min, opt, max: ``{input name: dims}`` for every input given (min = opt = max for
            an input fixed by ``--shapes`` alone or by ``--optShapes`` alone).
        shapes: the ``--shapes`` values as given (the inference shapes, inside the range).
    """

    min: Shapes = field(default_factory=dict)
    opt: Shapes = field(default_factory=dict)
    max: Shapes = field(default_factory=dict)
    shapes: Shapes = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.opt)

    def opt_shapes(self) -> dict[str, list[int]]:
        """``{name: dims}`` at which analyze predicts and rewrite runs its check."""
        return {k: list(v) for k, v in self.opt.items()}

    def fixed(self) -> dict[str, list[int]]:
        """Inputs whose range is one shape (min = opt = max): a build's ``shapes``."""
        return {k: list(v) for k, v in self.opt.items() if self.min[k] == v == self.max[k]}

    def ranges(self) -> dict[str, list[list[int]]]:
        """Inputs with a real range: ``{name: [min, opt, max]}``, a build's ``profile``."""
        return {k: [list(self.min[k]), list(v), list(self.max[k])]
                for k, v in self.opt.items() if not self.min[k] == v == self.max[k]}

    def to_json(self) -> dict:
        return {"min": self.fixed() | {k: r[0] for k, r in self.ranges().items()},
                "opt": self.opt_shapes(),
                "max": self.fixed() | {k: r[2] for k, r in self.ranges().items()}}


@dataclass(frozen=True)
class ShapeRequest:
    """The four shape options as parsed, before a model checks them (:func:`shape_request`)."""

    shapes: Shapes = field(default_factory=dict)
    min: Shapes = field(default_factory=dict)
    opt: Shapes = field(default_factory=dict)
    max: Shapes = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.shapes or self.min or self.opt or self.max)

    def resolve(self, declared: Mapping[str, tuple | None], model: str = "the model") -> ShapeProfile:
        """Check the shapes against the model's inputs and build the profile.

        Args:
            declared: ``{input name: dims}`` from :func:`declared_inputs` (a dim is an int,
                a symbolic name or ``None``; ``None`` for an input with no shape).
            model: the model's name, for messages.

        Raises:
            InputError: an unknown input name, a wrong rank, a dimension the model fixes
                to another value, min > opt or opt > max on an axis, ``--shapes`` outside
                the profile, or --minShapes/--maxShapes without all three.
        """
        lo, opt, hi = dict(self.min), dict(self.opt), dict(self.max)
        if (lo or hi) and not opt:
            raise InputError("--minShapes and --maxShapes need --optShapes (trtexec: all three, "
                             "or --optShapes alone)")
        if opt and not lo and not hi:
            lo, hi = dict(opt), dict(opt)
        for option, given in (("--minShapes", lo), ("--maxShapes", hi)):
            missing = sorted(set(opt) - set(given)) or sorted(set(given) - set(opt))
            if missing:
                other = "--optShapes" if missing[0] in given else option
                raise InputError(f"{other} gives no shape for input {missing[0]!r}: give it in all three of "
                                 "--minShapes, --optShapes and --maxShapes (or --optShapes alone)")
        for option, given in zip(OPTIONS, (self.shapes, lo, opt, hi), strict=True):
            for name, dims in given.items():
                _check_against(name, dims, declared, option, model)
        for name, o in opt.items():
            for axis, (a, b, c) in enumerate(zip(lo[name], o, hi[name], strict=True)):
                if a > b or b > c:
                    first, second = ("--minShapes", "--optShapes") if a > b else ("--optShapes", "--maxShapes")
                    left, right = (lo[name], o) if a > b else (o, hi[name])
                    raise InputError(f"{first} {_show(name, left)} is larger than {second} {_show(name, right)} "
                                     f"at axis {axis}: the profile needs min <= opt <= max")
        for name, dims in self.shapes.items():
            if name not in opt:
                lo[name] = opt[name] = hi[name] = dims
                continue
            for axis, (a, b, c) in enumerate(zip(lo[name], dims, hi[name], strict=True)):
                if not a <= b <= c:
                    raise InputError(f"--shapes {_show(name, dims)} lies outside the profile "
                                     f"{_show(name, lo[name])} .. {_show(name, hi[name])} at axis {axis}")
        return ShapeProfile(lo, opt, hi, dict(self.shapes))


def _check_against(name: str, dims: tuple, declared: Mapping[str, tuple | None], option: str,
                   model: str) -> None:
    if name not in declared:
        known = ", ".join(repr(n) for n in declared) or "none"
        raise InputError(f"{option} names {name!r}, which is not an input of {model} (inputs: {known})")
    have = declared[name]
    if have is None:
        return
    if len(have) != len(dims):
        raise InputError(f"{option} {_show(name, dims)} has rank {len(dims)}; input {name} of {model} "
                         f"has rank {len(have)} ([{', '.join(str(d) if d is not None else '?' for d in have)}])")
    for axis, (h, d) in enumerate(zip(have, dims, strict=True)):
        if isinstance(h, int) and h > 0 and h != d:
            raise InputError(f"{option} {_show(name, dims)}: input {name} of {model} fixes axis {axis} "
                             f"to {h}, not {d}")


def shape_request(shapes=None, min_shapes=None, opt_shapes=None, max_shapes=None) -> ShapeRequest:
    """Parse the four options (each as :func:`parse_spec` takes it) into a :class:`ShapeRequest`.

    ``shapes`` may also be a :class:`ShapeRequest` (returned as is when no other option is
    given).

    Raises:
        InputError: as :func:`parse_spec`.
    """
    if isinstance(shapes, ShapeRequest):
        if min_shapes is None and opt_shapes is None and max_shapes is None:
            return shapes
        raise InputError("give the profile either as a ShapeRequest or as min/opt/max shapes, not both")
    return ShapeRequest(parse_spec(shapes, "--shapes"), parse_spec(min_shapes, "--minShapes"),
                        parse_spec(opt_shapes, "--optShapes"), parse_spec(max_shapes, "--maxShapes"))


def declared_inputs(model) -> dict[str, tuple | None]:
    """The graph inputs of an ``onnx.ModelProto`` (initializers excluded) and their declared
    dims: an int for a fixed dimension, the ``dim_param`` string (or ``None``) for a
    symbolic one; ``None`` for an input with no shape."""
    inits = {t.name for t in model.graph.initializer}
    out: dict[str, tuple | None] = {}
    for v in model.graph.input:
        if v.name in inits:
            continue
        ttype = v.type.tensor_type
        if not v.type.HasField("tensor_type") or not ttype.HasField("shape"):
            out[v.name] = None
            continue
        out[v.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                            for d in ttype.shape.dim)
    return out


def with_symbols(declared: Mapping[str, tuple | None], given: Mapping[str, list[int]]) -> dict[str, list[int]]:
    """``given`` plus every other input whose symbolic dimensions all take a value from it:
    ``input_ids:8x128`` also fixes ``attention_mask[batch, seq]`` when ``input_ids`` is
    declared ``[batch, seq]`` (ONNX names a dimension shared by inputs once)."""
    values: dict[str, int] = {}
    for name, dims in given.items():
        for have, d in zip(declared.get(name) or (), dims, strict=False):
            if isinstance(have, str):
                values.setdefault(have, d)
    out = {k: list(v) for k, v in given.items()}
    for name, have in declared.items():
        if name in out or not have or not any(isinstance(h, str) for h in have):
            continue
        if all(isinstance(h, int) and h > 0 or h in values for h in have):
            out[name] = [values[h] if isinstance(h, str) else h for h in have]
    return out


def resolve(model, shapes, name: str | None = None) -> ShapeProfile:
    """``shapes`` (a spec, a mapping, a :class:`ShapeRequest` or a :class:`ShapeProfile`)
    checked against ``model`` (an ``onnx.ModelProto``, called ``name`` in messages); an
    empty profile for ``None``.

    Raises:
        InputError: as :meth:`ShapeRequest.resolve`.
    """
    if isinstance(shapes, ShapeProfile):
        return shapes
    request = shape_request(shapes)
    if not request:
        return ShapeProfile()
    return request.resolve(declared_inputs(model), name or model.graph.name or "the model")
