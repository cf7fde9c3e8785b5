"""Lints: graph properties that make TensorRT pick a slower kernel or reject the model (TRT501-TRT507).
"""
