"""TRT105 pad-conv."""

import numpy as np

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer

from rules._common import CONVS, constant_of


class PadConv(Rule):
    """A Pad followed by a Convolution or Deconvolution fuses into that layer (``pad + conv``).

    What it fuses: Pad -> Conv or ConvTranspose (the Pad's output is the convolution's
    data input). The padding becomes the convolution's own pre-padding, so the Pad node
    is part of the convolution layer.
    Why it matters: an unfused Pad is a separate kernel that copies the whole activation
    into a larger buffer before the convolution reads it.
    Conditions: `constant-mode` -- mode ``constant`` with pad value 0 (a constant);
    `pads-constant` -- the pads are known at build time (attribute, or a constant input
    from opset 11); `pads-nonnegative` -- every pad size is >= 0 (a negative pad is a
    crop); `spatial-pads-only` -- no padding on the N and C dimensions;
    `single-consumer` -- the Pad's output is read by the convolution only;
    `not-conv-transpose` (TensorRT-RTX only).
    TensorRT-RTX differs: Pad->ConvTranspose runs as a separate pad kernel (measured in
    TENSORRT-RTX.md), hence `not-conv-transpose` on RTX; Pad (>= 0)->Conv fuses there too
    and a negative Pad becomes a separate slice kernel, as in the classic guide.
    Source: TensorRT Developer Guide, "Types of Fusions": Padding and
    Convolution/Deconvolution.
    """

    code = "TRT105"
    name = "pad-conv"
    pattern = Op(CONVS, op.Pad(name="pad", free=True), name="conv")
    host = "conv"
    cost = 2

    @staticmethod
    def _pads(m, ctx) -> tuple[np.ndarray | None, str | None]:
        """The Pad's pads as [begin_0..begin_n, end_0..end_n] over every data dimension,
        or (None, why) when they are not known at build time."""
        pad = m.node("pad")
        if pad.attr("pads") is not None:  # opset < 11
            return np.asarray(pad.attr("pads"), dtype=np.int64), None
        if len(pad.inputs) < 2 or not pad.inputs[1]:
            return None, "has no pads input"
        if not m.state.is_constant(pad.inputs[1]):
            return None, f"reads its pads from the non-constant tensor {pad.inputs[1]}"
        pads = constant_of(m.state, pad.inputs[1])
        if pads is None:
            return None, f"pads {pad.inputs[1]} have no readable value"
        pads = np.asarray(pads, dtype=np.int64).reshape(-1)
        axes_in = pad.inputs[3] if len(pad.inputs) > 3 else ""
        if axes_in:  # opset 18: pads for the listed axes only
            axes = constant_of(m.state, axes_in)
            shape = ctx.graph.shape(m.state.resolve(pad.inputs[0]))
            if axes is None or shape is None:
                return None, f"pads apply to axes {axes_in} of unknown value or rank"
            rank = len(shape)
            full = np.zeros(2 * rank, dtype=np.int64)
            axes = [int(a) % rank for a in np.asarray(axes).reshape(-1)]
            for i, a in enumerate(axes):
                full[a], full[a + rank] = pads[i], pads[i + len(axes)]
            pads = full
        return pads, None

    @check("constant-mode")
    def constant_mode(self, m, ctx):
        pad = m.node("pad")
        mode = pad.attr("mode", "constant")
        if mode != "constant":
            return f"{pad.name} mode is {mode!r}; the fusion needs mode 'constant' (zero padding)"
        if pad.attr("value") is not None:  # opset < 11
            value = float(pad.attr("value"))
        elif len(pad.inputs) > 2 and pad.inputs[2]:
            t = pad.inputs[2]
            if not m.state.is_constant(t):
                return (f"{pad.name} pad value comes from the non-constant tensor {t}; "
                        "the fusion needs the constant 0")
            v = constant_of(m.state, t)
            value = None if v is None else float(np.asarray(v).reshape(-1)[0])
        else:
            value = 0.0
        if value is not None and value != 0.0:
            return f"{pad.name} pads with the value {value:g}; the fusion needs 0 (zero padding)"
        return None

    @check("pads-constant")
    def pads_constant(self, m, ctx):
        pads, why = self._pads(m, ctx)
        if pads is None:
            return f"{m.node('pad').name} {why}; the fusion needs pads known at build time"
        return None

    @check("pads-nonnegative")
    def pads_nonnegative(self, m, ctx):
        pads, _ = self._pads(m, ctx)
        if pads is None or (pads >= 0).all():
            return None
        negative = [int(p) for p in pads if p < 0]
        return (f"{m.node('pad').name} has negative pads {negative} (pads {pads.tolist()}), a crop; "
                "the fusion needs every pad size >= 0")

    @check("spatial-pads-only")
    def spatial_only(self, m, ctx):
        pads, _ = self._pads(m, ctx)
        if pads is None:
            return None
        rank = len(pads) // 2
        begin, end = pads[:rank], pads[rank:]
        bad = [f"{label} {int(begin[d])}/{int(end[d])}" for d, label in ((0, "N"), (1, "C"))
               if rank > d and (begin[d] or end[d])]
        if bad:
            return (f"{m.node('pad').name} pads {' and '.join(bad)} (begin/end); the convolution "
                    "pads H and W only, the fusion needs 0 on N and C")
        return None

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("not-conv-transpose", targets=("tensorrt-rtx",))
    def not_deconv(self, m, ctx):
        conv = m.node("conv")
        if conv.op_type == "ConvTranspose":
            return (f"{conv.name} is a ConvTranspose; TensorRT-RTX runs Pad->ConvTranspose as a "
                    "separate pad kernel (it fuses Pad into Conv only)")
        return None
