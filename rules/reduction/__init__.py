"""Reduction and normalization fusions: GELU, L1/L2 norms, LogSum, LogSumExp, LayerNorm (TRT201-TRT208).

Source: TensorRT Developer Guide, "Types of Fusions": Reduction Operation Fusions (docs/FUSIONS.md#supported-reduction-operation-fusions).
"""
