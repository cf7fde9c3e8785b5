"""fusionlab: predict, verify and fix TensorRT layer fusions in ONNX models.

``fusionlab.analyze(model, target=..., precision=..., sm=...)`` (a path, an
``onnx.ModelProto``, its bytes or a ``torch.onnx.ONNXProgram``) returns a
:class:`fusionlab.report.Report` (``Report.from_json`` reads its JSON back); ``fusionlab.verify(model, ...)`` a
:class:`fusionlab.verification.Verification`; ``fusionlab.rewrite(model, ...)`` a
``(onnx.ModelProto, fusionlab.rewriting.RewriteReport)``. See README.md.

Importing this package is cheap: the names below load their modules on first use
(PEP 562), so ``fusionlab --help`` and ``fusionlab rules`` import no onnx, numpy or
networkx.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from pathlib import Path

from fusionlab.lazy import lazy_exports

__version__ = "0.1.0"

#: public name -> module that defines it (loaded on first access).
_LAZY = {
    "analyze": "fusionlab.analysis",
    "rewrite": "fusionlab.rewriting",
    "verify": "fusionlab.verification",
    "Report": "fusionlab.report",
    "Finding": "fusionlab.report",
    "Diagnostic": "fusionlab.diagnostic",
    "FusionlabError": "fusionlab.errors",
    "InputError": "fusionlab.errors",
    "ArtifactError": "fusionlab.errors",
    "BuildError": "fusionlab.errors",
    "EquivalenceError": "fusionlab.errors",
    "BuilderUnavailable": "fusionlab.errors",
    "NotRunnable": "fusionlab.errors",
    "CannotRewrite": "fusionlab.errors",
    "CyclicMerge": "fusionlab.errors",
}
__all__ = ["__version__", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


class _CheckoutRules(importlib.abc.MetaPathFinder):
    """In a source checkout, ``rules/`` beside this package is ``fusionlab.rules``.

    An installed fusionlab has ``fusionlab/rules`` (pyproject's ``package-dir`` maps the
    folder there) and never reaches this finder; running from a clone (``python -m
    pytest`` puts the checkout first on ``sys.path``) would otherwise not find the
    built-in rules.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "fusionlab.rules":
            return None
        return importlib.util.spec_from_file_location(
            fullname, self.folder / "__init__.py", submodule_search_locations=[str(self.folder)])


_here = Path(__file__).resolve().parent
if not (_here / "rules").is_dir() and (_here.parent / "rules" / "__init__.py").is_file():
    # First on the path: an editable install of another checkout must not win over this one.
    sys.meta_path.insert(0, _CheckoutRules(_here.parent / "rules"))
