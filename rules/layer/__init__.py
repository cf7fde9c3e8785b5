"""Layer fusions: convolution, FullyConnected, activation, scale, shuffle and softmax fusions, folds and erasures (TRT001, TRT101-TRT130, TRT302).

Source: TensorRT Developer Guide, "Types of Fusions" (docs/FUSIONS.md#supported-layer-fusions).
"""
