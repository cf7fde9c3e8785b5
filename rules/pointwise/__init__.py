"""PointWise fusion: chains of elementwise, activation and unary layers in one kernel (TRT301).

Source: TensorRT Developer Guide, "PointWise Fusion" (docs/FUSIONS.md#pointwise-fusion).
"""
