"""Op groups: which ONNX ops TensorRT's ONNX parser turns into which layer kind.

Source: the table "TensorRT layer kind -> ONNX ops" of docs/FUSIONS.md#tensorrt-layer-kinds-and-onnx-ops (the parser's
importers, onnx-tensorrt ``builtin_op_importers.cpp``).
"""

from __future__ import annotations

#: ONNX ops TensorRT's parser turns into an Activation layer.
ACTIVATIONS = ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Elu", "Selu", "Softplus",
               "Softsign", "HardSigmoid", "ThresholdedRelu", "Gelu", "HardSwish")
#: ONNX ops TensorRT's parser turns into an ElementWise layer.
ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Equal", "Greater", "Less",
               "And", "Or", "Xor")
#: ONNX ops TensorRT's parser turns into a Unary layer.
UNARY = ("Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg", "Sin", "Cos", "Tan", "Sinh", "Cosh",
         "Asin", "Acos", "Atan", "Erf", "Floor", "Ceil", "Round", "Sign", "Not",
         # IsNaN: ElementWise kEQUAL(x, x) then Unary kNOT; IsInf: Unary kISINF
         # (builtin_op_importers.cpp); pointwise either way (the NaN guard after a
         # dynamo-exported softmax: one kgen kernel with it on TensorRT-RTX 1.7)
         "IsNaN", "IsInf")
#: ONNX ops TensorRT's parser turns into a Shuffle layer.
SHUFFLES = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze")
#: ONNX ops TensorRT's parser turns into a Reduce layer.
REDUCES = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")
CONVS = ("Conv", "ConvTranspose")


#: Shuffle ops that reshape (no permutation); a Transpose is the only pure permutation.
RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")



SOFTMAX_KINDS = ("Softmax", "LogSoftmax", "SoftMax")



#: The explicit-quantization ops (TensorRT's IQuantizeLayer / IDequantizeLayer).
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
#: Ops that become a layer with weights: the guide's "weighted node (Conv, FC, Deconv)".
WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
#: Layer kinds a weighted op can have after the layer fusions (TRT109 fc-as-conv).
WEIGHTED_KINDS = WEIGHTED_OPS + ("FullyConnected",)



#: Pooling).
QDQ_COMMUTING = ("MaxPool", "GlobalMaxPool", "Transpose", "Reshape", "Flatten", "Squeeze",
                 "Unsqueeze", "DepthToSpace", "SpaceToDepth", "Slice", "Expand", "Tile",
                 "Concat")
#: Data-movement ops with no documented Q/DQ commutation ("There are no fusions available
#: for a Gather layer", guide "Optimizing Layer Performance").
QDQ_NOT_COMMUTING = ("Gather", "GatherElements", "GatherND")
#: Non-weighted ops with an INT8 implementation: a DQ -> op -> Q sandwich becomes one
#: quantized layer (guide "Q/DQ Fusion"; its figures show AveragePool and an element-wise
#: Add). The list follows the INT8 column of the TensorRT support matrix ("Layers and
#: Precision") for the layers the parser maps these ops to: Pooling, Activation (ReLU,
#: leaky ReLU, clip, sigmoid, tanh, hard sigmoid), ElementWise (sum, sub, prod, max, min),
#: Scale (BatchNormalization), Padding, Resize (nearest). SoftMax, Unary, Reduce, TopK,
#: normalization layers and a MatrixMultiply of two activations are not in it.
QDQ_INT8_OPS = ("AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu", "Clip", "Sigmoid",
                "Tanh", "HardSigmoid", "Add", "Sub", "Mul", "Max", "Min", "Sum",
                "BatchNormalization", "Pad", "Resize")



#: them on INT8: MaxPool from opset 12; GlobalMaxPool is float-only in ONNX).
DQ_MOVABLE = ("MaxPool", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Concat")



