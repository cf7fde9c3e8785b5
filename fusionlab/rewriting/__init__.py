"""``fusionlab rewrite``: make missed fusions happen, and prove nothing else changed.

One job per module:

* :mod:`~fusionlab.rewriting.edit`: graph-edit helpers for the rules' rewrites
  (:func:`node_of`, :func:`erase`, :func:`qdq_pair`...) and :class:`CannotRewrite`;
* :mod:`~fusionlab.rewriting.options`: :class:`RewriteOptions` (``--allow-requantize``)
  and the :class:`Requantization` records;
* :mod:`~fusionlab.rewriting.report`: :class:`RewriteReport`, :class:`Change`,
  :class:`Refusal`, :class:`BuildCount`;
* :mod:`~fusionlab.rewriting.passes`: the pass registry (every rule with a rewrite);
* :mod:`~fusionlab.rewriting.driver`: :func:`rewrite`, the analyze -> rewrite -> check
  rounds (the algorithm is described there);
* :mod:`~fusionlab.rewriting.builds`: ``--verify``'s live builds (:func:`build_count`);
* :mod:`~fusionlab.rewriting.save`: the model's files (:func:`write_model_atomic`);
* :mod:`~fusionlab.rewriting.render`: the text report (rich).

The names below are importable from ``fusionlab.rewriting`` and load their module on
first use (PEP 562), so importing this package imports neither onnx nor numpy.
"""

from __future__ import annotations

from fusionlab.lazy import lazy_exports

#: public name -> the submodule that defines it.
_LAZY = {
    **dict.fromkeys(("CannotRewrite", "bypass", "constant", "constant_value", "erase", "fresh_name",
                     "node_of", "qdq_pair", "tensor_of"), "edit"),
    **dict.fromkeys(("Requantization", "RewriteOptions"), "options"),
    **dict.fromkeys(("BuildCount", "Change", "Refusal", "RewriteReport"), "report"),
    **dict.fromkeys(("available_passes", "select_passes"), "passes"),
    **dict.fromkeys(("MAX_NODES", "MAX_ROUNDS", "STAMP_DESCRIPTION", "STAMP_KEY", "named_copy", "rewrite"), "driver"),
    **dict.fromkeys(("build_count", "builder_for"), "builds"),
    **dict.fromkeys(("check_output_path", "has_external_data", "save_model", "write_model_atomic"), "save"),
    "render_rewrite": "render",
}
__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
