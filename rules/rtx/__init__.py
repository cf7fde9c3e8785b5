"""TensorRT-RTX-only behaviour measured on live builds: Myelin kgen grouping, horizontal GEMM, INT8 epilogues (TRT310, TRT311, TRT410).

Source: docs/TENSORRT-RTX.md#pattern-by-pattern.
"""
