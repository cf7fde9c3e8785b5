"""What a rewrite run allows (:class:`RewriteOptions`) and what it requantized."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Requantization:
    """A float tensor quantized by a rewrite (``allow_requantize``): its values now round
    to a quantization grid, so the outputs change.

    Attributes:
        node: the node that now reads the quantized tensor (the residual Add).
        tensor: the float tensor.
        quantizer: the QuantizeLinear whose scale and zero_point were reused.
        scale, zero_point: the reused parameters (one value, or one per channel).
        step: the largest scale: the grid's step.
        max_change: ``step / 2``, the largest change of a value inside ``range``.
        range: ``(low, high)``, the values the grid holds; a value outside is clamped
            to it (and changes by more).
        inserted: the nodes added (TRT409: the DequantizeLinear of the shared quantizer).
    """

    node: str
    tensor: str
    quantizer: str
    scale: list[float]
    zero_point: list[int]
    step: float
    max_change: float
    range: tuple[float, float] | None
    inserted: tuple[str, ...]

    def to_json(self) -> dict:
        return {"node": self.node, "tensor": self.tensor, "quantizer": self.quantizer,
                "scale": self.scale if len(self.scale) > 1 else self.scale[0],
                "zero_point": self.zero_point if len(self.zero_point) > 1 else self.zero_point[0],
                "step": self.step, "max_change": self.max_change,
                "range": None if self.range is None else list(self.range), "inserted": list(self.inserted)}


@dataclass
class RewriteOptions:
    """What the run allows, for the rewrites that ask (``rewrite(self, m, graph, options)``:
    the driver passes it to a rewrite whose signature has a parameter ``options``).

    Attributes:
        allow_requantize: a float tensor may be quantized with an existing quantizer's
            scale (``fusionlab rewrite --allow-requantize``); not exact.
        requantized: what the call quantized (filled by :meth:`requantize`).
    """

    allow_requantize: bool = False
    requantized: list[Requantization] = field(default_factory=list)

    def requantize(self, node: str, tensor: str, quantizer: str, scale: np.ndarray,
                   zero_point: np.ndarray | None, inserted: Sequence[str]) -> Requantization:
        """Record that ``tensor`` (read by ``node``) is now quantized with ``quantizer``'s
        ``scale`` / ``zero_point``; call it once the graph is edited."""
        # the scale's own precision, printed short (a float32 0.05 stays 0.05)
        s = np.array([float(str(v)) for v in np.asarray(scale).reshape(-1)], np.float64)
        zp = np.zeros(1, np.int64) if zero_point is None else np.asarray(zero_point).reshape(-1)
        dtype = np.uint8 if zero_point is None else np.asarray(zero_point).dtype  # ONNX: no zero point = uint8
        grid = None
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            lows = (info.min - zp.astype(np.float64)) * s
            highs = (info.max - zp.astype(np.float64)) * s
            grid = (float(lows.max()), float(highs.min()))
        step = float(np.abs(s).max())
        record = Requantization(node, tensor, quantizer, [float(v) for v in s], [int(v) for v in zp], step,
                                step / 2, grid, tuple(inserted))
        self.requantized.append(record)
        return record
