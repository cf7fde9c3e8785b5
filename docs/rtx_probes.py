"""The small graphs of docs/TENSORRT-RTX.md: write them, then build each with fusionlab verify.

    python docs/rtx_probes.py /tmp/rtxprobe
    python -m fusionlab.cli verify /tmp/rtxprobe/relu_relu_c.onnx --save-log /tmp/rtxprobe/relu_relu_c.log

The kernels and the ONNX nodes each one holds are the ``Layers:`` message of the saved log
(one ``Name: ..., LayerType: ..., Metadata: [ONNX Layer: a]...`` line per kernel).
Shapes: FP32, NCHW [1, 32, 32, 32] unless said otherwise. A name ending in ``_c`` puts the
pattern inside the graph: a Conv reads its result (``tail_conv``). Other graphs end in a
Sigmoid, a Relu or the graph output, as their docstring line says.
"""

import sys
from pathlib import Path

import numpy as np
import onnx

from fusionlab.testing import GraphBuilder

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "rtxprobe")
OUT.mkdir(parents=True, exist_ok=True)


def start(shape=(1, 32, 32, 32)):
    g = GraphBuilder()
    return g, g.input("x", list(shape))


def save(g, outputs, name):
    onnx.save(g.model(outputs=outputs), str(OUT / f"{name}.onnx"))


def tail_sigmoid(g, y, name):
    save(g, [g.node("Sigmoid", [y], name="tail_sigmoid")], name)


def tail_conv(g, y, name):
    save(g, [g.conv(y, 32, name="tail_conv")], name)


def qdq(g, t, name, zp=0):
    s, z = g.const(np.float32(0.05)), g.const(np.array(zp, dtype=np.int8))
    return g.node("DequantizeLinear", [g.node("QuantizeLinear", [t, s, z], name=f"q_{name}"), s, z],
                  name=f"dq_{name}")


def gelu_erf(g, y):
    d = g.node("Div", [y, g.const(np.float32(1.4142135))], name="div")
    a = g.node("Add", [g.node("Erf", [d], name="erf"), g.const(np.float32(1.0))], name="add1")
    return g.node("Mul", [g.node("Mul", [y, a], name="mul"), g.const(np.float32(0.5))], name="mul_half")


# relu_relu: Conv -> Relu -> Relu
g, x = start(); y = g.conv(x, 32, name="conv"); y = g.node("Relu", [y], name="relu1"); y = g.node("Relu", [y], name="relu2"); tail_sigmoid(g, y, "relu_relu")
# conv_maxpool
g, x = start(); y = g.conv(x, 32, name="conv"); y = g.node("Relu", [y], name="relu"); y = g.node("MaxPool", [y], name="pool", kernel_shape=[2, 2], strides=[2, 2]); tail_sigmoid(g, y, "conv_maxpool")
# pad_convtranspose
# --- a Sigmoid reads the pattern's result (a pointwise tail)
g, x = start(); y = g.node("Relu", [g.node("Relu", [g.conv(x, 32, name="conv")], name="relu1")], name="relu2")
tail_sigmoid(g, y, "relu_relu")
g, x = start(); y = g.node("Relu", [g.conv(x, 32, name="conv")], name="relu")
tail_sigmoid(g, g.node("MaxPool", [y], name="pool", kernel_shape=[2, 2], strides=[2, 2]), "conv_maxpool")
pads = np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64)
g, x = start(); y = g.node("Pad", [g.node("Relu", [x], name="relu0"), g.const(pads)], name="pad", mode="constant")
tail_sigmoid(g, g.node("ConvTranspose", [y, g.weight([32, 32, 3, 3])], name="deconv", kernel_shape=[3, 3]),
             "pad_convtranspose")
g, x = start(); y = g.node("Pad", [g.node("Relu", [x], name="relu0"), g.const(pads)], name="pad", mode="constant")
tail_sigmoid(g, g.conv(y, 32, name="conv", pads=[0, 0, 0, 0]), "pad_conv")
g, x = start()
tail_sigmoid(g, g.node("ReduceMean", [g.conv(x, 32, name="conv")], name="mean", axes=[2, 3], keepdims=1),
             "reducemean_hw")
g, x = start(); y = g.node("Softmax", [g.conv(x, 32, name="conv")], name="softmax", axis=1)
tail_sigmoid(g, g.node("Log", [y], name="log"), "softmax_log")
g, x = start()
tail_sigmoid(g, g.node("Add", [g.conv(x, 32, name="conv"), g.weight([1, 32, 1, 1])], name="add"),
             "conv_add_broadcast")
g, x = start([64, 256]); y = g.node("MatMul", [g.node("Relu", [x], name="relu0"), g.weight([256, 256])], name="mm1")
y = g.node("MatMul", [g.node("Relu", [y], name="relu1"), g.weight([256, 256])], name="mm2")
tail_sigmoid(g, y, "mlp2")

# --- inside the graph: a Conv reads the pattern's result
g, x = start(); y = g.node("Relu", [g.node("Relu", [g.conv(x, 32, name="conv")], name="relu1")], name="relu2")
tail_conv(g, y, "relu_relu_c")
g, x = start(); y = g.node("Softmax", [g.conv(x, 32, name="conv")], name="softmax", axis=1)
tail_conv(g, g.node("Log", [y], name="log"), "softmax_log_c")
g, x = start(); tail_conv(g, g.node("LogSoftmax", [g.conv(x, 32, name="conv")], name="logsoftmax", axis=1),
                          "logsoftmax_c")
g, x = start()
tail_conv(g, g.node("Add", [g.conv(x, 32, name="conv"), g.weight([1, 32, 1, 1])], name="add"), "conv_add_broadcast_c")
g, x = start(); a = g.node("Relu", [g.conv(x, 32, name="conv")], name="relu")
y = g.node("Relu", [g.node("Add", [g.conv(a, 32, name="conv2"), a], name="add")], name="relu2")
tail_conv(g, y, "conv_add_relu_c")
g, x = start(); ones = np.ones(32, np.float32)
y = g.node("BatchNormalization", [g.conv(x, 32, name="conv"), g.const(ones * 1.1), g.weight([32]), g.weight([32]),
                                  g.const(ones)], name="bn")
tail_conv(g, g.node("Relu", [y], name="relu"), "conv_bn_relu_c")
g, x = start(); tail_conv(g, gelu_erf(g, g.conv(x, 32, name="conv")), "conv_gelu_erf_c")
g, x = start(); a = g.node("Relu", [g.conv(x, 32, name="conv_a")], name="relu_a")
tail_conv(g, g.node("Max", [g.conv(a, 32, name="conv_b"), a], name="max"), "conv_max_c")

# --- 9-op LayerNorm with a residual Add, [8, 128, 256], read by a MatMul
g, x = start([8, 128, 256]); r = g.input("r", [8, 128, 256]); s = g.node("Add", [x, r], name="residual")
d = g.node("Sub", [s, g.node("ReduceMean", [s], name="mean", axes=[-1], keepdims=1)], name="sub")
v = g.node("ReduceMean", [g.node("Pow", [d, g.const(np.float32(2.0))], name="pow")], name="var", axes=[-1], keepdims=1)
sq = g.node("Sqrt", [g.node("Add", [v, g.const(np.float32(1e-5))], name="addeps")], name="sqrt")
n = g.node("Add", [g.node("Mul", [g.node("Div", [d, sq], name="div"), g.weight([256])], name="gamma"),
                   g.weight([256])], name="beta")
save(g, [g.node("MatMul", [n, g.weight([256, 256])], name="tail_mm")], "layernorm_c")

# --- Q/DQ
g, x = start(); xd = qdq(g, x, "x")
w = g.const(np.random.default_rng(0).integers(-100, 100, [32, 32, 3, 3]).astype(np.int8))
wd = g.node("DequantizeLinear", [w, g.const(np.full([32], 0.01, np.float32)), g.const(np.zeros([32], np.int8))],
            name="dq_w", axis=0)
y = g.node("Conv", [xd, wd, g.weight([32])], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
tail_conv(g, qdq(g, g.node("Relu", [y], name="relu"), "out"), "qdq_conv_c")
g, x = start(); y = qdq(g, g.node("Relu", [x], name="relu0"), "a")
tail_conv(g, qdq(g, g.node("Relu", [y], name="relu"), "b"), "dq_relu_q_c")
g, x = start(); tail_conv(g, qdq(g, g.node("Relu", [x], name="relu0"), "a", zp=3), "zp_nonzero")
g, x = start()
bias = g.node("DequantizeLinear", [g.const(np.arange(32, dtype=np.int32)), g.const(np.float32(0.001)),
                                   g.const(np.int32(0))], name="dq_bias")
y = g.node("Conv", [x, g.weight([32, 32, 3, 3]), bias], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
tail_conv(g, y, "int32_bias_dq")

# --- Softmax -> TopK ([64, 1000]); Transpose -> ReduceMean; a GELU(erf) whose last op is the graph output
g, x = start([64, 1000]); y = g.node("Softmax", [g.node("Relu", [x], name="relu0")], name="softmax", axis=-1)
v, i = g.node("TopK", [y, g.const(np.array([5], np.int64))], name="topk", outputs=2, axis=-1)
save(g, [g.node("Relu", [v], name="tail_relu"), i], "softmax_topk_c")
for kd in (0, 1):
    g, x = start(); y = g.node("Transpose", [g.node("Relu", [x], name="relu0")], name="transpose", perm=[0, 2, 3, 1])
    y = g.node("ReduceMean", [y], name="mean", axes=[3], keepdims=kd)
    save(g, [g.node("Relu", [y], name="tail_relu")], f"transpose_reducemean_k{kd}")
g, x = start(); save(g, [gelu_erf(g, g.conv(x, 32, name="conv"))], "conv_gelu_erf_out")

# --- three MatMuls with constant weights reading one tensor ([128, 256])
g, x = start([128, 256]); h = g.node("Relu", [x], name="relu0")
q, k, v = (g.node("Relu", [g.node("MatMul", [h, g.weight([256, 256])], name=f"mm_{n}")], name=f"relu_{n}")
           for n in "qkv")
save(g, [g.node("Add", [g.node("Add", [q, k], name="add_a"), v], name="add_b")], "horizontal_gemm")
