"""Build small ONNX graphs in Python for tests, so a diff shows the graph.

Example::

    g = GraphBuilder()
    x = g.input("x", [1, 32, 32, 32])
    y = g.conv(x, 32, name="conv")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model(outputs=[y]))

Weights are random with a fixed seed (never zero: zero biases are not what trained
models carry). Every model passes ``onnx.checker.check_model``.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    """Accumulates inputs, initializers and nodes; ``model()`` returns a checked ModelProto."""

    def __init__(self, opset: int = 17, seed: int = 0):
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.inputs: list[onnx.ValueInfoProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.nodes: list[onnx.NodeProto] = []
        self.shapes: dict[str, list[int]] = {}
        self._n = 0

    def _fresh(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def input(self, name: str, shape: list, dtype: int = TensorProto.FLOAT) -> str:
        """Add a graph input (dims may be strings for symbolic dimensions)."""
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        self.shapes[name] = shape
        return name

    def const(self, value, name: str | None = None, dtype=np.float32) -> str:
        """Add an initializer holding ``value`` (cast to ``dtype`` unless an ndarray)."""
        arr = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=dtype)
        name = name or self._fresh("c")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def weight(self, shape: list[int], name: str | None = None) -> str:
        """A random float32 initializer (non-zero everywhere)."""
        arr = (self.rng.standard_normal(shape) * 0.1).astype(np.float32)
        arr[arr == 0] = 0.01
        return self.const(arr, name or self._fresh("w"))

    def node(self, op_type: str, inputs: list[str], name: str | None = None,
             outputs: int | list[str] = 1, domain: str = "", **attrs) -> str | list[str]:
        """Add a node; returns its output name (or the list when ``outputs`` > 1)."""
        name = name or self._fresh(op_type)
        outs = outputs if isinstance(outputs, list) else (
            [f"{name}_out"] if outputs == 1 else [f"{name}_out{i}" for i in range(outputs)])
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def conv(self, x: str, cout: int, cin: int = 32, k: int = 3, name: str | None = None,
             bias: bool = True, group: int = 1, pads: list[int] | None = None) -> str:
        """A Conv with random weights [cout, cin/group, k, k] and a bias, 'same' padding."""
        w = self.weight([cout, cin // group, k, k])
        ins = [x, w] + ([self.weight([cout])] if bias else [])
        p = pads if pads is not None else [k // 2] * 4
        return self.node("Conv", ins, name=name, kernel_shape=[k, k], pads=p, group=group)

    def model(self, outputs: list[str], output_dtype: int = TensorProto.FLOAT,
              check: bool = True, ir_version: int = 8,
              domains: dict[str, int] | None = None) -> onnx.ModelProto:
        """Finish the graph with ``outputs`` (shapes left to inference)."""
        graph = helper.make_graph(self.nodes, "test", self.inputs, [], self.inits)
        opsets = [helper.make_opsetid("", self.opset)]
        opsets += [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = ir_version
        known = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
        for o in outputs:
            if o in known:
                model.graph.output.append(known[o])
            else:
                model.graph.output.append(helper.make_tensor_value_info(o, output_dtype, []))
                model.graph.output[-1].type.tensor_type.ClearField("shape")
        if check:
            onnx.checker.check_model(model)
        return model


def q(g: GraphBuilder, x: str, name: str, scale: float = 0.05, zero: int = 0) -> str:
    """QuantizeLinear to INT8 with a scalar scale and zero_point."""
    return g.node("QuantizeLinear", [x, g.const(np.float32(scale)), g.const(np.array(zero, np.int8))],
                  name=name)


def dq(g: GraphBuilder, x: str, name: str, scale: float = 0.05, zero: int = 0) -> str:
    """DequantizeLinear of an INT8 tensor with a scalar scale and zero_point."""
    return g.node("DequantizeLinear", [x, g.const(np.float32(scale)), g.const(np.array(zero, np.int8))],
                  name=name)


def qconv(g: GraphBuilder, x: str, cout: int, cin: int, name: str, k: int = 3, group: int = 1,
          bias: bool = True) -> str:
    """Conv whose weight [cout, cin/group, k, k] is an INT8 initializer behind a per-channel
    DequantizeLinear named ``<name>_wdq`` (ONNX Runtime's QDQ weights), with a float bias."""
    w = g.const(g.rng.integers(-127, 128, [cout, cin // group, k, k]).astype(np.int8))
    w = g.node("DequantizeLinear", [w, g.const(np.full(cout, 0.01, np.float32)),
                                    g.const(np.zeros(cout, np.int8))], name=f"{name}_wdq", axis=0)
    ins = [x, w] + ([g.weight([cout])] if bias else [])
    return g.node("Conv", ins, name=name, kernel_shape=[k, k], pads=[k // 2] * 4, group=group)


def diagnostics(report, code: str, status: str | None = None) -> list:
    """The report's diagnostics of rule ``code`` (and ``status``)."""
    return [d for d in report.diagnostics if d.code == code and (status is None or d.status == status)]
