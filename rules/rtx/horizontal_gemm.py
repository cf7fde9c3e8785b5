"""TRT311 horizontal-gemm."""

from __future__ import annotations

from fusionlab.rule import Match, Rule

from fusionlab.rules.common.qdq import weight_is_constant

#: Kinds of GEMM layers with constant weights.
GEMM_KINDS = ("MatMul", "Gemm", "FullyConnected")


class HorizontalGemm(Rule):
    """GEMMs with constant weights that read the same tensor merge into one GEMM (horizontal fusion).

    What it fuses: two or more MatMul / Gemm / FullyConnected layers with constant weights
    whose data input is the same tensor, such as a transformer's query, key and value
    projections, into one GEMM with concatenated weights.
    Why it matters: one GEMM reads the shared input once and runs one larger, more
    efficient matrix multiply instead of three.
    Conditions: none beyond the structure (a GEMM with a fused epilogue, e.g. a GELU, is
    not merged: its kernel is a runtime_fusion).
    TensorRT-RTX only: measured on models/bert_tiny.onnx (one ``gemm`` kernel whose
    metadata lists the query, key and value MatMuls; their bias Adds go to the following
    kgen kernels). Classic TensorRT logs horizontal merges as ``Merging layers: A || B``
    for some layers; the guide documents no condition, so the `tensorrt` target does not
    predict it.
    Source: fusionlab's live TensorRT-RTX 1.7 builds; TensorRT builder log lines
    "Merging layers" (horizontal fusion).
    """

    code = "TRT311"
    name = "horizontal-gemm"
    targets = ("tensorrt-rtx",)
    phase = 47
    result_kind = "MatMul"
    cost = 2

    def find(self, state):
        groups: dict[str, list] = {}
        for layer in state.layers_of_kinds(GEMM_KINDS):
            if len(layer.nodes) != 1:
                continue
            node = state.graph.nodes[layer.nodes[0]]
            if node.op_type not in ("MatMul", "Gemm") or len(node.inputs) < 2 or not weight_is_constant(state, node.inputs[1]):
                continue
            groups.setdefault(state.resolve(node.inputs[0]), []).append(layer)
        for members in groups.values():
            if len(members) > 1:
                yield Match(self, {f"g{i}": l for i, l in enumerate(members)}, {}, members, state)

    def describe(self, m: Match) -> str:
        return f"{', '.join(m.nodes)} read one input and merge into one GEMM"
