"""fusionlab: predict, verify and fix TensorRT layer fusions in ONNX models.

``fusionlab.analyze(model, target=..., precision=..., sm=...)`` returns a
:class:`fusionlab.report.Report`; ``fusionlab.verify(model, ...)`` a
:class:`fusionlab.verification.Verification`; ``fusionlab.rewrite(model, ...)`` a
``(onnx.ModelProto, fusionlab.rewriting.RewriteReport)``. See README.md.
"""

from fusionlab.analysis import analyze
from fusionlab.rewriting import rewrite
from fusionlab.verification import verify

__version__ = "0.1.0"
__all__ = ["analyze", "rewrite", "verify"]
