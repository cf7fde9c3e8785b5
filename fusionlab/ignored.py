"""Which options a command ignores for the target and mode chosen, and why.

Each ignored option the user gave becomes one warning: ``fusionlab: warning: ...`` on
stderr and an entry of the JSON report's ``warnings`` (``fusionlab.cli`` does both).

* TensorRT-RTX (``--target tensorrt-rtx``): networks are strongly typed, so the builder
  precision (``--precision``, ``--fp16``, ``--bf16``, ``--int8``, ``--best``) changes
  neither the prediction nor a build (every precision check of the built-in rules is
  ``targets=("tensorrt",)``); ``--timing-cache`` is not used (``ITimingCache.serialize()``
  crashes it). ``--sm`` is not ignored: the Tensor Core alignment lint (TRT501) asks
  which Tensor Cores the GPU has.
* ``verify`` with ``--layer-info`` / ``--log`` builds nothing: the build options
  (``--timeout``, ``--save-log``, ``--save-engine``, ``--timing-cache``, the profile's
  ``--minShapes`` / ``--maxShapes``) are unused; ``verify --corpus`` does not save
  per-model files (``--save-log``, ``--save-engine``, ``--timing-cache``); ``--jobs``
  applies to ``--corpus`` only.
* ``rewrite`` without ``--verify`` builds nothing: ``--timeout`` and the profile's
  ``--minShapes`` / ``--maxShapes`` are unused (the check runs at ``--optShapes``).

Standard library only (the CLI calls it before any heavy import).
"""

from __future__ import annotations

from collections.abc import Mapping

#: Option names that set the builder precision.
PRECISION_OPTIONS = ("--precision", "--fp16", "--bf16", "--int8", "--best")
#: Options of a live build.
BUILD_OPTIONS = ("--timeout", "--save-log", "--save-engine", "--timing-cache", "--minShapes", "--maxShapes")

_RTX_PRECISION = ("is ignored for --target tensorrt-rtx: TensorRT-RTX networks are strongly typed "
                  "(precision comes from the ONNX types and Q/DQ nodes)")
_RTX_CACHE = "is ignored for --target tensorrt-rtx: its timing cache cannot be saved (ITimingCache.serialize() crashes)"


def ignored_options(command: str, target: str, given: Mapping[str, str], *, live_build: bool = False,
                    corpus: bool = False, verify_build: bool = False) -> list[str]:
    """The warnings for the options ``command`` ignores.

    Args:
        command: ``analyze``, ``verify`` or ``rewrite``.
        target: ``tensorrt`` or ``tensorrt-rtx``.
        given: the options the user gave (command line or config file), option name ->
            how to show it, e.g. ``{"--fp16": "--fp16", "--timeout": "--timeout 5.0"}``.
        live_build: ``verify`` builds the model (no ``--layer-info`` / ``--log``).
        corpus: ``verify --corpus``.
        verify_build: ``rewrite --verify``.

    Returns:
        One message per ignored option, in the order of ``given`` (no prefix).
    """
    out: list[str] = []
    for option, shown in given.items():
        why = None
        if target == "tensorrt-rtx" and option in PRECISION_OPTIONS:
            why = _RTX_PRECISION
        elif command == "verify" and corpus and option in ("--save-log", "--save-engine", "--timing-cache"):
            why = "is ignored with --corpus (it is a per-model file)"
        elif command == "verify" and not corpus and option == "--jobs":
            why = "applies to --corpus only and is ignored"
        elif command == "verify" and not live_build and not corpus and option in BUILD_OPTIONS:
            why = "is ignored: nothing is built with --layer-info or --log"
        elif command == "verify" and target == "tensorrt-rtx" and option == "--timing-cache":
            why = _RTX_CACHE
        elif command == "rewrite" and not verify_build and option in ("--timeout", "--minShapes", "--maxShapes"):
            why = ("is ignored without --verify: nothing is built"
                   + (" (the check runs at --optShapes)" if option != "--timeout" else ""))
        if why:
            out.append(f"{shown} {why}")
    return out
