"""TRT311 horizontal-gemm."""

from __future__ import annotations

from fusionlab.pattern import Bindings, Op, Var
from fusionlab.rule import Match, Rule

from fusionlab.rules.common.qdq import weight_is_constant

#: Kinds of GEMM layers with constant weights.
GEMM_KINDS = ("MatMul", "Gemm", "FullyConnected")

#: One member: a lone MatMul / Gemm node (no fused epilogue) with constant weights ``w``
#: (also behind Q/DQ) reading ``x``.
MEMBER = Op(GEMM_KINDS, Var("x"), Var("w", where=lambda w, view: weight_is_constant(view, w)), name="gemm",
            where=lambda node: node.op_type in ("MatMul", "Gemm"))


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

    pattern = MEMBER

    def find(self, state):
        # find, not a pattern: the merged GEMMs are every sibling reader of one tensor, a
        # set of any size (a pattern binds a fixed number of layers); each member is MEMBER.
        groups: dict[str, list] = {}
        for layer in state.layers_of_kinds(self.anchor_kinds()):
            if len(layer.nodes) != 1:
                continue
            b = next(MEMBER.match_layer(layer, state, Bindings()), None)
            if b is not None:
                groups.setdefault(b.tensors["x"], []).append(layer)
        for members in groups.values():
            if len(members) > 1:
                yield Match(self, {f"g{i}": l for i, l in enumerate(members)}, {}, members, state)

    def describe(self, m: Match) -> str:
        return f"{', '.join(m.nodes)} read one input and merge into one GEMM"
