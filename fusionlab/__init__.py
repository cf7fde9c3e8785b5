"""fusionlab: predict, verify and fix TensorRT layer fusions in ONNX models."""

__version__ = "0.1.0"
