"""Explicit-quantization (Q/DQ) fusions and parser rejections (TRT401-TRT409).

Source: TensorRT Developer Guide, "Explicit Quantization", "Q/DQ Fusion" (docs/FUSIONS.md#qdq-fusion).
"""
