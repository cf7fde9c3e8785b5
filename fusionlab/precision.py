"""trtexec's precision flags (``--fp16 --bf16 --int8 --best``) and fusionlab's precision.

trtexec enables precisions *in addition to* FP32, and its flags combine: ``--fp16 --int8``
lets the builder pick FP16 or INT8 kernels per layer. ``--best`` enables every precision
(trtexec 10: FP16 and INT8, and BF16 on SM 8.0 or newer).

fusionlab's rules take one precision (:data:`fusionlab.rule.PRECISIONS`): the lowest the
builder may pick, which is what a fusion's precision check asks (conv+GELU needs FP16 or
INT8; Tensor Core alignment is 32 channels in INT8, 8 in FP16/BF16). A set of flags maps
onto it as ``int8`` if INT8 is enabled, else ``fp16`` if FP16 is, else ``bf16``, else
``fp32``. A live classic TensorRT build gets every flag given (``BuilderFlag.FP16``,
``BF16``, ``INT8``); ``--precision int8`` alone sets INT8 and FP16, as before.

``--precision`` and the flags are two spellings of one setting: giving both on one command
line is an :class:`~fusionlab.errors.InputError` (exit 2). Either overrides the config
file's ``precision``. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusionlab.errors import InputError

#: fusionlab precision -> the BuilderFlag names a classic TensorRT build sets for it.
BUILDER_FLAGS = {"fp32": (), "fp16": ("FP16",), "bf16": ("BF16",), "int8": ("INT8", "FP16")}


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision one command runs with.

    Attributes:
        precision: fusionlab's precision (``fp32``, ``fp16``, ``bf16`` or ``int8``), what
            the rules check.
        flags: the ``trt.BuilderFlag`` names a classic TensorRT build sets, e.g.
            ``("FP16", "INT8")``.
        spelled: how it was asked for, for messages: ``"--fp16 --int8"``,
            ``"--precision fp16"``, or ``""`` (the config's or the default value).
    """

    precision: str
    flags: tuple[str, ...]
    spelled: str = ""


def choose_precision(precision: str | None = None, *, fp16: bool = False, bf16: bool = False,
                     int8: bool = False, best: bool = False, sm: float = 8.6,
                     default: str = "fp32") -> PrecisionChoice:
    """Combine ``--precision`` and trtexec's flags into one :class:`PrecisionChoice`.

    Args:
        precision: the ``--precision`` value, or ``None`` when not given.
        fp16, bf16, int8, best: trtexec's flags (``best``: FP16 + INT8, plus BF16 when
            ``sm`` >= 8.0, as trtexec 10 does on the GPU it runs on).
        sm: the GPU's compute capability (for ``best``'s BF16).
        default: the precision when nothing is given (the config's, else ``fp32``).

    Raises:
        InputError: ``precision`` together with a flag (two spellings of one setting),
            or an unknown precision.
    """
    flags_given = [name for name, on in (("--fp16", fp16), ("--bf16", bf16), ("--int8", int8),
                                         ("--best", best)) if on]
    if precision is not None and flags_given:
        raise InputError(f"give either --precision {precision} or trtexec's {' '.join(flags_given)}, not both "
                         "(they set the same builder precision)")
    if not flags_given:
        value = precision if precision is not None else default
        if value not in BUILDER_FLAGS:
            raise InputError(f"unknown precision {value!r}; choose one of {', '.join(BUILDER_FLAGS)}")
        return PrecisionChoice(value, BUILDER_FLAGS[value], f"--precision {precision}" if precision else "")
    if best:
        fp16 = int8 = True
        bf16 = bf16 or sm >= 8.0
    flags = tuple(name for name, on in (("FP16", fp16), ("BF16", bf16), ("INT8", int8)) if on)
    value = "int8" if int8 else "fp16" if fp16 else "bf16"
    return PrecisionChoice(value, flags, " ".join(flags_given))
