"""fusionlab: predict, verify and fix TensorRT layer fusions in ONNX models.

``fusionlab.analyze(model, target=..., precision=..., sm=...)`` returns a
:class:`fusionlab.report.Report`; ``fusionlab.verify(model, ...)`` a
:class:`fusionlab.verification.Verification`. See README.md.
"""

from fusionlab.analysis import analyze
from fusionlab.verification import verify

__version__ = "0.1.0"
__all__ = ["analyze", "verify"]
