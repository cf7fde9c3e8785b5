"""TRT605 op-not-imported."""

import onnx

from fusionlab.pattern import ANY, Op
from fusionlab.rule import Rule, check

#: domains the parser imports (the default ONNX domain).
ONNX_DOMAINS = ("", "ai.onnx")


class OpNotImported(Rule):
    """A node of another domain whose op type is no ONNX op: the parser has no importer.

    What it fuses: nothing; a parser check on every node outside the ONNX domain
    (`com.microsoft` FusedConv / FastGelu / SkipLayerNormalization, `ai.onnx.ml` ops,
    custom domains).
    Why it matters: the parser picks an importer by op type, whatever the domain, and
    falls back to a TensorRT plugin of the op's name; without one the build stops with
    `creator && "Plugin not found, are the plugin name, version, and namespace
    correct?"` (measured with TensorRT-RTX 1.7 on com.microsoft FusedConv and FastGelu).
    A node whose op type is an ONNX op is imported as that op (com.microsoft Gelu builds
    as ONNX Gelu; com.microsoft Attention is TRT603 ms-attention).
    Conditions: `has-importer` -- the op type is an ONNX op (`onnx.defs.has`). The reason
    names the node, its op and domain; fix it by exporting without ONNX Runtime's fused
    ops (standard ONNX ops), or by loading a TensorRT plugin of that name (then this
    finding does not apply).
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Source: onnx-tensorrt `docs/operators.md` (the ONNX ops it imports) and
    `ModelImporter.cpp` (importer lookup by op type, plugin fallback); the live builds in
    docs/TENSORRT-RTX.md#parser-rejections.
    """

    code = "TRT605"
    name = "op-not-imported"
    kind = "lint"
    level = "onnx"  # the parser imports every node
    pattern = Op(ANY, name="node", where=lambda node: node.domain not in ONNX_DOMAINS)
    phase = 90
    cost = 3
    rejects = True

    @check("has-importer")
    def has_importer(self, node, ctx):
        if onnx.defs.has(node.op_type):
            return None
        return (f"{node.name} is {node.op_type} of domain {node.domain}, no ONNX op: TensorRT's parser has "
                f"no importer for it and looks for a TensorRT plugin named {node.op_type} (\"Plugin not "
                "found\" without one); export it as standard ONNX ops, or load that plugin")
