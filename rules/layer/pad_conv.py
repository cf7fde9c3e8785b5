"""TRT105 pad-conv."""

import numpy as np

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.ops import CONVS


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
    docs/TENSORRT-RTX.md#pad-convtranspose), hence `not-conv-transpose` on RTX; Pad (>= 0)->Conv fuses there too
    and a negative Pad becomes a separate slice kernel, as in the classic guide.
    Source: TensorRT Developer Guide, "Types of Fusions": Padding and
    Convolution/Deconvolution.
    """

    code = "TRT105"
    name = "pad-conv"
    pattern = Op(CONVS, op.Pad(name="pad"), name="conv")
    host = "conv"
    cost = 2
    rewrites_on = ("predicted", "missed")
    fixes = ("not-conv-transpose",)

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

    def rewrite(self, m, graph):
        """Fold the Pad into the convolution's ``pads`` (``fusionlab rewrite``); exact.

        Conv: the spatial pads add up. ConvTranspose: its ``pads`` crop the full output,
        and a zero Pad of ``p`` before it adds ``p * stride`` bias-only positions, so the
        new pads are ``pads - p * stride``, possible only when none goes negative (this
        also fixes TensorRT-RTX's `not-conv-transpose` miss). Refused: ``auto_pad``, a
        ConvTranspose with ``output_shape``, pads that would go negative.
        """
        from fusionlab.rewriting import CannotRewrite, node_of

        pad_node, conv_node = m.node("pad"), m.node("conv")
        pads, why = self._pads(m, m.state.ctx)
        if pads is None:
            raise CannotRewrite(f"{pad_node.name} {why}")
        pad, conv = node_of(graph, pad_node.name), node_of(graph, conv_node.name)
        if conv.inputs[0] is not pad.outputs[0]:
            return None
        rank = len(pads) // 2
        begin, end = pads[:rank], pads[rank:]
        if begin[:2].any() or end[:2].any() or (pads < 0).any():
            raise CannotRewrite(f"{pad.name} pads N or C, or crops: pads {pads.tolist()}")
        auto = conv.attrs.get("auto_pad", "NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto not in ("NOTSET", ""):
            raise CannotRewrite(f"{conv.name} has auto_pad={auto}; the rewrite adds to explicit pads only")
        n = rank - 2
        have = [int(p) for p in conv.attrs.get("pads", [0] * (2 * n))]
        pb, pe = [int(p) for p in begin[2:]], [int(p) for p in end[2:]]
        if conv.op == "Conv":
            new = [have[i] + pb[i] for i in range(n)] + [have[n + i] + pe[i] for i in range(n)]
        else:
            if "output_shape" in conv.attrs:
                raise CannotRewrite(f"{conv.name} sets output_shape; its pads are derived, not explicit")
            strides = [int(s) for s in conv.attrs.get("strides", [1] * n)]
            new = [have[i] - pb[i] * strides[i] for i in range(n)] + \
                  [have[n + i] - pe[i] * strides[i] for i in range(n)]
            if min(new) < 0:
                raise CannotRewrite(f"{pad.name} adds {pb + pe} (begin/end) before {conv.name}, a "
                                    f"ConvTranspose with strides {strides} and pads {have}: folding it "
                                    f"needs negative pads {new}, which ONNX does not allow")
        conv.inputs[0] = pad.inputs[0]
        conv.attrs["pads"] = new
        pad.outputs.clear()
        pad.inputs.clear()
        return f"folded {pad.name} into {conv.name} pads {new}"
