"""Inputs TensorRT's ONNX parser rejects: the build stops before any layer is made."""
