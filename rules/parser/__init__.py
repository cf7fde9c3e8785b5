"""Inputs TensorRT's ONNX parser rejects (TRT601-TRT605): the build stops before any
layer is made. Each rule is a lint with ``rejects = True``; its docstring quotes the
parser's error from a live TensorRT-RTX 1.7 build (docs/TENSORRT-RTX.md#parser-rejections).

Source: onnx-tensorrt ``docs/operators.md`` and ``builtin_op_importers.cpp``.
"""
