"""Helpers of the rules' ``rewrite`` methods: they edit an onnx-graphsurgeon graph."""

from __future__ import annotations

from fusionlab.rule import Match
from fusionlab.rules.common.ops import DQ_MOVABLE
from fusionlab.rules.common.values import constants_mismatch


def gs_qparams(node):
    """(scale, zero_point or None, axis or None) tensors of a Q/DQ onnx-graphsurgeon node."""
    zp = node.inputs[2] if len(node.inputs) > 2 else None
    return node.inputs[1], zp, node.attrs.get("axis")


def gs_scalar_qparams(node):
    """(scale, zero_point or None) values of a per-tensor Q/DQ gs node; None when the
    parameters are per-axis or not constant."""
    from fusionlab.rewriting import constant_value

    scale, zp, _ = gs_qparams(node)
    sv = constant_value(scale)
    zv = constant_value(zp) if zp is not None else None
    if sv is None or sv.size != 1 or (zp is not None and (zv is None or zv.size != 1)):
        return None
    return float(sv.reshape(-1)[0]), (None if zv is None else int(zv.reshape(-1)[0]))


#: Ops a DequantizeLinear is moved across by the Q/DQ rewrites (ONNX and ONNX Runtime run



def move_dq_after(graph, phi, what: str = "") -> str:
    """Rewrite ``phi(DQ(x_i))`` as ``DQ(phi(x_i))``: phi reads the quantized tensors and one
    DequantizeLinear (the first input's scale and zero_point) writes phi's original output
    tensor, so every reader keeps its input. Exact for a per-tensor DQ with a positive
    scale (phi moves or takes the max of values; Concat needs one scale and zero_point).

    Raises:
        CannotRewrite: an input is not dequantized, per-axis or unequal parameters, a
            MaxPool with an Indices output or an opset without INT8 MaxPool.
    """
    import onnx_graphsurgeon as gs

    from fusionlab.rewriting import CannotRewrite, fresh_name

    if phi.op not in DQ_MOVABLE:
        raise CannotRewrite(f"{phi.name} ({phi.op}): the rewrite moves a DequantizeLinear across "
                            f"{', '.join(DQ_MOVABLE)} only (ONNX has no INT8 {phi.op})")
    data_idx = list(range(len(phi.inputs))) if phi.op == "Concat" else [0]
    dqs = []
    for i in data_idx:
        t = phi.inputs[i]
        producer = t.inputs[0] if len(t.inputs) == 1 else None
        if producer is None or producer.op != "DequantizeLinear":
            raise CannotRewrite(f"{phi.name} input {t.name} is not dequantized")
        dqs.append(producer)
    params = [gs_scalar_qparams(d) for d in dqs]
    if any(p is None for p in params):
        raise CannotRewrite(f"{phi.name} reads a per-channel or non-constant DequantizeLinear; the "
                            "rewrite moves per-tensor Q/DQ only")
    if any(p != params[0] for p in params[1:]):
        raise CannotRewrite(f"{phi.name} reads inputs dequantized with different scales or zero points")
    if params[0][0] <= 0:
        raise CannotRewrite(f"{dqs[0].name} has the non-positive scale {params[0][0]}")
    if phi.op == "MaxPool" and (len(phi.outputs) > 1 or graph.opset < 12):
        raise CannotRewrite(f"{phi.name} also returns Indices, or opset {graph.opset} has no INT8 MaxPool")
    for i, dq in zip(data_idx, dqs):
        phi.inputs[i] = dq.inputs[0]
    y = phi.outputs[0]
    y_q = gs.Variable(fresh_name(graph, f"{y.name}_quantized"), dtype=dqs[0].inputs[0].dtype)
    phi.outputs[0] = y_q
    scale, zp, axis = gs_qparams(dqs[0])
    graph.nodes.append(gs.Node("DequantizeLinear", fresh_name(graph, f"{phi.name}_DequantizeLinear"),
                               {} if axis is None else {"axis": axis},
                               inputs=[y_q, scale] + ([zp] if zp is not None else []), outputs=[y]))
    return f"moved the DequantizeLinear after {phi.name} ({phi.op} runs on INT8){what}"


def gelu_op_rewrite(m: Match, graph, approximate: str, expected: list, what: str) -> str | None:
    """The GELU rules' rewrite: from opset 20, the matched chain becomes one ``Gelu`` op.

    TensorRT-RTX 1.7 fuses every GELU spelling (erf with Div or Mul, the three association
    orders, tanh with Pow, and the opset-20 ``Gelu`` op) into the producing GEMM as one
    ``runtime_fusion`` kernel (measured: MatMul -> Add -> GELU -> MatMul, FP32), so below
    opset 20 there is nothing to gain and the chain is kept (the opset is never raised).
    The op computes the exact formula: constants off by more than float32 rounding
    (rtol 1e-6; a 1.414 for sqrt(2)) would change the outputs, so the rewrite refuses them.
    """
    import onnx_graphsurgeon as gs

    from fusionlab.rewriting import CannotRewrite, fresh_name, node_of

    if graph.opset < 20:
        return None
    off = constants_mismatch(m, expected, what, rtol=1e-6)
    if off:
        raise CannotRewrite(f"{off}: the Gelu op computes the exact formula, so it would change the outputs")
    out_node = node_of(graph, m.node("out").name)
    x = graph.tensors()[m.state.resolve(m.tensor("x"))]
    y = out_node.outputs[0]
    out_node.outputs.clear()
    name = fresh_name(graph, f"{out_node.name}_Gelu")
    graph.nodes.append(gs.Node("Gelu", name, {"approximate": approximate}, inputs=[x], outputs=[y]))
    return f"replaced the {len(m.nodes)}-op {what} ending at {out_node.name} by one Gelu op ({name})"




