"""TRT312 attention-scale."""

from __future__ import annotations

from fusionlab.pattern import Const, Op, Var
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.values import is_activation


def _scalar(tensor, view) -> bool:
    value = view.const_value(tensor)
    return value is not None and value.size == 1


def _scaled(side: str):
    """``side * s``, ``s * side`` or ``side / s`` with a scalar constant ``s`` -- or ``side``
    itself, unscaled."""
    x = Var(side, where=is_activation)
    return (Op("Mul", x, Const(where=_scalar), name=f"scale_{side}")
            | Op("Div", x, Const(where=_scalar), name=f"scale_{side}", commute=False)
            | x)


class AttentionScale(Rule):
    """The attention scale on Q or K runs in the kernel of the first batched MatMul (BMM1).

    What it fuses: on TensorRT-RTX, a Mul or Div by a scalar constant on either input (or
    both) of a MatMul whose two inputs are computed at run time -- attention's ``Q·Kᵀ``
    with the scale applied before it, as ``torch.onnx.export(..., dynamo=True)`` writes
    ``scaled_dot_product_attention`` (``Q·√s`` and ``Kᵀ·√s``) and as TensorRT asks for it
    ("TensorRT requires Q or K to be multiplied with attention scale or both Q and K to be
    multiplied with √(attention scale) before going into ... the first Batched Matrix
    Multiply"). The scale joins the MatMul's layer, not the kgen kernel of the projection
    that computes Q or K. A scale after the MatMul (BERT's ``Div`` by √d) joins the mask
    Add and the Softmax instead (TRT310 myelin-kgen).
    Why it matters: the scale costs no kernel of its own and no pass over Q or K.
    Conditions: `single-consumer` -- the scaled Q or K is read by the MatMul only (a
    second reader needs the scaled tensor written out).
    Measured with TensorRT-RTX 1.7 (FP32, CPU build): a ViT exported with dynamo=True
    ([1, 4, 17, 16] Q and K, both scaled by 16^-1/4): both Muls are listed in the three
    Myelin kernels of the MatMul (``__myl_MoveConc``, ``MatMul``, ``__myl_Slic``); a
    [1, 4, 16, 32] attention built by hand: the Mul of Q in the MatMul's kernel or folded
    into its alpha (listed in no kernel; the MatMul's kernel reads ``bmm1_alpha``), the
    projection's bias Add, Reshape and Transpose one kgen kernel without it. Classic TensorRT: not measured; the `tensorrt` target does not predict it.
    Source: TensorRT Developer Guide, "Working with Transformers" / "Fused Attention"
    (the scale before the first BMM); the live builds above.
    """

    code = "TRT312"
    name = "attention-scale"
    targets = ("tensorrt-rtx",)
    phase = 35
    pattern = Op("MatMul", _scaled("q"), _scaled("k"), name="bmm1", commute=False)
    host = "bmm1"
    result_kind = "MatMul"
    cost = 1

    def accept(self, b, state):
        return "scale_q" in b.layers or "scale_k" in b.layers

    def prefer(self, b, state):
        return len(b.layers)

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    def describe(self, m):
        scales = [m.node(s).name for s in ("scale_q", "scale_k") if s in m.layers]
        return (f"{' and '.join(scales)} (the attention scale) run in the kernel of "
                f"{m.node('bmm1').name}, the first batched MatMul")
