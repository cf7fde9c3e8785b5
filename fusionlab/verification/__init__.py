"""``fusionlab verify``: hold analyze's predictions to what a TensorRT builder really did.

One job per module:

* :mod:`~fusionlab.verification.run`: :func:`verify` (a live build, or the files a
  build left: layer info, a log, a profile) and the profile's cost of each missed fusion;
* :mod:`~fusionlab.verification.result`: :class:`Verification`, :class:`MissedCost`;
* :mod:`~fusionlab.verification.corpus`: :func:`calibrate` (``verify --corpus``);
* :mod:`~fusionlab.verification.render`: the text reports (rich).

The names below are importable from ``fusionlab.verification`` and load their module
on first use (PEP 562).
"""

from __future__ import annotations

from fusionlab.lazy import lazy_exports

#: public name -> the submodule that defines it.
_LAZY = {
    **dict.fromkeys(("BUILDER_OF_TARGET", "verify"), "run"),
    **dict.fromkeys(("MissedCost", "Verification"), "result"),
    **dict.fromkeys(("RuleTally", "calibrate", "check_corpus_outputs", "corpus_exit_code", "corpus_json",
                     "error_classes", "corpus_summary"),
                   "corpus"),
    **dict.fromkeys(("render_corpus", "render_corpus_markdown", "render_verification"), "render"),
}
__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
